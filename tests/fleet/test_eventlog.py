"""A fleet from the live agent's event logs (JSON lines, Parquet) instead of captures: the
same flaps, LLDP events, episodes and per-port counts, so the same correlation."""

from __future__ import annotations

import json
import os

import pandas as pd

from fleet_fixtures import canonical, ci_fleet, ci_truth  # noqa: F401  (fixtures)


def _write_logs(ci_fleet, folder) -> None:
    """What `flapwatch agent --events` writes: one finding a line, {"type": ..., **row}."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from flapwatch.detect.analysis import analyze
    from flapwatch.tables import schema

    folder.mkdir()
    for i, path in enumerate(sorted(ci_fleet.files)):
        device = os.path.basename(path).split(".")[0]
        a = analyze(path)
        by_type = [[{"type": schema.ROW_TYPES[t], **r} for r in a.tables[t].records()] for t in schema.FINDING_TABLES]
        rows = [r for rs in by_type for r in rs]
        if i % 2:  # every other device as Parquet: one column per field of any type, null elsewhere
            parts = [pa.Table.from_pylist(rs) for rs in by_type if rs]
            pq.write_table(pa.concat_tables(parts, promote_options="default"), folder / f"{device}.events.parquet")
        else:
            with open(folder / f"{device}.jsonl", "w") as f:
                f.writelines(json.dumps(r) + "\n" for r in rows)


def test_event_logs_give_the_captures_correlation(ci_fleet, ci_truth, tmp_path):
    from flapwatch.fleet import run_fleet
    from flapwatch.fleet.dataset import read_pandas
    from flapwatch.fleet.evaluate import score

    logs = tmp_path / "logs"
    _write_logs(ci_fleet, logs)
    from_logs = run_fleet([logs], str(tmp_path / "a"), topology=ci_fleet.topology_path, serial=True)
    from_caps = run_fleet([ci_fleet.directory], str(tmp_path / "b"), topology=ci_fleet.topology_path, serial=True)
    assert from_logs.summary["devices"] == from_caps.summary["devices"] == 24
    for table, drop in (("flaps", []), ("lldp_events", []), ("episodes", []),
                        ("ports", ["risk", "risk_peak", "risk_peak_ns"])):  # no LLDPDUs received in a log: risk differs
        a = read_pandas(from_logs.out, table)
        b = read_pandas(from_caps.out, table)
        b = b[b["port"].isin(set(a["port"]))] if table == "ports" else b  # ports with no finding are not in a log
        cols = [c for c in b.columns if c not in drop]
        assert canonical(a[cols].to_dict("records")) == canonical(b[cols].to_dict("records")), table
    for name in ("links", "both_ends", "skew", "device_wide", "waves"):
        pd.testing.assert_frame_equal(getattr(from_logs.correlation, name), getattr(from_caps.correlation, name))
    assert score(from_logs.correlation, ci_truth)["both_ends"]["recall"] == 1.0
