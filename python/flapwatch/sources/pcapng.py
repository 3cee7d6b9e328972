"""Write pcapng captures through the C++ core's writer (what the simulator and the live
agent's --record use): named interfaces, nanosecond timestamps."""

from __future__ import annotations

import os

from flapwatch.sources.nlrecord import LINKTYPE_NETLINK  # noqa: F401  (nlmon's framing, which nlrecord writes)

LINKTYPE_ETHERNET = 1


class PcapngWriter:
    """``with PcapngWriter(path) as w: i = w.add_interface("swp1"); w.write(i, ts_ns, frame)``"""

    def __init__(self, path: str | os.PathLike, application: str = "flapwatch"):
        from flapwatch import _core

        self._w = _core.PcapngWriter(os.fspath(path), application)
        self._ids: dict[tuple[str, int], int] = {}

    def add_interface(self, name: str, linktype: int = LINKTYPE_ETHERNET) -> int:
        key = (name, linktype)
        if key not in self._ids:
            self._ids[key] = self._w.add_interface(name, linktype)
        return self._ids[key]

    def write(self, interface_id: int, ts_ns: int, frame: bytes, origlen: int = -1) -> None:
        self._w.write_packet(interface_id, ts_ns, frame, origlen)

    @property
    def packets(self) -> int:
        return self._w.packets

    def flush(self) -> None:
        self._w.flush()

    def close(self) -> None:
        self._w.close()

    def __enter__(self) -> "PcapngWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
