"""The real-kernel scenario corpus: flap families driven on a veth pair in network namespaces,
recorded by the tools people use (tcpdump or dumpcap on the wire, nlrecord with or without
its initial dump on the link messages), then analysed, classified and scored against the
driver's own clock.

One *session* is one lab and one recording: two namespaces ("sw" with swp1, "host" with
eth0) joined by a veth in one profile - the same ifindex on both ends (NIC-like: linkwatch
rate-limits and coalesces the carrier events, fast flaps show only as counter jumps) or
different ones (every change notified) - lldpd on both ends at tx-interval 1 s, a frame a
millisecond from the switch end (mausezahn: a training cluster's port is never idle; the
silences in it place the hidden flaps), the recorders on the host end, and a series of episodes (flap families) driven from the switch
end with `ip -batch` (captures/make_captures.py's LinkDriver) at SCHED_FIFO. The quiet
between two episodes is chosen so the classifier's episode rules (SignatureConfig: a gap of
>= split_gap_s that is split_ratio times the flap interval next to it ends an episode) and
linkwatch (>= 2.1 s of quiet: the next down is notified at once) separate them; a session can
start and end in the middle of an outage.

The truth is in the simulator's format (flapwatch/sim/truth.py: "end_ns", "episodes" with
port, start/end, flaps, labels, family) so flapwatch.assess.evaluate scores it as
bench/signatures.py scores the simulator. Labels follow docs/DESIGN.md's definitions on what
was driven: the shape from the family, micro-flap from the driven duration (< 10 ms), hidden
when the kernel sent no down message for a flap (read from the recording's own link records,
not from the engine), pfc-linked from the storm driven, neighbor-change from the chassis the
far end had before and after. Standard library plus flapwatch; imported by path
(bench/realkernel/run.py, tests/kernel/test_realkernel_corpus.py).
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import flapwatch
from flapwatch.assess.episodes import LABELS, SignatureConfig
from flapwatch.assess.evaluate import Confusion, match
from flapwatch.assess.signatures import classify
from flapwatch.sim.faults import burst_pattern, oscillation_pattern
from flapwatch.tables import schema

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


sys.path.insert(0, str(REPO / "captures"))
import make_captures as mc  # noqa: E402  (its LinkDriver, recorders, PFC frames; it brings tests/support/netns.py)

netns = mc.netns

MS = 1_000_000
S = 1_000_000_000
PORT = "eth0"  # the recorded port (host end); its wire file is named after it
SW_IFACE = mc.SWITCH["iface"]  # swp1: send_mac_control sends there
TOOLS = ("ip", "lldpd", "lldpcli", "mausezahn", "dumpcap", "tcpdump", "stdbuf", "chrt")
NLRECORD = mc.NLRECORD
REALTIME = mc.REALTIME_PRIORITY
SPEED = "10G"  # veth has no speed: configured, as an operator would (PFC quanta -> pause time)
SIG = SignatureConfig()
MICRO_NS = 10 * MS  # DEFINITIONS["micro_flap_ms"] of the simulator's truth
STORM_MIN_NS = 200 * MS
PFC_LINK_NS = 5 * S
JOB_BUDGET_S = flapwatch.Config().job_budget_s
# The switch end sends a frame a millisecond (an experimental EtherType, 60 bytes): a port
# of a training cluster is never idle, and its silences on the wire place the flaps that
# linkwatch hid (the link tracker's rx gaps). mausezahn keeps sending across a down.
TRAFFIC = ("-c", "0", "-d", "1msec")
TRAFFIC_PAYLOAD = "88:b5:" + ":".join(["00"] * 46)

FAMILIES = ("single", "micro-flap", "oscillation", "burst", "degrading", "long-outage", "pfc-linked",
            "neighbor-change", "silent-neighbor-loss", "mid-outage")
MULTI = ("oscillation", "burst", "degrading")  # several flaps with sub-split gaps
PROFILES = ("same-ifindex", "different-ifindex")

# Quiet between episodes: >= 2.1 s (linkwatch holds an event up to a second after the last
# run, then sends nothing non-urgent for another: after 2.1 s the next down goes out at once)
# and SPLIT_MARGIN times the flap interval next to the gap (the classifier splits at
# split_ratio = 4 times it). On the NIC-like profile a hidden flap's time is estimated within
# the linkwatch second before its message, so its interval counts as at least a second.
MIN_QUIET_S = 3.0
SPLIT_MARGIN = 1.15 * SIG.split_ratio
AFTER_STORM_S = PFC_LINK_NS / S + 1.5  # no later episode within pfc_link_s of a storm
SILENT_CLEAR_S = SIG.silent_attach_s + 2.0  # an age-out this far from any flap episode
LLDP_TTL_S = 4  # lldpd's TTL at tx-interval 1 (x tx-hold 4)
SILENT_SETTLE_S = 1.0  # after lldpd resumes: heard again
SILENT_BODY_S = LLDP_TTL_S + 1.0 + SILENT_SETTLE_S  # hung, aged out, resumed, heard again
UNDRIVEN_LOSS = "silent-neighbor-loss (undriven)"  # an age-out on the wire that no episode drove

REVEAL_S = 1.1  # a hidden flap's revealing message comes at most this long after it (1 s + the wheel)
# The CI subset (compact) runs beside other work: linkwatch's run can come late there (seen:
# a degrading tail and the next episode merged in one CI run), so its boundaries get more room.
SPLIT_MARGIN_COMPACT = 1.4 * SIG.split_ratio
REVEAL_COMPACT_S = 1.5
# nlrecord stamps in user space after recvmsg; at SCHED_FIFO within a few ms of the kernel's send
READ_SLACK_NS = 20 * MS
# a delayed linkwatch run reports a change up to a second (+ a jiffy, + margins) after it
TICK_SLACK_NS = 1_100 * MS


def log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


# ------------------------------------------------------------------------------ the plan

@dataclass
class EpisodePlan:
    family: str
    flaps: list[tuple[float, float | None]] = field(default_factory=list)  # (offset s, down s; None: open)
    params: dict = field(default_factory=dict)
    quiet_before_s: float = 0.0

    @property
    def intervals(self) -> list[float]:
        t = [o for o, _ in self.flaps]
        return [b - a for a, b in zip(t, t[1:])]


@dataclass
class SessionPlan:
    name: str
    seed: int
    profile: str
    dump: bool  # nlrecord --dump (a dump reply first) or not (as nlmon records)
    wire_tool: str  # tcpdump or dumpcap
    mid_outage: bool  # starts and ends in the middle of an outage
    episodes: list[EpisodePlan] = field(default_factory=list)
    traffic: bool = True  # a steady stream to the recorded port (TRAFFIC), as a training job's

    @property
    def same_ifindex(self) -> bool:
        return self.profile == "same-ifindex"


def plan_episode(family: str, rng: random.Random, compact: bool = False) -> EpisodePlan:
    """One family's episode with randomised parameters (seconds, relative to its start).
    compact: the shorter end of each range (the CI subset)."""
    if family == "single":
        return EpisodePlan(family, [(0.0, log_uniform(rng, 0.02, 1.5 if compact else 4.0))])
    if family == "micro-flap":
        return EpisodePlan(family, [(0.0, rng.uniform(0.001, 0.009))])
    if family == "long-outage":
        return EpisodePlan(family, [(0.0, rng.uniform(JOB_BUDGET_S + 0.5, JOB_BUDGET_S + (1.0 if compact else 3.0)))])
    if family == "oscillation":
        period = log_uniform(rng, 0.1, 2.0)
        n = rng.randint(3, max(3, min(8 if compact else 12, int((4.0 if compact else 9.0) / period))))
        pat = oscillation_pattern(rng, int(period * S), n, micro=rng.random() < 0.25)
        return EpisodePlan(family, [(o / S, d / S) for o, d in pat], {"period_s": period})
    if family == "burst":
        pat = burst_pattern(rng, rng.randint(10, 12 if compact else 20))
        return EpisodePlan(family, [(o / S, d / S) for o, d in pat])
    if family == "degrading":
        # Issue 12's degrading port: flaps coming faster and faster, gaps shrinking from
        # about two seconds towards half of one.
        gap, q, n = rng.uniform(1.6, 2.6), rng.uniform(0.6, 0.8), rng.randint(6, 6 if compact else 8)
        down = rng.uniform(0.02, 0.06)
        flaps, t = [], 0.0
        for _ in range(n):
            flaps.append((t, down * rng.uniform(0.9, 1.1)))
            t += gap * rng.uniform(0.95, 1.05)
            gap = max(gap * q, 0.3)
        return EpisodePlan(family, flaps, {"first_gap_s": flaps[1][0], "ratio": q})
    if family == "pfc-linked":
        storm = rng.uniform(0.4, 2.0)
        return EpisodePlan(family, [(0.0, log_uniform(rng, 0.05, 3.0))],
                           {"storm_s": storm, "lead_s": rng.uniform(0.05, 3.0)})
    if family == "neighbor-change":
        return EpisodePlan(family, [(0.0, rng.uniform(0.5, 3.0))])  # at least the new lldpd's start
    if family == "silent-neighbor-loss":
        return EpisodePlan(family, [])
    raise ValueError(family)


def _order(families: list[str], rng: random.Random, mid_outage: bool) -> list[str]:
    """Single-flap and multi-flap episodes in turn, a multi-flap one at each end (next to the
    mid-outage edges when there are some), so every gap is next to a short flap interval: a
    gap between two single flaps would have to be four times the one before it. Multi-flap
    families are repeated as needed. silent-neighbor-loss (no flaps) goes in any gap."""
    multi = [f for f in families if f in MULTI]
    single = [f for f in families if f not in MULTI and f != "silent-neighbor-loss"]
    silent = [f for f in families if f == "silent-neighbor-loss"]
    rng.shuffle(single)
    while len(multi) < len(single) + 1:
        multi.append(MULTI[len(multi) % len(MULTI)])
    rng.shuffle(multi)
    out: list[str] = [multi.pop()]
    while single:
        out += [single.pop(), multi.pop()]
    out += multi
    for f in silent:
        out.insert(rng.randint(1, len(out) - 1), f)
    return out


def plan_session(name: str, seed: int, profile: str, dump: bool, wire_tool: str, mid_outage: bool,
                 families=FAMILIES, compact: bool = False) -> SessionPlan:
    rng = random.Random(f"realkernel/{seed}")
    eps = [plan_episode(f, rng, compact) for f in _order([f for f in families if f != "mid-outage"], rng, mid_outage)]
    if mid_outage:
        eps.insert(0, EpisodePlan("mid-outage", [(0.0, rng.uniform(0.5, 2.0))], {"edge": "start"}))
        eps.append(EpisodePlan("mid-outage", [(0.0, None)], {"edge": "end", "tail_s": rng.uniform(0.5, 2.0)}))
    _space(eps, profile == "same-ifindex", rng, SPLIT_MARGIN_COMPACT if compact else SPLIT_MARGIN,
           REVEAL_COMPACT_S if compact else REVEAL_S)
    return SessionPlan(name, seed, profile, dump, wire_tool, mid_outage, eps)


def _space(eps: list[EpisodePlan], coalescing: bool, rng: random.Random, margin: float = SPLIT_MARGIN,
           reveal_s: float = REVEAL_S) -> None:
    """Each episode's quiet before it, left to right, so the split rule holds at every
    boundary: the whole gap from the previous flap episode's last up to this one's first down
    (a silent-neighbor-loss inside it included) is SPLIT_MARGIN x min(flap interval before the
    gap, flap interval after it); the one after is this episode's own first interval when it
    has several flaps, else unknown (taken as unbounded)."""
    # On the NIC-like profile a multi-flap episode's last flaps may be hidden, revealed by a
    # message up to linkwatch's second (+ the timer wheel) later: the classifier counts the
    # quiet from there, and a hidden flap's guessed interval can be that second.
    floor = reveal_s if coalescing else 0.0
    into_last = math.inf  # the flap interval ending at the previous episode's last flap
    last: EpisodePlan | None = None
    silent_s = 0.0  # a silent-neighbor-loss waiting in the gap: its length
    for e in eps:
        q = MIN_QUIET_S + rng.uniform(0, 1.0)
        if e.family == "silent-neighbor-loss":
            e.quiet_before_s = SILENT_CLEAR_S
            silent_s = SILENT_CLEAR_S + SILENT_BODY_S
            continue
        gap = q
        if last is not None:
            left = max(last.intervals[-1], floor) if last.intervals else into_last
            right = max(e.intervals[0], floor) if e.intervals else math.inf
            gap = max(gap, margin * min(left, right) + (floor if last.intervals else 0.0))
            if last.family == "pfc-linked":
                gap = max(gap, AFTER_STORM_S)
        if silent_s:
            q = max(gap - silent_s, SILENT_CLEAR_S - SILENT_SETTLE_S)
            gap = q + silent_s
        else:
            q = gap
        if gap > SIG.episode_gap_s:
            raise ValueError(f"a gap of {gap:.0f} s: reorder the episodes")
        e.quiet_before_s = q
        last_down = (last.flaps[-1][1] or 0.0) if last is not None else 0.0
        into_last = e.intervals[-1] if e.intervals else gap + last_down
        last, silent_s = e, 0.0


def session_plans(n_episodes: int, seed: int, profiles=PROFILES) -> list[SessionPlan]:
    """Sessions until n_episodes truth episodes: every family in each, the profiles in turn,
    the dump and the wire tool alternating, half of them starting and ending mid-outage."""
    plans, total, i = [], 0, 0
    while total < n_episodes:
        profile = profiles[i % len(profiles)]
        s = seed * 1000 + i
        plans.append(plan_session(f"s{seed}-{i}-{profile}", s, profile, dump=(i // len(profiles)) % 2 == 1,
                                  wire_tool=("dumpcap", "tcpdump")[(i + i // len(profiles)) % 2],
                                  mid_outage=(i // len(profiles)) % 2 == 0 or i % 3 == 2, families=list(FAMILIES)))
        total += sum(1 for e in plans[-1].episodes)
        i += 1
    return plans


# ----------------------------------------------------------------------------- the lab


def now() -> int:
    return time.time_ns()  # CLOCK_REALTIME: what the capture tools stamp with


def _mid(a: int, b: int) -> int:
    return (a + b) // 2


class Session:
    """One lab and its recording; drive() runs the plan and returns the truth."""

    SW_MAC = "02:fa:00:00:01:01"
    HOST_MAC = "02:fa:00:00:07:01"

    def __init__(self, plan: SessionPlan, workdir: Path, log=print):
        self.plan = plan
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = log
        self.wire = self.dir / (f"{PORT}.pcap" if plan.wire_tool == "tcpdump" else f"{PORT}.pcapng")
        self.links = self.dir / "links.pcap"
        self.truth: dict = {"about": "bench/realkernel: driven on a veth pair, times from the driver's clock",
                            "scenario": plan.name, "seed": plan.seed, "profile": plan.profile,
                            "dump": plan.dump, "wire_tool": plan.wire_tool, "episodes": [], "flaps": [],
                            "storms": [], "lldp": [], "config": {"port_speeds": {PORT: SPEED}}}
        self.chassis_n = 1

    # -- lldpd
    def _sw_lldpd(self, lab) -> None:
        name = f"leaf{self.chassis_n}"
        self.sw_lldpd = lab.lldpd(self.sw, SW_IFACE, name, tx_interval=1)
        self.truth["lldp"].append({"system_name": name, "chassis_mac": self.sw_mac, "started_ns": now()})

    def _lldpd_pids(self) -> list[int]:
        pids = []
        for pid in self.sw.pids():
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == "lldpd":
                    pids.append(pid)
            except OSError:
                pass
        return pids

    def _signal_lldpd(self, sig: int) -> None:
        """Every lldpd process of the switch end (monitor and its privilege-separated child) at
        once: a daemon that dies or hangs sends no shutdown LLDPDU."""
        pids = self._lldpd_pids()
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if sig == signal.SIGKILL:  # gone (its control socket closed) before another starts
            self.sw_lldpd.proc.wait(5)
            netns.wait_for(lambda: not any(Path(f"/proc/{p}/comm").exists() for p in pids if p != self.sw_lldpd.proc.pid),
                           5.0, "the killed lldpd to exit")

    # -- recording
    def _start_recorders(self, lab) -> None:
        logs = self.dir
        nl_argv = ["chrt", "-f", str(REALTIME), sys.executable, str(NLRECORD), "-o", str(self.links)]
        if self.plan.dump:
            nl_argv.append("--dump")
        if self.plan.wire_tool == "dumpcap":
            wire_argv, ready = ["dumpcap", "-q", "-i", PORT, "-w", str(self.wire)], "File:"
        else:
            wire_argv, ready = ["tcpdump", "-i", PORT, "--time-stamp-precision=nano", "--immediate-mode",
                                "-Z", "root", "-w", str(self.wire)], "listening on"
        self.recorders = []
        for argv, text, log in ((wire_argv, ready, logs / "wire.log"), (nl_argv, "listening", logs / "nlrecord.log")):
            proc = mc.popen_logged(lab, self.host, argv, log)
            mc.wait_for_text(log, text, proc)
            self.recorders.append(proc)
        self.truth["start_ns"] = now()

    def _stop_recorders(self) -> None:
        self.truth["end_ns"] = now()
        for proc in self.recorders:
            mc.stop(proc)
        os.chmod(self.wire, 0o644)

    # -- flaps
    def _flap_record(self, family: str, d: dict) -> dict:
        rec = dict(family=family, down_ns=d["down_ns"], down_done_ns=d["down_done_ns"],
                   up_ns=d.get("up_ns"), up_done_ns=d.get("up_done_ns"))
        self.truth["flaps"].append(rec)
        return rec

    def _pattern(self, e: EpisodePlan) -> list[dict]:
        t0 = now()
        out = []
        for off, down_s in e.flaps:
            wait = (t0 + int(off * S) - now()) / S
            if wait > 0:
                time.sleep(wait)
            out.append(self._flap_record(e.family, self.driver.flap(e.family, down_s)))
        return out

    def _episode(self, lab, e: EpisodePlan) -> None:
        fam = e.family
        truth_ep = {"port": PORT, "family": fam, "params": e.params}
        labels: set = set()
        if fam == "silent-neighbor-loss":
            stopped = now()
            self._signal_lldpd(signal.SIGSTOP)  # hung: no LLDPDU, no shutdown
            time.sleep(LLDP_TTL_S + 1.0)
            self._signal_lldpd(signal.SIGCONT)
            truth_ep.update(start_ns=stopped - S, end_ns=stopped + LLDP_TTL_S * S, flaps=0, flap_times=[],
                            stopped_ns=stopped, labels=["silent-neighbor-loss"])
            self.truth["episodes"].append(truth_ep)
            time.sleep(SILENT_SETTLE_S)
            return
        if fam == "pfc-linked":
            frames = max(int(e.params["storm_s"] * 1000), 1)
            storm = [mc.pfc_burst("prio3 storm", 0x08, mc.quanta(p3=0xFFFF), count=frames, interval_us=1000),
                     mc.pfc_burst("prio3 xon", 0x08, mc.quanta())]
            sent = mc.send_mac_control(self.sw, storm, gap_s=0.0)
            self.truth["storms"].append({"port": PORT, "priority": 3, "start_ns": sent[0]["start_ns"],
                                         "end_ns": sent[0]["end_ns"], "frames": frames})
            time.sleep(e.params["lead_s"])
        if fam == "neighbor-change":
            before = self.sw_mac
            d0 = self.driver.set("down")
            self._signal_lldpd(signal.SIGKILL)  # the old neighbor is gone without a word (recabled)
            self.chassis_n += 1
            self.sw_mac = f"02:fa:00:00:{self.chassis_n:02x}:01"
            self.driver._command(f"link set dev {SW_IFACE} address {self.sw_mac}")
            self._sw_lldpd(lab)
            rest = e.flaps[0][1] - (now() - d0[1]) / S
            if rest > 0:
                time.sleep(rest)
            u = self.driver.set("up")
            flaps = [self._flap_record(fam, dict(down_ns=d0[0], down_done_ns=d0[1], up_ns=u[0], up_done_ns=u[1]))]
            truth_ep.update(chassis_before=before, chassis_after=self.sw_mac)
            labels.add("neighbor-change")
        elif fam == "mid-outage" and e.params["edge"] == "end":
            d0 = self.driver.set("down")
            flaps = [self._flap_record(fam, dict(down_ns=d0[0], down_done_ns=d0[1]))]
            time.sleep(e.params["tail_s"])
        elif fam == "mid-outage":
            flaps = [self.pre_down]  # downed before the recorders started
            time.sleep(e.flaps[0][1])
            u = self.driver.set("up")
            flaps[0].update(up_ns=u[0], up_done_ns=u[1])
        else:
            flaps = self._pattern(e)
        if fam == "pfc-linked":
            labels.add("pfc-linked")
        times = [(_mid(f["down_ns"], f["down_done_ns"]),
                  _mid(f["up_ns"], f["up_done_ns"]) if f.get("up_ns") is not None else None) for f in flaps]
        if any(u is not None and u - d < MICRO_NS for d, u in times):
            labels.add("micro-flap")
        if len(flaps) == 1:
            labels.add("single")
        elif fam in MULTI:
            labels.add(fam)
        truth_ep.update(start_ns=times[0][0], end_ns=times[-1][1], flaps=len(flaps), labels=labels,
                        flap_times=[[d, u] for d, u in times],
                        driven=[[f["down_ns"], f["down_done_ns"], f.get("up_ns"), f.get("up_done_ns")] for f in flaps])
        self.truth["episodes"].append(truth_ep)

    def drive(self) -> dict:
        plan = self.plan
        self.sw_mac = self.SW_MAC
        with netns.Lab() as lab:
            self.sw, self.host = lab.namespace("sw"), lab.namespace("host")
            lab.veth(self.sw, SW_IFACE, self.host, PORT, same_ifindex=plan.same_ifindex,
                     a_mac=self.sw_mac, b_mac=self.HOST_MAC)
            self.truth["ifindex"] = {"sw": self.sw.ifindexes()[SW_IFACE], "host": self.host.ifindexes()[PORT]}
            self._sw_lldpd(lab)
            lab.lldpd(self.host, PORT, "gpu-host1", tx_interval=1)
            if plan.traffic:
                lab.popen(self.sw, ["chrt", "-f", str(REALTIME), "mausezahn", SW_IFACE, "-q", *TRAFFIC,
                                    "-a", self.sw_mac, "-b", self.HOST_MAC, TRAFFIC_PAYLOAD],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with mc.realtime_thread(True):  # ip -batch, mausezahn and the sleeps at SCHED_FIFO
                self.driver = mc.LinkDriver(self.sw, SW_IFACE)
                try:
                    time.sleep(2.5)  # LLDP heard both ways; linkwatch quiet
                    if plan.mid_outage:
                        d = self.driver.set("down")
                        self.pre_down = self._flap_record("mid-outage", dict(down_ns=d[0], down_done_ns=d[1]))
                        time.sleep(2.2)
                    self._start_recorders(lab)
                    time.sleep(1.5 if not plan.mid_outage else 0.3)
                    for k, e in enumerate(plan.episodes):
                        if k or not plan.mid_outage:
                            time.sleep(e.quiet_before_s)
                        self.log(f"  {plan.name}: {e.family} ({len(e.flaps)} flaps)")
                        self._episode(lab, e)
                    if not (plan.mid_outage and plan.episodes[-1].family == "mid-outage"):
                        time.sleep(2.5)  # the last up delivered, LLDP heard again
                    self._stop_recorders()
                finally:
                    self.driver.close()
        return self.truth


# ---------------------------------------------------------------------------- scoring


@dataclass
class LinkRecord:
    ts: int
    up: bool
    up_count: int
    down_count: int


def link_records(path: Path, port: str = PORT) -> list[LinkRecord]:
    """The port's RTM_NEWLINK records straight from the capture (not the engine)."""
    link = flapwatch.read_capture(path).link
    out = []
    for ts, name, mtype, flags, up, down in zip(link["ts_ns"].tolist(), link.text("port"), link["msg_type"].tolist(),
                                                link["flags"].tolist(), link["carrier_up_count"].tolist(),
                                                link["carrier_down_count"].tolist()):
        if name == port and mtype == schema.RTM_NEWLINK:
            out.append(LinkRecord(ts, bool(flags & schema.IFF_LOWER_UP), up, down))
    return out


def mark_notified(truth: dict, records: list[LinkRecord]) -> None:
    """Which driven flaps the kernel sent a down message for: a message with the carrier down
    belongs to the last flap whose down command began before it (it carries the state when
    linkwatch ran, so that flap was still down then). A flap down before the recording began
    (mid-outage) counts as shown: its up is."""
    flaps = truth["flaps"]
    starts = [f["down_ns"] for f in flaps]
    for f in flaps:
        f["notified"] = f["down_ns"] < truth["start_ns"]
    for r in records:
        if r.up:
            continue
        i = max((i for i, t in enumerate(starts) if t <= r.ts), default=None)
        if i is not None:
            flaps[i]["notified"] = True
    for ep in truth["episodes"]:
        if not ep["flaps"]:
            continue
        mine = [f for f in flaps if ep["flap_times"][0][0] <= _mid(f["down_ns"], f["down_done_ns"])
                and (ep["end_ns"] is None or _mid(f["down_ns"], f["down_done_ns"]) <= ep["end_ns"])]
        ep["notified"] = [f["notified"] for f in mine]
        labels = set(ep["labels"])
        if not all(ep["notified"]):
            labels.add("hidden")
        ep["labels"] = sorted(labels, key=LABELS.index)


def mark_silent_losses(truth: dict, wire: Path) -> list[int]:
    """docs/DESIGN.md's silent-neighbor-loss applied to what the port really received (as the
    simulator's truth applies it, sim/truth.py): a neighbor aging out (its last LLDPDU + TTL)
    with the link up and no other neighbor left. One during a flap episode (first down to last
    up) is part of it; one within silent_attach_s of one labels it (an outage long enough for
    the neighbor's TTL to run out just after the link is back, a neighbor change whose new
    chassis speaks after the old one's TTL); any other is an episode of its own, which the
    silent-neighbor-loss family's driven stop must be. Returns the age-out times."""
    lldp = flapwatch.read_capture(wire).lldp
    own = Session.HOST_MAC
    rx = sorted((t, (c, p), ttl) for t, c, p, ttl in zip(lldp["ts_ns"].tolist(), lldp.text("chassis_id"),
                                                        lldp.text("port_id"), lldp["ttl"].tolist()) if c != own)
    end = truth["end_ns"]
    outages = [(_mid(f["down_ns"], f["down_done_ns"]),
                _mid(f["up_ns"], f["up_done_ns"]) if f.get("up_ns") is not None else end) for f in truth["flaps"]]
    live: dict = {}
    aged: dict[int, tuple[int, int]] = {}  # age-out -> (the neighbor's last LLDPDU, the next one heard)
    for t, msap, ttl in rx + [(end, None, None)]:
        for m, (exp, last) in sorted(live.items(), key=lambda kv: kv[1]):
            if exp < t:
                del live[m]
                if not live and not any(d <= exp < u for d, u in outages):
                    aged[exp] = (last, t)
        if msap is not None:
            if ttl == 0:
                live.pop(msap, None)  # a shutdown LLDPDU: gone, not aged out
            else:
                live[msap] = (t + ttl * S, t)
    flapping = [e for e in truth["episodes"] if e["flaps"]]
    attach = int(SIG.silent_attach_s * S)
    for x in aged:
        spans = [(e, e["start_ns"], e["end_ns"] if e["end_ns"] is not None else end) for e in flapping]
        if any(a <= x <= b for _, a, b in spans):
            continue
        near = sorted((min(abs(x - a), abs(x - b)), i) for i, (e, a, b) in enumerate(spans)
                      if a - attach <= x <= b + attach)
        if near:  # the nearest episode (docs/DESIGN.md: an age-out this close belongs to it)
            e = spans[near[0][1]][0]
            e["labels"] = sorted(set(e["labels"]) | {"silent-neighbor-loss"}, key=LABELS.index)
            continue
        driven = [e for e in truth["episodes"] if e["family"] == "silent-neighbor-loss"
                  and e["stopped_ns"] <= x <= e["stopped_ns"] + (LLDP_TTL_S + 2) * S]
        if driven:
            driven[0]["aged_out_ns"] = x
        elif not any(e.get("aged_out_ns") == x for e in truth["episodes"]):  # (scored again: once)
            # Nothing driven here: the switch's lldpd went quiet (seen once in CI, on a busy
            # machine). A real age-out on the wire, which the engine must find all the same.
            truth["episodes"].append({"port": PORT, "family": UNDRIVEN_LOSS, "params": {},
                                      "start_ns": x - LLDP_TTL_S * S, "end_ns": x, "flaps": 0, "flap_times": [],
                                      "labels": ["silent-neighbor-loss"], "aged_out_ns": x,
                                      "last_heard_ns": aged[x][0], "heard_again_ns": aged[x][1]})
    return list(aged)


def match_flaps(truth: dict, flaps_rows: list[dict]) -> dict:
    """Pair the engine's flaps (one port) with the driven ones. A shown flap's down message is
    sent while that flap is down (a delayed run reports the state when it runs), so it
    belongs to the last driven flap whose down began before it; a hidden flap (revealed by a
    counter jump) to a driven one whose down lies between the port's previous message
    (down_ns) and the revealing one (up_ns), not claimed by a shown flap; a flap open at the
    start to the one whose up its up_ns is. Returns found, missed and extra, listed."""
    driven = truth["flaps"]
    starts = [f["down_ns"] for f in driven]
    claimed: dict[int, dict] = {}
    extra = []

    def last_before(ts: int) -> int | None:
        return max((i for i, t in enumerate(starts) if t <= ts), default=None)

    shown = [r for r in flaps_rows if not r["hidden"]]
    hidden = [r for r in flaps_rows if r["hidden"]]
    for r in shown:
        if r.get("open_at_start"):
            i = last_before(r["up_ns"]) if r["up_ns"] >= 0 else None
        else:
            i = last_before(r["down_ns"])
            if i is not None:
                f = driven[i]
                up_done = f.get("up_done_ns")
                if up_done is not None and r["down_ns"] > up_done + READ_SLACK_NS:
                    i = None  # a down message after that flap was over: no flap of ours
        if i is None or i in claimed:
            extra.append(r)
        else:
            claimed[i] = r
    for r in sorted(hidden, key=lambda r: (r["up_ns"], r["down_ns"])):
        cands = [i for i, f in enumerate(driven) if i not in claimed and r["down_ns"] - READ_SLACK_NS
                 <= f["down_ns"] and f["down_done_ns"] <= r["up_ns"]]
        if cands:
            claimed[cands[0]] = r
        else:
            extra.append(r)
    in_capture = [i for i, f in enumerate(driven) if (f.get("up_ns") or truth["end_ns"]) >= truth["start_ns"]]
    missed = [i for i in in_capture if i not in claimed]
    outside = [dict(driven[i], index=i, row=r) for i, r in claimed.items() if not range_holds(driven[i], r)]
    return {"driven": len(in_capture), "found": len(claimed), "found_hidden": sum(1 for r in claimed.values()
                                                                                 if r["hidden"]),
            "placed_hidden": sum(1 for r in claimed.values() if r["hidden"] and r["down_latest_ns"] < r["up_ns"]),
            "missed": [dict(driven[i], index=i) for i in missed], "extra": extra, "outside_range": outside}


def _meets(lo: int, hi: int, t_lo: int, t_hi: int) -> bool:
    """Whether a reported range [lo, hi] (-1: unbounded) admits a value of the driven window."""
    return (lo < 0 or lo <= t_hi) and (hi < 0 or hi >= t_lo)


def range_holds(f: dict, r: dict) -> bool:
    """Whether a flap row's ranges admit what was driven: the kernel applied the down between
    down_ns and down_done_ns and the up between up_ns and up_done_ns (the driver's clock around
    each command), so the true duration lies in [up_ns - down_done_ns, up_done_ns - down_ns]."""
    if r.get("open_at_start"):  # its down is before the capture: only the up and a lower bound
        return f.get("up_ns") is None or _meets(r["up_earliest_ns"], r["up_latest_ns"], f["up_ns"], f["up_done_ns"])
    ok = _meets(r["down_earliest_ns"], r["down_latest_ns"], f["down_ns"], f["down_done_ns"])
    if f.get("up_ns") is not None and r["up_ns"] >= 0:
        ok &= _meets(r["up_earliest_ns"], r["up_latest_ns"], f["up_ns"], f["up_done_ns"])
        ok &= _meets(r["duration_min_ns"], r["duration_max_ns"], f["up_ns"] - f["down_done_ns"],
                     f["up_done_ns"] - f["down_ns"])
    return ok


def _rows(table, port: str) -> list[dict]:
    return [r for r in table.records() if r["port"] == port]


def analyse(dirpath: Path, truth: dict) -> dict:
    """analyze + classify one session's recording and score it against its truth."""
    wire = dirpath / (f"{PORT}.pcap" if truth["wire_tool"] == "tcpdump" else f"{PORT}.pcapng")
    links = dirpath / "links.pcap"
    mark_notified(truth, link_records(links))
    truth["aged_out_ns"] = mark_silent_losses(truth, wire)
    t0 = time.perf_counter()
    a = flapwatch.analyze([wire, links], truth["config"])
    episodes = classify(a)
    seconds = time.perf_counter() - t0
    flap_rows = _rows(a.tables["flaps"], PORT)
    flaps = match_flaps(truth, flap_rows)
    budget_ns = int(JOB_BUDGET_S * S)
    over = [r for r in flap_rows if r["over_budget"]]
    long_driven = [f for f in truth["flaps"] if f["family"] == "long-outage"]
    scored = {"end_ns": truth["end_ns"], "episodes": [dict(e, labels=sorted(e["labels"], key=LABELS.index))
                                                      for e in truth["episodes"]]}
    matches, unmatched = match(scored, episodes)
    return {
        "name": truth["scenario"], "profile": truth["profile"], "dump": truth["dump"], "wire_tool": truth["wire_tool"],
        "analyze_s": seconds, "warnings": [str(w) for w in a.warnings],
        "flaps": flaps, "over_budget": {"driven": len(long_driven), "reported": len(over), "budget_ns": budget_ns},
        "matches": [{"family": m.family, "start_ns": m.start_ns, "truth": sorted(m.truth, key=LABELS.index),
                     "predicted": sorted(m.predicted, key=LABELS.index)} for m in matches],
        "unmatched": [{"start_ns": m.start_ns, "predicted": sorted(m.predicted, key=LABELS.index)} for m in unmatched],
        "episodes_classified": episodes.to_records(),
        "undriven": [_undriven(truth, e) for e in truth["episodes"] if e["family"] == UNDRIVEN_LOSS],
    }


def _undriven(truth: dict, ep: dict) -> dict:
    """Where an undriven age-out lies: the switch's silence on the wire and the episodes
    either side (seconds from the recording's start), for the log."""
    t0 = truth["start_ns"]
    driven = [e for e in truth["episodes"] if e["family"] != UNDRIVEN_LOSS]
    previous = max((e for e in driven if e["start_ns"] <= ep["aged_out_ns"]), key=lambda e: e["start_ns"], default=None)
    following = min((e for e in driven if e["start_ns"] > ep["aged_out_ns"]), key=lambda e: e["start_ns"], default=None)

    def named(e: dict | None) -> str | None:
        return e and f"{e['family']} at {(e['start_ns'] - t0) / S:.3f} s"

    return {"aged_out_s": (ep["aged_out_ns"] - t0) / S, "silent_from_s": (ep["last_heard_ns"] - t0) / S,
            "heard_again_s": (ep["heard_again_ns"] - t0) / S, "after": named(previous), "before": named(following)}


def summarize(results: list[dict]) -> dict:
    conf = Confusion()
    from flapwatch.assess.evaluate import Match

    for r in results:
        conf.add([Match(PORT, m["start_ns"], set(m["truth"]), set(m["predicted"]), m["family"]) for m in r["matches"]],
                 [Match(PORT, m["start_ns"], set(), set(m["predicted"])) for m in r["unmatched"]], r["name"])
    families: dict[str, dict] = {}
    for r in results:
        for m in r["matches"]:
            fam = families.setdefault(m["family"], {"episodes": 0, "right": 0, "profiles": set()})
            fam["episodes"] += 1
            fam["right"] += m["truth"] == m["predicted"]
            fam["profiles"].add(r["profile"])
    misses = []
    for r in results:
        for m in r["matches"]:
            if m["truth"] != m["predicted"]:
                misses.append({"session": r["name"], "family": m["family"], "start_ns": m["start_ns"],
                               "truth": m["truth"], "predicted": m["predicted"]})
        for m in r["unmatched"]:
            misses.append({"session": r["name"], "family": "(none)", "start_ns": m["start_ns"], "truth": [],
                           "predicted": m["predicted"]})
        for f in r["flaps"]["missed"]:
            misses.append({"session": r["name"], "family": f["family"], "start_ns": f["down_ns"],
                           "flap": "missed", "truth": [], "predicted": []})
        for f in r["flaps"].get("outside_range", []):
            misses.append({"session": r["name"], "family": f["family"], "start_ns": f["down_ns"],
                           "flap": "outside its range", "truth": [], "predicted": [], "row": f["row"]})
        for f in r["flaps"]["extra"]:
            misses.append({"session": r["name"], "family": "(extra flap)", "start_ns": f["down_ns"],
                           "flap": "extra", "truth": [], "predicted": [], "row": f})
    return {
        "sessions": len(results),
        "episodes": conf.episodes, "spurious_episodes": conf.spurious,
        "profiles": sorted({r["profile"] for r in results}),
        "families": {k: {**v, "profiles": sorted(v["profiles"])} for k, v in families.items()},
        "flaps": {"driven": sum(r["flaps"]["driven"] for r in results),
                  "found": sum(r["flaps"]["found"] for r in results),
                  "found_hidden": sum(r["flaps"]["found_hidden"] for r in results),
                  "missed": sum(len(r["flaps"]["missed"]) for r in results),
                  "extra": sum(len(r["flaps"]["extra"]) for r in results),
                  "placed_hidden": sum(r["flaps"].get("placed_hidden", 0) for r in results),
                  "outside_range": sum(len(r["flaps"].get("outside_range", [])) for r in results)},
        "over_budget": {"driven": sum(r["over_budget"]["driven"] for r in results),
                        "reported": sum(r["over_budget"]["reported"] for r in results)},
        "labels": {k: {"tp": conf.tp[k], "fp": conf.fp[k], "fn": conf.fn[k], "tn": conf.tn[k],
                       "precision": conf.precision(k), "recall": conf.recall(k)} for k in LABELS},
        "misses": misses,
        "warnings": sorted({w for r in results for w in r["warnings"]}),
        "undriven": [dict(u, session=r["name"]) for r in results for u in r.get("undriven", [])],
    }


def format_table(s: dict) -> str:
    f = s["flaps"]
    lines = [f"{s['sessions']} sessions ({', '.join(s['profiles'])}), {s['episodes']} truth episodes, "
             f"{s['spurious_episodes']} classified episodes matching none",
             f"flaps: {f['driven']} driven, {f['found']} found ({f['found_hidden']} hidden), {f['missed']} missed, "
             f"{f['extra']} extra; recall {f['found'] / f['driven'] if f['driven'] else float('nan'):.3f}",
             f"ranges: {f['found'] - f['outside_range']}/{f['found']} admit the driven down, up and duration; "
             f"{f['placed_hidden']}/{f['found_hidden']} hidden flaps placed in a silence of the port's traffic",
             f"over the job budget: {s['over_budget']['driven']} driven, {s['over_budget']['reported']} reported", "",
             f"{'label':22s} {'TP':>4s} {'FP':>4s} {'FN':>4s} {'TN':>4s}  precision  recall"]
    for k, v in s["labels"].items():
        lines.append(f"{k:22s} {v['tp']:4d} {v['fp']:4d} {v['fn']:4d} {v['tn']:4d}  {v['precision']:9.3f}  "
                     f"{v['recall']:6.3f}")
    lines += ["", f"{'family':31s} {'episodes':>8s} {'right':>6s}  profiles"]
    for k in (*FAMILIES, UNDRIVEN_LOSS):
        v = s["families"].get(k)
        if v:
            lines.append(f"{k:31s} {v['episodes']:8d} {v['right']:6d}  {', '.join(v['profiles'])}")
    if s["misses"]:
        lines += ["", "misses (session, family, truth -> classified):"]
        for m in s["misses"]:
            what = m.get("flap") or f"{','.join(m['truth']) or '-'} -> {','.join(m['predicted']) or '-'}"
            lines.append(f"  {m['session']:28s} {m['family']:22s} {what}")
    if s.get("undriven"):
        lines += ["", "undriven age-outs (s from the recording's start; the switch's LLDPDUs silent from, heard again):"]
        lines += [f"  {u['session']:28s} {u['aged_out_s']:8.3f}  silent {u['silent_from_s']:.3f}-{u['heard_again_s']:.3f}"
                  f"  after {u['after'] or '-'}, before {u['before'] or '-'}" for u in s["undriven"]]
    if s["warnings"]:
        lines += ["", "warnings:"] + [f"  {w}" for w in s["warnings"]]
    return "\n".join(lines)


def run_session(plan: SessionPlan, workdir: Path, log=print) -> dict:
    """Drive one session, write its truth next to its captures, analyse and score it."""
    sess = Session(plan, workdir, log)
    truth = sess.drive()
    truth["plan"] = asdict(plan)
    result = analyse(workdir, truth)
    (workdir / "truth.json").write_text(json.dumps(truth, indent=1, default=_json_default) + "\n")
    return result


def _json_default(o):
    if isinstance(o, set):
        return sorted(o)
    return str(o)


def require() -> None:
    netns.require_root_and_tools(*TOOLS)
