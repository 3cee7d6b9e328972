"""`flapwatch replay` end to end: the real CLI process on the real captures in captures/,
every option, every output format read back with pandas, the HTML report in headless
Chromium, and --follow against a live tcpdump while the test flaps a veth."""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import flapwatch
from conftest import CAPTURES, REPO, require_tools
from flapwatch.present.progress import ProgressBar
from flapwatch.assess.result import PORT_COLUMNS

LAB = CAPTURES / "lab.pcapng"
TRUTH = json.loads((CAPTURES / "lab.truth.json").read_text())
HOST_PORT = TRUTH["links"]["host"]["iface"]
ARTIFACTS = REPO / "test-artifacts"


def replay(*args, check=True, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "flapwatch", "replay", *map(str, args)], capture_output=True,
                          text=True, timeout=120, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


def test_default_table(tmp_path):
    out = replay(LAB).stdout
    lines = out.splitlines()
    assert lines[0].startswith("1 capture(s), 793 frames from 2026-")
    row = next(l for l in lines if l.startswith(HOST_PORT))
    assert row.split()[1:4] == [str(len(TRUTH["flaps"])), "3", "1"]  # flaps, hidden, micro
    assert "2.001 s" in row and "leaf1" in row
    assert "\033[" not in out  # no colours when stdout is not a terminal
    assert "PFC storms" in out and "LLDP events" in out and "shutdown" in out


def test_json_round_trips_into_pandas(tmp_path):
    data = json.loads(replay(LAB, "--format", "json").stdout)
    ports = pd.DataFrame(data["ports"])
    assert list(ports.columns) == PORT_COLUMNS
    host = ports.set_index("port").loc[HOST_PORT]
    assert host["flaps"] == 6 and host["pfc_storms"] == 1 and host["longest_down_ns"] > 2_000_000_000
    flaps = pd.DataFrame(data["flaps"])
    assert flaps["duration_ns"].max() == host["longest_down_ns"]
    # what the capture script drove: a micro-flap, an oscillation (partly hidden), an outage after a storm
    assert set(host["signatures"].split(",")) == {"micro-flap", "single", "oscillation", "hidden", "pfc-linked"}
    episodes = pd.DataFrame(data["episodes"])
    assert [sorted(l) for l in episodes["labels"]] == [["micro-flap", "single"], ["hidden", "oscillation"],
                                                       ["pfc-linked", "single"]]
    assert 0.0 <= host["risk"] <= 1.0
    assert data["counts"]["pfc"] == 129 and data["files"] == [str(LAB)]


def test_jsonl_csv_parquet(tmp_path):
    lines = replay(LAB, "--format", "jsonl").stdout.splitlines()
    df = pd.read_json(io.StringIO("\n".join(lines)), lines=True)
    assert set(df["type"]) >= {"flap", "policy_event", "pfc_storm", "lldp_event", "port"}
    csv_out = tmp_path / "ports.csv"
    replay(LAB, "--format", "csv", "-o", csv_out)
    ports = pd.read_csv(csv_out)
    assert list(ports.columns) == PORT_COLUMNS and HOST_PORT in set(ports["port"])
    replay(LAB, "--format", "csv", "-o", f"{tmp_path}/all/")
    flaps = pd.read_csv(tmp_path / "all" / "flaps.csv")
    assert len(flaps) == 6 and {"down_ns", "up_ns", "duration_ns", "hidden"} <= set(flaps.columns)
    replay(LAB, "--format", "parquet", "-o", tmp_path / "p.parquet", "--table", "flaps")
    pq = pd.read_parquet(tmp_path / "p.parquet")
    assert str(pq["down_ns"].dtype) == "datetime64[ns, UTC]" and len(pq) == 6  # instants: UTC timestamps
    assert pq["duration_ns"].dtype == "int64"  # durations stay int64 ns
    replay(LAB, "--format", "parquet", "-o", f"{tmp_path}/pq/")
    assert list(pd.read_parquet(tmp_path / "pq" / "ports.parquet").columns) == PORT_COLUMNS


def test_port_since_until_speed_and_config(tmp_path):
    # the capture's dump names lo too: the loopback is no port, selected or not
    assert [p["port"] for p in json.loads(replay(LAB, "--format", "json").stdout)["ports"]] == [HOST_PORT]
    data = json.loads(replay(LAB, "--format", "json", "--port", HOST_PORT[:4] + "*").stdout)
    assert [p["port"] for p in data["ports"]] == [HOST_PORT]
    assert replay(LAB, "--format", "json", "--port", "lo", check=False).returncode == 2
    outage = next(f for f in TRUTH["flaps"] if f["kind"] == "outage")
    since = f"{outage['down_ns'] // 10**9 - 1}.0"  # epoch seconds: only the outage remains
    data = json.loads(replay(LAB, "--format", "json", "--since", since).stdout)
    assert [round(f["duration_ns"] / 1e9) for f in data["flaps"]] == [2]
    data = json.loads(replay(LAB, "--format", "json", "--until", "2026-11-28T16:51:16Z").stdout)
    assert data["flaps"] == []
    cfg = tmp_path / "fw.toml"
    cfg.write_text('job_budget_s = 1.5\nwindow_policies = []\ndampening_policies = ["junos"]\n')
    data = json.loads(replay(LAB, "--format", "json", "--config", cfg, "--speed", "400G").stdout)
    assert {p["policy"] for p in data["policy_events"]} == {"junos", "pfc-storm:p3"}
    assert next(p for p in data["ports"] if p["port"] == HOST_PORT)["outages_over_budget"] == 1
    # LLDP's MAU type says 10G on this link: --speed only fills in where LLDP is silent
    assert {s["speed_bps"] for s in data["pause_stats"]} == {10_000_000_000}


def test_globs_directories_gzip(tmp_path):
    gz = tmp_path / "lab.pcapng.gz"
    gz.write_bytes(gzip.compress(LAB.read_bytes()))
    a = json.loads(replay(gz, "--format", "json").stdout)
    b = json.loads(replay(f"{CAPTURES}/lab-wire.pcapng", f"{CAPTURES}/lab-net*.pcap", "--format", "json").stdout)
    assert [f["duration_ns"] for f in a["flaps"]] == [f["duration_ns"] for f in b["flaps"]]
    shutil.copy(LAB, tmp_path / "x.pcapng")
    c = json.loads(replay(tmp_path, "--format", "json").stdout)  # a directory: lab.pcapng.gz and x.pcapng
    assert len(c["files"]) == 2


def test_exit_codes_and_errors(tmp_path):
    assert replay(LAB, "--fail-on", "flap", check=False).returncode == 1
    assert replay(LAB, "--fail-on", "hidden,storm", check=False).returncode == 1
    quiet = replay(CAPTURES / "lab-wire.pcapng", "--fail-on", "flap,hidden", check=False)
    assert quiet.returncode == 0
    bad = replay(LAB, "--fail-on", "nonsense", check=False)
    assert bad.returncode == 2 and "--fail-on takes" in bad.stderr
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"this is not a capture at all")
    err = replay(junk, check=False)
    assert err.returncode == 3
    assert f"{junk}: offset 0: not a pcap or pcapng file" in err.stderr and "Traceback" not in err.stderr
    debug = replay(junk, "--debug", check=False)
    assert "Traceback" in debug.stderr and "CaptureError" in debug.stderr
    missing = replay(tmp_path / "nope.pcap", check=False)
    assert missing.returncode == 3 and "No such file or directory" in missing.stderr


def test_help_shows_examples():
    for argv in (["--help"], ["replay", "--help"], ["inspect", "--help"]):
        out = subprocess.run([sys.executable, "-m", "flapwatch", *argv], capture_output=True, text=True).stdout
        assert "example" in out and "flapwatch " in out


def test_progress_bar_only_on_terminals(tmp_path):
    proc = replay(LAB)
    assert proc.stderr == ""  # stderr is a pipe here: no bar
    stream = io.StringIO()

    class Counter:
        bytes = 5_000_000

    bar = ProgressBar(10_000_000, enabled=True, delay_s=0.0, stream=stream)
    bar.run(lambda: time.sleep(0.35), Counter())
    assert "50.0%" in stream.getvalue() and "#" * 15 in stream.getvalue()
    assert not ProgressBar(1, stream=io.StringIO()).enabled  # not a tty


@pytest.mark.tools
def test_report_renders_in_headless_chromium(tmp_path):
    require_tools("chromium")
    report = tmp_path / "report.html"
    replay(LAB, "--report", report, "-q")
    text = report.read_text()
    assert "<script src" not in text and "<link " not in text  # self-contained
    browser = ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + str(tmp_path / "u")]
    dom = subprocess.run([*browser, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=60).stdout
    assert 'data-errors="0"' in dom  # the page counts its own script errors
    ports = flapwatch.analyze(str(LAB)).ports.rows
    assert f'data-rendered="{ports}"' in dom  # its script ran: one timeline per port (tests/present/test_report.py zooms)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    subprocess.run([*browser, "--window-size=1200,1400", f"--screenshot={shot}", report.as_uri()],
                   capture_output=True, timeout=60, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


@pytest.mark.root
@pytest.mark.tools
def test_follow_live_tcpdump_while_flapping(tmp_path):
    """tcpdump writes the wire, nlrecord the link messages; replay --follow prints the
    flaps as they happen and a summary at SIGINT."""
    require_tools("tcpdump", "ip")
    from netns import Lab

    wire, links = tmp_path / "wire.pcap", tmp_path / "links.pcap"
    nlrecord = Path(flapwatch.__file__).parent / "sources" / "nlrecord.py"
    with Lab() as lab:
        sw, host = lab.namespace("sw"), lab.namespace("host")
        lab.veth(sw, "swp1", host, "eth0", same_ifindex=False)
        lab.popen(host, ["tcpdump", "-i", "eth0", "-U", "--immediate-mode", "-w", str(wire)],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lab.popen(host, [sys.executable, str(nlrecord), "-o", str(links), "--dump"],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        follower = subprocess.Popen([sys.executable, "-m", "flapwatch", "replay", "--follow", str(wire), str(links)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 10
            while not (wire.exists() and links.exists() and links.stat().st_size > 24):
                assert time.monotonic() < deadline, "recorders did not start"
                time.sleep(0.05)
            time.sleep(0.5)
            for _ in range(3):
                sw.run(["ip", "link", "set", "swp1", "down"])
                time.sleep(0.1)
                sw.run(["ip", "link", "set", "swp1", "up"])
                time.sleep(0.3)
            time.sleep(1.0)
            follower.send_signal(signal.SIGINT)
            out, err = follower.communicate(timeout=20)
        finally:
            if follower.poll() is None:
                follower.kill()
    assert follower.returncode == 0, err
    live = [l for l in out.splitlines() if "  eth0  flap: down " in l]
    assert len(live) == 3, out
    # "≥ 100.43 ms (≤ 405.12 ms)": linkwatch may have held a down back, so the line says the
    # bound; the ~100 ms the test drove lies inside it
    unit_ms = {"ms": 1.0, "s": 1e3, "µs": 1e-3}
    for line in live:
        said = line.split("flap: down ")[1]
        assert said.startswith("≥ "), line
        lo, hi = (float(v) * unit_ms[u] for v, u in re.findall(r"([0-9.]+) (ms|s|µs)", said))
        assert lo <= 130 and hi >= 95, line
    summary = next(l for l in out.splitlines() if l.startswith("eth0 "))
    assert summary.split()[1] == "3"  # the summary table after SIGINT


def test_replay_on_a_simulated_fleet(tmp_path):
    """The simulator's capture (several devices, coalesced netlink, PFC/LLDP at real rates)
    through the CLI: the port the scenario drove gets its signature, --fail-on sees it."""
    out = tmp_path / "osc.pcapng"
    sim = subprocess.run([sys.executable, "-m", "flapwatch", "simulate", "oscillation", "-o", str(out), "--seed", "3"],
                         capture_output=True, text=True, timeout=120)
    assert sim.returncode == 0, sim.stderr
    truth = json.loads(Path(str(out) + ".truth.json").read_text())  # the simulator's sidecar
    data = json.loads(replay(out, "--format", "json").stdout)
    labelled = {p["port"]: set(p["signatures"].split(",")) for p in data["ports"] if p["signatures"]}
    assert any("oscillation" in labels for labels in labelled.values()), (labelled, truth)
    assert replay(out, "--fail-on", "flap", check=False).returncode == 1
    csv_dir = tmp_path / "tables"
    replay(out, "--format", "csv", "-o", f"{csv_dir}/", "--port", "*:*")
    ports = pd.read_csv(csv_dir / "ports.csv")
    assert list(ports.columns) == PORT_COLUMNS and all(":" in p for p in ports["port"])
