"""The live agent in network namespaces the test makes: real lldpd on both ends, flaps
driven with `ip link`, PFC injected with mausezahn. The agent's detections must match
what was driven, its metrics endpoint (scraped over loopback inside the namespace)
must show them, and replaying its --record file must give identical detections.
The C++ example agent is built against the installed CMake package and run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

import flapwatch
from conftest import REPO, require_tools


PFC_HEX = "88:08:01:01:00:08:00:00:00:00:00:00:ff:ff:" + ":".join(["00"] * 32)  # prio 3, 0xffff quanta

pytestmark = [pytest.mark.root, pytest.mark.tools, pytest.mark.slow]


def _wait(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _scrape(ns, port: int) -> str:
    code = f"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:{port}/metrics',timeout=5).read().decode())"
    return ns.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def _metric(text: str, name: str, **labels) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def _without(rows, *drop):
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


def test_agent_cli_live_metrics_events_and_record(tmp_path):
    require_tools("lldpd", "mausezahn", "ip")
    from netns import Lab

    events, record = tmp_path / "events.jsonl", tmp_path / "rec.pcapng"
    port = 19477
    with Lab() as lab:
        sw, host = lab.namespace("sw"), lab.namespace("host")
        lab.veth(sw, "swp1", host, "eth0", same_ifindex=False)
        agent = lab.popen(host, [sys.executable, "-m", "flapwatch", "agent", "-i", "eth0", "--metrics",
                                 f"127.0.0.1:{port}", "--events", str(events), "--record", str(record)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _wait(lambda: record.exists() and record.stat().st_size > 0, 10, "the agent's recording")
        lab.lldpd(sw, "swp1", "leaf1")
        lab.lldpd(host, "eth0", "gpu-host7")
        time.sleep(2.5)  # a few LLDPDUs
        for _ in range(3):  # three 100 ms outages
            sw.run(["ip", "link", "set", "swp1", "down"])
            time.sleep(0.1)
            sw.run(["ip", "link", "set", "swp1", "up"])
            time.sleep(0.4)
        # a PFC storm: priority 3 paused continuously for ~400 ms: a frame every 100 µs, each
        # pausing 3.4 ms at the link's 10G (lldpd's MAU type). Real-time priority, so a busy
        # machine cannot deschedule mausezahn for longer than a pause lasts.
        sw.run(["chrt", "-f", "10", "mausezahn", "swp1", "-c", "4000", "-d", "100u", "-a", "02:00:00:00:00:01",
                "-b", "01:80:c2:00:00:01", PFC_HEX], capture_output=True, check=True)
        time.sleep(1.5)  # the restoration time (200 ms) passes and the agent's tick (250 ms behind) sees it
        metrics = _scrape(host, port)
        agent.send_signal(signal.SIGTERM)
        _, err = agent.communicate(timeout=20)
        assert agent.returncode == 0, err
    live = [json.loads(l) for l in events.read_text().splitlines()]
    import jsonschema

    from flapwatch.present.output_schema import SCHEMA_FILE

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    for event in live:  # the event log speaks the one schema replay's outputs do
        assert not list(validator.iter_errors(event)), event
    flaps = [d for d in live if d["type"] == "flap" and d["port"] == "eth0"]
    assert len(flaps) == 3
    assert all(90e6 <= f["duration_ns"] <= 160e6 for f in flaps), flaps
    lldp = [d for d in live if d["type"] == "lldp_event" and d["port"] == "eth0"]
    assert [d["system_name"] for d in lldp if d["event"] == "added"] == ["leaf1"]  # added, our own LLDPDUs ignored
    storms = [d for d in live if d["type"] == "policy_event" and d["policy"] == "pfc-storm:p3"]
    assert [d["event"] for d in storms] == ["trip", "clear"]  # tripped, then restored
    # the metrics endpoint shows them
    assert _metric(metrics, "flapwatch_link_flaps_total", port="eth0") == 3
    assert _metric(metrics, "flapwatch_link_oper_up", port="eth0") == 1
    assert _metric(metrics, "flapwatch_link_down_seconds_total", port="eth0") == pytest.approx(
        sum(f["duration_ns"] for f in flaps) / 1e9, rel=1e-6)
    assert _metric(metrics, "flapwatch_pfc_pause_seconds_total", port="eth0", priority="3") > 0.1
    assert _metric(metrics, "flapwatch_lldp_neighbor_info", port="eth0", system_name="leaf1") == 1
    assert _metric(metrics, "flapwatch_ring_dropped_total", port="all") == 0
    assert 0.0 <= _metric(metrics, "flapwatch_port_risk", port="eth0") <= 1.0
    # the recording replays to the same detections
    rec = flapwatch.read_capture(record)  # closed cleanly: no truncation warning
    assert not rec.warnings and rec.counts["pfc"] >= 3000 and rec.counts["link"] >= 4
    replayed = flapwatch.analyze(record)
    # LLDPDUs received feed the risk model (lldp_rx), not the event log
    assert not [d for d in live if d["type"] == "lldp_rx"]
    assert len([t for t, p in zip(replayed.lldp_rx["ttl"].tolist(), replayed.lldp_rx.text("port")) if t and p == "eth0"]) >= 2
    for table in ("flaps", "lldp_events", "policy_events"):
        want = _without(replayed.tables[table].records())
        kind = flapwatch.tables.schema.ROW_TYPES[table]  # the live JSON: the same rows, types and enum names
        got = _without([{k: v for k, v in d.items() if k != "type"} for d in live if d["type"] == kind])
        assert sorted(map(json.dumps, got)) == sorted(map(json.dumps, want)), table


def test_python_agent_api_and_vanishing_interface(tmp_path):
    require_tools("ip")
    from netns import Lab

    code = """
import json, subprocess, sys, time, flapwatch
seen = []
with flapwatch.Agent(["eth0", "eth1"], on_detection=seen.append, keep=True) as agent:
    time.sleep(0.3)
    subprocess.run(["ip", "link", "set", "eth0", "down"], check=True); time.sleep(0.05)
    subprocess.run(["ip", "link", "set", "eth0", "up"], check=True)
    got = []
    for d in agent:
        got.append(d)
        if any(x.kind == "flaps" for x in got):
            break
    subprocess.run(["ip", "link", "del", "eth1"], check=True)  # an interface disappears
    time.sleep(1.5)
    notices = agent.stats["notices"]
    ports = {p["port"]: p for p in agent.ports()}
final = agent.final
print(json.dumps({"kinds": [d.kind for d in seen], "notices": notices, "flaps": ports["eth0"]["flaps"],
                  "final": list(zip(final.flaps.text("port"), final.flaps["up_ns"].tolist()))}))
"""
    with Lab() as lab:
        sw, host = lab.namespace("sw"), lab.namespace("host")
        lab.veth(sw, "swp1", host, "eth0", same_ifindex=False)
        lab.veth(sw, "swp2", host, "eth1", same_ifindex=False)
        out = host.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert "flaps" in result["kinds"] and result["flaps"] == 1
    # eth0 flapped once; eth1 was deleted (RTM_DELLINK): down for good, an open outage
    assert [p for p, up in result["final"] if up >= 0] == ["eth0"]
    assert [p for p, up in result["final"] if up < 0] == ["eth1"]
    assert any("eth1 disappeared" in n for n in result["notices"])


def test_cpp_example_agent_against_installed_package(tmp_path):
    require_tools("cmake", "ip")
    from netns import Lab

    build, prefix, example = tmp_path / "build", tmp_path / "prefix", tmp_path / "example"
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, text=True, timeout=600)  # noqa: E731
    run("cmake", "-S", str(REPO), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release")
    run("cmake", "--build", str(build), "-j2")
    run("cmake", "--install", str(build), "--component", "dev", "--prefix", str(prefix))
    assert (prefix / "lib" / "cmake" / "flapwatch" / "flapwatchConfig.cmake").exists()
    run("cmake", "-S", str(REPO / "cpp" / "examples"), "-B", str(example), f"-DCMAKE_PREFIX_PATH={prefix}")
    run("cmake", "--build", str(example))
    binary = example / "flapwatch_example_agent"
    with Lab() as lab:
        sw, host = lab.namespace("sw"), lab.namespace("host")
        lab.veth(sw, "swp1", host, "eth0", same_ifindex=False)
        proc = lab.popen(host, [str(binary), "3", "eth0"], stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        sw.run(["ip", "link", "set", "swp1", "down"])
        time.sleep(0.2)
        sw.run(["ip", "link", "set", "swp1", "up"])
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    flap = next(l for l in out.splitlines() if l.startswith("flap port=eth0"))
    duration_ms = int(flap.split("duration_ns=")[1].split()[0]) / 1e6
    assert 150 <= duration_ms <= 300 and "hidden=0" in flap
