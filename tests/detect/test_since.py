"""`--since` means one thing everywhere: the trackers see the whole input, and the
detections known before the instant are left out. analyze(), `replay` and
`replay --follow` give the same tables."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

import flapwatch
from conftest import CAPTURES
from flapwatch.detect.follow import Follower
from flapwatch.tables import schema


def _followed(paths, since_ns):
    f = Follower([str(p) for p in paths], flapwatch.Config(), since_ns=since_ns)
    assert f.open(lambda: False)
    live = {t: [] for t in schema.FINDING_TABLES}
    for _ in range(3):  # the files are complete: one poll reads them, the rest find nothing
        for table, rows in f.poll().items():
            live[table] += rows
    return live, f.finish()


def _assert_same(a, b):
    """The same rows (strings compared decoded: each run interns them in its own order)."""
    for name in schema.DETECTION_TABLES:
        ta, tb = a.tables[name], b.tables[name]
        assert list(ta) == list(tb), name
        ra, rb = ta.records(), tb.records()
        if name == "ports":  # ts_ns: the end of the input each run saw
            ra, rb = ([{k: v for k, v in r.items() if k != "ts_ns"} for r in rows] for rows in (ra, rb))
        assert ra == rb, name


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    path = tmp_path_factory.mktemp("since") / "osc.pcapng"
    flapwatch.simulate.simulate("oscillation", path, seed=4)
    return path


def _inputs(fleet):
    # Each capture on its own: a followed set of files is read file by file as they grow,
    # not merged by time as a replay is (a port's wire then comes before its link messages).
    return {name: [CAPTURES / name] for name in CAPTURE_FILES} | {"fleet": [fleet]}


CAPTURE_FILES = ["lab.pcapng", "lab-netlink.pcap", "lab-tcpdump.pcap", "lab-wire.pcapng"]


@pytest.mark.parametrize("which", CAPTURE_FILES + ["fleet"])
@pytest.mark.parametrize("at", [0.0, 0.35, 0.6])
def test_follow_and_replay_agree_on_since(fleet, which, at):
    paths = _inputs(fleet)[which]
    whole = flapwatch.analyze(paths)
    since = whole.first_ns + int(at * whole.span_ns)
    replayed = flapwatch.analyze(paths, since_ns=since)
    live, followed = _followed(paths, since)
    _assert_same(replayed, followed)
    for table in schema.FINDING_TABLES:  # every row --follow printed live is one replay reports
        want = list(map(json.dumps, replayed.tables[table].records()))
        assert all(row in want for row in map(json.dumps, live[table])), table
    assert sum(map(len, live.values())) > 0 or at > 0.5
    if at > 0:
        # the cut really cuts: fewer flaps than the whole, none known before it
        assert replayed.flaps.rows <= whole.flaps.rows
        assert (replayed.flaps["ts_ns"] >= since).all()


def test_cli_follow_since_equals_replay_since(tmp_path):
    capture = CAPTURES / "lab.pcapng"
    whole = flapwatch.analyze(capture)
    since = str((whole.first_ns + whole.span_ns // 2) / 1e9)
    replay = subprocess.run([sys.executable, "-m", "flapwatch", "replay", "-q", "--format", "json", "--since", since,
                             str(capture)], capture_output=True, text=True, check=True)
    out = tmp_path / "follow.json"
    follow = subprocess.Popen([sys.executable, "-m", "flapwatch", "replay", "--follow", "--format", "json", "-o",
                               str(out), "--since", since, str(capture)], stdout=subprocess.PIPE, text=True)
    time.sleep(2.0)  # a few polls: everything is read
    follow.send_signal(signal.SIGTERM)
    follow.communicate(timeout=20)
    assert follow.returncode == 0
    a, b = json.loads(replay.stdout), json.loads(out.read_text())
    for key in schema.OUTPUT_TABLES:
        assert a[key] == b[key], key
