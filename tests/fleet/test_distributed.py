"""Real distribution: `dask scheduler` and two `dask worker` processes over TCP on loopback
(random ports), the fleet run through them equal to the embedded cluster's."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import time

import pytest

from conftest import require_tools
from fleet_fixtures import ci_fleet, ci_truth, dataset_rows, local_client, serial_rows  # noqa: F401  (fixtures)

pytestmark = pytest.mark.tools


def _wait_for(predicate, timeout: float, what: str, procs) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        dead = [p.args for p in procs if p.poll() is not None]
        if dead:
            pytest.fail(f"exited before {what}: {dead}")
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def _address(path) -> str | None:
    try:
        return json.loads(path.read_text())["address"]
    except (OSError, ValueError, KeyError):
        return None  # not written yet, or half written


def test_dask_scheduler_and_two_workers_over_tcp(ci_fleet, serial_rows, local_client, tmp_path):
    require_tools("dask")
    from distributed import Client

    from flapwatch.fleet import run_fleet

    sched_file = tmp_path / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "10s"}
    procs: list[subprocess.Popen] = []

    def start(*argv: str) -> subprocess.Popen:
        p = subprocess.Popen(["dask", *argv], stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"log{len(procs)}", "w"),
                             env=env, start_new_session=True)
        procs.append(p)
        return p

    try:
        start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(sched_file))
        _wait_for(lambda: _address(sched_file), 30, "the scheduler file", procs)
        address = _address(sched_file)
        assert address.startswith("tcp://127.0.0.1:")
        for _ in range(2):
            start("worker", "--scheduler-file", str(sched_file), "--host", "127.0.0.1", "--nthreads", "1",
                  "--no-dashboard", "--death-timeout", "60")
        with Client(address, timeout="20s") as client:
            client.wait_for_workers(2, timeout=60)
            worker_pids = set(client.run(os.getpid).values())
        assert len(worker_pids) == 2 and os.getpid() not in worker_pids
        remote = run_fleet([ci_fleet.directory], str(tmp_path / "remote"), scheduler=address, partitions=5,
                           topology=ci_fleet.topology_path)
        embedded = run_fleet([ci_fleet.directory], str(tmp_path / "embedded"), client=local_client,
                             topology=ci_fleet.topology_path)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
    assert remote.run.workers == 2 and remote.run.scheduler == address
    assert {s.pid for s in remote.run.stats} <= worker_pids  # the work ran in the `dask worker` processes
    assert dataset_rows(remote.out) == dataset_rows(embedded.out) == serial_rows
    for name in ("both_ends", "device_wide", "waves", "ranking", "skew"):
        a, b = getattr(remote.correlation, name), getattr(embedded.correlation, name)
        assert a.reset_index(drop=True).equals(b.reset_index(drop=True)), name

