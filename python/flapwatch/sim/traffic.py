"""What each port's Ethernet interface (``<device>:<port>``, like its IFLA_IFNAME) holds:
what the port receives plus its own LLDPDUs leaving. On the wire: lldpd every 30 s (TTL 120,
random phase; faster in some silent-neighbor-loss fleets), one LLDPDU soon after the port
comes up; PFC storms refreshed before the pause runs out (0xffff quanta every 40-85 % of
its 335.5 us at 100G, 83.9 us at 400G); background PFC congestion blips (a few XOFF then
XON), rare 802.3x PAUSE, RoCEv2 data and ARP. Nothing flows while either end is down.
"""

from __future__ import annotations

from flapwatch.sim.output import Frames
from flapwatch.sim.world import FOREVER, World, full_pause_ns, log_uniform, refresh_interval
from flapwatch.sources.pcapng import LINKTYPE_ETHERNET
from flapwatch.tables import schema
from flapwatch.tables.units import NS_PER_MS as MS
from flapwatch.tables.units import NS_PER_S as S
from flapwatch.tables.units import NS_PER_US as US
from flapwatch import wire


def _mau_for(speed_bps: int) -> int:
    """An 802.3 MAU type the decoder maps to this speed; 0 (unknown) when it has none."""
    for mau in range(1, 79):
        if schema.mau_speed_bps(mau) == speed_bps:
            return mau
    return 0


def _lldp_bytes(w: World, port: str, ttl: int, desc_at: dict) -> bytes:
    p = w.fleet.ports[port]
    dev = w.fleet.devices[p.device]
    host = dev.kind == "host"
    return wire.lldpd_frame(
        p.mac, chassis_mac=dev.chassis_mac, port_id=p.short, ttl=ttl, port_desc=f"{p.short} to fabric" if host else p.short,
        system_name=dev.name, system_desc=desc_at.get(dev.name, dev.system_desc),
        caps=(wire.CAP_STATION | wire.CAP_ROUTER, wire.CAP_STATION) if host else (wire.CAP_BRIDGE | wire.CAP_ROUTER, wire.CAP_ROUTER),
        mgmt_ip=dev.mgmt_ip, ifindex=p.ifindex, pfc=(1 if host else 0, 0, 8, 1 << p.lossless),
        mau_type=_mau_for(p.speed_bps), max_frame=9216)


def render_lldp(w: World, out: Frames) -> dict[str, list]:
    """lldpd on every port (spines too). Returns each port's receptions: (t, MSAP) (truth)."""
    rng, fleet = w.rng, w.fleet
    received: dict[str, list] = {p: [] for p in fleet.ports}
    cache: dict[tuple, bytes] = {}
    changes = sorted(w.desc_changes)
    for port, p in fleet.ports.items():
        dev = fleet.devices[p.device]
        tx_times = []
        t = w.t0 + rng.randint(0, w.lldp_tx_ns)
        while t < w.t_end:
            tx_times.append(t)
            t += w.lldp_tx_ns + rng.randint(-2 * MS, 2 * MS)
        for down, up in w.down[port]:  # lldpd notices the port came up and sends at once
            if up is not None:
                tx_times.append(up + rng.randint(200 * MS, 2 * S))
        stop = w.lldp_stops.get(port, FOREVER)
        for t in sorted(tx_times):
            if t >= w.t_end or t >= stop or w.is_down(port, t):
                continue
            desc_at = {d: txt for when, d, txt in changes if when <= t}
            key = (port, desc_at.get(dev.name))
            if key not in cache:
                cache[key] = _lldp_bytes(w, port, w.lldp_ttl, desc_at)
            frame = cache[key]
            fields = (wire.mac_text(dev.chassis_mac), p.short, w.lldp_ttl, dev.name)
            if dev.captured:  # our own advertisement, seen leaving
                out.add(t, dev.name, port, LINKTYPE_ETHERNET, frame, "lldp", fields)
            peer = w.peer_at(port, t)
            if not w.link_up(port, peer, t):
                continue
            if _lost(w, peer, t):
                continue
            received[peer].append((t, (wire.mac_text(dev.chassis_mac), p.short)))
            if fleet.devices[fleet.ports[peer].device].captured:
                out.add(t + rng.randint(1 * US, 5 * US), fleet.ports[peer].device, peer, LINKTYPE_ETHERNET, frame,
                        "lldp", fields)
    for rx in received.values():
        rx.sort()
    return received


def _lost(w: World, rx_port: str, t: int) -> bool:
    for port, a, b, p_max in w.rx_loss:
        if port == rx_port and a <= t <= b:
            return w.rng.random() < p_max * (t - a) / max(1, b - a)
    return False


def render_pfc(w: World, out: Frames) -> None:
    rng, fleet = w.rng, w.fleet
    for storm in w.storms:
        rx = fleet.ports[storm.port]
        peer = w.peer_at(storm.port, storm.start_ns)
        tx = fleet.ports[peer]
        quanta = [0] * 8
        quanta[storm.priority] = 0xFFFF
        xoff = wire.pfc_frame(tx.mac, 1 << storm.priority, quanta)
        pause_ns = full_pause_ns(rx.speed_bps)
        t, first, last = storm.start_ns, None, None
        while t < storm.end_ns and w.link_up(storm.port, peer, t):
            out.add(t, rx.device, storm.port, LINKTYPE_ETHERNET, xoff, "pfc", (wire.mac_text(tx.mac), 1 << storm.priority, tuple(quanta)))
            first = t if first is None else first
            last = t + pause_ns
            t += int(storm.refresh_ns * rng.uniform(0.9, 1.1))
        if t >= storm.end_ns and w.link_up(storm.port, peer, t):  # ended by the sender: XON
            out.add(t, rx.device, storm.port, LINKTYPE_ETHERNET, wire.pfc_frame(tx.mac, 1 << storm.priority, [0] * 8),
                    "pfc", (wire.mac_text(tx.mac), 1 << storm.priority, (0,) * 8))
            last = t
        storm.observed = (first, last) if first is not None else None
    # Background: congestion blips (a few XOFF, then XON), rarer 802.3x PAUSE; more of both
    # where a creep ramps up.
    for port in fleet.captured_ports():
        rx = fleet.ports[port]
        rate = log_uniform(rng, 0.03, 0.5)  # blips per second
        ramps = [(a, b) for p, a, b in w.creep if p == port]
        t = w.t0 + int(rng.expovariate(rate) * S)
        while t < w.t_end:
            boost = 0.0
            for a, b in ramps:
                if a <= t <= b:
                    boost = (t - a) / max(1, b - a)
            peer = w.peer_at(port, t)
            if w.link_up(port, peer, t):
                tx = fleet.ports[peer]
                prio = rx.lossless if rng.random() < 0.9 else (rx.lossless + 1) % 8
                n = rng.randint(1, 4) + int(boost * rng.randint(0, 40))
                refresh = refresh_interval(rng, rx.speed_bps)
                vlan = rng.randint(2, 4000) if rng.random() < 0.01 else None
                for k in range(n + 1):
                    q = [0] * 8
                    if k < n:
                        q[prio] = 0xFFFF if rng.random() < 0.7 else rng.randint(0x100, 0xFFFE)
                    out.add(t + k * refresh, rx.device, port, LINKTYPE_ETHERNET,
                            wire.pfc_frame(tx.mac, 1 << prio, q, [wire.vlan_tag(vlan, pcp=prio)] if vlan else None), "pfc",
                            (wire.mac_text(tx.mac), 1 << prio, tuple(q)))
            t += int(rng.expovariate(rate + boost * 6.0) * S) + 1
        if fleet.device_of(port).kind == "leaf" and rng.random() < 0.2:  # a host sending global PAUSE now and then
            t = w.t0 + int(rng.uniform(0, 60) * S)
            while t < w.t_end:
                peer = w.peer_at(port, t)
                if w.link_up(port, peer, t):
                    out.add(t, rx.device, port, LINKTYPE_ETHERNET, wire.pause_frame(fleet.ports[peer].mac, rng.choice((0xFFFF, 0x400, 0))),
                            "pause", None)
                t += int(rng.uniform(20, 90) * S)


def render_traffic(w: World, out: Frames) -> None:
    """RoCEv2 data and ARP: what a busy port receives (a sample: a few frames a second)."""
    rng, fleet = w.rng, w.fleet
    for port in fleet.captured_ports():
        rx = fleet.ports[port]
        rate = rng.uniform(1.0, 3.0)
        t = w.t0 + int(rng.expovariate(rate) * S)
        psn = rng.randrange(1 << 24)
        while t < w.t_end:
            peer = w.peer_at(port, t)
            if w.link_up(port, peer, t):
                tx = fleet.ports[peer]
                if rng.random() < 0.97:
                    data = wire.roce_frame(tx.mac, rx.mac, tx.ip or "10.0.0.1", rx.ip or "10.0.0.2", psn)
                else:
                    data = wire.arp_request(tx.mac, tx.ip or "10.0.0.1", rx.ip or "10.0.0.2")
                out.add(t, rx.device, port, LINKTYPE_ETHERNET, data, "other", None)
                psn += 1
            t += int(rng.expovariate(rate) * S) + 1
