"""A replay's core run started before the command line is parsed (detect/prestart.py,
launch.py): it starts only for words that settle the core's call, the command takes it only
when its own call is that one (and then makes none), and the process ends cleanly with one
under way."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from flapwatch import _core
from flapwatch.cli import main
from flapwatch.config import Config
from flapwatch.detect import prestart
from flapwatch.sources.files import reader_threads
from conftest import CAPTURES

LAB = str(CAPTURES / "lab.pcapng")
WIRE = str(CAPTURES / "lab-wire.pcapng")
RING = Config().ring_capacity


def _started(argv):
    run = prestart.start(argv)
    if run is not None:
        run.take(*run.args)  # let it end here (its result or error: not what these tests hold)
    return run


def test_a_plain_replay_starts_the_call_its_command_makes():
    run = _started(["replay", "--format", "json", "-q", "--threads", "1", LAB])
    core = dict(Config().to_core(), ports=[], until_ns=None)
    assert run.args == ([LAB], core, False, RING, [("", "")], [], 1)
    assert run.progress is not None
    run = _started(["replay", "--strict", LAB, "-o", "out.json"])
    assert run.args[2] is True and run.args[-1] == reader_threads(None)


@pytest.mark.parametrize("words", [
    ["replay", "--config", "x.toml", LAB],  # the configuration is read later
    ["replay", "--speed", "400G", LAB],
    ["replay", "--port", "swp*", LAB],
    ["replay", "--device", "leaf1", LAB],
    ["replay", "--follow", LAB],
    ["replay", LAB, WIRE],  # several captures may name each other's interfaces
    ["replay", "--thr", "2", LAB],  # abbreviations and --option=value: argparse's to read
    ["replay", "--threads=2", LAB],
    ["replay", "--threads", "0", LAB],
    ["replay", "--format"],
    ["replay", str(CAPTURES)],  # a directory: its captures are devices
    ["replay", str(CAPTURES / "lab*.pcapng")],
    ["replay", f"{LAB}=leaf1:swp1"],
    ["replay", "no-such.pcap"],
    ["replay", str(CAPTURES / "README.md")],  # not a capture: a counter log, perhaps
    ["--debug", "replay", LAB],
    ["agent", "-i", "eth0"],
    ["inspect", "--json", LAB],  # its readers take both cores at once: it would lose
    [],
])
def test_other_words_start_nothing(words):
    assert prestart.start(words) is None


def test_a_file_named_for_its_device_starts_nothing(tmp_path):
    named = tmp_path / "leaf1@swp1.pcapng"
    shutil.copy(LAB, named)
    assert prestart.start(["replay", str(named)]) is None
    assert prestart.start(["replay", str(tmp_path / "plain.pcapng")]) is None  # missing


class _Calls:
    """The core's analyze(), counting the calls the command makes itself."""

    def __init__(self, monkeypatch):
        self.made = []
        real = _core.analyze

        def call(*args, **kw):
            self.made.append("analyze")
            return real(*args, **kw)

        monkeypatch.setattr(_core, "analyze", call)


@pytest.mark.parametrize("words", [
    ["replay", "--format", "json", "-q", LAB],
    ["replay", "--format", "jsonl", "-q", "--threads", "1", "--strict", WIRE],
    ["replay", "--format", "csv", "--table", "pause_stats", "-q", "--threads", "2", LAB],
])
def test_the_command_takes_the_started_run(monkeypatch, capsys, words):
    main(words)
    alone = capsys.readouterr().out
    run = prestart.start(words)  # made before the count: it is the launcher's call
    calls = _Calls(monkeypatch)
    main(words, started=run)
    assert calls.made == []  # the command took the run: no call of its own
    assert capsys.readouterr().out == alone


def test_a_run_for_other_words_is_not_taken(monkeypatch, capsys):
    words = ["replay", "--format", "json", "-q", "--threads", "2", LAB]
    main(words)
    alone = capsys.readouterr().out
    run = _started(["replay", "--format", "json", "-q", "--threads", "1", LAB])
    calls = _Calls(monkeypatch)
    main(words, started=run)
    assert calls.made == ["analyze"]
    assert capsys.readouterr().out == alone
    calls.made.clear()
    main(["replay", "--format", "json", "-q", "--speed", "400G", LAB], started=run)  # another configuration
    assert calls.made == ["analyze"]


def test_the_started_runs_error_is_the_commands(tmp_path, capsys):
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(open(LAB, "rb").read()[:200])  # a section header, then a block cut short
    words = ["replay", "--strict", "--format", "json", "-q", str(cut)]
    code = main(words)
    alone = capsys.readouterr().err
    assert code == main(words, started=prestart.start(words)) == 3
    assert capsys.readouterr().err == alone


@pytest.mark.parametrize("words, code, said", [
    (["replay", "--since", "yesterday", LAB], 2, "--since"),  # argparse refuses it with the run under way
    (["replay", "--table", "nope", "-q", LAB], 2, "--table"),
    (["replay", "-q", "--format", "json", LAB], 0, '"flaps"'),
])
def test_the_process_ends_cleanly_with_a_run_under_way(words, code, said):
    """launch.console() (python -m flapwatch) started the run; argparse's exit, too, leaves by
    os._exit (the interpreter's teardown under a running core thread could crash)."""
    assert prestart.start(words) is not None
    proc = subprocess.run([sys.executable, "-m", "flapwatch", *words], capture_output=True, text=True, timeout=60)
    assert proc.returncode == code, proc.stderr
    assert said in (proc.stdout if code == 0 else proc.stderr)
    assert "Traceback" not in proc.stderr
