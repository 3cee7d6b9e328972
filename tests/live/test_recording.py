"""The agent's event log as a rotating file (flapwatch.live.recording): rotated at a line
boundary before a line would pass the size, FILE.1 the newest, at most `keep` kept, every
line whole and none lost between the kept files; a write error (the file size limit,
EFBIG, as a full disk gives ENOSPC) stops it with the file cut at its last whole line; the
option parsers. Runs as any user."""

from __future__ import annotations

import json
import resource
import signal

import pytest

from flapwatch.live.recording import RotatingLog, Rotation, parse_interval, parse_size


def test_size_rotation_keeps_whole_lines_and_at_most_keep_files(tmp_path):
    path = tmp_path / "events.jsonl"
    log = RotatingLog(str(path), Rotation(max_bytes=400, keep=2))
    lines = [json.dumps({"type": "flap", "n": i}) + "\n" for i in range(100)]
    assert all(log.write(line) for line in lines)
    log.close()
    kept = [tmp_path / "events.jsonl.2", tmp_path / "events.jsonl.1", path]  # oldest first
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in kept)
    text = "".join(p.read_text() for p in kept)
    assert all(p.stat().st_size <= 400 for p in kept)
    got = [json.loads(line)["n"] for line in text.splitlines()]
    assert got == list(range(100 - len(got), 100))  # the latest lines, in order, none lost between files
    assert log.rotations > 2 and not log.error


def test_write_error_stops_the_log_at_its_last_whole_line(tmp_path):
    path = tmp_path / "events.jsonl"
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, old[1]))
        log = RotatingLog(str(path))
        written = sum(log.write(f'{{"n": {i}, "pad": "{"x" * 40}"}}\n') for i in range(100))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, old_handler)
    assert 0 < written < 100 and log.errors == 1 and "File too large" in log.error
    assert not log.write("more\n")  # stays stopped
    lines = path.read_text().splitlines(keepends=True)
    assert len(lines) == written and all(line.endswith("}\n") for line in lines)


def test_option_parsers():
    assert parse_size("50MB") == 50_000_000 and parse_size("1GiB") == 2**30 and parse_size("64k") == 64_000
    assert parse_interval("1h") == 3600 and parse_interval("15m") == 900 and parse_interval("30") == 30
    for bad in ("50XB", "", "12", "-1MB"):
        with pytest.raises(ValueError):
            parse_size(bad)
    for bad in ("1w", "0s", "soon"):
        with pytest.raises(ValueError):
            parse_interval(bad)
