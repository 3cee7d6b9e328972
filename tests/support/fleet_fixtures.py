"""Fixtures of tests/fleet (imported by its modules: a conftest.py there would shadow tests/conftest.py's module name). The CI fleet, made once per session: 8 switches x 8 ports and their 16 hosts (4 NICs each),
4 minutes, clocks off by up to +-50 ms; and its tables from a serial loop of analyze +
build_result (what replay does), the reference every distributed run must equal."""

from __future__ import annotations

import json

import pytest

CI_FLEET = dict(switches=8, ports=8, host_nics=4, duration_s=240, seed=3)


@pytest.fixture(scope="session")
def ci_fleet(tmp_path_factory):
    from flapwatch.sim.fabric import simulate_fabric

    return simulate_fabric(tmp_path_factory.mktemp("fleet") / "captures", **CI_FLEET)


@pytest.fixture(scope="session")
def ci_truth(ci_fleet) -> dict:
    with open(ci_fleet.truth_path) as f:
        return json.load(f)


@pytest.fixture(scope="session")
def serial_rows(ci_fleet) -> dict:
    """{table: sorted rows} from a plain loop of analyze + build_result over the captures."""
    import os

    from flapwatch.assess.result import build_result
    from flapwatch.detect.analysis import analyze
    from flapwatch.fleet.device import FLEET_TABLES, result_rows

    out = {t: [] for t in FLEET_TABLES}
    for path in sorted(ci_fleet.files):
        device = os.path.basename(path).split(".")[0]
        result = build_result(analyze(path))
        for t in FLEET_TABLES:
            out[t] += [{**r, "device": device} for r in result_rows(result, t)]
    return {t: canonical(rows) for t, rows in out.items()}


@pytest.fixture(scope="module")
def local_client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50) as cluster, Client(cluster) as client:
        yield client


def canonical(rows: list[dict]) -> list[tuple]:
    """Rows as sorted tuples of (column, value), NaN as None: row order aside."""
    out = []
    for r in rows:
        items = []
        for k, v in sorted(r.items()):
            if isinstance(v, float) and v != v:
                v = None
            elif hasattr(v, "item"):
                v = v.item()
            items.append((k, v))
        out.append(tuple(items))
    return sorted(out, key=repr)


def dataset_rows(out: str) -> dict:
    from flapwatch.fleet.dataset import read_table
    from flapwatch.fleet.device import FLEET_TABLES

    return {t: canonical(read_table(out, t).to_pylist()) for t in FLEET_TABLES}
