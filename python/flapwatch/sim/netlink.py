"""Each captured device's nlmon recording: an RTM_GETLINK dump, promiscuity changes as the
captures start, then the RTM_NEWLINK notifications its kernel's linkwatch sends for the
carrier changes the faults drove (kernel/linkwatch.py: one kernel per device, its jiffies at
a phase of its own; every port a physical NIC outside a LAG, ifindex == iflink, so only an
up after a processed down is urgent)."""

from __future__ import annotations

from flapwatch.kernel.linkwatch import Jiffies, notifications
from flapwatch.sim.output import Frames
from flapwatch.sim.world import World
from flapwatch.sources.pcapng import LINKTYPE_NETLINK
from flapwatch.tables.units import NS_PER_MS as MS
from flapwatch.tables.units import NS_PER_S as S
from flapwatch.tables.units import NS_PER_US as US
from flapwatch import wire


def render_netlink(w: World, out: Frames) -> dict[str, list]:
    """Each captured device's nlmon recording. Returns every notification per port (truth)."""
    rng, fleet = w.rng, w.fleet
    sent: dict[str, list] = {}
    for dev in fleet.devices.values():
        if not dev.captured:
            continue
        names = dev.ports
        counts = [rng.randint(0, 12) for _ in names]
        ups, downs = [c + 1 for c in counts], counts
        transitions = []
        for i, p in enumerate(names):
            for down, up in w.down[p]:
                transitions.append((down, i, False))
                if up is not None:
                    transitions.append((up, i, True))
        msgs = notifications(transitions, [True] * len(names), ups, downs, rng, jiffies=Jiffies.random(rng))
        iface = f"{dev.name}:nlmon0"
        pid, seq = rng.randint(2000, 60000), w.t0 // S
        t = w.t0 + rng.randint(1 * MS, 40 * MS)

        def stats(t_: int) -> tuple[int, ...]:  # rx/tx packets and bytes growing with time
            e = t_ - w.t0
            return int(e / 1e3), int(e / 1.1e3), int(e * 4.1), int(e * 3.9)

        port_of = {p: fleet.ports[p] for p in names}
        dump = [wire.newlink_msg(ifindex=1, ifname=f"{dev.name}:lo", mac=bytes(6), up=True, changes=0, up_count=0,
                                 down_count=0, mtu=65536, loopback=True, flags=wire.NLM_F_MULTI, seq=seq, pid=pid)]
        fields = [(f"{dev.name}:lo", 1, 0, 0)]
        for i, p in enumerate(names):
            dump.append(wire.newlink_msg(ifindex=port_of[p].ifindex, ifname=p, mac=port_of[p].mac, up=True,
                                         changes=ups[i] + downs[i], up_count=ups[i], down_count=downs[i],
                                         stats=stats(t), flags=wire.NLM_F_MULTI, seq=seq, pid=pid))
            fields.append((p, 1, ups[i], downs[i]))
        out.add(t, dev.name, iface, LINKTYPE_NETLINK, wire.nlmon_frame(b"".join(dump)), "netlink", fields)
        out.add(t + 30 * US, dev.name, iface, LINKTYPE_NETLINK, wire.nlmon_frame(wire.done_msg(seq, pid)), "netlink", [])
        # The captures starting on each port turn promiscuous mode on: RTM_NEWLINK, no carrier change.
        t += rng.randint(20 * MS, 200 * MS)
        for i, p in enumerate(names):
            t += rng.randint(1 * MS, 30 * MS)
            msg = wire.newlink_msg(ifindex=port_of[p].ifindex, ifname=p, mac=port_of[p].mac, up=True,
                                   changes=ups[i] + downs[i], up_count=ups[i], down_count=downs[i], stats=stats(t),
                                   change=0x100, promisc=True)
            out.add(t, dev.name, iface, LINKTYPE_NETLINK, wire.nlmon_frame(msg), "netlink", [(p, 1, ups[i], downs[i])])
        for m in msgs:
            p = names[m.port]
            if m.t_ns >= w.t_end:
                continue
            msg = wire.newlink_msg(ifindex=port_of[p].ifindex, ifname=p, mac=port_of[p].mac, up=m.up,
                                   changes=m.up_count + m.down_count, up_count=m.up_count, down_count=m.down_count,
                                   stats=stats(m.t_ns), promisc=True)
            out.add(m.t_ns, dev.name, iface, LINKTYPE_NETLINK, wire.nlmon_frame(msg), "netlink",
                    [(p, int(m.up), m.up_count, m.down_count)])
            sent.setdefault(p, []).append(m)
            # Sometimes a second notification follows with nothing changed (addrconf, qdisc).
            if m.up and rng.random() < 0.15:
                t2 = m.t_ns + rng.randint(50 * US, 5 * MS)
                if not _changes_between(w, p, m.t_ns, t2) and t2 < w.t_end:
                    msg2 = wire.newlink_msg(ifindex=port_of[p].ifindex, ifname=p, mac=port_of[p].mac, up=True,
                                            changes=m.up_count + m.down_count, up_count=m.up_count,
                                            down_count=m.down_count, stats=stats(t2), promisc=True)
                    out.add(t2, dev.name, iface, LINKTYPE_NETLINK, wire.nlmon_frame(msg2), "netlink",
                            [(p, 1, m.up_count, m.down_count)])
    return sent


def _changes_between(w: World, port: str, a: int, b: int) -> bool:
    return any(a <= d <= b or (u is not None and a <= u <= b) for d, u in w.down[port])
