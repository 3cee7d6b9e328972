"""The inspect job written the idiomatic dpkt way (the issue's baseline).

    python bench/peers/dpkt_inspect.py CAPTURE.pcap      -> JSON with the keys of `flapwatch inspect --json`

dpkt.pcap.Reader walks the records, dpkt.ethernet.Ethernet parses each frame (and, as
dpkt does, its VLAN tags and IP/UDP payload); MAC control and LLDP, which dpkt does not
decode, are read with struct (l2summary.py, shared with the scapy peer).
"""

import json
import sys

import dpkt

from l2summary import Summary


def main(path: str) -> None:
    summary = Summary(path)
    with open(path, "rb") as f:
        for _ts, buf in dpkt.pcap.Reader(f):
            eth = dpkt.ethernet.Ethernet(buf)
            tags = getattr(eth, "vlan_tags", None)
            ethertype = tags[-1].type if tags else eth.type
            summary.frame(ethertype, eth.data)
    json.dump(summary.to_json(), sys.stdout)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
