"""Prometheus metrics for `flapwatch agent`, collected at scrape time from the agent's
latest state (so counters are the engine's own totals, never double-counted)."""

from __future__ import annotations

import threading

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily

from .agent import Detection


class AgentCollector:
    def __init__(self, agent):
        self.agent = agent
        self.notices: list[str] = []
        self._lock = threading.Lock()
        self._ports: list[dict] = []
        self._stats: dict = {}
        self._pause_ns: dict[tuple[str, str], int] = {}
        self._tripped: dict[tuple[str, str], int] = {}
        self._storm: dict[tuple[str, str], int] = {}
        self._neighbors: dict[str, dict] = {}
        self._risk: dict[str, float] = {}

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
                    self._storm[(r["port"], prio)] = r["event"]
                else:
                    self._tripped[(r["port"], policy)] = r["event"]
            elif d.kind == "lldp_events":
                if r["event"] in (3, 4):  # aged out, shutdown: no neighbor now
                    self._neighbors.pop(r["port"], None)
                else:
                    self._neighbors[r["port"]] = {
                        "chassis_id": r["chassis_id"] or "",
                        "port_id": r["port_id"] or "",
                        "system_name": r["system_name"] or "",
                    }

    def set_risk(self, port: str, score: float) -> None:
        with self._lock:
            self._risk[port] = score

    def refresh(self) -> None:
        ports, stats = self.agent.ports(), self.agent.stats
        with self._lock:
            self._ports, self._stats = ports, stats

    # prometheus_client's collector protocol
    def describe(self):
        return []

    def collect(self):
        with self._lock:
            ports, stats = list(self._ports), dict(self._stats)
            pause, storm, tripped = dict(self._pause_ns), dict(self._storm), dict(self._tripped)
            neighbors, risk = dict(self._neighbors), dict(self._risk)
        flaps = CounterMetricFamily("flapwatch_link_flaps", "Link flaps (down and up again)", labels=["port"])
        hidden = CounterMetricFamily("flapwatch_hidden_flaps", "Flaps seen only as carrier counter jumps",
                                     labels=["port"])
        down = CounterMetricFamily("flapwatch_link_down_seconds", "Cumulative time links were down",
                                   labels=["port"])
        up = GaugeMetricFamily("flapwatch_link_oper_up", "1 when the link is up", labels=["port"])
        for p in ports:
            if p["link_messages"] == 0:
                continue
            flaps.add_metric([p["port"]], p["flaps"])
            hidden.add_metric([p["port"]], p["hidden_flaps"])
            down.add_metric([p["port"]], p["down_ns_total"] / 1e9)
            up.add_metric([p["port"]], max(0, p["oper_up"]))
        yield from (flaps, hidden, down, up)
        paused = CounterMetricFamily("flapwatch_pfc_pause_seconds", "Time paused by PFC/PAUSE, per priority",
                                     labels=["port", "priority"])
        for (port, prio), ns in sorted(pause.items()):
            paused.add_metric([port, prio], ns / 1e9)
        yield paused
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
                                 labels=["port", "policy"])
        for (port, policy), on in sorted(tripped.items()):
            trip.add_metric([port, policy], on)
        yield trip
        score = GaugeMetricFamily("flapwatch_port_risk", "Risk of a flap in the next window (0..1)",
                                  labels=["port"])
        for port, s in sorted(risk.items()):
            score.add_metric([port], s)
        yield score
        dropped = CounterMetricFamily("flapwatch_ring_dropped", "Records dropped because the ring was full",
                                      labels=["port"])
        dropped.add_metric(["all"], stats.get("ring_dropped", 0))
        yield dropped
