"""The shipped Prometheus rules (deploy/prometheus): promtool checks them and runs their unit
tests, every alert has a firing and a quiet case there and annotations that name the port and
the number; and a real Prometheus server scraping a real `flapwatch agent` in namespaces fires
FlapwatchLinkFlapping after flaps driven with `ip link`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.parse

import pytest

from conftest import REPO, require_tools

PROM = REPO / "deploy" / "prometheus"
RULES = PROM / "flapwatch-rules.yml"
RULE_TESTS = sorted((PROM / "tests").glob("*.yml"))
AGENT_PORT, PROM_PORT = 9477, 9090  # on the loopback of a namespace the test makes


def _alerts_in_rules() -> dict[str, str]:
    """alert name -> its text in the rules file (up to the next rule)."""
    text = RULES.read_text()
    blocks = re.split(r"\n(?=\s*- (?:alert|record):)", text)
    return {m.group(1): b for b in blocks if (m := re.match(r"\s*- alert: (\w+)", b))}


@pytest.mark.tools
def test_promtool_checks_and_unit_tests_pass():
    require_tools("promtool")
    check = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS" in check.stdout and "WARNING" not in check.stdout + check.stderr, check.stdout + check.stderr
    assert RULE_TESTS
    unit = subprocess.run(["promtool", "test", "rules", *map(str, RULE_TESTS)], capture_output=True, text=True,
                          timeout=120)
    assert unit.returncode == 0, unit.stdout + unit.stderr
    assert unit.stdout.count("SUCCESS") == len(RULE_TESTS), unit.stdout


def test_every_alert_is_annotated_and_tested_both_ways():
    alerts = _alerts_in_rules()
    assert {"FlapwatchLinkFlapping", "FlapwatchHiddenFlaps", "FlapwatchLinkDownOverBudget", "FlapwatchPfcStormActive",
            "FlapwatchLldpNeighborLost", "FlapwatchLldpNeighborChanged", "FlapwatchHighRisk", "FlapwatchAgentDown",
            "FlapwatchAgentAbsent", "FlapwatchAgentDroppingRecords"} <= set(alerts)
    for name, block in alerts.items():
        for key in ("summary", "description"):
            m = re.search(rf"\n\s*{key}: (>-\n(?:\s{{12,}}.*\n?)+|.*)", block)
            assert m, f"{name}: no {key}"
            ann = m.group(1)
            assert "{{ $value" in ann, f"{name} {key} does not give the number"
            where = "$labels.port" if "Agent" not in name else ("$labels.instance" if "Absent" not in name else "job")
            assert where in ann, f"{name} {key} does not name the {where}"
    # alert_rule_test entries: `alertname: X` then `exp_alerts: []` (quiet) or a list (firing)
    cases: dict[str, set[str]] = {name: set() for name in alerts}
    for path in RULE_TESTS:
        for name, rest in re.findall(r"alertname: (\w+)\n\s*exp_alerts:(.*)", path.read_text()):
            assert name in alerts, f"{path.name} tests an unknown alert {name}"
            cases[name].add("quiet" if rest.strip() == "[]" else "firing")
    missing = {name: {"quiet", "firing"} - got for name, got in cases.items() if got != {"quiet", "firing"}}
    assert not missing, f"alerts without a firing or a quiet case: {missing}"


def _get(ns, path: str, **params) -> dict:
    """GET http://127.0.0.1:PROM_PORT{path} from inside the namespace (its loopback)."""
    url = f"http://127.0.0.1:{PROM_PORT}{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    code = f"import urllib.request;print(urllib.request.urlopen({url!r},timeout=5).read().decode())"
    out = ns.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    if out.returncode != 0:
        return {}
    return json.loads(out.stdout)


def _query(ns, expr: str) -> list[dict]:
    return _get(ns, "/api/v1/query", query=expr).get("data", {}).get("result", [])


def _alerts(ns, name: str) -> list[dict]:
    return [a for a in _get(ns, "/api/v1/alerts").get("data", {}).get("alerts", []) if a["labels"]["alertname"] == name]


def _wait(cond, timeout: float, what: str, *logs):
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            detail = "\n".join(p.read_text()[-3000:] for p in logs if p.exists())
            raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{detail}")
        time.sleep(0.2)


@pytest.mark.root
@pytest.mark.tools
def test_prometheus_fires_flapping_alert_from_live_agent(tmp_path):
    require_tools("prometheus", "ip")
    from netns import Lab

    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({  # JSON is YAML
        "global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "flapwatch", "static_configs": [{"targets": [f"127.0.0.1:{AGENT_PORT}"]}]}],
    }))
    prom_log, agent_log = tmp_path / "prometheus.log", tmp_path / "agent.log"
    with Lab() as lab:
        sw, host = lab.namespace("sw"), lab.namespace("host")
        lab.veth(sw, "swp1", host, "eth0", same_ifindex=False)
        with open(agent_log, "w") as log:
            agent = lab.popen(host, [sys.executable, "-m", "flapwatch", "agent", "-i", "eth0",
                                     "--metrics", f"127.0.0.1:{AGENT_PORT}"], stdout=log, stderr=subprocess.STDOUT)
        with open(prom_log, "w") as log:
            prom = lab.popen(host, ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                    f"--web.listen-address=127.0.0.1:{PROM_PORT}"], stdout=log, stderr=subprocess.STDOUT)
        logs = (prom_log, agent_log)
        # Prometheus scrapes the agent, and the flap-policy counters start at 0 (an increase
        # from 0 is what the flapping alert sees)
        _wait(lambda: _query(host, 'up{job="flapwatch"} == 1'), 20, "Prometheus scraping the agent", *logs)
        _wait(lambda: _query(host, 'flapwatch_policy_trips_total{port="eth0",policy="5-in-10s",kind="window"} == 0'),
              10, "the window policy's trip counter at 0", *logs)
        _wait(lambda: _query(host, 'instance_port:flapwatch_link_flaps:increase10m{port="eth0"} == 0'), 10,
              "the recording rules evaluated", *logs)
        assert not _alerts(host, "FlapwatchLinkFlapping")

        # 4 flaps: under the 5-in-10s rule, no alert
        def flap():
            sw.run(["ip", "link", "set", "swp1", "down"])
            time.sleep(0.05)
            sw.run(["ip", "link", "set", "swp1", "up"])
            time.sleep(0.15)

        for _ in range(4):
            flap()
        _wait(lambda: _query(host, 'flapwatch_link_flaps_total{port="eth0"} == 4'), 10, "4 flaps scraped", *logs)
        time.sleep(2.0)  # two more rule evaluations
        assert not _alerts(host, "FlapwatchLinkFlapping")
        # the 5th flap within 10 s trips the rule
        flap()
        tripped = time.monotonic()
        alerts = _wait(lambda: [a for a in _alerts(host, "FlapwatchLinkFlapping") if a["state"] == "firing"], 20,
                       "FlapwatchLinkFlapping firing", *logs)
        latency = time.monotonic() - tripped
        assert agent.poll() is None and prom.poll() is None
    (alert,) = alerts
    want = {"port": "eth0", "policy": "5-in-10s", "kind": "window", "job": "flapwatch", "severity": "critical"}
    assert {k: alert["labels"].get(k) for k in want} == want, alert
    flaps = float(alert["value"])
    assert 5 <= flaps <= 6, alert  # increase() extrapolates a little; rounded
    assert f"{flaps:g} flaps" in alert["annotations"]["summary"] and "eth0" in alert["annotations"]["summary"]
    assert "eth0" in alert["annotations"]["description"] and "5-in-10s" in alert["annotations"]["description"]
    assert latency < 10, latency
    print(f"FlapwatchLinkFlapping firing {latency:.2f} s after the 5th flap")
