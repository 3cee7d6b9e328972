"""kernel/linkwatch.py's rules one at a time, on hand-made schedules (no root): the timer
wheel's rounding, the rate limit, urgency, and what `ip link set up` leaves queued. The
real kernel checks the whole of it in test_linkwatch_differential.py."""

from __future__ import annotations

import random

from flapwatch.kernel.linkwatch import (HZ_NS, IF_OPER_DOWN, IF_OPER_UP, TICK_LATE_NS, Jiffies, Linkwatch,
                                        notifications, timer_fires)

MS = 1_000_000
CLOCK = Jiffies(250, 0)  # jiffy n begins at n * 4 ms


def test_timer_wheel_rounds_up_by_level():
    assert timer_fires(100 + 10, 100) == 111  # level 0 (under 63 jiffies): the next jiffy
    assert timer_fires(100 + 62, 100) == 163
    assert timer_fires(100 + 63, 100) == 168  # level 1: the next multiple of 8
    assert timer_fires(1000 + 250, 1000) == 1256
    assert timer_fires(1000 + 600, 1000) == 1664  # level 2 (504 jiffies and more): of 64
    assert TICK_LATE_NS == 9 * 4 * MS


def test_nic_like_rate_limit_and_folding():
    """A quiet NIC: the down runs at once (and starts the second), the up after it is urgent;
    the next down waits for the timer, which fires on the wheel's bucket, and reports the
    state then (the flap is over: only the counters moved)."""
    tr = [(0, 0, False), (20 * MS, 0, True), (300 * MS, 0, False), (340 * MS, 0, True)]
    msgs = notifications(tr, [True], [1], [0], random.Random(0), jiffies=CLOCK, late_jiffies=0)
    assert [(m.up, m.up_count, m.down_count, m.operstate) for m in msgs] == [
        (False, 1, 1, IF_OPER_DOWN), (True, 2, 1, IF_OPER_UP), (True, 3, 2, IF_OPER_UP)]
    # the first run in jiffy 0: nextevent 250; armed at jiffy 75 (delta 175, level 1): fires at 256
    assert CLOCK.start(256) < msgs[2].t_ns < CLOCK.start(257)
    late = notifications(tr, [True], [1], [0], random.Random(0), jiffies=CLOCK, late_jiffies=1)
    assert CLOCK.start(257) < late[2].t_ns < CLOCK.start(258)


def test_always_urgent_device_notifies_every_change():
    tr = [(k * 50 * MS, 0, k % 2 == 1) for k in range(8)]
    msgs = notifications(tr, [True], [1], [0], random.Random(0), always_urgent=[True], jiffies=CLOCK)
    assert [m.up for m in msgs] == [k % 2 == 1 for k in range(8)]
    assert all(0 < m.t_ns - t < 1 * MS for m, (t, _, _) in zip(msgs, tr))


def test_admin_up_leaves_the_device_queued_for_the_next_full_run():
    """`ip link set swp1 down/up` on a veth (peer eth0, NIC-like, one kernel): the up's urgent
    run finds swp1's qdisc already active (dev_open did it) and leaves swp1 queued, so a
    rate-limited run follows a second after the first and delays eth0's next down."""
    eth0, swp1 = 0, 1
    lw = Linkwatch([True, True], [1, 1], [0, 0], random.Random(0), jiffies=CLOCK, late_jiffies=0)
    lw.admin_change(0, swp1, False, carrier_follows=[eth0])
    lw.admin_change(40 * MS, swp1, True, carrier_follows=[eth0])
    lw.admin_change(1100 * MS, swp1, False, carrier_follows=[eth0])  # after the second: would run at once
    lw.admin_change(1140 * MS, swp1, True, carrier_follows=[eth0])
    msgs = lw.finish()
    assert all(m.port == eth0 for m in msgs[:2]) and [m.up for m in msgs[:2]] == [False, True]
    swp1_runs = [m.t_ns for m in msgs if m.port == swp1]
    assert swp1_runs and HZ_NS < swp1_runs[0] < HZ_NS + TICK_LATE_NS  # swp1 left queued until then
    eth0_later = [m for m in msgs if m.port == eth0][2:]
    assert [(m.up, m.down_count) for m in eth0_later] == [(True, 2)]  # the second flap: hidden
    assert eth0_later[0].t_ns > 2 * HZ_NS


def test_sync_sends_a_held_back_down_at_once():
    """Measured on 6.18: `cat /sys/class/net/eth0/carrier` 100 ms after a down held by the rate
    limit got the down notified then, and the up after it was urgent; without it both waited."""
    tr = [(0, False), (40 * MS, True), (340 * MS, False), (540 * MS, True)]
    lw = Linkwatch([True], [1], [0], random.Random(0), jiffies=CLOCK, late_jiffies=0)
    for t, up in tr:
        lw.carrier_change(t, 0, up)
        if t == 340 * MS:
            lw.sync(440 * MS, 0)
    msgs = lw.finish()
    assert [(m.t_ns, m.up) for m in msgs][2] == (440 * MS, False)
    assert msgs[3].up and 0 < msgs[3].t_ns - 540 * MS < 1 * MS
    held = notifications([(t, 0, up) for t, up in tr], [True], [1], [0], random.Random(0), jiffies=CLOCK)
    assert len(held) == 3 and held[2].up and held[2].t_ns > HZ_NS


def test_input_jitter_leaves_the_rate_limits_bucket_open():
    """A run at once 0.3-0.9 ms after a change at 24 ms is in jiffy 6 (nextevent 256, a level-1
    bucket's edge); with the change known only within 1 ms the kernel's run may have been in
    jiffy 5 (nextevent 255), and the timer armed at jiffy 75 then fires at 256, not 264. The
    chooser is offered both buckets (each possibly a jiffy late) and its pick is the run's."""
    tr = [(24 * MS, 0, False), (44 * MS, 0, True), (300 * MS, 0, False), (340 * MS, 0, True)]
    offered = []

    def pick(jiffies, choice):
        offered.append(list(jiffies))
        return choice

    nominal = notifications(tr, [True], [1], [0], random.Random(0), jiffies=CLOCK, late_jiffies=0)
    assert CLOCK.start(264) < nominal[2].t_ns < CLOCK.start(265)
    exact = notifications(tr, [True], [1], [0], random.Random(0), jiffies=CLOCK,
                          choose_jiffy=lambda j: pick(j, None))
    assert offered == [[264, 265]] and [m.t_ns for m in exact] == [m.t_ns for m in nominal]
    offered.clear()
    early = notifications(tr, [True], [1], [0], random.Random(0), jiffies=CLOCK, input_jitter_ns=1 * MS,
                          choose_jiffy=lambda j: pick(j, 256))
    assert offered == [[264, 265, 256, 257]]
    assert CLOCK.start(256) < early[2].t_ns < CLOCK.start(257)
    assert [(m.up, m.up_count, m.down_count) for m in early] == [(m.up, m.up_count, m.down_count) for m in nominal]
