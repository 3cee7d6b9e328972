"""The writers put a result on stdout in a few large writes, whatever the stream's buffering:
with PYTHONUNBUFFERED (many container images set it) each write to stdout is a system call,
and a writer that wrote token by token made a 20 MB JSON result take 6 s instead of 2."""

from __future__ import annotations

import io
import json
import sys

import pytest

import flapwatch
from conftest import CAPTURES
from flapwatch.assess.result import build_result
from flapwatch.present import writers
from flapwatch.present.text import Style


class CountingStdout(io.StringIO):
    """An unbuffered stdout's stand-in: every write() counted, as each would be a system call."""

    def __init__(self):
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


@pytest.fixture(scope="module")
def result():
    return build_result(flapwatch.analyze(str(CAPTURES / "lab.pcapng")))


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "table"])
def test_a_result_reaches_stdout_in_one_write(result, fmt, monkeypatch):
    out = CountingStdout()
    monkeypatch.setattr(sys, "stdout", out)
    writers.write(result, fmt, None, "ports", Style(False))
    text = out.getvalue()
    assert len(text) > 250 and out.writes == 1  # each of these is < 64 KiB


def test_big_outputs_go_in_64_kib_pieces():
    out = CountingStdout()
    chunks = writers.Chunks(out)
    lines = [f"row {i:06d} " + "x" * 90 + "\n" for i in range(20_000)]  # ~2 MB in 20,000 writes
    for line in lines:
        chunks.write(line)
    chunks.close()
    assert out.getvalue() == "".join(lines)
    assert out.writes == pytest.approx(len(out.getvalue()) / 65536, abs=1)


def test_json_is_what_the_streaming_encoder_wrote(result):
    """json.dumps (the C encoder) gives the bytes json.dump (the Python one, token by token)
    gave before: the same separators, numbers and key order."""
    streamed = io.StringIO()
    json.dump(writers.to_json(result), streamed, default=writers._json_default, separators=(",", ":"))
    out = io.StringIO()
    writers.write_json(result, out)
    assert out.getvalue() == streamed.getvalue() + "\n"
    assert json.loads(out.getvalue())["flaps"]  # the lab capture's flaps are in it
