"""Prometheus metrics for `flapwatch agent`, collected at scrape time from the agent's
latest state (so counters are the engine's own totals, never double-counted)."""

from __future__ import annotations

import threading
import time

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, InfoMetricFamily

from flapwatch.assess.risk import PEAK_WINDOW_S, PeakTracker
from flapwatch.live import recording
from flapwatch.live.agent import Detection
from flapwatch.tables.schema import DURATION_EXACT_NS, LLDP_EVENTS

# flapwatch_flap_duration_seconds' buckets: micro-flaps (< 10 ms), linkwatch's one-second
# delay, the 7 s job budget, long outages.
DURATION_BUCKETS_S = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 7.0, 10.0, 30.0, 60.0, 300.0)


class AgentCollector:
    def __init__(self, agent):
        self.agent = agent
        self.notices: list[str] = []
        self._lock = threading.Lock()
        self._ports: list[dict] = []
        self._stats: dict = {}
        self._pause_ns: dict[tuple[str, str], int] = {}  # from the PFC/PAUSE frames' pause_stats rows
        self._counters: dict[str, dict] = {}  # what the counters alone saw (Agent.counter_totals)
        self._tripped: dict[tuple[str, str], int] = {}
        self._storm: dict[tuple[str, str], int] = {}
        self._neighbors: dict[str, dict] = {}
        self._risk: dict[str, float] = {}
        self._risk_peak = PeakTracker(PEAK_WINDOW_S)  # the highest score of the last 10 min, sampled every poll
        # For the alerting rules (deploy/prometheus): trips counted (a trip that clears between
        # two scrapes still shows), a policy's kind, LLDP events counted, when a link went down.
        self.configured()
        self.events = None  # the agent command's event log (recording.RotatingLog), for its metrics
        self._trips: dict[tuple[str, str], int] = {}
        self._lldp: dict[tuple[str, str], int] = {}
        self._storms: dict[str, int] = {}
        # Per port, from the events: the latest link_down's down time and the latest up (a
        # flap closing); down now while the down is the later (a poll hands out tables, not
        # rows in time order, so a down and its up can come in one poll).
        self._down_at: dict[str, int] = {}
        self._up_at: dict[str, int] = {}
        # Per port: the closed flaps' durations, each its lower bound (what is sure), as a
        # histogram; and how many of them were known only as a range wider than 2 ms.
        self._durations: dict[str, list] = {}  # port -> [bucket counts..., sum]
        self._uncertain: dict[str, int] = {}

    def configured(self) -> None:
        """The agent's configuration (at start, and after a reload): its policies' kinds."""
        cfg = self.agent.config
        self._policy_kind = {**{w.name: "window" for w in cfg.window_policies},
                             **{d.name: "dampening" for d in cfg.dampening_policies}}

    # fed by the agent loop
    def observe(self, d: Detection) -> None:
        r = d.row
        with self._lock:
            if d.kind == "pause_stats":
                prio = "pause" if r["priority"] < 0 else str(r["priority"])
                key = (r["port"], prio)
                self._pause_ns[key] = self._pause_ns.get(key, 0) + r["paused_ns"]
            elif d.kind == "policy_events":
                policy = r["policy"]
                if policy.startswith("pfc-storm:"):
                    prio = policy.split(":", 1)[1].lstrip("p")
                    self._storm[(r["port"], prio)] = int(r["event"] == "trip")
                    if r["event"] == "trip":
                        self._storms[r["port"]] = self._storms.get(r["port"], 0) + 1
                else:
                    self._tripped[(r["port"], policy)] = int(r["event"] == "trip")
                    if r["event"] == "trip":
                        self._trips[(r["port"], policy)] = self._trips.get((r["port"], policy), 0) + 1
            elif d.kind == "link_down":
                self._down_at[r["port"]] = max(self._down_at.get(r["port"], -1), r["down_ns"])
            elif d.kind == "flaps":
                if not r["hidden"] and r["up_ns"] >= 0:  # an outage closing (a hidden flap says nothing of now)
                    self._up_at[r["port"]] = max(self._up_at.get(r["port"], -1), r["up_ns"])
                    self._observe_duration(r)
            elif d.kind == "lldp_events":
                self._lldp[(r["port"], r["event"])] = self._lldp.get((r["port"], r["event"]), 0) + 1
                if r["event"] in ("aged_out", "shutdown"):  # no neighbor now
                    self._neighbors.pop(r["port"], None)
                else:
                    self._neighbors[r["port"]] = {
                        "chassis_id": r["chassis_id"] or "",
                        "port_id": r["port_id"] or "",
                        "system_name": r["system_name"] or "",
                    }

    def _observe_duration(self, r: dict) -> None:
        """A closed flap's duration into the histogram: its lower bound, so a down linkwatch
        held back never makes an outage look longer than it surely was; a range wider than
        DURATION_EXACT_NS counts as uncertain (caller holds the lock)."""
        lo, hi = r.get("duration_min_ns", -1), r.get("duration_max_ns", -1)
        if lo < 0:
            return
        seconds = lo / 1e9
        counts = self._durations.setdefault(r["port"], [0] * (len(DURATION_BUCKETS_S) + 1) + [0.0])
        for i, le in enumerate(DURATION_BUCKETS_S):
            if seconds <= le:
                counts[i] += 1
        counts[len(DURATION_BUCKETS_S)] += 1  # +Inf: every observation
        counts[-1] += seconds
        if hi < 0 or hi - lo > DURATION_EXACT_NS:
            self._uncertain[r["port"]] = self._uncertain.get(r["port"], 0) + 1

    def set_risk(self, port: str, score: float, now_ns: int | None = None) -> None:
        """The current score; its peak over the last PEAK_WINDOW_S follows (a spike between
        two scrapes still shows)."""
        with self._lock:
            self._risk[port] = score
            self._risk_peak.update(port, time.time_ns() if now_ns is None else now_ns, score)

    def refresh(self) -> None:
        ports, stats = self.agent.ports(), self.agent.stats
        totals = getattr(self.agent, "counter_totals", None)
        counters = totals() if totals is not None else {}
        with self._lock:
            self._ports, self._stats, self._counters = ports, stats, counters

    def _down_since(self) -> dict[str, float]:
        """Ports down now, since when (Unix seconds): from the link_down events, so the time
        is the kernel's notification, not the next poll."""
        return {port: t / 1e9 for port, t in self._down_at.items() if t > self._up_at.get(port, -1)}

    # prometheus_client's collector protocol
    def describe(self):
        return []

    def collect(self):
        with self._lock:
            ports, stats = list(self._ports), dict(self._stats)
            pause, storm, tripped = dict(self._pause_ns), dict(self._storm), dict(self._tripped)
            neighbors, risk, risk_peak = dict(self._neighbors), dict(self._risk), self._risk_peak.peaks()
            trips, lldp, storm_count = dict(self._trips), dict(self._lldp), dict(self._storms)
            down_since = self._down_since()
            counters = dict(self._counters)
            durations = {port: list(c) for port, c in self._durations.items()}
            uncertain = dict(self._uncertain)
        flaps = CounterMetricFamily("flapwatch_link_flaps", "Link flaps (down and up again)", labels=["port"])
        hidden = CounterMetricFamily("flapwatch_hidden_flaps", "Flaps seen only as carrier counter jumps",
                                     labels=["port"])
        down = CounterMetricFamily("flapwatch_link_down_seconds", "Cumulative time links were down",
                                   labels=["port"])
        up = GaugeMetricFamily("flapwatch_link_oper_up", "1 when the link is up", labels=["port"])
        since = GaugeMetricFamily("flapwatch_link_down_since_timestamp_seconds",
                                  "When the link went down (Unix time), while it is down", labels=["port"])
        over = CounterMetricFamily("flapwatch_outages_over_budget", "Outages longer than job_budget_s",
                                   labels=["port"])
        storms = CounterMetricFamily("flapwatch_pfc_storms", "PFC storms", labels=["port"])
        lldp_events = CounterMetricFamily("flapwatch_lldp_events", "LLDP neighbor events", labels=["port", "event"])
        for p in ports:
            if p["link_messages"] == 0:
                continue
            flaps.add_metric([p["port"]], p["flaps"])
            hidden.add_metric([p["port"]], p["hidden_flaps"])
            down.add_metric([p["port"]], p["down_ns_total"] / 1e9)
            up.add_metric([p["port"]], max(0, p["oper_up"]))
            if p["port"] in down_since:
                since.add_metric([p["port"]], down_since[p["port"]])
            over.add_metric([p["port"]], p["outages_over_budget"])
            storms.add_metric([p["port"]], storm_count.get(p["port"], 0))
            for event in LLDP_EVENTS:  # from 0, so the first event is an increase
                lldp_events.add_metric([p["port"], event], lldp.get((p["port"], event), 0))
            for policy in self._policy_kind:
                tripped.setdefault((p["port"], policy), 0)
        yield from (flaps, hidden, down, up, since, over, storms, lldp_events)
        hist = HistogramMetricFamily("flapwatch_flap_duration_seconds",
                                     "Closed flaps' down time, each its lower bound (a down linkwatch may have "
                                     "held back up to a second counts from its message)", labels=["port"])
        vague = CounterMetricFamily("flapwatch_flap_duration_uncertain",
                                    "Closed flaps whose down time is known only as a range wider than 2 ms "
                                    "(the histogram has their lower bound)", labels=["port"])
        for port, c in sorted(durations.items()):
            n = len(DURATION_BUCKETS_S)
            hist.add_metric([port], [(f"{le:g}", c[i]) for i, le in enumerate(DURATION_BUCKETS_S)] + [("+Inf", c[n])],
                            sum_value=c[-1])
            vague.add_metric([port], uncertain.get(port, 0))
        yield hist
        yield vague
        yield GaugeMetricFamily("flapwatch_job_budget_seconds", "The outage a job survives (job_budget_s)",
                                value=self.agent.config.job_budget_s)
        # source: "frames" from the PFC/PAUSE frames a capture saw, "counters" from the NIC's or
        # switch's pause counters (durations, or frame counts as a bound). Where both see one
        # port they measure the same pauses: compare them, never sum over source.
        paused = CounterMetricFamily("flapwatch_pfc_pause_seconds",
                                     "Time paused by PFC/PAUSE, per priority (\"pause\": 802.3x) and source",
                                     labels=["port", "priority", "source"])
        for (port, prio), ns in sorted(pause.items()):
            paused.add_metric([port, prio, "frames"], ns / 1e9)
        for port, c in sorted(counters.items()):
            for prio, ns in sorted(c["paused_ns"].items()):
                paused.add_metric([port, prio, "counters"], ns / 1e9)
        yield paused
        phy = CounterMetricFamily("flapwatch_phy_link_downs",
                                  "Link-downs a PHY counter counted with no carrier change (flaps of source "
                                  "\"PHY counter\"; mlx5 link_down_events_phy)", labels=["port", "source"])
        for port, c in sorted(counters.items()):  # from 0, so the first one is an increase
            phy.add_metric([port, "counters"], c["phy_link_downs"])
        yield phy
        active = GaugeMetricFamily("flapwatch_pfc_storm_active", "1 while a PFC storm is on", labels=["port", "priority"])
        for (port, prio), on in sorted(storm.items()):
            active.add_metric([port, prio], on)
        yield active
        info = InfoMetricFamily("flapwatch_lldp_neighbor", "The LLDP neighbor on a port",
                                labels=["port", "chassis_id", "port_id", "system_name"])
        for port, n in sorted(neighbors.items()):
            info.add_metric([port, n["chassis_id"], n["port_id"], n["system_name"]], {})
        yield info
        trip = GaugeMetricFamily("flapwatch_policy_tripped", "1 while a flap policy is tripped",
                                 labels=["port", "policy", "kind"])
        trip_count = CounterMetricFamily("flapwatch_policy_trips", "Times a flap policy tripped",
                                         labels=["port", "policy", "kind"])
        for (port, policy), on in sorted(tripped.items()):
            kind = self._policy_kind.get(policy, "window")
            trip.add_metric([port, policy, kind], on)
            trip_count.add_metric([port, policy, kind], trips.get((port, policy), 0))
        yield trip
        yield trip_count
        score = GaugeMetricFamily("flapwatch_port_risk", "Risk of a flap in the next window (0..1)",
                                  labels=["port"])
        for port, s in sorted(risk.items()):
            score.add_metric([port], s)
        yield score
        peak = GaugeMetricFamily("flapwatch_port_risk_peak",
                                 f"The highest risk score of the last {PEAK_WINDOW_S:g} s (0..1), scored every poll",
                                 labels=["port"])
        peak_at = GaugeMetricFamily("flapwatch_port_risk_peak_timestamp_seconds",
                                    "When the risk peak was reached (Unix time)", labels=["port"])
        for port, (s, t) in sorted(risk_peak.items()):
            peak.add_metric([port], s)
            peak_at.add_metric([port], t / 1e9)
        yield peak
        yield peak_at
        dropped = CounterMetricFamily("flapwatch_ring_dropped", "Records dropped because the ring was full",
                                      labels=["port"])
        dropped.add_metric(["all"], stats.get("ring_dropped", 0))
        yield dropped
        yield from recording.metric_families(stats, self.events)
        if getattr(self.agent, "otlp", None) is not None:
            yield from self.agent.otlp.metric_families()
