"""The agent as an SRE runs it (issue 17, "Agent operations"): a recording that rotates
under a PFC flood, a full disk, and SIGHUP reloading the configuration. All in network
namespaces the tests make, with the real `flapwatch agent` command.

Rotation: the flood sender is tests/support/l2flood.c (one core's worth of 60-byte PFC
frames, an LLDPDU every 10th) in bursts, so there are several storms; flaps are driven
with `ip link`. With --keep large enough to keep every file, replaying them all gives
exactly the agent's live detections (a frame whose record the agent's ring dropped under
the flood is not recorded either: the recording is what the trackers saw). With --keep 2 the older files are gone, and the
kept ones start at some frame F (in a burst or between two): a replay of them can only match the live
rows whose whole history lies after F, which are: flaps and link_down rows that begin
after F; storms (their trip, clear and pfc_storms rows) that start more than the
restoration time after F (an earlier frame could have joined them); pause_stats windows
that start after F plus the longest pause (no pause from before F reaches into them).
Those must be identical; what is left is, in the replay, the storm cut at F (its start
is F, not the real one) and the neighbor "added" at the first LLDPDU after F (live,
it was added at the very start), and nothing else."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import flapwatch
from conftest import TESTS, require_tools
from flapwatch.tables import schema
from test_agent import _metric, _scrape
from test_agent_flood import _summary, _wait_bound

pytestmark = [pytest.mark.root, pytest.mark.tools, pytest.mark.slow]

MB = 10**6
ROTATE = "50MB"
DETECTION_NS = RESTORATION_NS = 200_000_000  # the defaults (pfcwd)
# The port's speed, from the configuration (the flood's LLDPDU names none). At 10G a pause of
# 0xffff quanta lasts 3.36 ms, so a burst stays one storm through the sender's scheduling
# gaps; at the default 100G (336 us) any CPU load beside the flood broke bursts into several
# storms and failed the counts below, whatever the detection.
SPEED = "10G"
MAX_PAUSE_NS = 65535 * 512 * 10**9 // 10_000_000_000 + 1  # quanta 0xffff at SPEED
FINDINGS = schema.FINDING_TABLES


def _flood_binary(tmp_path: Path) -> Path:
    flood = tmp_path / "l2flood"
    subprocess.run(["cc", "-O2", "-Wall", "-o", str(flood), str(TESTS / "support" / "l2flood.c")], check=True,
                   capture_output=True, text=True)
    return flood


def _flap(ns, iface: str, down_s: float = 0.1, after_s: float = 0.4) -> None:
    ns.run(["ip", "link", "set", iface, "down"])
    time.sleep(down_s)
    ns.run(["ip", "link", "set", iface, "up"])
    time.sleep(after_s)


def _session(tmp_path: Path, keep: int, bursts: list[float]) -> tuple[Path, list[dict], dict, str]:
    """Runs the agent on eth0 (swp1 is the peer) through PFC bursts with 0.6 s gaps, then
    two flaps, then a last 0.4 s burst; returns the recording path, the live event rows,
    the agent's summary and the line it started with."""
    require_tools("ip", "cc")
    from netns import Lab

    flood = _flood_binary(tmp_path)
    record, events, config = tmp_path / "rec.pcapng", tmp_path / "events.jsonl", _config(tmp_path)
    with Lab() as lab:
        sw, host = lab.namespace("sw"), lab.namespace("host")
        lab.veth(sw, "swp1", host, "eth0", same_ifindex=False)
        agent, err = _agent(lab, host, "--record", str(record), "--rotate-size", ROTATE, "--keep", str(keep),
                            "--events", str(events), "--config", str(config))
        started = err.lines[-1]
        _wait_bound(agent.pid, host.ifindexes()["eth0"])
        for seconds in [*bursts, None, 0.4]:
            if seconds is None:  # two flaps between the bursts: 2 flaps trip no default policy
                _flap(sw, "swp1")
                _flap(sw, "swp1")
                continue
            out = sw.run([str(flood), "swp1", "--seconds", str(seconds), "--lldp-every", "10"],
                         capture_output=True, text=True)
            assert out.returncode == 0, out.stderr
            time.sleep(0.6)  # > the restoration time: the next burst is another storm
        time.sleep(1.0)  # the last storm clears; the agent's tick (250 ms behind) passes it
        assert agent.poll() is None, err.lines
        agent.send_signal(signal.SIGTERM)
        lines = err.rest(timeout=60)
        assert agent.wait(timeout=30) == 0, lines
    live = [json.loads(line) for line in events.read_text().splitlines()]
    return record, live, _summary("\n".join(lines)), started


CONFIG = {"default_speed": SPEED}  # the agent's (as a file) and the replays'


def _config(tmp_path: Path) -> Path:
    """CONFIG as the agent's --config file."""
    config = tmp_path / "flapwatch.toml"
    config.write_text("".join(f'{k} = "{v}"\n' for k, v in CONFIG.items()))
    return config


def _kept(record: Path) -> list[Path]:
    """The recording's files, oldest first: FILE.N .. FILE.1, FILE."""
    rotated = sorted(record.parent.glob(record.name + ".*"), key=lambda p: -int(p.suffix[1:]))
    return [*rotated, record]


def _rows(live: list[dict], table: str) -> list[dict]:
    kind = schema.ROW_TYPES[table]
    return [{k: v for k, v in d.items() if k != "type"} for d in live if d["type"] == kind]


def _same(a: list[dict], b: list[dict]) -> bool:
    return sorted(map(json.dumps, a)) == sorted(map(json.dumps, b))


def _difference(live: list[dict], replay: list[dict]) -> dict:
    a, b = set(map(json.dumps, live)), set(map(json.dumps, replay))
    return {"live only": sorted(a - b), "replay only": sorted(b - a)}


def _first_ns(path: Path) -> int:
    rec = flapwatch.read_capture(path)
    return min(int(t["ts_ns"].min()) for t in (rec.pfc, rec.lldp, rec.link) if len(t["ts_ns"]))


def _comparable(tables: dict[str, list[dict]], first_ns: int) -> dict[str, list[dict]]:
    """The rows whose whole history lies after first_ns (this module's docstring)."""
    storm_from = first_ns + RESTORATION_NS + 1
    storms = [s for s in tables["pfc_storms"] if s["start_ns"] >= storm_from]
    # a storm's trip is start + detection, its clear end + restoration (per port and policy)
    trips = {(s["port"], s["start_ns"] + DETECTION_NS) for s in storms}
    clears = {(s["port"], s["end_ns"] + RESTORATION_NS) for s in storms}
    policy = [e for e in tables["policy_events"] if e["policy"].startswith("pfc-storm:")
              and (e["port"], e["ts_ns"]) in (trips if e["event"] == "trip" else clears)]
    return {
        "flaps": [f for f in tables["flaps"] if f["down_ns"] >= first_ns],
        "link_down": [d for d in tables.get("link_down", []) if d["ts_ns"] >= first_ns],
        "pfc_storms": storms,
        "policy_events": policy,
        "pause_stats": [w for w in tables["pause_stats"] if w["ts_ns"] >= first_ns + MAX_PAUSE_NS],
    }


def test_rotation_under_pfc_flood_keeps_the_files_and_the_detections(tmp_path):
    """--rotate-size 50MB --keep 2: at most 3 files, each a whole pcapng under 50 MB, and
    the kept files replay to the live rows they can know (module docstring), exactly."""
    t0 = time.monotonic()
    record, live, summary, started = _session(tmp_path, keep=2, bursts=[1.5, 1.5, 1.5])
    files = _kept(record)
    sizes = [f.stat().st_size for f in files]
    assert [f.name for f in files] == ["rec.pcapng.2", "rec.pcapng.1", "rec.pcapng"], files
    assert all(s <= 50 * MB for s in sizes), sizes
    assert sizes[0] > 49 * MB and sizes[1] > 49 * MB, sizes  # rotated when the next frame would not fit
    assert "rotating at 50000000 bytes, keeping 2 rotated file(s)" in started
    for f in files:  # each file alone is a whole pcapng
        assert not flapwatch.read_capture(f).warnings, f
    first_ns = _first_ns(files[0])
    replayed = flapwatch.analyze(files, CONFIG)
    want = {t: replayed.tables[t].records() for t in FINDINGS if t in replayed.tables}
    got = {t: _rows(live, t) for t in FINDINGS}
    live_c, replay_c = _comparable(got, first_ns), _comparable(want, first_ns)
    for table in live_c:
        assert _same(live_c[table], replay_c[table]), (table, _difference(live_c[table], replay_c[table]), first_ns)
    # what the kept files hold: the two flaps and at least the last burst's storm, whole (how
    # many bursts the kept 150 MB reach back into depends on the flood's rate on the machine)
    assert len(live_c["flaps"]) == 2 and len(live_c["pfc_storms"]) >= 1, live_c
    assert len(live_c["pause_stats"]) >= 1
    # the older files are gone: live saw storms the kept files do not have
    assert len(got["pfc_storms"]) == 4 and len(want["pfc_storms"]) < 4, (got["pfc_storms"], want["pfc_storms"])
    # what only the replay has: the storm cut at the first kept frame (if that frame came in a
    # burst), and the neighbor added again; every other replayed storm is one live had
    cut = [s for s in want["pfc_storms"] if s["start_ns"] < first_ns + RESTORATION_NS]
    assert len(cut) <= 1 and all(s["start_ns"] >= first_ns for s in cut), cut
    assert len(cut) + len(replay_c["pfc_storms"]) == len(want["pfc_storms"]), (cut, want["pfc_storms"])
    assert [e["event"] for e in want["lldp_events"]] == ["added"]
    assert not [e for e in got["lldp_events"] if e["ts_ns"] >= first_ns]
    print(json.dumps({"files": [f.name for f in files], "sizes": sizes, "agent": summary,
                      "live": {t: len(v) for t, v in got.items()}, "replay": {t: len(v) for t, v in want.items()},
                      "compared": {t: len(v) for t, v in live_c.items()}, "seconds": round(time.monotonic() - t0, 1)}))


def test_rotation_keeping_every_file_replays_to_the_live_detections(tmp_path):
    """--keep large enough to keep all: replaying every file together == live, every table."""
    t0 = time.monotonic()
    record, live, summary, _ = _session(tmp_path, keep=50, bursts=[1.2, 1.2])
    files = _kept(record)
    sizes = [f.stat().st_size for f in files]
    assert len(files) >= 3 and all(s <= 50 * MB for s in sizes), sizes
    replayed = flapwatch.analyze(files, CONFIG)
    # nothing cut or unreadable; the flood's LLDPDU names no speed: quanta at the default, SPEED
    assert [w for w in replayed.warnings if f"no link speed from LLDP or the configuration; pause quanta converted at {SPEED}"
            not in w] == [], replayed.warnings
    counts = {}
    for table in FINDINGS:
        want = replayed.tables[table].records() if table in replayed.tables else []
        got = _rows(live, table)
        assert _same(got, want), (table, _difference(got, want), [_first_ns(f) for f in files])
        counts[table] = len(got)
    assert counts["flaps"] == 2 and counts["pfc_storms"] == 3, counts
    print(json.dumps({"files": len(files), "sizes": sizes, "agent": summary, "rows": counts,
                      "seconds": round(time.monotonic() - t0, 1)}))


class _Stderr:
    """The agent's stderr, read on a thread: wait for a line without blocking forever."""

    def __init__(self, proc):
        import queue
        import threading

        self.lines: list[str] = []
        self._q: "queue.Queue[str | None]" = queue.Queue()
        self._seen = 0

        def pump():
            for line in proc.stderr:
                self._q.put(line.rstrip("\n"))
            self._q.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def wait(self, needle: str, timeout: float = 10.0) -> str:
        """The next line (after those already waited for) holding needle."""
        import queue

        deadline = time.monotonic() + timeout
        while True:
            for i in range(self._seen, len(self.lines)):
                if needle in self.lines[i]:
                    self._seen = i + 1
                    return self.lines[i]
            self._seen = len(self.lines)
            try:
                line = self._q.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no stderr line with {needle!r}: {self.lines}") from None
            if line is None:
                raise AssertionError(f"the agent exited; no stderr line with {needle!r}: {self.lines}")
            self.lines.append(line)

    def rest(self, timeout: float = 30.0) -> list[str]:
        """Every line until the agent's stderr closes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self._q.get(timeout=max(0.0, deadline - time.monotonic()))
            if line is None:
                return self.lines
            self.lines.append(line)
        raise AssertionError("the agent's stderr did not close")


def _agent(lab, ns, *args: str) -> tuple[subprocess.Popen, _Stderr]:
    """`flapwatch agent -i eth0 ARGS` in ns, once it says what it watches."""
    proc = lab.popen(ns, [sys.executable, "-m", "flapwatch", "agent", "-i", "eth0", *args],
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = _Stderr(proc)
    err.wait("flapwatch agent: watching", timeout=20)
    return proc, err


def test_full_disk_stops_recording_never_detection(tmp_path):
    """The recording on an 8 MB tmpfs the test mounts, which the flood fills; the event
    log on a tmpfs that dd filled before the agent started. Each file stops with one notice and its metrics; the agent keeps detecting (a
    flap after the disk filled is counted) and serving metrics; the recording left is a
    valid pcapng cut at its last flush."""
    require_tools("ip", "cc", "mount", "umount", "dd")
    from netns import Lab

    flood = _flood_binary(tmp_path)
    disk, full = tmp_path / "small", tmp_path / "full"
    for d, size in ((disk, "8m"), (full, "256k")):
        d.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(d)], check=True)
    try:
        # the event log's disk is full from the start (its first line needs a page)
        subprocess.run(["dd", "if=/dev/zero", f"of={full / 'filler'}", "bs=64k"], capture_output=True)
        record, events, port = disk / "rec.pcapng", full / "events.jsonl", 19481
        with Lab() as lab:
            sw, host = lab.namespace("sw"), lab.namespace("host")
            lab.veth(sw, "swp1", host, "eth0", same_ifindex=False)
            agent, err = _agent(lab, host, "--record", str(record), "--events", str(events),
                                "--metrics", f"127.0.0.1:{port}")
            _wait_bound(agent.pid, host.ifindexes()["eth0"])
            sw.run([str(flood), "swp1", "--seconds", "1.5", "--lldp-every", "10"], capture_output=True, check=True)
            stopped = err.wait("recording stopped")
            time.sleep(0.7)  # the storm clears
            _flap(sw, "swp1", 0.1, 1.0)
            assert agent.poll() is None, "the agent died when the disk filled"
            metrics = _scrape(host, port)
            agent.send_signal(signal.SIGTERM)
            lines = err.rest()
            assert agent.wait(timeout=30) == 0, lines
    finally:
        left = flapwatch.read_capture(record) if record.exists() else None
        for d in (disk, full):
            subprocess.run(["umount", str(d)], check=True)
    assert "No space left on device" in stopped and stopped.endswith("detection goes on"), stopped
    notices = [line for line in lines if "stopped" in line and "agent: stopped;" not in line]
    events_stopped = [n for n in notices if n.startswith("flapwatch agent: event log stopped:")]
    assert len(notices) == 2 and stopped in notices and len(events_stopped) == 1, notices  # once each
    assert "No space left on device" in events_stopped[0]
    assert _metric(metrics, "flapwatch_recording", file="record") == 0
    assert _metric(metrics, "flapwatch_record_errors_total", file="record") == 1
    assert _metric(metrics, "flapwatch_recording", file="events") == 0
    assert _metric(metrics, "flapwatch_record_errors_total", file="events") == 1
    assert _metric(metrics, "flapwatch_link_flaps_total", port="eth0") == 1  # detected after the disk filled
    assert _metric(metrics, "flapwatch_pfc_pause_seconds_total", port="eth0", priority="3") > 0.5
    assert left is not None and not left.warnings and left.counts["pfc"] > 10_000  # a whole pcapng
    print(json.dumps({"recorded_pfc": left.counts["pfc"], "notice": stopped}))


CONFIG_A = 'job_budget_s = 7\nwindow_policies = ["5-in-10s"]\n'
CONFIG_B = 'job_budget_s = 0.1\nwindow_policies = [{name = "two-in-10s", count = 2, window_s = 10}]\n'


def test_sighup_reloads_the_configuration(tmp_path):
    """SIGHUP with a new job budget and window policy: the next flaps follow them; an
    outage open across the reload keeps its real down time; a bad file keeps the running
    configuration with one stderr line; counts run on."""
    require_tools("ip")
    from netns import Lab

    config, events, port = tmp_path / "flapwatch.toml", tmp_path / "events.jsonl", 19483
    config.write_text(CONFIG_A)
    with Lab() as lab:
        sw, host = lab.namespace("sw"), lab.namespace("host")
        lab.veth(sw, "swp1", host, "eth0", same_ifindex=False)
        agent, err = _agent(lab, host, "--config", str(config), "--events", str(events),
                            "--metrics", f"127.0.0.1:{port}")
        time.sleep(0.3)
        _flap(sw, "swp1", 0.15)  # A: within the 7 s budget
        config.write_text(CONFIG_B)
        sw.run(["ip", "link", "set", "swp1", "down"])  # B: down across the reload
        time.sleep(0.1)
        agent.send_signal(signal.SIGHUP)
        reloaded = err.wait("configuration")
        time.sleep(0.2)
        sw.run(["ip", "link", "set", "swp1", "up"])
        time.sleep(0.4)
        _flap(sw, "swp1", 0.15)  # C: over the new 0.1 s budget; two-in-10s trips (B and C)
        _flap(sw, "swp1", 0.15)  # D
        config.write_text("job_budget_s = \n")  # not TOML
        agent.send_signal(signal.SIGHUP)
        refused = err.wait("configuration")
        _flap(sw, "swp1", 0.15, 0.6)  # E: still the 0.1 s budget
        metrics = _scrape(host, port)
        agent.send_signal(signal.SIGTERM)
        lines = err.rest()
        assert agent.wait(timeout=30) == 0, lines
    assert "configuration reloaded from" in reloaded, lines
    assert refused.startswith("flapwatch agent: configuration not reloaded, the running one stays: "
                              f"{config}:1: not valid TOML"), refused
    assert len([line for line in lines if "configuration" in line]) == 2, lines  # one line per SIGHUP
    live = [json.loads(line) for line in events.read_text().splitlines()]
    flaps = [d for d in live if d["type"] == "flap"]
    assert [f["over_budget"] for f in flaps] == [False, True, True, True, True], flaps
    durations = [f["duration_ns"] / 1e9 for f in flaps]
    assert 0.25 <= durations[1] <= 0.6, durations  # B: its down was before the reload, kept
    # Policies restart at the reload, with the outage open then (B) counted: two-in-10s trips
    # at C (B and C), IOS dampening (kept) at D, its third flap; with A still counted it
    # would have tripped at C.
    trips = [(d["policy"], d["ts_ns"]) for d in live if d["type"] == "policy_event" and d["event"] == "trip"]
    assert trips == [("two-in-10s", flaps[2]["down_ns"]), ("ios", flaps[3]["down_ns"])], (trips, flaps)
    assert _metric(metrics, "flapwatch_link_flaps_total", port="eth0") == 5  # counts run on
    assert "flapwatch_job_budget_seconds 0.1" in metrics.splitlines()
