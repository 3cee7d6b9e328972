"""The engine's raw result (_core.analyze's dict) for one capture at a given number of
threads and range size, and the check that two such results are the same in every table,
string, count and warning (tests of RangeReplay: tests/detect, tests/kernel)."""

from __future__ import annotations

import numpy as np

from flapwatch import _core
from flapwatch.config import Config


def run_core(path, threads: int, range_bytes: int = 8 << 20, strict: bool = False, iface: str = ""):
    """_core.analyze's dict, or the error it raised as (type, text). `iface`: the port of
    frames the capture names no interface for (PortNaming)."""
    cfg = Config.coerce(None).to_core()
    cfg.update(ports=[], until_ns=None)
    try:
        return _core.analyze([str(path)], cfg, strict, 16384, None, [("", iface)], [], threads, range_bytes)
    except Exception as e:  # noqa: BLE001  (compared, not hidden)
        return (type(e).__name__, str(e))


def assert_same(one: dict | tuple, many: dict | tuple) -> None:
    if isinstance(one, tuple) or isinstance(many, tuple):
        assert one == many
        return
    for key in ("strings", "counts", "records", "warnings", "first_ns", "last_ns"):
        assert one[key] == many[key], key
    assert one["tables"].keys() == many["tables"].keys()
    for name, columns in one["tables"].items():
        assert columns.keys() == many["tables"][name].keys(), name
        for column, values in columns.items():
            assert np.array_equal(np.asarray(values), np.asarray(many["tables"][name][column])), (name, column)
