"""Pure-Python reference readers: the same record tables as the C++ core, from two
independent decoders, for differential tests and as a fallback without the extension.

    read_tables(path, backend="dpkt" | "pyshark") -> RawCapture

``dpkt``: containers walked in Python, decoded per DECODE_RULES.md with dpkt + struct.
``pyshark``: tshark's dissectors (through pyshark), mapped onto the same rules.
"""

from __future__ import annotations

import os

from .common import Naming, RawCapture

BACKENDS = ("dpkt", "pyshark")


def read_tables(path: str, backend: str, strict: bool = False, device: str | None = None,
                iface: str | None = None) -> RawCapture:
    """Decode a pcap / pcapng (optionally .gz) file into the schema tables.

    A truncated end keeps what came before and adds a warning; ``strict`` raises
    flapwatch.errors.CaptureError instead, also on the first malformed frame.
    ``device`` / ``iface`` name the ports as the core's PortNaming does (common.Naming).
    """
    naming = Naming(os.fspath(path), device, iface)
    if backend == "dpkt":
        from . import dpkt_backend

        return dpkt_backend.read_tables(os.fspath(path), strict, naming)
    if backend == "pyshark":
        from . import pyshark_backend

        return pyshark_backend.read_tables(os.fspath(path), strict, naming)
    raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")


__all__ = ["BACKENDS", "RawCapture", "read_tables"]
