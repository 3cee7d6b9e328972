"""The inspect job written with scapy (far slower than dpkt: run it on a slice).

    python bench/peers/scapy_inspect.py CAPTURE.pcap [--count N]   -> JSON like dpkt_inspect.py

scapy's PcapReader yields dissected packets; the VLAN layers (Dot1Q, Dot1AD) are walked to
the ethertype and the bytes after it, which l2summary.py decodes with struct (scapy's
MAC-control and LLDP dissectors live in scapy.contrib and are not loaded by default).
The loop time (without the scapy import) goes to stderr as `loop_seconds=...`.
"""

import argparse
import json
import sys
import time

from scapy.layers.l2 import Dot1AD, Dot1Q, Ether
from scapy.utils import PcapReader

from l2summary import Summary


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("capture")
    p.add_argument("--count", type=int, default=0, help="only the first N frames (0: all)")
    args = p.parse_args()
    summary = Summary(args.capture)
    t0 = time.perf_counter()
    with PcapReader(args.capture) as reader:
        for i, pkt in enumerate(reader):
            if args.count and i >= args.count:
                break
            if not isinstance(pkt, Ether):
                summary.counts["other"] += 1
                continue
            layer, ethertype = pkt, pkt.type
            while isinstance(layer.payload, (Dot1Q, Dot1AD)):
                layer = layer.payload
                ethertype = layer.type
            summary.frame(ethertype, layer.payload)
    print(f"loop_seconds={time.perf_counter() - t0:.3f}", file=sys.stderr)
    json.dump(summary.to_json(), sys.stdout)
    print()


if __name__ == "__main__":
    main()
