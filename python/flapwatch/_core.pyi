"""
flapwatch C++ core: capture readers and decoders
"""
from __future__ import annotations
import collections.abc
import typing
__all__: list[str] = ['CaptureFile', 'FollowSession', 'LiveAgent', 'PcapngWriter', 'Progress', 'analyze', 'column_pool_stats', 'default_config', 'presets', 'trim_column_pool']
class Progress:
    def __init__(self) -> None:
        ...
    @property
    def bytes(self) -> int:
        ...
class PcapngWriter:
    def __init__(self, path: str, application: str = 'flapwatch') -> None:
        ...
    def add_interface(self, name: str, linktype: typing.SupportsInt | typing.SupportsIndex, snaplen: typing.SupportsInt | typing.SupportsIndex = 262144) -> int:
        ...
    def close(self) -> None:
        ...
    def flush(self) -> None:
        ...
    def write_packet(self, interface_id: typing.SupportsInt | typing.SupportsIndex, ts_ns: typing.SupportsInt | typing.SupportsIndex, data: bytes, origlen: typing.SupportsInt | typing.SupportsIndex = -1) -> None:
        ...
    @property
    def packets(self) -> int:
        ...
class LiveAgent:
    def __init__(self, config: dict, interfaces: collections.abc.Sequence[str], netlink: bool = True, record: str = '', ring_capacity: typing.SupportsInt | typing.SupportsIndex = 65536, rotate_bytes: typing.SupportsInt | typing.SupportsIndex = 0, rotate_interval_s: typing.SupportsFloat | typing.SupportsIndex = 0.0, keep: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        """
        record: a pcapng of every consumed frame; it rotates when a file would pass rotate_bytes or has run rotate_interval_s (0: never), keeping FILE.1 (newest) .. FILE.keep besides FILE.
        """
    def new_rows(self) -> dict:
        """
        Detection rows added since the last call, per table (copies).
        """
    def ports(self) -> dict:
        """
        The per-port table as of now.
        """
    def reconfigure(self, config: dict) -> None:
        """
        Validates the configuration (ValueError: the running one stays) and applies it between two records.
        """
    def start(self) -> None:
        ...
    def stats(self) -> dict:
        ...
    def stop(self) -> None:
        ...
    def strings_from(self, start: typing.SupportsInt | typing.SupportsIndex = 0) -> list[str]:
        ...
class FollowSession:
    def __init__(self, paths: collections.abc.Sequence[str], config: dict, naming: collections.abc.Sequence[tuple[str, str]] = []) -> None:
        ...
    def finish(self) -> dict:
        ...
    def new_rows(self) -> dict:
        ...
    def poll(self, max_frames: typing.SupportsInt | typing.SupportsIndex = 0) -> int:
        ...
    def strings_from(self, start: typing.SupportsInt | typing.SupportsIndex = 0) -> list[str]:
        ...
    @property
    def counts(self) -> dict:
        ...
    @property
    def first_ns(self) -> int:
        ...
    @property
    def last_ns(self) -> int:
        ...
class CaptureFile:
    def __init__(self, path: str, strict: bool = False, device: str = '', iface: str = '') -> None:
        ...
    def read(self, max_frames: typing.SupportsInt | typing.SupportsIndex = 0) -> dict:
        """
        Decode up to max_frames frames (all when <= 0); returns {table: {column: ndarray}}.
        """
    def strings_from(self, start: typing.SupportsInt | typing.SupportsIndex = 0) -> list[str]:
        ...
    @property
    def compressed(self) -> bool:
        ...
    @property
    def counts(self) -> dict:
        ...
    @property
    def done(self) -> bool:
        ...
    @property
    def format(self) -> str:
        ...
    @property
    def frames(self) -> int:
        ...
    @property
    def path(self) -> str:
        ...
    @property
    def warnings(self) -> list[str]:
        ...
def analyze(paths: collections.abc.Sequence[str], config: dict, strict: bool = False, ring_capacity: typing.SupportsInt | typing.SupportsIndex = 16384, progress: Progress = None, naming: collections.abc.Sequence[tuple[str, str]] = []) -> dict:
    """
    Run the captures, merged by time, through the trackers; returns {tables, strings, counts, ...}. naming: one (device, iface) pair per path ('' for none) naming its ports (docs/DECODE_RULES.md, Ports).
    """
def column_pool_stats() -> dict:
    """
    Big column buffers mapped, reused from the pool, and kept for reuse now.
    """
def default_config() -> dict:
    """
    The core's default configuration, with the field names and units of flapwatch's Config.
    """
def presets() -> dict:
    """
    The core's named presets: {window_policies: {name: policy}, dampening_policies: ..., storm_rules: {name: duty}}.
    """
def trim_column_pool() -> None:
    """
    Give the column buffers kept for reuse back to the system.
    """
