"""analyze(): captures in, detections out, as numpy columns.

The C++ engine does the work (a reader thread and a tracker thread joined by a
lock-free ring; the GIL is released). This module only resolves inputs and
presents tables: presentation (CLI, report, agent) lives elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

TYPE_CHECKING = False  # typing itself is not imported before the core's run (sources/devices.py)

from flapwatch.sources.files import require_file
from flapwatch.sources.devices import CAPTURE_SUFFIXES, Resolved, expand_inputs, mismatch_warnings, resolve_inputs
from flapwatch.config import Config

# numpy and the tables are imported where the core's results are made into them, not here:
# everything before the core's run stays free of numpy, so the replay imports it meanwhile
# (cli/replay_cmd.py).
if TYPE_CHECKING:
    from typing import Iterable, Mapping

    import numpy as np

    from flapwatch.tables.table import Table

__all__ = ["CAPTURE_SUFFIXES", "Analysis", "analyze", "expand_captures", "resolve_captures"]


def expand_captures(captures: str | os.PathLike | Iterable[str | os.PathLike]) -> list[str]:
    """Files, directories (their captures, sorted), glob patterns and "FILE=device[:iface]"
    -> capture paths (sources/devices.py: expand_inputs)."""
    return [path for path, _, _ in expand_inputs(captures)]


def resolve_captures(captures, devices: Mapping | None = None, device: str | None = None) -> Resolved:
    """The captures with the device and interface naming each one's ports
    (sources/devices.py: resolve_inputs); a Resolved is taken as it is."""
    if isinstance(captures, Resolved):
        return captures
    return resolve_inputs(captures, devices=devices, device=device)


def port_warnings(ports: Table) -> list[str]:
    """The likely-mismatch warnings (sources/devices.py) from the ports table."""
    return mismatch_warnings(ports.text("port"), ports["link_messages"], ports["pfc_frames"] + ports["lldp_frames"])


@dataclass
class Analysis:
    """Detections: ``flaps``, ``policy_events``, ``pfc_storms``, ``pause_stats``,
    ``lldp_events``, ``ports`` (each a Table of numpy columns, sorted by ts_ns), the
    shared string table, frame counts, warnings and the config used."""

    paths: list[str]
    tables: dict[str, Table]
    strings: list[str]
    counts: dict[str, int]
    config: Config
    warnings: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # how ports were named (a classic pcap's interface)
    records: int = 0
    ring_full_waits: int = 0
    first_ns: int = -1  # the first and last record's time: the span the analysis covers
    last_ns: int = -1

    @property
    def span_ns(self) -> int:
        return max(0, self.last_ns - self.first_ns) if self.first_ns >= 0 else 0

    def __getattr__(self, name: str) -> Table:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def to_pandas(self, table: str):
        return self.tables[table].to_pandas()

    @property
    def port_names(self) -> list[str]:
        """The ports analysed (`device:port`), in the ports table's order."""
        return self.ports.text("port")


def sorted_by_time(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import numpy as np

    ts = columns["ts_ns"]
    if len(ts) < 2 or bool(np.all(ts[:-1] <= ts[1:])):
        return columns  # already in order: keep the zero-copy arrays
    order = np.argsort(ts, kind="stable")
    return {name: values[order] for name, values in columns.items()}


def keep_since(columns: dict, since_ns: int, config: Config) -> dict:
    """Keeps detections known at or after since_ns and recounts the per-port totals
    from what is kept."""
    out = {}
    for name, cols in columns.items():
        if name == "ports":
            continue
        keep = cols["ts_ns"] >= since_ns
        out[name] = {c: v[keep] for c, v in cols.items()}
    ports = {c: v.copy() for c, v in columns["ports"].items()}
    flaps, storms, pause = out["flaps"], out["pfc_storms"], out["pause_stats"]
    done = flaps["up_ns"] >= 0
    known = done & (flaps["duration_ns"] >= 0)
    micro_ns = int(config.micro_flap_ms * 1e6)
    for i, port in enumerate(ports["port"].tolist()):
        mine = flaps["port"] == port
        d = flaps["duration_ns"][mine & known]
        ports["flaps"][i] = int((mine & done).sum())
        ports["hidden_flaps"][i] = int((mine & done & (flaps["hidden"] == 1)).sum())
        ports["micro_flaps"][i] = int((d < micro_ns).sum())
        ports["down_ns_total"][i] = int(d.sum())
        ports["longest_down_ns"][i] = int(d.max()) if len(d) else 0
        ports["outages_over_budget"][i] = int((mine & (flaps["over_budget"] == 1)).sum())
        ports["storms"][i] = int((storms["port"] == port).sum())
        ports["paused_ns"][i] = int(pause["paused_ns"][pause["port"] == port].sum())
    out["ports"] = ports
    return out


def analyze(
    captures: str | os.PathLike | Iterable[str | os.PathLike],
    config: Config | dict | str | os.PathLike | None = None,
    *,
    strict: bool = False,
    ports: Iterable[str] | None = None,
    since_ns: int | None = None,
    until_ns: int | None = None,
    progress=None,
    devices: Mapping[str | os.PathLike, str] | None = None,
    device: str | None = None,
    counter_driver: str | None = None,
    counter_samples: Iterable[tuple] | None = None,
    threads: int | None = None,
    on_core_start=None,
    started=None,
) -> Analysis:
    """Run captures (one per device, say; merged by timestamp) through the link, PFC
    and LLDP trackers. ``config``: a Config, a dict of its fields, or a TOML path.
    ``ports`` (shell patterns) select what the trackers see. ``until_ns`` ends the
    input there; ``since_ns`` keeps the detections known from then on, while the
    trackers still see what came before (a flap needs the state before it).
    ``progress`` is a ``_core.Progress`` another thread may poll.
    Ports are "device:port" (docs/DECODE_RULES.md, Ports and devices): ``devices`` maps a
    capture (or a directory of them) to "device[:iface]", ``device`` names the device of
    every other capture; without either, a directory given names its captures' device.
    Timestamped `ethtool -S` logs among the paths (recognised by content) are counter
    samples merged by time with the captures (flapwatch.counters.samples); their driver
    profile is ``counter_driver``'s, else detected from the names. ``counter_samples``:
    sample tuples (flapwatch.counters.samples.sample(): a simulator's, an embedder's),
    merged by time the same way. ``threads``: threads decoding one big uncompressed capture
    (a range each at a time, the trackers fed in file order by another: the same detections);
    default one per core up to two; 0: one reader feeding the trackers record by record
    (what every other input takes: the reference the ranges are tested against). ``on_core_start()`` is called right before the core's run (which
    holds no GIL): the CLI starts importing what the results need on another thread then.
    ``started``: a core run the command line started before it was parsed
    (detect/prestart.py), taken if it is the very call this one makes."""
    config = Config.coerce(config)
    from flapwatch import _core

    if counter_samples is not None and not captures:  # samples alone: no files
        from flapwatch.sources.devices import Resolved

        resolved = Resolved([])
    else:
        resolved = resolve_captures(captures, devices, device)
    paths = [require_file(p) for p in resolved.paths]
    core = config.to_core()
    core.update(ports=list(ports or []), until_ns=until_ns)
    from flapwatch.sources.files import all_captures, reader_threads

    if all_captures(paths):  # no counter log among them
        captures, naming, samples, counter_notices = paths, resolved.naming(), [], []
    else:
        from flapwatch.counters.samples import split_counter_logs

        captures, naming, samples, counter_notices = split_counter_logs(paths, resolved.naming(), driver=counter_driver)
    if counter_samples is not None:
        samples = samples + list(counter_samples)
    if on_core_start is not None:
        on_core_start()
    call = (captures, core, strict, config.ring_capacity, naming, samples, reader_threads(threads))
    raw = started.take(*call) if started is not None else None
    if raw is None:
        raw = _core.analyze(*call[:4], progress, *call[4:])
    from flapwatch.tables import schema
    from flapwatch.tables.table import Table

    strings = raw["strings"]
    columns = {name: sorted_by_time(raw["tables"][name]) for name in schema.DETECTION_TABLES}
    if since_ns is not None:
        columns = keep_since(columns, since_ns, config)
    tables = {name: Table(name, columns[name], strings) for name in schema.DETECTION_TABLES}
    return Analysis(
        paths=paths,
        tables=tables,
        strings=strings,
        counts=dict(raw["counts"]),
        config=config,
        warnings=list(raw["warnings"]) + port_warnings(tables["ports"]),
        notices=list(resolved.notices) + counter_notices,
        records=raw["records"],
        ring_full_waits=raw["ring_full_waits"],
        first_ns=raw["first_ns"] if since_ns is None or raw["first_ns"] < 0 else max(raw["first_ns"], since_ns),
        last_ns=raw["last_ns"],
    )
