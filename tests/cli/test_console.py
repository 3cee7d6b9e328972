"""console(), the installed `flapwatch` command: inspect and replay run without the cyclic
garbage collector (short-lived, and they make few cycles); every other command keeps it,
and so does `replay --follow` (the agent and a follow run for days)."""

from __future__ import annotations

import gc

import pytest

from flapwatch import cli


class _Exited(Exception):
    pass


@pytest.mark.parametrize("argv, collects", [(["inspect", "x"], False), (["replay", "x"], False),
                                            (["replay", "--follow", "x"], True), (["agent", "-i", "eth0"], True),
                                            (["simulate", "single", "x"], True), (["fleet", "x"], True)])
def test_the_collector_off_only_for_the_one_shot_commands(monkeypatch, argv, collects):
    seen = []

    def main():
        seen.append(gc.isenabled())
        return 0

    def leave(code):
        raise _Exited(code)

    monkeypatch.setattr(cli, "main", main)
    monkeypatch.setattr(cli.os, "_exit", leave)
    monkeypatch.setattr(cli.sys, "argv", ["flapwatch", *argv])
    assert gc.isenabled()
    try:
        with pytest.raises((_Exited, SystemExit)):
            cli.console()
    finally:
        gc.enable()
    assert seen == [collects]
