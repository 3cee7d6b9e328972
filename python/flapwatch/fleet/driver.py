"""The Dask driver: one task per partition of devices, each running the per-device work
(device.py) on a worker and writing its Parquet files; the driver gets small summaries
back, never the data. An embedded LocalCluster (processes, one per core) unless a scheduler
address or a Client is given. A worker lost mid-run (killed, out of memory) costs its
tasks a re-run on another worker: the files are written whole and renamed, so a re-run
leaves the same output."""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from flapwatch.fleet.device import DeviceInput, DeviceStats, write_device
from flapwatch.fleet.inputs import partitions


def _need_dask():
    try:
        import distributed  # noqa: F401
    except ImportError as e:
        raise ModuleNotFoundError("flapwatch fleet needs Dask: pip install 'flapwatch[fleet]'") from e


def run_partition(devices: list[DeviceInput], out: str, config=None, since_ns=None, until_ns=None,
                  attempts_dir: str | None = None) -> list[DeviceStats]:
    """One task: every device of the partition, one after the other."""
    if attempts_dir:  # tests: a marker per attempt, so a re-run shows
        os.makedirs(attempts_dir, exist_ok=True)
        name = devices[0].device if devices else "empty"
        with open(os.path.join(attempts_dir, f"{name}.{os.getpid()}.{time.monotonic_ns()}"), "w"):
            pass
        delay = float(os.environ.get("FLAPWATCH_FLEET_TASK_DELAY", "0"))
        if delay:
            time.sleep(delay)
    return [write_device(d, out, config, since_ns, until_ns) for d in devices]


@dataclass
class RunInfo:
    stats: list[DeviceStats] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 0
    dashboard: str | None = None
    scheduler: str | None = None


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None, client=None, quiet: bool = True):
    """A Client: the one given, one to ``scheduler``, or an embedded LocalCluster."""
    _need_dask()
    from distributed import Client, LocalCluster

    if client is not None:
        yield client
        return
    if scheduler:
        with Client(scheduler, timeout="30s") as c:
            yield c
        return
    n = workers or os.cpu_count() or 1
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50 if quiet else 30) as cluster, Client(cluster) as c:
        yield c


def run_devices(devices: list[DeviceInput], out: str, *, config=None, since_ns=None, until_ns=None,
                scheduler: str | None = None, workers: int | None = None, n_partitions: int | None = None,
                client=None, progress: bool = False, attempts_dir: str | None = None) -> RunInfo:
    """Every device's tables under ``out``, on a Dask cluster."""
    info = RunInfo()
    t = time.perf_counter()
    with dask_client(scheduler, workers, client) as c:
        from distributed import as_completed

        info.workers = len(c.scheduler_info().get("workers", {}))
        info.dashboard = c.dashboard_link if not scheduler and client is None else None
        info.scheduler = c.scheduler.address
        if progress and info.dashboard:
            print(f"flapwatch fleet: Dask dashboard at {info.dashboard}", file=sys.stderr)
        parts = partitions(devices, n_partitions or max(1, len(devices)))
        futures = [c.submit(run_partition, part, out, config, since_ns, until_ns, attempts_dir,
                            key=f"flapwatch-fleet-{i}-{part[0].device}", retries=2, pure=False)
                   for i, part in enumerate(parts)]
        done = 0
        for fut in as_completed(futures):
            info.stats += fut.result()
            done += 1
            if progress and sys.stderr.isatty():
                print(f"\rflapwatch fleet: {done}/{len(futures)} partitions, {len(info.stats)}/{len(devices)} devices",
                      end="", file=sys.stderr, flush=True)
        if progress and sys.stderr.isatty():
            print(file=sys.stderr)
    info.stats.sort(key=lambda s: s.device)
    info.seconds = time.perf_counter() - t
    return info


def run_serial(devices: list[DeviceInput], out: str, *, config=None, since_ns=None, until_ns=None) -> RunInfo:
    """The same work in this process, one device after the other (the bench's baseline)."""
    t = time.perf_counter()
    info = RunInfo(stats=run_partition(devices, out, config, since_ns, until_ns), workers=1)
    info.seconds = time.perf_counter() - t
    return info
