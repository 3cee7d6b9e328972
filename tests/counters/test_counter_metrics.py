"""Prometheus metrics from counters (issue 13): pause time and PHY link-downs that only the
counters saw, labelled source="counters" beside the frames' source="frames"."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from flapwatch.live.agent import Agent
from flapwatch.live.metrics import AgentCollector
from test_counter_detections import _mlx5_series, _samples, _t0


def _metric(text: str, name: str, **labels) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_pause_time_and_phy_link_downs_from_counters():
    t0 = _t0()
    agent = Agent([], netlink=False)
    for s in _samples(_mlx5_series(t0)):  # prio 3 paused 2.0-3.0 s; PHY link-downs at 1.05 and 4.05 s
        assert agent.push_counters(s)
    agent.start()
    agent.stop()
    collector = AgentCollector(agent)
    collector.refresh()
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    paused = _metric(text, "flapwatch_pfc_pause_seconds_total", port="eth0", priority="3", source="counters")
    assert paused is not None and abs(paused - 1.0) < 1e-6, text
    assert _metric(text, "flapwatch_pfc_pause_seconds_total", source="frames") is None  # no frames were seen
    assert _metric(text, "flapwatch_phy_link_downs_total", port="eth0", source="counters") == 2
    assert agent.counter_totals() == {"eth0": {"paused_ns": {"3": 1_000_000_000}, "phy_link_downs": 2}}
