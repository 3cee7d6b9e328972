"""Port identity end to end (docs/DECODE_RULES.md, "Ports and devices"): captures real
tools make in network namespaces, replayed by the real CLI. tcpdump's classic pcap and
nlrecord's link messages of one veth end are one port (its flaps and its LLDP neighbor
together); two hosts whose NICs share a name stay two ports; and a capture whose
interface cannot be told gets a warning naming the likely mismatch."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import flapwatch
from conftest import require_tools

pytestmark = [pytest.mark.root, pytest.mark.tools]

NLRECORD = Path(flapwatch.__file__).parent / "sources" / "nlrecord.py"


def replay(*args) -> tuple[dict, str]:
    proc = subprocess.run([sys.executable, "-m", "flapwatch", "replay", "-q", "--format", "json", *map(str, args)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def ports_of(data: dict) -> dict[str, dict]:
    """The ports by name (loopback left out: it is no port, whichever way a build says so)."""
    return {p["port"]: p for p in data["ports"] if p["port"].rsplit(":", 1)[-1] != "lo"}


def start_recorders(lab, ns, iface: str, folder: Path, wire: str = "wire.pcap", dumpcap: bool = False):
    """A wire capture of iface (tcpdump's classic pcap, or dumpcap's pcapng) and an
    nlrecord of the namespace's link messages, both in folder; returns (processes, files)."""
    folder.mkdir(parents=True, exist_ok=True)
    wire_path, links = folder / wire, folder / "links.pcap"
    if dumpcap:
        argv = ["dumpcap", "-q", "-i", iface, "-w", str(wire_path)]
    else:
        argv = ["tcpdump", "-i", iface, "-U", "--immediate-mode", "-w", str(wire_path)]
    procs = [lab.popen(ns, argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
             lab.popen(ns, [sys.executable, str(NLRECORD), "-o", str(links), "--dump"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    deadline = time.monotonic() + 10
    while not (wire_path.exists() and wire_path.stat().st_size >= 24 and links.exists() and links.stat().st_size > 24):
        assert time.monotonic() < deadline, "recorders did not start"
        time.sleep(0.05)
    return procs, (wire_path, links)


def stop(procs) -> None:
    """SIGINT the recorders (tcpdump and dumpcap flush and close their files) and wait."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in procs:
        p.wait(10)


def flap(ns, iface: str, times: int, down_s: float = 0.1, up_s: float = 0.4) -> None:
    for _ in range(times):
        ns.run(["ip", "link", "set", iface, "down"])
        time.sleep(down_s)
        ns.run(["ip", "link", "set", iface, "up"])
        time.sleep(up_s)


def test_tcpdump_and_nlrecord_of_one_veth_end_are_one_port(tmp_path):
    """The issue's case: `tcpdump -w wire.pcap` and `nlrecord -o links.pcap` on one veth end
    (lldpd on both ends) replay to one port with its flaps and its neighbor, not `wire`
    (a neighbor and a false silent-neighbor-loss) beside `ens1` (flaps, no neighbor)."""
    require_tools("ip", "tcpdump", "lldpd", "lldpcli")
    from netns import Lab

    with Lab() as lab:
        sw, host = lab.namespace("sw"), lab.namespace("host")
        lab.veth(sw, "swp1", host, "ens1", same_ifindex=False)
        lab.lldpd(sw, "swp1", "leaf1")
        lab.lldpd(host, "ens1", "gpu-host7")
        procs, (wire, links) = start_recorders(lab, host, "ens1", tmp_path)
        time.sleep(2.5)  # LLDPDUs both ways
        flap(sw, "swp1", 3)
        time.sleep(2.0)  # the neighbor heard again after the last flap
        stop(procs)

    data, err = replay(wire, links)
    ports = ports_of(data)
    assert list(ports) == ["ens1"], ports
    assert ports["ens1"]["flaps"] == 3
    assert ports["ens1"]["neighbor"] == "leaf1"
    assert not any("silent-neighbor-loss" in e["labels"] for e in data["episodes"]), data["episodes"]
    assert "flapwatch: notice:" in err and "taken as ens1" in err, err
    assert "likely one port under two names" not in err, err

    # Naming the device: the same one port, as device:port; FILE=DEVICE:IFACE says it outright.
    data, err = replay(wire, links, "--device", "gpu-host7")
    assert list(ports_of(data)) == ["gpu-host7:ens1"], data["ports"]
    assert ports_of(data)["gpu-host7:ens1"]["neighbor"] == "leaf1"
    data, err = replay(f"{wire}=gpu-host7:ens1", f"{links}=gpu-host7")
    assert list(ports_of(data)) == ["gpu-host7:ens1"] and "notice" not in err, (data["ports"], err)


def test_two_devices_with_equal_interface_names_are_two_ports(tmp_path):
    """Two hosts whose NICs are both ens1f0np0 (one recorded with tcpdump, one with dumpcap,
    each with nlrecord, a directory per host): two ports, each with its own flaps and
    neighbor. Given as bare files of one unnamed device they would share a port: the
    replay says so (the captures interleave on it) instead of merging silently."""
    require_tools("ip", "tcpdump", "dumpcap", "lldpd", "lldpcli")
    from netns import Lab

    a_dir, b_dir = tmp_path / "gpu-host1", tmp_path / "gpu-host2"
    with Lab() as lab:
        sw, a, b = lab.namespace("sw"), lab.namespace("hosta"), lab.namespace("hostb")
        lab.veth(sw, "swp1", a, "ens1f0np0", same_ifindex=False)
        lab.veth(sw, "swp2", b, "ens1f0np0", same_ifindex=False)
        lab.lldpd(sw, "swp1,swp2", "leaf1")
        procs_a, _ = start_recorders(lab, a, "ens1f0np0", a_dir)
        procs_b, _ = start_recorders(lab, b, "ens1f0np0", b_dir, wire="wire.pcapng", dumpcap=True)
        time.sleep(2.5)
        flap(sw, "swp1", 2)
        flap(sw, "swp2", 1)
        time.sleep(1.5)
        stop(procs_a + procs_b)

    data, err = replay(f"{a_dir}/", f"{b_dir}/")
    ports = ports_of(data)
    assert sorted(ports) == ["gpu-host1:ens1f0np0", "gpu-host2:ens1f0np0"], (ports, err)
    assert ports["gpu-host1:ens1f0np0"]["flaps"] == 2
    assert ports["gpu-host2:ens1f0np0"]["flaps"] == 1
    assert all(p["neighbor"] == "leaf1" for p in ports.values()), ports
    assert "interleave" not in err and "two names" not in err, err

    # The same with FILE=DEVICE mappings instead of directories.
    files = [f"{a_dir}/wire.pcap=h1", f"{a_dir}/links.pcap=h1", f"{b_dir}/wire.pcapng=h2", f"{b_dir}/links.pcap=h2"]
    data, err = replay(*files)
    assert sorted(ports_of(data)) == ["h1:ens1f0np0", "h2:ens1f0np0"], (data["ports"], err)

    # Without device names the two hosts are one device to the replay: never silently.
    data, err = replay(a_dir / "links.pcap", b_dir / "links.pcap", b_dir / "wire.pcapng")
    assert "port ens1f0np0: link messages from" in err and "interleave in time" in err, err


def test_a_wire_capture_whose_interface_cannot_be_told_gets_a_warning(tmp_path):
    """Two interfaces of the host flap: the classic pcap's interface cannot be told from the
    link messages, so its frames keep the file's name, and a warning names the likely
    mismatch (a port with wire frames and no link messages beside ports with the reverse)."""
    require_tools("ip", "tcpdump", "lldpd", "lldpcli")
    from netns import Lab

    with Lab() as lab:
        sw, host = lab.namespace("sw"), lab.namespace("host")
        lab.veth(sw, "swp1", host, "ens1", same_ifindex=False)
        lab.veth(sw, "swp2", host, "ens2", same_ifindex=False)
        lab.lldpd(sw, "swp1", "leaf1")
        procs, (wire, links) = start_recorders(lab, host, "ens1", tmp_path)
        time.sleep(2.5)
        flap(sw, "swp1", 2)
        flap(sw, "swp2", 1)
        time.sleep(1.0)
        stop(procs)

    data, err = replay(wire, links)
    ports = ports_of(data)
    assert sorted(ports) == ["ens1", "ens2", "wire"], ports
    warning = next(line for line in err.splitlines() if "likely one port under two names" in line)
    assert warning.startswith("flapwatch: warning: port wire has wire frames and no link messages"), warning
    assert "ens1" in warning and "ens2" in warning, warning
    assert any("likely one port under two names" in w for w in data["warnings"]), data["warnings"]
    # The mapping resolves it.
    data, err = replay(f"{wire}=:ens1", links)
    assert sorted(ports_of(data)) == ["ens1", "ens2"], data["ports"]
    assert ports_of(data)["ens1"]["neighbor"] == "leaf1" and "two names" not in err, err
