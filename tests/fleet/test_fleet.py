"""flapwatch.fleet on an embedded Dask cluster: the output does not depend on how the devices
are split into tasks and equals a serial loop of analyze + build_result; the correlation
finds what the simulator drove; a worker killed mid-run costs a retry, not a result."""

from __future__ import annotations

import os
import signal
import time

import pytest

from fleet_fixtures import ci_fleet, ci_truth, dataset_rows, local_client, serial_rows  # noqa: F401  (fixtures)




def test_partitions_give_the_serial_loops_output(ci_fleet, serial_rows, local_client, tmp_path):
    from flapwatch.fleet.driver import run_devices
    from flapwatch.fleet.inputs import discover

    devices = discover([ci_fleet.directory])
    assert len(devices) == len(ci_fleet.files) == 24
    for n in (1, 3, 8):
        out = str(tmp_path / f"p{n}")
        info = run_devices(devices, out, client=local_client, n_partitions=n)
        assert [s.device for s in info.stats] == [d.device for d in devices]
        got = dataset_rows(out)
        for table, rows in serial_rows.items():
            assert got[table] == rows, (n, table)
    assert sum(len(r) for r in serial_rows.values()) > 500
    assert len(serial_rows["flaps"]) == len(ci_fleet.truth["flaps"])


def test_correlation_finds_what_the_simulator_drove(ci_fleet, ci_truth, local_client, tmp_path):
    from flapwatch.fleet import run_fleet
    from flapwatch.fleet.evaluate import score

    r = run_fleet([ci_fleet.directory], str(tmp_path / "out"), topology=ci_fleet.topology_path, client=local_client)
    s = score(r.correlation, ci_truth)
    assert s["both_ends"]["truth"] > 20 and s["both_ends"]["precision"] == 1.0 and s["both_ends"]["recall"] == 1.0, s
    for kind in ("device_wide", "waves"):
        assert s[kind]["truth"] >= 3 and s[kind]["precision"] >= 0.95 and s[kind]["recall"] >= 0.95, s
    assert s["injected"]["recall"] == 1.0, s
    # Skew: every device pair's estimate within 5 ms of the true difference of their clocks.
    offset = {d["name"]: d["clock_offset_ns"] for d in ci_truth["devices"]}
    sk = r.correlation.skew
    err = (sk["skew_ns"] - (sk["device_b"].map(offset) - sk["device_a"].map(offset))).abs()
    assert len(sk) > 10 and err.max() < 5_000_000
    html = open(os.path.join(r.out, "report.html")).read()
    assert "Ranking" in html and "<svg" in html and "Waves" in html and "<script" not in html
    for name in ("links", "both_ends", "skew", "device_wide", "waves", "ranking"):
        assert os.path.exists(os.path.join(r.out, "fleet", f"{name}.parquet"))


def test_pandas_pyarrow_and_duckdb_read_the_dataset(ci_fleet, serial_rows, tmp_path):
    import duckdb
    import pandas as pd
    import pyarrow.dataset as ds

    from flapwatch.fleet.driver import run_serial
    from flapwatch.fleet.inputs import discover

    out = str(tmp_path / "out")
    run_serial(discover([ci_fleet.directory]), out)
    n = len(serial_rows["flaps"])
    assert ds.dataset(os.path.join(out, "flaps"), format="parquet", partitioning="hive").count_rows() == n
    df = pd.read_parquet(os.path.join(out, "flaps"))
    assert len(df) == n and df["ts_ns"].dtype == "int64" and df["device"].nunique() > 10
    con = duckdb.connect()
    q = f"select device, count(*) from read_parquet('{out}/flaps/*/*.parquet', hive_partitioning=1) group by 1"
    rows = con.execute(q).fetchall()
    assert sum(c for _, c in rows) == n and all(d and ":" not in d for d, _ in rows)


def test_a_worker_killed_mid_run_costs_a_retry(ci_fleet, serial_rows, tmp_path, monkeypatch):
    """SIGKILL one of two workers while its task runs: the task runs again elsewhere and the
    output is complete and right."""
    from distributed import Client, LocalCluster

    from flapwatch.fleet.driver import run_devices
    from flapwatch.fleet.inputs import discover

    monkeypatch.setenv("FLAPWATCH_FLEET_TASK_DELAY", "2")  # each task waits: time to kill it mid-run
    attempts = tmp_path / "attempts"
    out = str(tmp_path / "out")
    devices = discover([ci_fleet.directory])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50) as cluster, Client(cluster) as client:
        pids = client.run(os.getpid)
        import threading

        killed = {}

        def killer():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not killed:
                started = {int(p.name.split(".")[1]) for p in attempts.glob("*")} if attempts.exists() else set()
                victims = sorted(started & set(pids.values()))
                if victims:
                    os.kill(victims[0], signal.SIGKILL)
                    killed["pid"] = victims[0]
                time.sleep(0.05)

        th = threading.Thread(target=killer)
        th.start()
        info = run_devices(devices, out, client=client, n_partitions=4, attempts_dir=str(attempts))
        th.join()
    assert killed, "no worker was killed"
    assert len(list(attempts.glob("*"))) > 4  # the killed worker's task ran again
    assert [s.device for s in info.stats] == [d.device for d in devices]
    assert dataset_rows(out) == serial_rows


def test_ports_name_their_devices_whatever_the_files_are_called(ci_fleet, tmp_path):
    """Captures named otherwise than their devices: the correlation takes each port's device
    from its name (``leaf000:swp1``), so it finds the same links, pairs, events and waves."""
    import shutil

    import pandas as pd

    from flapwatch.fleet import run_fleet

    renamed = tmp_path / "renamed"
    renamed.mkdir()
    for i, f in enumerate(sorted(ci_fleet.files)):
        shutil.copy(f, renamed / f"capture{i:02d}.pcapng")
    a = run_fleet([renamed], str(tmp_path / "a"), topology=ci_fleet.topology_path, serial=True)
    b = run_fleet([ci_fleet.directory], str(tmp_path / "b"), topology=ci_fleet.topology_path, serial=True)
    for name in ("links", "both_ends", "skew", "device_wide", "waves", "ranking"):
        pd.testing.assert_frame_equal(getattr(a.correlation, name), getattr(b.correlation, name))
