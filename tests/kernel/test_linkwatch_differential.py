"""The linkwatch model checked against the kernel (issue 12): the same flap schedules driven on
a real veth pair and fed to kernel/linkwatch.py must give the same RTM_NEWLINK sequence.

Per profile (the veth ends at the same ifindex: NIC-like, rate-limited and coalesced; at
different ones: every change urgent) one recording: namespaces `sw` and `host`, nlrecord
in `host` without a dump (as nlmon records), and make_captures.LinkDriver (confirming by a dump: Driver) flapping the
`sw` end by `ip link set down|up`, so the host end's carrier follows. The schedules are driven
one after the other, 2.1 s of quiet apart: by then linkwatch has sent the last coalesced
event and its one-second limit has lapsed, so each schedule starts from a quiet kernel.

The model gets the driver's clock (the middle of each command's window), the kernel's
jiffies on that clock (read from /proc/timer_list: the rate-limited run waits for a timer on
the jiffies wheel), the counters sysfs showed before, and both ends as devices of one
kernel: linkwatch's rate limit is kernel-wide, and the driven end's own events (queued at
`ip link set up`, processed by the next rate-limited run) move it. Each schedule's messages
must agree: number, carrier, operstate, carrier_up_count / carrier_down_count, and times.
Where they differ, the model is wrong. Needs root and the tools; fails, never skips.
"""

from __future__ import annotations

import importlib.util
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import flapwatch
import netns  # tests/support is on sys.path (conftest.py)
from conftest import require_tools
from flapwatch.kernel.linkwatch import Jiffies, Linkwatch, LinkMessage

pytestmark = [pytest.mark.root, pytest.mark.tools, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("make_captures", REPO / "captures" / "make_captures.py")
mc = importlib.util.module_from_spec(_spec)
sys.modules["make_captures"] = mc  # dataclasses look their module up while the class is built
_spec.loader.exec_module(mc)

MS = 1_000_000
QUIET_S = 2.1  # > 1 s pending + 1 s rate limit (+ the timer's rounding): the kernel is quiet again
HOST, SW = 0, 1  # the model's devices: the recorded end, the driven end


class Driver(mc.LinkDriver):
    """make_captures.LinkDriver, confirming each `ip link set` with a dump filtered to veths
    (one line: swp1) instead of `link show dev swp1`. A single-device RTM_GETLINK syncs that
    device's queued linkwatch event (linkwatch_sync_dev); on `ip link set swp1 up`
    it raced the kworker's urgent run - sometimes swp1 was synced first, sometimes left queued
    with a timer that made an extra rate-limited run - so the same schedule gave two outcomes.
    A dump syncs nothing: swp1 is always left queued, as the model has it."""

    def _command(self, cmd: str) -> tuple[int, int]:
        t0 = mc.ns_now()
        self.proc.stdin.write(f"{cmd}\nlink show type veth\n" if cmd else "link show type veth\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if self.iface not in line:
            raise RuntimeError(f"ip -batch: unexpected reply {line!r}")
        return t0, mc.ns_now()


@dataclass(frozen=True)
class Schedule:
    name: str
    flaps: tuple[tuple[float, float], ...]  # (down s, up s before the next down)


SCHEDULES = (
    Schedule("single-5ms", ((0.005, 0),)),
    Schedule("oscillation-50ms-every-200ms", ((0.05, 0.15),) * 6),
    Schedule("degrading-40ms-gaps-1s-to-0.2s", tuple((0.04, g) for g in (1.0, 0.7, 0.5, 0.3, 0.2, 0))),
    Schedule("outage-2s-after-quiet", ((2.0, 0),)),
    Schedule("flaps-closer-than-a-second", ((0.1, 0.4), (0.1, 0.6), (0.02, 0))),
)

# Times. An immediate run: the model puts its message 0.3-0.9 ms after the change; the
# kernel's kworker runs within a few hundred us, and nlrecord stamps in user space after
# recvmsg (0.1-0.5 ms, a few ms when the machine is busy even at SCHED_FIFO: captures/
# make_captures.py). A rate-limited run: the model knows the jiffy its timer fires at - or,
# as the kernel here sometimes did, the next one (the model takes the one holding a real
# message) - and puts it 50-250 us after the tick; the kernel ran 250-500 us after it. The
# driver's change time is known within its command's window (model input: the middle). The
# kworker runs at normal priority: with other sessions' test suites at 90 % CPU on this 2-core
# machine a run at once came 6 ms after the change (otherwise within 0.7 ms). So: within a
# jiffy (4 ms at HZ=250, linkwatch's granularity) plus a jiffy of kworker latency, plus half
# the command window, late; never more than 1 ms (plus half the window) early.
LATE_NS = 8 * MS
EARLY_NS = 1 * MS
RUN_AFTER_TICK_NS = 2 * MS  # a delayed run's message after its tick: softirq, kworker, nlrecord


def kernel_jiffies() -> Jiffies:
    """The kernel's jiffies on CLOCK_REALTIME (the driver's and nlrecord's clock), from
    /proc/timer_list: `now at` (CLOCK_MONOTONIC) opens the file, `jiffies:` comes later in it,
    and the tick timer's expiry lies on the grid where jiffies increment. A reading counts
    when its `now` and the next reading's both fall inside one jiffy, away from its start:
    its jiffies value is then that jiffy's. HZ from jiffies counted over 0.3 s."""

    def read() -> tuple[int, int, int, int]:
        before = time.clock_gettime_ns(time.CLOCK_REALTIME) - time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        text = Path("/proc/timer_list").read_text()
        after = time.clock_gettime_ns(time.CLOCK_REALTIME) - time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        now = int(re.search(r"^now at (\d+) nsecs", text, re.M).group(1))
        jiffies = int(re.search(r"^jiffies: (\d+)", text, re.M).group(1))
        tick = re.search(r"tick_(?:nohz_handler|sched_timer).*\n # expires at (\d+)-", text)
        return now, jiffies, int(tick.group(1)), (before + after) // 2

    now1, j1, _, _ = read()
    time.sleep(0.3)
    a = read()
    hz = min((100, 250, 300, 1000), key=lambda h: abs(h - (a[1] - j1) * 1e9 / (a[0] - now1)))
    jiffy = 1_000_000_000 // hz
    for _ in range(200):
        b = read()
        start = a[0] - (a[0] - a[2]) % jiffy  # the jiffy `a` began in
        if a[0] - start > 100_000 and b[0] < start + jiffy:  # the tick's interrupt has bumped jiffies
            origin_monotonic = start - (a[1] % 8**4) * jiffy  # the model's jiffy 0: a multiple of 8**4
            return Jiffies(hz, origin_monotonic + a[3])
        a = b
    raise AssertionError("/proc/timer_list: no two readings within one jiffy")


@dataclass
class Recording:
    profile: str
    messages: list[dict]  # the host end's link records, in order
    driven: list[tuple[Schedule, list[dict]]]  # each schedule and the LinkDriver's flaps
    before: dict  # the host end's carrier counters before the first schedule
    after: dict
    jiffies: Jiffies


def _record(same_ifindex: bool, tmp: Path) -> Recording:
    with netns.Lab() as lab:
        sw, host = lab.namespace("sw"), lab.namespace("host")
        lab.veth(sw, "swp1", host, "eth0", same_ifindex=same_ifindex)
        jiffies = kernel_jiffies()
        log, pcap = tmp / "nlrecord.log", tmp / "links.pcap"
        # SCHED_FIFO: a recorder at normal priority stamped a message 42 ms late on a busy machine.
        nl = mc.popen_logged(lab, host, ["chrt", "-f", str(mc.REALTIME_PRIORITY), sys.executable,
                                         str(mc.NLRECORD), "-o", str(pcap)], log)
        mc.wait_for_text(log, "listening", nl)
        time.sleep(QUIET_S)  # the veth's own `ip link set up` events are sent and their second is over
        before = mc.carrier_counts(host, "eth0")
        driven = []
        with mc.realtime_thread():
            driver = Driver(sw, "swp1")
            try:
                for s in SCHEDULES:
                    flaps = []
                    for down_s, gap_s in s.flaps:
                        flaps.append(driver.flap(s.name, down_s))
                        time.sleep(gap_s)
                    driven.append((s, flaps))
                    time.sleep(QUIET_S)
            finally:
                driver.close()
        after = mc.carrier_counts(host, "eth0")
        mc.stop(nl)
    # the pure-Python reader: the decoder is not under test here, the kernel and the model are
    recs = [r for r in flapwatch.read_capture(pcap, backend="dpkt").tables["link"].records() if r["port"] == "eth0"]
    profile = "same_ifindex" if same_ifindex else "different_ifindex"
    return Recording(profile, recs, driven, before, after, jiffies)


@pytest.fixture(scope="module", params=[True, False], ids=["same_ifindex", "different_ifindex"])
def recording(request, tmp_path_factory) -> Recording:
    require_tools("ip", "stdbuf", "chrt")
    try:
        netns.require_root_and_tools()
    except RuntimeError as e:
        pytest.fail(str(e))
    return _record(request.param, tmp_path_factory.mktemp("same" if request.param else "different"))


def model_messages(rec: Recording, at: str = "middle") -> list[LinkMessage]:
    """The host end's messages as the model has them, for the driver's own times. The sw end's
    counters are never seen; only its queued events matter. Each delayed run comes at its
    timer's jiffy or the next (TIMER_LATE_JIFFIES), or, where the driver's times leave the
    jiffy of the run that set linkwatch's rate limit open (a change within the command's window
    and the kworker's latency of a tick: input_jitter_ns), at a bucket that limit allows: the
    one where the kernel sent a message, if it did within RUN_AFTER_TICK_NS of its tick (else
    the model's own: a run of the sw end alone, whose jiffy then stays open for the limit it sets).
    Seen once: the first down's run at once 0.6 ms after the command began, in the jiffy before
    the model's, put both later rate-limited runs a level-1 bucket (8 jiffies) before the model's.
    at: where in its command's window each change is taken to be (AT)."""
    urgent = rec.profile == "different_ifindex"  # ifindex != iflink on both ends
    seen = {rec.jiffies.at(r["ts_ns"]) for r in rec.messages
            if r["ts_ns"] - rec.jiffies.start(rec.jiffies.at(r["ts_ns"])) < RUN_AFTER_TICK_NS}
    window = max(max(f["down_done_ns"] - f["down_ns"], f["up_done_ns"] - f["up_ns"]) for _, fs in rec.driven for f in fs)

    def run_at(may_be: list[int]) -> int | None:
        return next((j for j in may_be if j in seen), None)

    lw = Linkwatch([True, True], [rec.before["up_count"], 1], [rec.before["down_count"], 0], random.Random(0),
                   always_urgent=[urgent, urgent], jiffies=rec.jiffies, choose_jiffy=run_at,
                   input_jitter_ns=(window // 2 if at == "middle" else window) + EARLY_NS)
    weight = {"start": 0, "middle": 1, "done": 2}[at]

    def when(t0: int, t1: int) -> int:
        return t0 + (t1 - t0) * weight // 2

    for _, flaps in rec.driven:
        for f in flaps:
            lw.admin_change(when(f["down_ns"], f["down_done_ns"]), SW, False, carrier_follows=[HOST])
            lw.admin_change(when(f["up_ns"], f["up_done_ns"]), SW, True, carrier_follows=[HOST])
    return [m for m in lw.finish() if m.port == HOST]


# Where in its command's window (ip's write to the reply, 0.1-0.3 ms) the kernel made each
# change: the driver cannot tell. The middle first; where the kernel's messages differ from
# that model's, either end. Seen once in CI: a rate-limited run (its message at 0.18 ms into a
# down's 0.22 ms window) found the carrier still up, where the model with the down at the
# middle had it down. A run inside a window may fall on either side of its change.
AT = ("middle", "start", "done")


def _window(flaps: list[dict]) -> tuple[int, int]:
    """From the schedule's first command to just before the next schedule's."""
    return flaps[0]["down_ns"], flaps[-1]["up_done_ns"] + int((QUIET_S - 0.05) * 1e9)


def compare(rec: Recording, schedule: Schedule, at: str = "middle") -> tuple[list, list]:
    """The schedule's messages, real and modelled: ((carrier, operstate, up_count, down_count), t_ns)."""
    flaps = next(f for s, f in rec.driven if s == schedule)
    lo, hi = _window(flaps)
    real = [((r["carrier"], r["operstate"], r["carrier_up_count"], r["carrier_down_count"]), r["ts_ns"])
            for r in rec.messages if lo <= r["ts_ns"] < hi]
    model = [((int(m.up), m.operstate, m.up_count, m.down_count), m.t_ns)
             for m in model_messages(rec, at) if lo <= m.t_ns < hi]
    return real, model


def closest(rec: Recording, schedule: Schedule) -> tuple[str, list, list]:
    """The first of AT whose model sends the kernel's messages (states and order), else the
    middle: (that placement, the real messages, the model's)."""
    first = None
    for at in AT:
        real, model = compare(rec, schedule, at)
        first = first or (at, real, model)
        if [s for s, _ in real] == [s for s, _ in model]:
            return at, real, model
    return first


def describe(rec: Recording, schedule: Schedule, at: str = "middle") -> str:
    flaps = next(f for s, f in rec.driven if s == schedule)
    t0 = flaps[0]["down_ns"]
    real, model = compare(rec, schedule, at)
    lines = [f"{rec.profile} / {schedule.name} (ms from the first down; carrier operstate up down; "
             f"the model's changes at the {at} of their windows):", " driven:"]
    lines += [f"  down {(f['down_ns'] - t0) / MS:9.3f}+{(f['down_done_ns'] - f['down_ns']) / MS:.3f}"
              f"  up {(f['up_ns'] - t0) / MS:9.3f}+{(f['up_done_ns'] - f['up_ns']) / MS:.3f}" for f in flaps]
    for name, seq in (("real", real), ("model", model)):
        lines.append(f" {name}:")
        lines += [f"  {(t - t0) / MS:9.3f} {s}" for s, t in seq]
    return "\n".join(lines)


def test_the_driven_changes_are_all_in_the_counters(recording):
    """The kernel counted every driven change (the baseline the model starts from is right)."""
    n = sum(len(f) for _, f in recording.driven)
    assert recording.after["down_count"] - recording.before["down_count"] == n
    assert recording.after["up_count"] - recording.before["up_count"] == n
    assert all(r["dump"] == 0 and r["change"] == 0 for r in recording.messages), "notifications of carrier only"


@pytest.mark.parametrize("schedule", SCHEDULES, ids=[s.name for s in SCHEDULES])
def test_model_sends_what_the_kernel_sent(recording, schedule):
    at, real, model = closest(recording, schedule)
    assert real and [s for s, _ in real] == [s for s, _ in model], describe(recording, schedule, at)
    flaps = next(f for s, f in recording.driven if s == schedule)
    window = max(max(f["down_done_ns"] - f["down_ns"], f["up_done_ns"] - f["up_ns"]) for f in flaps)
    slack = window // 2 if at == "middle" else window
    # A delayed run the kernel sent more than RUN_AFTER_TICK_NS after its tick is not matched to
    # its jiffy, and the model may then put it one jiffy later (seen once: 3.1 ms): within
    # linkwatch's granularity, which is what the issue asks. Immediate runs keep EARLY_NS.
    for (_, t), (_, t_model) in zip(real, model):
        early = EARLY_NS + (recording.jiffies.jiffy_ns if t - t_model < -EARLY_NS - slack and
                            t_model - recording.jiffies.start(recording.jiffies.at(t_model)) < RUN_AFTER_TICK_NS else 0)
        assert -early - slack <= t - t_model <= LATE_NS + slack, describe(recording, schedule, at)
    dt = max(abs(t - t_model) for (_, t), (_, t_model) in zip(real, model))
    print(f"{recording.profile} {schedule.name}: {len(real)} messages real, {len(model)} model "
          f"(changes at the {at} of their windows), max |dt| {dt / MS:.3f} ms")


def test_a_run_inside_a_command_window_may_fall_before_its_change():
    """The clean-clone CI failure of 2026-12-05, from its log: the driver's times and the
    kernel's four messages of oscillation-50ms-every-200ms on the NIC-like profile. The
    kernel's own messages place its ticks (the rate-limited run's at 1003.22 ms, 0.22 ms
    before its message; the next one's at 2035.22 ms, on the timer wheel's 8-jiffy grid).
    With the changes at the middle of their windows the model ran linkwatch after the sixth
    down (0, 2, 7, 8), as the failure showed; the kernel ran it before (1, 6, 7, 7) and hid
    that flap until its next run. With the changes at the end of their windows the model
    sends the kernel's messages, times included."""
    t0 = 1796458911196964157  # the first down command, ns
    driven = [(0.000, 0.324, 50.459, 0.307), (200.863, 0.277, 251.274, 0.346), (401.789, 0.284, 452.122, 0.131),
              (602.323, 0.188, 652.560, 0.153), (802.780, 0.178, 853.003, 0.127), (1003.262, 0.219, 1053.535, 0.236)]
    flaps = [dict(down_ns=t0 + int(d * MS), down_done_ns=t0 + int((d + dw) * MS), up_ns=t0 + int(u * MS),
                  up_done_ns=t0 + int((u + uw) * MS)) for d, dw, u, uw in driven]
    kernel = [(1796458911197316157, (0, 2, 2, 3)), (1796458911247767591, (1, 6, 3, 3)),
              (1796458912200404492, (1, 6, 7, 7)), (1796458913232603064, (1, 6, 8, 8))]
    messages = [dict(ts_ns=t, carrier=s[0], operstate=s[1], carrier_up_count=s[2], carrier_down_count=s[3])
                for t, s in kernel]
    schedule = next(s for s in SCHEDULES if s.name == "oscillation-50ms-every-200ms")
    rec = Recording("same_ifindex", messages, [(schedule, flaps)], {"up_count": 2, "down_count": 2}, {},
                    Jiffies(250, t0 + 19_220_000))
    assert [s for s, _ in compare(rec, schedule, "middle")[1]][2] == (0, 2, 7, 8)  # the failure
    assert closest(rec, schedule)[0] == "done"
    test_model_sends_what_the_kernel_sent(rec, schedule)
