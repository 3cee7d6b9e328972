"""The kernel's linkwatch (net/core/link_watch.c), as a model: which carrier changes become
RTM_NEWLINK notifications, when, and with what state. The simulator runs one per device
(one kernel); the classifier's hidden-flap bounds rely on the same facts; and
tests/kernel/test_linkwatch_differential.py checks it against a real kernel.

What the kernel does, and this model with it:
- netif_carrier_on/off bump carrier_up_count / carrier_down_count at once, then fire a
  linkwatch event (linkwatch_fire_event).
- An event is *urgent* (linkwatch_urgent_event) when the device is running and either it is
  always urgent - its ifindex differs from its iflink (a veth whose peer has another index,
  most virtual devices) or it is a LAG port or master - or its carrier is on while its qdisc
  is still deactivated (an up after a down linkwatch already processed). A physical NIC
  outside a LAG has ifindex == iflink: only those ups are urgent.
- An event on a device already queued is dropped unless urgent: the queued one will report
  the state current when it runs. That is how fast flaps vanish and only move the counters.
- linkwatch_schedule_work: urgent work runs at once (mod_delayed_work(.., 0)); other work
  waits until linkwatch_nextevent (a delayed_work timer, which never moves an armed timer).
  A run that is not urgent-only sets linkwatch_nextevent = jiffies + HZ: at most one such
  run a second, shared by every device of the kernel (all namespaces). A run while
  nextevent is ahead is urgent-only: it processes only the devices urgent at that moment
  and leaves the others queued (then re-arms the timer for nextevent).
- Processing a device (linkwatch_do_dev): operstate by RFC 2863 (up, or down: carrier off),
  and, if it is administratively up, (de)activate its qdisc to match the carrier and send one
  RTM_NEWLINK (netdev_state_change) with its state at that moment.
- The timer is a timer_list on the jiffies wheel (kernel/time/timer.c): a delay of 63
  jiffies or more is rounded up to 8 jiffies (63 * 8 or more: 64), and a timer never fires
  early, so a delayed run lands 1 to 8 jiffies after nextevent (HZ=250: 4-32 ms). On the
  6.18 test machine it came at that jiffy or, about one time in three, the next one
  (tests/kernel/test_linkwatch_differential.py): TIMER_LATE_JIFFIES.
- `ip link set DEV down|up` (dev_close / dev_open): down clears running and deactivates the
  qdisc before the driver's ndo_stop drops the carrier; up sets running, ndo_open raises the
  carrier (urgent: the qdisc is down) and dev_open then activates the qdisc itself, so the
  urgent run that follows finds the device no longer urgent and leaves it queued for the
  next rate-limited run. A veth's ndo_open/ndo_stop also switch its peer's carrier.
- linkwatch_sync_dev processes one queued device at once, outside the runs (``sync``): a
  single-device RTM_GETLINK (`ip link show dev X`), a read of sysfs `carrier`, ethtool's
  get_link - measured on 6.18: not a read of `operstate` or `carrier_changes`, not a dump.
  The rate limit and the timer stay as they were. (A poller reading `carrier` makes a NIC's
  held-back downs show at once; the simulator has none.)
Not modelled: dormant/testing operstates, IF_OPER_LOWERLAYERDOWN (a lower device in the
same namespace).
Timing seen on real machines (docs/DESIGN.md, Linkwatch): a notification 0.3-0.9 ms after the change when
it runs at once; a delayed run a fraction of a millisecond after its timer's jiffy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

if TYPE_CHECKING:  # the model takes a caller's Random; replay's results import this module
    import random

from flapwatch.tables.units import NS_PER_S

# The timing, stated once: the simulator produces link messages with it, and the classifier
# (kernel/bounds.py) bounds each flap's true down time by it.
HZ = 250  # CONFIG_HZ of the kernels modelled by default (Debian, Cumulus, the CI machine's 6.18)
HZ_NS = NS_PER_S  # the one-second rate limit (HZ jiffies)
JIFFY_NS = HZ_NS // HZ
NOTIFY_DELAY_NS = (300_000, 900_000)  # a run at once: 0.3-0.9 ms after the change
TIMER_SLACK_NS = (50_000, 250_000)  # a delayed run: this long after its timer's jiffy began
MESSAGE_GAP_NS = (5_000, 30_000)  # within a run, one message after the other
TIMER_LATE_JIFFIES = 1  # a delayed run may come this many jiffies after its timer's bucket
NEVER = -(1 << 62)
IF_OPER_DOWN, IF_OPER_UP = 2, 6  # RFC 2863 operstates linkwatch sets (IFLA_OPERSTATE)

LVL_CLK_SHIFT, LVL_SIZE = 3, 64  # the timer wheel: 64 buckets a level, each level 8x coarser


def _wheel_shift(delta: int) -> int:
    """log2 of the bucket size for a timer ``delta`` jiffies ahead: level n holds deltas below
    63 << 3n jiffies in buckets of 8**n jiffies (calc_wheel_index)."""
    shift = 0
    while delta >= (LVL_SIZE - 1) << shift:
        shift += LVL_CLK_SHIFT
    return shift


def timer_fires(expires: int, clk: int) -> int:
    """The jiffy at which a timer_list armed at jiffy ``clk`` for ``expires`` fires: its
    expiry rounded up to the next bucket of its level, so it never fires early (calc_index)."""
    if expires < clk:
        return clk
    shift = _wheel_shift(expires - clk)
    return ((expires >> shift) + 1) << shift


def tick_late_ns(hz: int = HZ) -> int:
    """The most a rate-limited run can come after the second since the run before is up: the
    wheel's bucket for a timer up to HZ jiffies ahead, and the jiffy it may add (HZ=250:
    9 jiffies, 36 ms; HZ=1000: 65 ms)."""
    return ((1 << _wheel_shift(hz)) + TIMER_LATE_JIFFIES) * (NS_PER_S // hz)


TICK_LATE_NS = tick_late_ns(HZ)


@dataclass(frozen=True)
class Jiffies:
    """One kernel's jiffies on the capture clock: jiffy ``n`` begins at origin_ns + n * (1 s / hz).
    The kernel's own count is n plus a multiple of 8**4 (the timer wheel rounds on it)."""

    hz: int = HZ
    origin_ns: int = 0

    @property
    def jiffy_ns(self) -> int:
        return NS_PER_S // self.hz

    def at(self, t_ns: int) -> int:
        return (t_ns - self.origin_ns) // self.jiffy_ns

    def start(self, j: int) -> int:
        return self.origin_ns + j * self.jiffy_ns

    @classmethod
    def random(cls, rng: random.Random, hz: int = HZ) -> "Jiffies":
        return cls(hz, rng.randrange(8**4 * (NS_PER_S // hz)))


@dataclass(frozen=True)
class LinkMessage:
    """One RTM_NEWLINK notification: the port's state when linkwatch ran."""

    t_ns: int
    port: int
    up: bool
    up_count: int
    down_count: int
    operstate: int = IF_OPER_UP


class Linkwatch:
    """One kernel's linkwatch over ``n`` devices. Feed changes in time order with
    ``carrier_change(t, port, up)`` and ``admin_change(t, port, up)``; ``finish()`` runs the
    work still due and returns the messages (every device's; the caller keeps those it sees).

    always_urgent: per device, linkwatch_urgent_event's standing reasons (ifindex != iflink,
    a LAG port or master). jiffies: the kernel's tick on the capture clock (default: a random
    phase at HZ=250). late_jiffies: how many jiffies (0 to TIMER_LATE_JIFFIES) each delayed run
    comes after its timer's bucket, or None (TIMER_LATE_JIFFIES one time in three, else 0).

    Checking the model against a real kernel (tests/kernel/test_linkwatch_differential.py):
    input_jitter_ns is how far the change times given may be off the kernel's (a driver knows
    each change within its command's window), so a run at once may have been in a neighbouring
    jiffy, linkwatch_nextevent is known within a jiffy or two, and a timer armed for it within
    a bucket of the wheel (8 jiffies at level 1). choose_jiffy, given the jiffies a delayed run
    may come at (its bucket, the next, then the buckets input_jitter_ns allows), returns the
    one it came at, or None when it cannot tell (the first is taken, and the rate limit that
    run sets stays as open); late_jiffies is then not used."""

    def __init__(self, initial_up: list[bool], up_counts: list[int], down_counts: list[int], rng: random.Random,
                 *, always_urgent: Sequence[bool] | None = None, jiffies: Jiffies | None = None,
                 late_jiffies: int | None = None, input_jitter_ns: int = 0,
                 choose_jiffy: Callable[[list[int]], int | None] | None = None):
        n = len(initial_up)
        self.late_jiffies = late_jiffies
        self.input_jitter_ns = input_jitter_ns
        self.choose_jiffy = choose_jiffy
        self.rng = rng
        self.clock = jiffies if jiffies is not None else Jiffies.random(rng)
        self.always_urgent = list(always_urgent) if always_urgent is not None else [False] * n
        self.running = [True] * n  # netif_running: administratively up
        self.carrier = list(initial_up)
        self.active = list(initial_up)  # qdisc activated (the last processed state was up)
        self.pending = [False] * n
        self.up_count = list(up_counts)
        self.down_count = list(down_counts)
        self.queue: list[int] = []
        self.urgent_flag = False
        self.next_event = NEVER  # linkwatch_nextevent, in jiffies
        self.next_event_may_be = [NEVER]  # the values it may have in the kernel (input_jitter_ns)
        self.work_at: int | None = None
        self.work_jiffies: list[int] | None = None  # a delayed run's: the jiffies it may come at
        self.messages: list[LinkMessage] = []

    def _urgent(self, p: int) -> bool:
        if not self.running[p]:
            return False
        return self.always_urgent[p] or (self.carrier[p] and not self.active[p])

    def _schedule(self, t: int, urgent: bool) -> None:
        if self.urgent_flag:
            return  # work already due at once
        j = self.clock.at(t)
        delay = self.next_event - j
        if urgent:
            self.urgent_flag = True
            delay = 0
        if delay > self.clock.hz or delay < 0:  # unsigned: a nextevent in the past is a huge delay
            delay = 0
        if self.urgent_flag:  # mod_delayed_work(.., 0): now, overriding any timer
            self._run_at(t + self.rng.randint(*NOTIFY_DELAY_NS))
        elif self.work_at is None:  # schedule_delayed_work: does not move a queued timer
            if delay == 0:
                self._run_at(t + self.rng.randint(*NOTIFY_DELAY_NS))
                return
            fires = timer_fires(j + delay, j)
            may_be = [fires + k for k in range(TIMER_LATE_JIFFIES + 1)]
            if self.choose_jiffy is not None:
                may_be += sorted({timer_fires(e, j) + k for e in self.next_event_may_be if e > j
                                  for k in range(TIMER_LATE_JIFFIES + 1)} - set(may_be))
                chosen = self.choose_jiffy(may_be)
                if chosen is not None:
                    may_be = [chosen]
            elif self.late_jiffies is None:
                may_be = [may_be[TIMER_LATE_JIFFIES if self.rng.random() < 1 / 3 else 0]]
            else:
                may_be = [fires + self.late_jiffies]
            self._run_at(self.clock.start(may_be[0]) + self.rng.randint(*TIMER_SLACK_NS), may_be)

    def _run_at(self, t: int, jiffies: list[int] | None = None) -> None:
        """The work runs at t: a delayed run in the first of `jiffies` (the kernel's in any of
        them), a run at once (None) in t's jiffy (the kernel's within input_jitter_ns of t)."""
        self.work_at = t
        self.work_jiffies = jiffies

    def _fire(self, t: int, p: int) -> None:
        urgent = self._urgent(p)
        if not self.pending[p]:
            self.pending[p] = True
            self.queue.append(p)
        elif not urgent:
            return  # folded into the queued event
        self._schedule(t, urgent)

    def _run(self) -> None:
        t = self.work_at
        assert t is not None
        self.work_at = None
        j = self.clock.at(t)
        may_be = self.work_jiffies or range(self.clock.at(t - self.input_jitter_ns),
                                            self.clock.at(t + self.input_jitter_ns) + 1)
        urgent_only = self.next_event > j
        if not urgent_only:
            self.next_event = j + self.clock.hz
            self.next_event_may_be = [k + self.clock.hz for k in may_be]
        elif self.next_event > j + self.clock.hz:
            self.next_event = j
            self.next_event_may_be = [j]
        self.urgent_flag = False
        work, self.queue = self.queue, []
        for p in work:
            if urgent_only and not self._urgent(p):
                self.queue.append(p)
                continue
            if self._process(t, p):
                t += self.rng.randint(*MESSAGE_GAP_NS)
        if self.queue:
            self._schedule(t, False)

    def _process(self, t: int, p: int) -> bool:
        """linkwatch_do_dev: True when it sent a message (the device is administratively up)."""
        self.pending[p] = False
        if not self.running[p]:
            return False  # operstate only: no qdisc change, no message
        self.active[p] = self.carrier[p]
        self.messages.append(LinkMessage(t, p, self.carrier[p], self.up_count[p], self.down_count[p],
                                         IF_OPER_UP if self.carrier[p] else IF_OPER_DOWN))
        return True

    def advance(self, t: int) -> None:
        """Run the work due before ``t``."""
        while self.work_at is not None and self.work_at <= t:
            self._run()

    def _carrier(self, t: int, p: int, up: bool) -> None:
        if self.carrier[p] == up:
            return
        self.carrier[p] = up
        if up:
            self.up_count[p] += 1
        else:
            self.down_count[p] += 1
        self._fire(t, p)

    def carrier_change(self, t: int, p: int, up: bool) -> None:
        """netif_carrier_on / netif_carrier_off on device ``p`` (a PHY's link going up or down)."""
        self.advance(t)
        self._carrier(t, p, up)

    def admin_change(self, t: int, p: int, up: bool, carrier_follows: Sequence[int] = ()) -> None:
        """`ip link set p up|down` on a device whose driver switches the carrier of ``p`` and
        of ``carrier_follows`` (a veth: its peer) in ndo_open / ndo_stop."""
        self.advance(t)
        if up == self.running[p]:
            return
        self.running[p] = up
        if not up:
            self.active[p] = False  # dev_deactivate_many, before ndo_stop
        for q in (p, *carrier_follows):
            self._carrier(t, q, up)
        if up and self.carrier[p]:
            self.active[p] = True  # dev_activate, after ndo_open

    def sync(self, t: int, p: int) -> None:
        """linkwatch_sync_dev: device ``p``'s queued event processed now, not by a run."""
        self.advance(t)
        if p in self.queue:
            self.queue.remove(p)
            self._process(t, p)

    def finish(self) -> list[LinkMessage]:
        while self.work_at is not None:
            self._run()
        return self.messages


def notifications(transitions: list[tuple[int, int, bool]], initial_up: list[bool], up_counts: list[int],
                  down_counts: list[int], rng: random.Random, *, always_urgent: Sequence[bool] | None = None,
                  jiffies: Jiffies | None = None, late_jiffies: int | None = None, input_jitter_ns: int = 0,
                  choose_jiffy: Callable[[list[int]], int | None] | None = None) -> list[LinkMessage]:
    """The RTM_NEWLINK notifications one kernel sends for these carrier transitions
    ((t_ns, port, up), any order); the keywords as Linkwatch's."""
    lw = Linkwatch(initial_up, up_counts, down_counts, rng, always_urgent=always_urgent, jiffies=jiffies,
                   late_jiffies=late_jiffies, input_jitter_ns=input_jitter_ns, choose_jiffy=choose_jiffy)
    for t, p, up in sorted(transitions):
        lw.carrier_change(t, p, up)
    return lw.finish()
