"""Fleet mode of the simulator: a rail-optimised AI fabric, each device its own capture.

    flapwatch simulate --devices 64 --ports 32 --duration 600 -o fleet/      # (cli/simulate_cmd.py)
    flapwatch.sim.fabric.simulate_fabric("fleet/", switches=64, ports=32, duration_s=600, seed=1)

``switches`` leaves of ``ports`` host-facing ports each; hosts with ``host_nics`` NICs, NIC k on
rail k (leaf k of their pod): a pod is ``host_nics`` leaves and the ``ports`` hosts cabled to
them; hosts stand ``rack_hosts`` to a rack, a pod's leaves in a network rack of their own. Every
device is captured on its own clock (an offset up to +-``skew_ms``) into ``DIR/<device>.pcapng``
(its nlmon recording and every port's LLDP, both directions: hosts have few frames), with
``DIR/topology.csv`` (device, kind, rack, pod) and the truth in ``DIR/fleet.truth.json``.

The faults are the cross-device families (an outage of a link is seen by both its ends):
  cable        a bad cable or optic: both ends of one link flap together (single, micro, slow
               oscillation)
  port         one end only (a receiver losing lock): must not pair with anything
  linecard     a leaf's line card resets: a block of its ports (and their host ends) within 20 ms
  host-reboot  a host's NICs all go down within 20 ms (and their leaf ends)
  rack-power   every host of one rack, one after the other within 2 s
  pod-reboot   every leaf of one pod within 2 s (so every link of the pod)
Faults hold their devices alone (with a margin): the definitions below then give the same
answer on true times as on what the devices' kernels and clocks report.

The truth applies DEFINITIONS to the true carrier times (fleet/ applies the same definitions
to what it reads; it is scored against this in fleet/evaluate.py): both-ends pairs (the two
ends of a link down in one outage), device-wide events (>= ``device_min_ports`` ports of one
device, downs chained by gaps <= ``device_gap_s``) and waves (devices with a device-wide event,
chained by gaps <= ``wave_gap_s``, >= ``wave_min_devices`` of a rack or pod and at least
``wave_min_fraction`` of it).
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
from collections import defaultdict
from dataclasses import dataclass

from flapwatch.sim.fleet import Device, Fleet, Port
from flapwatch.sim.netlink import render_netlink
from flapwatch.sim.output import Frames
from flapwatch.sim.scenario import EPOCH0
from flapwatch.sim.traffic import render_lldp
from flapwatch.sim.world import World, log_uniform
from flapwatch.sources.pcapng import PcapngWriter
from flapwatch.tables.units import NS_PER_MS as MS
from flapwatch.tables.units import NS_PER_S as S
from flapwatch import wire

DEFINITIONS = {
    "device_gap_s": 5.0,
    "device_min_ports": 4,
    "wave_gap_s": 10.0,
    "wave_min_devices": 3,
    "wave_min_fraction": 0.5,
}
MARGIN_NS = 15 * S  # a fault holds its devices this long before and after


@dataclass
class FabricResult:
    directory: str
    files: list[str]
    truth_path: str
    topology_path: str
    truth: dict
    frames: int


def make_fabric(rng: random.Random, switches: int, ports: int, host_nics: int, rack_hosts: int,
                skew_ms: float) -> tuple[Fleet, dict[str, tuple[str, str]]]:
    """The devices, ports and cabling; and each device's (rack, pod)."""
    devices: dict[str, Device] = {}
    port_map: dict[str, Port] = {}
    peer0: dict[str, str] = {}
    place: dict[str, tuple[str, str]] = {}
    rails = max(1, min(host_nics, switches))
    skew = int(skew_ms * MS)

    def add_device(name: str, kind: str, k: int) -> Device:
        mac = wire.mac_bytes(f"b8:ce:f6:{(k >> 8) & 0xff:02x}:{k & 0xff:02x}:00")
        desc = {"leaf": "Cumulus Linux 5.9 on Spectrum-4", "host": "Ubuntu 22.04 (GPU node)"}[kind]
        d = Device(name, kind, mac, f"10.{k >> 8}.{k & 0xff}.1", clock_offset_ns=rng.randint(-skew, skew),
                   system_desc=desc)
        devices[name] = d
        return d

    def add_port(dev: Device, short: str) -> Port:
        k = len(dev.ports) + 1
        mac = bytearray(dev.chassis_mac)
        mac[5] = k & 0xff
        p = Port(f"{dev.name}:{short}", dev.name, short, k + 1, bytes(mac), 400 * 10**9)
        dev.ports.append(p.name)
        port_map[p.name] = p
        return p

    leaves = []
    for i in range(switches):
        pod = i // rails
        leaves.append(add_device(f"leaf{i:03d}", "leaf", len(devices) + 1))
        place[leaves[-1].name] = (f"pod{pod}-net", f"pod{pod}")
    leaf_ports = [[add_port(leaf, f"swp{j + 1}") for j in range(ports)] for leaf in leaves]
    n_pods = math.ceil(switches / rails)
    for pod in range(n_pods):
        pod_leaves = list(range(pod * rails, min(switches, (pod + 1) * rails)))
        for j in range(ports):
            host = add_device(f"gpu-p{pod}-{j:03d}", "host", len(devices) + 1)
            place[host.name] = (f"pod{pod}-rack{j // rack_hosts}", f"pod{pod}")
            for k, li in enumerate(pod_leaves):
                hp = add_port(host, f"ens{k + 1}f0np0")
                lp = leaf_ports[li][j]
                peer0[hp.name], peer0[lp.name] = lp.name, hp.name
    for p in port_map.values():
        p.lossless = 3
    return Fleet(devices, port_map, peer0), place


class _Planner:
    """Places faults: each holds its devices alone, with a margin."""

    def __init__(self, w: World):
        self.w = w
        self.busy: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.truth_flaps: list[dict] = []
        self.faults: list[dict] = []

    def free(self, devices: set[str], a: int, b: int) -> bool:
        return not any(x - MARGIN_NS < b and a < y + MARGIN_NS for d in devices for x, y in self.busy[d])

    def place(self, devices: set[str], span: int, tries: int = 40) -> int | None:
        w = self.w
        lo, hi = w.t0 + 40 * S, w.t_end - 20 * S - span  # LLDP heard before; back up before the end
        for _ in range(tries):
            if hi <= lo:
                return None
            t = w.rng.randint(lo, hi)
            if self.free(devices, t, t + span):
                for d in devices:
                    self.busy[d].append((t, t + span))
                return t
        return None

    def outage(self, fault: int, ports: list[str], down: int, up: int, both: bool) -> None:
        """One outage on ``ports`` (a link's two ends when ``both``: the second end 0-2 ms later)."""
        base = len(self.truth_flaps)
        for k, port in enumerate(ports):
            shift = self.w.rng.randint(0, 2 * MS) if k else 0
            d, u = down + shift, up + shift
            self.w.down[port].append([d, u])
            self.truth_flaps.append({"port": port, "device": self.w.fleet.ports[port].device, "down_ns": d, "up_ns": u,
                                     "fault": fault, "pair": base + (1 - k) if both else -1})

    def link_outages(self, fault: int, links: list[str], down: int, dur: int, jitter: int = 20 * MS) -> None:
        """Each of these ports and its peer go down within ``jitter`` for about ``dur``."""
        rng, fleet = self.w.rng, self.w.fleet
        for port in links:
            t = down + rng.randint(0, jitter)
            self.outage(fault, [port, fleet.peer0[port]], t, t + int(dur * rng.uniform(0.95, 1.05)), True)

    def new_fault(self, family: str, devices, ports, start: int, **params) -> int:
        self.faults.append({"id": len(self.faults), "family": family, "devices": sorted(devices),
                            "ports": sorted(ports), "start_ns": start, **params})
        return len(self.faults) - 1


def plan_faults(w: World, place: dict[str, tuple[str, str]], rate: float = 1.0) -> _Planner:
    """Faults at rates per 10 minutes scaled by the fleet's size and ``rate``."""
    rng, fleet = w.rng, w.fleet
    pl = _Planner(w)
    leaves = [d for d in fleet.devices.values() if d.kind == "leaf"]
    hosts = [d for d in fleet.devices.values() if d.kind == "host"]
    scale = rate * (w.t_end - w.t0) / (600 * S)
    racks: dict[str, list[str]] = defaultdict(list)
    pods: dict[str, list[str]] = defaultdict(list)
    for name, (rack, pod) in place.items():
        if fleet.devices[name].kind == "host":
            racks[rack].append(name)
        else:
            pods[pod].append(name)

    def count(per_10min: float) -> int:
        x = per_10min * scale
        return max(1, int(x) + (rng.random() < x - int(x)))

    def devs_of(ports: list[str]) -> set[str]:
        return {fleet.ports[p].device for p in ports} | {fleet.ports[fleet.peer0[p]].device for p in ports}

    def group_wave(family: str, members: list[str], **params) -> None:
        """Every device of a group down one after the other within 2 s (with its links)."""
        ports = [p for d in members for p in fleet.devices[d].ports]
        dur = int(log_uniform(rng, 10, 60) * S)
        t = pl.place(devs_of(ports), dur + 3 * S)
        if t is not None:
            fid = pl.new_fault(family, devs_of(ports), ports, t, **params)
            for d in members:
                pl.link_outages(fid, fleet.devices[d].ports, t + rng.randint(0, 2 * S), dur)

    # The big ones first (they need room): a pod, racks, hosts, line cards; then cables and ports.
    if len(pods) >= 2:
        for pod in rng.sample(sorted(pods), min(len(pods) - 1, count(len(pods) / 8))):
            group_wave("pod-reboot", pods[pod], pod=pod)
    for rack in rng.sample(sorted(racks), min(len(racks), count(len(racks) / 16))):
        group_wave("rack-power", racks[rack], rack=rack)
    for host in rng.sample(hosts, min(len(hosts), count(len(hosts) / 32))):
        dur = int(log_uniform(rng, 5, 60) * S)
        t = pl.place(devs_of(host.ports), dur + S)
        if t is not None:
            fid = pl.new_fault("host-reboot", devs_of(host.ports), host.ports, t, device=host.name)
            pl.link_outages(fid, host.ports, t, dur)
    for leaf in rng.sample(leaves, min(len(leaves), count(len(leaves) / 8))):
        n = min(len(leaf.ports), max(DEFINITIONS["device_min_ports"] + 1, 8))
        first = rng.randrange(0, len(leaf.ports) - n + 1)
        ports = leaf.ports[first:first + n]
        dur = int(log_uniform(rng, 3, 30) * S)
        t = pl.place(devs_of(ports), dur + S)
        if t is not None:
            fid = pl.new_fault("linecard", devs_of(ports), ports, t, device=leaf.name)
            pl.link_outages(fid, ports, t, dur)
    leaf_ports = [p for leaf in leaves for p in leaf.ports]
    for port in rng.sample(leaf_ports, min(len(leaf_ports), count(len(leaves) * 0.5))):
        shape = rng.choices(("single", "micro", "oscillation"), (0.5, 0.25, 0.25))[0]
        if shape == "oscillation":  # slow enough for linkwatch to show each flap
            period, n = int(rng.uniform(2, 8) * S), rng.randint(3, 6)
            pattern = [(i * period, int(rng.uniform(0.02, 0.5) * S)) for i in range(n)]
        elif shape == "micro":
            pattern = [(0, int(rng.uniform(1.5, 8) * MS))]
        else:
            pattern = [(0, int(log_uniform(rng, 0.02, 15) * S))]
        span = max(o + d for o, d in pattern)
        t = pl.place(devs_of([port]), span + S)
        if t is None:
            continue
        fid = pl.new_fault("cable", devs_of([port]), [port, fleet.peer0[port]], t, shape=shape)
        for o, d in pattern:
            pl.outage(fid, [port, fleet.peer0[port]], t + o, t + o + d, True)
    all_ports = list(fleet.ports)
    for port in rng.sample(all_ports, min(len(all_ports), count(len(leaves)))):
        dur = int(log_uniform(rng, 0.02, 10) * S)
        t = pl.place({fleet.ports[port].device}, dur + S)
        if t is not None:
            fid = pl.new_fault("port", {fleet.ports[port].device}, [port], t)
            pl.outage(fid, [port], t, t + dur, False)
    return pl


# ------------------------------------------------------------------------------------ truth


def _chains(times: list[tuple[int, str]], gap: int) -> list[list[tuple[int, str]]]:
    out: list[list] = []
    for t, key in sorted(times):
        if out and t - out[-1][-1][0] <= gap:
            out[-1].append((t, key))
        else:
            out.append([(t, key)])
    return out


def device_wide_truth(flaps: list[dict], defs: dict = DEFINITIONS) -> list[dict]:
    by_dev: dict[str, list] = defaultdict(list)
    for f in flaps:
        by_dev[f["device"]].append((f["down_ns"], f["port"]))
    out = []
    for dev, downs in sorted(by_dev.items()):
        for chain in _chains(downs, int(defs["device_gap_s"] * S)):
            ports = {p for _, p in chain}
            if len(ports) >= defs["device_min_ports"]:
                out.append({"device": dev, "start_ns": chain[0][0], "end_ns": chain[-1][0], "ports": len(ports)})
    return out


def wave_truth(events: list[dict], place: dict[str, tuple[str, str]], defs: dict = DEFINITIONS) -> list[dict]:
    members: dict[tuple[str, str], set[str]] = defaultdict(set)
    for dev, (rack, pod) in place.items():
        members[("rack", rack)].add(dev)
        members[("pod", pod)].add(dev)
    onsets: dict[tuple[str, str], list] = defaultdict(list)
    for e in events:
        rack, pod = place[e["device"]]
        onsets[("rack", rack)].append((e["start_ns"], e["device"]))
        onsets[("pod", pod)].append((e["start_ns"], e["device"]))
    out = []
    for (level, group), times in sorted(onsets.items()):
        for chain in _chains(times, int(defs["wave_gap_s"] * S)):
            devs = {d for _, d in chain}
            if len(devs) >= defs["wave_min_devices"] and len(devs) >= defs["wave_min_fraction"] * len(members[(level, group)]):
                out.append({"level": level, "group": group, "start_ns": chain[0][0], "end_ns": chain[-1][0],
                            "devices": len(devs)})
    return out


# ------------------------------------------------------------------------------------ writing


def simulate_fabric(directory: str | os.PathLike, switches: int = 8, ports: int = 8, *, duration_s: float = 600,
                    seed: int = 0, host_nics: int = 8, rack_hosts: int = 4, skew_ms: float = 50.0,
                    fault_rate: float = 1.0) -> FabricResult:
    """Write one capture per device, the topology and the truth into ``directory``."""
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    rng = random.Random(f"fabric/{switches}/{ports}/{host_nics}/{seed}")
    fleet, place = make_fabric(rng, switches, ports, host_nics, rack_hosts, skew_ms)
    t0 = EPOCH0 + rng.randrange(0, 200 * 86400) * S + rng.randrange(S)
    w = World(rng, fleet, t0, int(duration_s * S))
    pl = plan_faults(w, place, fault_rate)
    w.finalize()
    frames = Frames(fleet, False)
    render_netlink(w, frames)
    render_lldp(w, frames)
    by_dev: dict[str, list] = defaultdict(list)
    for row in frames.rows:
        by_dev[row[1].split(":", 1)[0]].append(row)
    files = []
    for name in fleet.devices:
        rows = sorted(by_dev.get(name, []), key=lambda r: r[0])
        path = os.path.join(directory, f"{name}.pcapng")
        with PcapngWriter(path, application=f"flapwatch simulate --devices {switches} --seed {seed}") as pw:
            for ts, iface, linktype, data, _, _ in rows:
                pw.write(pw.add_interface(iface, linktype), ts, data)
        files.append(path)
    topology = os.path.join(directory, "topology.csv")
    with open(topology, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["device", "kind", "rack", "pod"])
        for name, (rack, pod) in place.items():
            out.writerow([name, fleet.devices[name].kind, rack, pod])
    flaps = sorted(pl.truth_flaps, key=lambda f: (f["down_ns"], f["port"]))
    index = {id(f): i for i, f in enumerate(pl.truth_flaps)}
    order = {index[id(f)]: i for i, f in enumerate(flaps)}
    for f in flaps:  # re-point the pairs after sorting
        f["pair"] = order[f["pair"]] if f["pair"] >= 0 else -1
    device_wide = device_wide_truth(flaps)
    truth = {
        "about": "flapwatch simulate --devices: what the simulator drove, in true time, and what the definitions give",
        "seed": seed, "switches": switches, "ports": ports, "host_nics": host_nics, "rack_hosts": rack_hosts,
        "skew_ms": skew_ms, "start_ns": w.t0, "end_ns": w.t_end, "frames": len(frames.rows),
        "definitions": DEFINITIONS,
        "devices": [{"name": d.name, "kind": d.kind, "rack": place[d.name][0], "pod": place[d.name][1],
                     "clock_offset_ns": d.clock_offset_ns, "file": f"{d.name}.pcapng"} for d in fleet.devices.values()],
        "links": sorted({tuple(sorted((a, b))) for a, b in fleet.peer0.items()}),
        "faults": pl.faults,
        "flaps": flaps,
        "device_wide": device_wide,
        "waves": wave_truth(device_wide, place),
    }
    truth_path = os.path.join(directory, "fleet.truth.json")
    with open(truth_path, "w") as f:
        json.dump(truth, f)
    return FabricResult(directory, files, truth_path, topology, truth, len(frames.rows))
