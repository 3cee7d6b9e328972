"""The dpkt reference backend: containers walked in Python, frames decoded with dpkt's
header classes and struct (see containers.py and decode.py for where and why dpkt's own
readers and decoders are not used)."""

from __future__ import annotations

from flapwatch.errors import CaptureError
from .common import Naming, RawCapture, TableBuilder, bytes_as_text
from .containers import read_container
from .decode import decode_frame


def read_tables(path: str, strict: bool = False, naming: Naming | None = None) -> RawCapture:
    try:
        container = read_container(path)
    except ValueError as exc:
        raise CaptureError(path, 0, str(exc)) from None
    naming = naming or Naming(path)
    ports = [
        naming.wire(bytes_as_text(i.name.split(b"\0", 1)[0]) if i.name is not None else None, i.section, i.local_id)
        for i in container.interfaces
    ]
    out = TableBuilder()
    for index, frame in enumerate(container.frames):
        linktype = container.interfaces[frame.interface].linktype
        decoded = decode_frame(linktype, frame.data)
        common = {"ts_ns": frame.ts_ns, "port": ports[frame.interface], "frame": index}
        if decoded.kind == "malformed":
            offset = frame.offset + decoded.bad_pos
            if strict:
                raise CaptureError(path, offset, decoded.reason)
            out.add_frame("malformed", [("malformed", {**common, "offset": offset, "reason": decoded.reason})])
        else:
            out.add_frame(decoded.kind, [(table, {**common, **fields}) for table, fields in naming.rows(decoded.rows)])
    for offset, reason in container.warnings:
        if strict:
            raise CaptureError(path, offset, reason)
        out.warn(path, offset, reason)
    return out.finish()
