"""The frames a scenario writes, in the order they are made (sorted by time at the end)."""

from __future__ import annotations

from flapwatch.sim.fleet import Fleet


class Frames:
    """Frames to write: (ts_ns, interface name, linktype, bytes, kind, fields)."""

    def __init__(self, fleet: Fleet, keep_fields: bool):
        self.fleet = fleet
        self.rows: list[tuple] = []
        self.keep = keep_fields

    def add(self, t: int, device: str, iface: str, linktype: int, data: bytes, kind: str, fields=None) -> None:
        ts = t + self.fleet.devices[device].clock_offset_ns
        self.rows.append((ts, iface, linktype, data, kind, fields if self.keep else None))
