"""console(), the installed `flapwatch` command: inspect and replay run without the cyclic
garbage collector (short-lived, and they make few cycles); every other command keeps it,
and so does `replay --follow` (the agent and a follow run for days)."""

from __future__ import annotations

import gc
import importlib

import pytest

from flapwatch import cli


class _Exited(Exception):
    pass


@pytest.mark.parametrize("argv, collects", [(["inspect", "x"], False), (["replay", "x"], False),
                                            (["replay", "--follow", "x"], True), (["replay", "--fol", "x"], True),
                                            (["agent", "-i", "eth0"], True), (["simulate", "single", "-o", "x"], True),
                                            (["fleet", "-o", "x/", "x"], True)])
def test_the_collector_off_only_for_the_one_shot_commands(monkeypatch, argv, collects):
    seen = []

    def run(args):  # each command's own run, as the parser calls it
        seen.append(gc.isenabled())
        return 0

    def leave(code):
        raise _Exited(code)

    module = importlib.import_module(f"flapwatch.cli.{cli.COMMANDS[argv[0]]}")
    monkeypatch.setattr(module, "run", run)
    monkeypatch.setattr(cli.os, "_exit", leave)
    monkeypatch.setattr(cli.sys, "argv", ["flapwatch", *argv])
    assert gc.isenabled()
    try:
        with pytest.raises((_Exited, SystemExit)):
            cli.console()
    finally:
        gc.enable()
    assert seen == [collects]


def test_main_called_as_a_library_keeps_the_collector(monkeypatch):
    """main() from other code (tests, an embedding program) leaves the process's collector alone."""
    from flapwatch.cli import inspect_cmd

    monkeypatch.setattr(inspect_cmd, "run", lambda args: 0)
    assert cli.main(["inspect", "x"]) == 0
    assert gc.isenabled()
