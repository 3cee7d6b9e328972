"""The fleet: 1-2 leaf switches and 2-6 GPU hosts with one or two RoCE ports each (100/200/400G),
plus leaf uplinks to a spine that is not captured, and the cabling at the start."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from flapwatch.tables.units import NS_PER_US as US
from flapwatch import wire


@dataclass
class Port:
    name: str  # "leaf1:swp3": the IDB if_name and the IFLA_IFNAME
    device: str
    short: str  # "swp3": the LLDP port id (subtype 5, interface name)
    ifindex: int
    mac: bytes
    speed_bps: int = 100 * 10**9
    lossless: int = 3  # the PFC priority RoCE uses
    ip: str = ""


@dataclass
class Device:
    name: str
    kind: str  # "leaf", "host", "spine" (spines are not captured)
    chassis_mac: bytes
    mgmt_ip: str
    ports: list[str] = field(default_factory=list)
    captured: bool = True
    clock_offset_ns: int = 0  # this device's capture clock against true time
    system_desc: str = ""


@dataclass
class Fleet:
    devices: dict[str, Device]
    ports: dict[str, Port]
    peer0: dict[str, str]  # the cabling at the start, both directions

    def device_of(self, port: str) -> Device:
        return self.devices[self.ports[port].device]

    def captured_ports(self) -> list[str]:
        return [p for p, port in self.ports.items() if self.devices[port.device].captured]


def make_fleet(rng: random.Random) -> Fleet:
    devices: dict[str, Device] = {}
    ports: dict[str, Port] = {}
    peer0: dict[str, str] = {}
    n_leaves = rng.choice((1, 1, 2))
    n_hosts = rng.randint(2, 6)
    dual = rng.random() < 0.5 and n_hosts <= 4  # dual-port hosts: one port per leaf (rail-optimised)
    oui = rng.choice(("b8:ce:f6", "1c:34:da", "98:03:9b"))

    def add_device(name: str, kind: str, captured: bool = True) -> Device:
        k = len(devices) + 1
        base = f"{oui}:{k:02x}:{rng.randrange(256):02x}"
        desc = {"leaf": "Cumulus Linux 5.9 on Spectrum-4", "host": "Ubuntu 22.04 (GPU node)",
                "spine": "SONiC 202311 on Tomahawk-5"}[kind]
        d = Device(name, kind, wire.mac_bytes(base + ":00"), f"10.{k}.0.1", captured=captured,
                   clock_offset_ns=rng.randint(-200 * US, 200 * US), system_desc=desc)
        devices[name] = d
        return d

    def add_port(dev: Device, short: str, speed: int) -> Port:
        k = len(dev.ports) + 1
        mac = bytearray(dev.chassis_mac)
        mac[5] = k
        p = Port(f"{dev.name}:{short}", dev.name, short, k + 1, bytes(mac), speed,
                 ip=f"10.{len(devices)}.{k}.{rng.randint(2, 250)}")
        dev.ports.append(p.name)
        ports[p.name] = p
        return p

    def cable(a: Port, b: Port) -> None:
        peer0[a.name], peer0[b.name] = b.name, a.name

    spine = add_device("spine1", "spine", captured=False)
    leaves = [add_device(f"leaf{i + 1}", "leaf") for i in range(n_leaves)]
    leaf_next = {leaf.name: 1 for leaf in leaves}
    for leaf in leaves:  # uplinks towards a spine nobody captures
        for u in range(rng.randint(1, 2)):
            up = add_port(leaf, f"swp{60 + u}", 400 * 10**9)
            sp = add_port(spine, f"Ethernet{len(spine.ports) * 8}", 400 * 10**9)
            cable(up, sp)
    for h in range(n_hosts):
        host = add_device(f"gpu-host{rng.randint(1, 9)}{h}", "host")
        speed = rng.choice((100, 100, 200, 400)) * 10**9
        n_ports = 2 if dual else 1
        for k in range(n_ports):
            leaf = leaves[(h + k) % n_leaves] if n_ports == 2 else leaves[0 if h < 2 else h % n_leaves]
            hp = add_port(host, f"ens{1 + k}f0np0" if rng.random() < 0.5 else f"ens1f{k}np{k}", speed)
            lp = add_port(leaf, f"swp{leaf_next[leaf.name]}", speed)
            leaf_next[leaf.name] += rng.randint(1, 3)
            cable(hp, lp)
    for p in ports.values():
        p.lossless = 3 if rng.random() < 0.85 else 4
    return Fleet(devices, ports, peer0)
