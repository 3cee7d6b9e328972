"""Prometheus flap durations (live/metrics.py): flapwatch_flap_duration_seconds observes each
closed flap's lower bound (what is sure), flapwatch_flap_duration_uncertain_total counts the
flaps known only as a range wider than 2 ms. Link events pushed into a real agent (a SONiC-like
poll: each change lies between two polls, a range of the poll interval)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, generate_latest

from flapwatch.live.agent import Agent
from flapwatch.live.metrics import AgentCollector
from test_agent import _metric

MS = 1_000_000


def test_histogram_of_lower_bounds_and_uncertain_count():
    t0 = time.time_ns() - 60 * 10**9
    agent = Agent([], netlink=False, keep=True)
    collector = AgentCollector(agent)
    agent.on_detection = collector.observe
    events = [(0, True, 0, True),  # baseline
              (1000, True, 0, False), (1200, False, 1, False),  # down between the polls at 1.0 and 1.2 s
              (1600, False, 1, False), (1800, True, 2, False)]  # up between 1.6 and 1.8 s
    for ms, up, changes, baseline in events:
        assert agent.push_link(t0 + ms * MS, "Ethernet0", up, carrier_changes=changes, baseline=baseline)
    agent.start()
    agent.stop()
    (flap,) = agent.final.flaps.records()
    assert (flap["duration_ns"], flap["duration_min_ns"], flap["duration_max_ns"]) == (600 * MS, 400 * MS, 800 * MS)
    collector.refresh()
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    assert _metric(text, "flapwatch_flap_duration_seconds_count", port="Ethernet0") == 1
    assert _metric(text, "flapwatch_flap_duration_seconds_sum", port="Ethernet0") == 0.4  # the lower bound
    assert _metric(text, "flapwatch_flap_duration_seconds_bucket", port="Ethernet0", le="0.25") == 0
    assert _metric(text, "flapwatch_flap_duration_seconds_bucket", port="Ethernet0", le="0.5") == 1
    assert _metric(text, "flapwatch_flap_duration_uncertain_total", port="Ethernet0") == 1
