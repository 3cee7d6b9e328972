"""
flapwatch C++ core: capture readers and decoders
"""
from __future__ import annotations
import collections.abc
import typing
__all__: list[str] = ['CaptureFile', 'EthtoolReader', 'FollowSession', 'LiveAgent', 'PcapngWriter', 'Progress', 'StartedAnalyze', 'analyze', 'column_pool_stats', 'counter_meanings', 'default_config', 'engine_defaults', 'inspect', 'presets', 'set_window_mode', 'split_capture', 'start_analyze', 'trim_column_pool', 'window_stats']
class Progress:
    def __init__(self) -> None:
        ...
    @property
    def bytes(self) -> int:
        ...
class StartedAnalyze:
    def result(self) -> dict:
        """
        Waits for the run (the GIL released) and returns what analyze() would have.
        """
class EthtoolReader:
    """
    `ethtool -S IFACE` by ioctl (GSSET_INFO, GSTRINGS, GSTATS).
    """
    def __init__(self, interface: str) -> None:
        ...
    def driver(self) -> str:
        ...
    def read(self) -> typing.Any:
        """
        (ts_ns, read_ns, names, values, names_changed); OSError when the interface has no statistics.
        """
    @property
    def name_rereads(self) -> int:
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
    def configure_counters(self, interfaces: collections.abc.Sequence[str], interval_ns: typing.SupportsInt | typing.SupportsIndex, profiles: collections.abc.Sequence[tuple[str, collections.abc.Sequence[str], typing.SupportsInt | typing.SupportsIndex, collections.abc.Sequence[tuple[str, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]]]], driver: str = '', keep_raw: typing.SupportsInt | typing.SupportsIndex = 0, netlink_extras: bool = True) -> None:
        """
        Before start(): poll these interfaces' counters (empty: the capture interfaces) every interval_ns.
        """
    def counter_totals(self) -> list:
        """
        Per port seen in counter samples: (port string index, paused ns of slots 0..8 (8: 802.3x PAUSE), PHY link-downs without a carrier change).
        """
    def new_rows(self) -> dict:
        """
        Detection rows added since the last call, per table (copies).
        """
    def ports(self) -> dict:
        """
        The per-port table as of now.
        """
    def push_counters(self, sample: tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, str, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, collections.abc.Sequence[tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]]]) -> bool:
        """
        An embedder's counter sample (as analyze()'s samples), into the trackers; False when the ring is full.
        """
    def push_link(self, ts_ns: typing.SupportsInt | typing.SupportsIndex, interface: str, up: bool, carrier_changes: typing.SupportsInt | typing.SupportsIndex = -1, carrier_up_count: typing.SupportsInt | typing.SupportsIndex = -1, carrier_down_count: typing.SupportsInt | typing.SupportsIndex = -1, baseline: bool = False) -> bool:
        """
        An embedder's link event, into the trackers; False when the push ring is full. baseline: a state read (a port's first is no edge), not a change seen.
        """
    def raw_counter_samples(self) -> list:
        """
        The raw reads kept (keep_raw): (ts_ns, read_ns, interface, names_reread, names, values).
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
def analyze(paths: collections.abc.Sequence[str], config: dict, strict: bool = False, ring_capacity: typing.SupportsInt | typing.SupportsIndex = 16384, progress: Progress = None, naming: collections.abc.Sequence[tuple[str, str]] = [], samples: collections.abc.Sequence[tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, str, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, collections.abc.Sequence[tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]]]] = [], threads: typing.SupportsInt | typing.SupportsIndex = 1, range_bytes: typing.SupportsInt | typing.SupportsIndex = 8388608) -> dict:
    """
    Run the captures, merged by time, through the trackers; returns {tables, strings, counts, ...}. threads: for one big uncompressed capture, threads decoding ranges of range_bytes while another feeds the trackers (the result the same); 0: one reader feeding them record by record, whatever the input. naming: one (device, iface) pair per path ('' for none) naming its ports (docs/DECODE_RULES.md, Ports). samples: counter samples (ts_ns, read_ns, interface, refresh_ns, flags, [(meaning, direction, priority, unit, width, value), ...]) merged by time with the captures.
    """
def column_pool_stats() -> dict:
    """
    Big column buffers mapped, reused from the pool, and kept for reuse now.
    """
def counter_meanings() -> list[str]:
    """
    The counter meanings, in the order counter samples index them (flapwatch/counters.hpp).
    """
def default_config() -> dict:
    """
    The core's default configuration, with the field names and units of flapwatch's Config.
    """
def engine_defaults() -> dict:
    """
    The core's default configuration as Config.to_core() gives one to analyze() (nanoseconds, policies as tuples).
    """
def inspect(paths: collections.abc.Sequence[str], strict: bool = False, threads: typing.SupportsInt | typing.SupportsIndex = 1, min_range_bytes: typing.SupportsInt | typing.SupportsIndex = 33554432) -> dict:
    """
    `flapwatch inspect`'s summary of the captures (the dict of present/summary.py's CaptureSummary.to_json()), summed as they are decoded (no columns); threads: readers per uncompressed file, each on a range of at least min_range_bytes; the result the same.
    """
def presets() -> dict:
    """
    The core's named presets: {window_policies: {name: policy}, dampening_policies: ..., storm_rules: {name: duty}}.
    """
def set_window_mode(mode: str) -> None:
    """
    How every reader of the process takes big windows of regular uncompressed files: auto (mapped or read by what each costs lately), map or read (io/block_buffer.hpp). The results are the same.
    """
def split_capture(path: str, parts: typing.SupportsInt | typing.SupportsIndex, min_bytes: typing.SupportsInt | typing.SupportsIndex = 0) -> list[int]:
    """
    Where readers on `parts` threads would start (io/capture_split.hpp): the ranges' first bytes, [] none.
    """
def start_analyze(paths: collections.abc.Sequence[str], config: dict, strict: bool = False, ring_capacity: typing.SupportsInt | typing.SupportsIndex = 16384, progress: Progress = None, naming: collections.abc.Sequence[tuple[str, str]] = [], samples: collections.abc.Sequence[tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, str, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, collections.abc.Sequence[tuple[typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]]]] = [], threads: typing.SupportsInt | typing.SupportsIndex = 1, range_bytes: typing.SupportsInt | typing.SupportsIndex = 8388608) -> StartedAnalyze:
    """
    analyze(), started on a thread of its own; its result() is analyze()'s.
    """
def trim_column_pool() -> None:
    """
    Give the column buffers kept for reuse back to the system.
    """
def window_stats() -> dict:
    """
    The window mode; the bytes of big windows mapped and read by every reader of the process so far, and what each kind cost when last measured (ns per MiB, 0: not measured).
    """
