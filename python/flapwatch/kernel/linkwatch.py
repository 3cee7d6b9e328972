"""The kernel's linkwatch (net/core/link_watch.c), as a model: which carrier changes become
RTM_NEWLINK notifications, when, and with what state. The simulator runs one per device
(one kernel); the classifier's hidden-flap placement relies on the same facts.

What the kernel does, and this model with it:
- netif_carrier_on/off bump carrier_up_count / carrier_down_count at once, then fire a
  linkwatch event. The event is *urgent* when the carrier is up while the qdisc is still
  deactivated (an up after a processed down); otherwise it is not.
- An event on a device that already has one pending is dropped unless urgent: the pending
  one will report the state current when it runs. That is how fast flaps vanish and only
  move the counters.
- Non-urgent work runs at most once a second (linkwatch_nextevent = last run + HZ); urgent
  work runs at once, but then only for urgent devices. The rate limit is one per kernel,
  shared by all its ports.
- A run sends one RTM_NEWLINK per processed device with its state at that moment, and
  (de)activates the qdisc to match the carrier.
Timing seen on real machines (docs/DESIGN.md, Linkwatch): a notification 0.3-0.9 ms after the change when
it runs at once; delayed runs fire on a jiffy (HZ=250, 4 ms) boundary.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from flapwatch.tables.units import NS_PER_S

# The timing, stated once: the simulator produces link messages with it, and the classifier
# (assess/flap_times.py) bounds each flap's true down time by it.
HZ_NS = NS_PER_S  # the one-second rate limit
JIFFY_NS = 4_000_000  # HZ=250: a delayed run fires on a jiffy boundary
NOTIFY_DELAY_NS = (300_000, 900_000)  # a run at once: 0.3-0.9 ms after the change
TIMER_SLACK_NS = (50_000, 250_000)  # a delayed run: this long after its jiffy boundary
MESSAGE_GAP_NS = (5_000, 30_000)  # within a run, one message after the other
NEVER = -(1 << 62)


@dataclass(frozen=True)
class LinkMessage:
    """One RTM_NEWLINK notification: the port's state when linkwatch ran."""

    t_ns: int
    port: int
    up: bool
    up_count: int
    down_count: int


class Linkwatch:
    """One kernel's linkwatch over ``n`` ports. Feed carrier transitions in time order with
    ``carrier(t, port, up)``; ``finish()`` runs the work still due and returns the messages."""

    def __init__(self, initial_up: list[bool], up_counts: list[int], down_counts: list[int], rng: random.Random):
        self.rng = rng
        self.carrier = list(initial_up)
        self.active = list(initial_up)  # qdisc activated (the last processed state was up)
        self.pending = [False] * len(initial_up)
        self.up_count = list(up_counts)
        self.down_count = list(down_counts)
        self.queue: list[int] = []
        self.urgent_flag = False
        self.next_event = NEVER
        self.work_at: int | None = None
        self.messages: list[LinkMessage] = []

    def _urgent(self, p: int) -> bool:
        return self.carrier[p] and not self.active[p]

    def _schedule(self, t: int, urgent: bool) -> None:
        if self.urgent_flag:
            return  # work already due at once
        delay = self.next_event - t
        if urgent:
            self.urgent_flag = True
            delay = 0
        if delay > HZ_NS or delay < 0:
            delay = 0
        if self.urgent_flag:  # mod_delayed_work(.., 0): now, overriding any timer
            self.work_at = t + self.rng.randint(*NOTIFY_DELAY_NS)
        elif self.work_at is None:  # queue_delayed_work: does not move a queued timer
            if delay == 0:
                self.work_at = t + self.rng.randint(*NOTIFY_DELAY_NS)
            else:
                due = t + delay
                self.work_at = -(-due // JIFFY_NS) * JIFFY_NS + self.rng.randint(*TIMER_SLACK_NS)

    def _fire(self, t: int, p: int) -> None:
        urgent = self._urgent(p)
        if not self.pending[p]:
            self.pending[p] = True
            self.queue.append(p)
        elif not urgent:
            return  # folded into the pending event
        self._schedule(t, urgent)

    def _run(self) -> None:
        t = self.work_at
        assert t is not None
        self.work_at = None
        urgent_only = self.next_event > t
        if not urgent_only:
            self.next_event = t + HZ_NS
        self.urgent_flag = False
        work, self.queue = self.queue, []
        for p in work:
            if urgent_only and not self._urgent(p):
                self.queue.append(p)
                continue
            self.pending[p] = False
            self.active[p] = self.carrier[p]
            self.messages.append(LinkMessage(t, p, self.carrier[p], self.up_count[p], self.down_count[p]))
            t += self.rng.randint(*MESSAGE_GAP_NS)
        if self.queue:
            self._schedule(t, False)

    def advance(self, t: int) -> None:
        """Run the work due before ``t``."""
        while self.work_at is not None and self.work_at <= t:
            self._run()

    def carrier_change(self, t: int, p: int, up: bool) -> None:
        self.advance(t)
        if self.carrier[p] == up:
            return
        self.carrier[p] = up
        if up:
            self.up_count[p] += 1
        else:
            self.down_count[p] += 1
        self._fire(t, p)

    def finish(self) -> list[LinkMessage]:
        while self.work_at is not None:
            self._run()
        return self.messages


def notifications(transitions: list[tuple[int, int, bool]], initial_up: list[bool], up_counts: list[int],
                  down_counts: list[int], rng: random.Random) -> list[LinkMessage]:
    """The RTM_NEWLINK notifications one kernel sends for these carrier transitions
    ((t_ns, port, up), any order)."""
    lw = Linkwatch(initial_up, up_counts, down_counts, rng)
    for t, p, up in sorted(transitions):
        lw.carrier_change(t, p, up)
    return lw.finish()
