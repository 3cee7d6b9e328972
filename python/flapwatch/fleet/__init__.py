"""The fleet: replay and correlate many devices' captures on Dask.

    from flapwatch.fleet import run_fleet
    r = run_fleet(["captures/fleet/"], "out/", topology="captures/fleet/topology.csv")
    r.correlation.ranking.head()

Per device (device.py, on the workers): what `flapwatch replay` does, written as Parquet
datasets hive-partitioned by device (``out/<table>/device=<name>/``). Then, on the driver,
vectorised over those tables (correlate.py): both-end pairs with the clock skew per device
pair, device-wide events, rack / pod waves and the ranking, written as
``out/fleet/<name>.parquet`` and the HTML report (report.py). driver.py runs the tasks;
evaluate.py scores against the simulator's fleet truth."""

from __future__ import annotations

import os
from dataclasses import dataclass

from flapwatch.fleet.correlate import Correlation, FleetConfig, correlate, read_topology
from flapwatch.fleet.device import FLEET_TABLES
from flapwatch.fleet.driver import RunInfo

__all__ = ["FLEET_TABLES", "Correlation", "FleetConfig", "FleetResult", "correlate", "correlate_dataset", "run_fleet"]


@dataclass
class FleetResult:
    out: str
    run: RunInfo
    correlation: Correlation
    summary: dict


def correlate_dataset(out: str, topology: str | None = None, cfg: FleetConfig | None = None) -> Correlation:
    from flapwatch.fleet.dataset import read_pandas

    topo = read_topology(topology) if topology else None
    return correlate(read_pandas(out, "flaps"), read_pandas(out, "lldp_events"), read_pandas(out, "ports"), topo, cfg)


def write_correlation(out: str, corr: Correlation) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = os.path.join(out, "fleet")
    os.makedirs(folder, exist_ok=True)
    for name in Correlation.TABLES:
        df = getattr(corr, name)
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), os.path.join(folder, f"{name}.parquet"))


def run_fleet(inputs, out: str, *, config=None, topology: str | None = None, since_ns: int | None = None,
              until_ns: int | None = None, scheduler: str | None = None, workers: int | None = None,
              partitions: int | None = None, client=None, fleet_config: FleetConfig | None = None,
              report: str | None = None, progress: bool = False, serial: bool = False) -> FleetResult:
    """Analyze every device of ``inputs`` on Dask (or in this process: ``serial``), correlate,
    write ``out/`` (the per-device datasets, ``fleet/*.parquet``, ``report.html``)."""
    from flapwatch.config import Config
    from flapwatch.fleet.dataset import read_pandas
    from flapwatch.fleet.driver import run_devices, run_serial
    from flapwatch.fleet.inputs import discover
    from flapwatch.fleet.report import fleet_report

    devices = discover(inputs)
    cfg = Config.coerce(config)
    os.makedirs(out, exist_ok=True)
    if serial:
        info = run_serial(devices, out, config=cfg, since_ns=since_ns, until_ns=until_ns)
    else:
        info = run_devices(devices, out, config=cfg, since_ns=since_ns, until_ns=until_ns, scheduler=scheduler,
                           workers=workers, n_partitions=partitions, client=client, progress=progress)
    corr = correlate_dataset(out, topology, fleet_config)
    write_correlation(out, corr)
    summary = {
        "devices": len(devices), "frames": sum(s.frames for s in info.stats),
        "flaps": sum(s.rows.get("flaps", 0) for s in info.stats), "links": len(corr.links),
        "both-end flaps": len(corr.both_ends), "device-wide events": len(corr.device_wide), "waves": len(corr.waves),
        "seconds": round(info.seconds, 2), "workers": info.workers,
    }
    fleet_report(report or os.path.join(out, "report.html"), corr, read_pandas(out, "flaps"), summary)
    return FleetResult(out, info, corr, summary)
