"""The record tables: one numpy array per column, the same from every backend.

This module is the single statement of the columns. The C++ core (``_core``), the
pure-Python reference readers (``backend="dpkt"`` / ``"pyshark"``) and the tests all
check against it, so a column cannot silently drift between them.

Conventions (kept so the tables travel to Arrow/Parquet unchanged):
- ``ts_ns``: int64 nanoseconds since the Unix epoch.
- ``frame``: 0-based index of the frame in its capture file (file order).
- ``port`` and every ``STRING`` column: int32 index into the capture's shared string
  table (dictionary encoding); -1 where absent.
- Integer fields that may be absent use -1.
- MAC addresses are uint64 holding the 48-bit address big-endian (aa:bb:.. -> 0xaabb..).
"""

from __future__ import annotations

import numpy as np

STRING = "string"  # an int32 index into Capture.strings

_FRAME = [("ts_ns", np.int64), ("port", STRING), ("frame", np.int64)]

TABLES: dict[str, list[tuple[str, object]]] = {
    # 802.1Qbb per-priority pause, opcode 0x0101.
    "pfc": _FRAME
    + [
        ("src_mac", np.uint64),
        ("vlan", np.int32),  # outermost VLAN id, -1 untagged
        ("class_enable", np.uint8),  # low 8 bits of the class-enable vector
    ]
    + [(f"quanta_{i}", np.uint16) for i in range(8)],
    # 802.3x PAUSE, opcode 0x0001.
    "pause": _FRAME
    + [
        ("src_mac", np.uint64),
        ("vlan", np.int32),
        ("quanta", np.uint16),
    ],
    # LLDPDU, ethertype 0x88cc.
    "lldp": _FRAME
    + [
        ("src_mac", np.uint64),
        ("chassis_subtype", np.uint8),
        ("chassis_id", STRING),  # MAC as aa:bb:.., IPs dotted/colon, else the text
        ("port_subtype", np.uint8),
        ("port_id", STRING),
        ("ttl", np.int32),  # 0 = shutdown LLDPDU
        ("port_desc", STRING),
        ("system_name", STRING),
        ("system_desc", STRING),
        ("caps_supported", np.int32),  # -1 absent
        ("caps_enabled", np.int32),
        ("mgmt_addr", STRING),
        ("port_vlan", np.int32),  # 802.1 port VLAN id, -1 absent
        ("pfc_willing", np.int8),  # 802.1Qaz PFC configuration TLV, -1 absent
        ("pfc_mbc", np.int8),
        ("pfc_cap", np.int8),
        ("pfc_enable", np.int16),  # bitmap of PFC-enabled priorities, -1 absent
        ("mau_type", np.int32),  # 802.3 MAC/PHY operational MAU type, -1 absent
        ("speed_bps", np.int64),  # from mau_type, 0 unknown
        ("max_frame_size", np.int32),  # -1 absent
    ],
    # Netlink RTM_NEWLINK / RTM_DELLINK messages (several may share one frame).
    # ``port`` is the interface the message is about (IFLA_IFNAME, else "if<index>").
    "link": _FRAME
    + [
        ("msg_type", np.uint16),  # 16 RTM_NEWLINK, 17 RTM_DELLINK
        ("ifindex", np.int32),
        ("flags", np.uint32),  # ifi_flags: IFF_UP 0x1, IFF_RUNNING 0x40, IFF_LOWER_UP 0x10000
        ("operstate", np.int8),  # RFC 2863 (0 unknown .. 6 up), -1 absent
        ("carrier", np.int8),  # IFLA_CARRIER, -1 absent
        ("carrier_changes", np.int64),  # -1 absent
        ("carrier_up_count", np.int64),
        ("carrier_down_count", np.int64),
        ("mac", np.uint64),  # IFLA_ADDRESS when 6 bytes, else 0
        ("dev_type", np.uint16),  # ifi_type: ARPHRD_* (1 Ethernet, 772 loopback)
        ("change", np.uint32),  # ifi_change: flags reported changed (0 for the carrier changes linkwatch sends)
        # 1: a reply to an RTM_GETLINK dump (NLM_F_MULTI and the requester's port id in the
        # netlink header), 0: a notification (docs/DESIGN.md, Captures start and end mid-flight)
        ("dump", np.uint8),
    ],
    # Frames of a known protocol that could not be decoded: every frame is accounted for.
    "malformed": _FRAME
    + [
        ("offset", np.int64),  # byte offset in the (decompressed) file where the problem is
        ("reason", STRING),
    ],
}

# Detections (flapwatch.analyze): the trackers' output, same conventions.
_WHEN = [("ts_ns", np.int64), ("port", STRING)]
DETECTION_TABLES: dict[str, list[tuple[str, object]]] = {
    # ts_ns: when the flap was known over (the up, or the message revealing a hidden one).
    # An outage still open at the end: a row with up_ns = -1, written at the end.
    "flaps": _WHEN
    + [
        ("down_ns", np.int64),  # hidden: the earliest it can have started (the previous message)
        ("up_ns", np.int64),  # -1: still down at the end of the capture
        ("duration_ns", np.int64),  # -1: unknown (hidden) or still down; open_at_start: a lower bound
        ("hidden", np.uint8),  # only the carrier counters showed it
        ("held", np.int8),  # hold-time what-if: 1 hidden by the hold time, 0 not, -1 unknown
        ("over_budget", np.uint8),  # longer than the job-impact budget
        # 1: already down when the capture began (the port's first message, a notification,
        # said up): down_ns is the capture's start, a bound; the real down is earlier
        ("open_at_start", np.uint8),
        # what showed it (FLAP_SOURCES): a down and an up over netlink, only the carrier
        # counters (hidden), or a PHY link-down counter with no carrier change (bounded by
        # two counter samples; docs/DESIGN.md, "Counters")
        ("source", np.uint8),
        # Where the true down and up lie and how long the flap truly was (docs/DESIGN.md,
        # "Durations with their uncertainty"): a message may report a change linkwatch held
        # back up to a second, so down_ns/up_ns/duration_ns are what the messages say and
        # these the kernel's limits. -1: unknown (a down before the capture began, an up
        # that has not come, a duration with no upper bound). duration_max_ns -
        # duration_min_ns over DURATION_EXACT_NS: every output gives the duration as a bound.
        ("down_earliest_ns", np.int64),
        ("down_latest_ns", np.int64),
        ("up_earliest_ns", np.int64),
        ("up_latest_ns", np.int64),
        ("duration_min_ns", np.int64),  # an outage still open: down at least this long by the end
        ("duration_max_ns", np.int64),
    ],
    # An outage opening, written at the down (before the link is back): what an alert
    # needs while the port is down. Its flaps row follows when it closes.
    "link_down": _WHEN + [("down_ns", np.int64)],
    "policy_events": _WHEN + [("policy", STRING), ("event", np.uint8), ("value", np.float64)],  # event 1 trip, 0 clear
    # ts_ns: detected (start + detection time). priority -1: 802.3x PAUSE.
    "pfc_storms": _WHEN
    + [("priority", np.int8), ("start_ns", np.int64), ("end_ns", np.int64), ("paused_ns", np.int64), ("frames", np.int64)],
    # ts_ns: window start.
    "pause_stats": _WHEN
    + [
        ("priority", np.int8),
        ("window_ns", np.int64),
        ("frames", np.int64),
        ("xon_frames", np.int64),
        ("paused_ns", np.int64),
        ("duty", np.float64),
        ("speed_bps", np.int64),
    ],
    "lldp_events": _WHEN
    + [
        ("event", np.uint8),  # LLDP_EVENTS
        ("chassis_id", STRING),
        ("port_id", STRING),
        ("system_name", STRING),
        ("ttl", np.int32),
        ("prev_chassis_id", STRING),
        ("prev_port_id", STRING),
        ("prev_system_name", STRING),
    ],
    # LLDPDUs a port received from its neighbor (not its own, seen leaving); ttl 0: a
    # shutdown LLDPDU. The LLDP gap the risk model scores, offline and live. One under
    # 100 ms after the port's previous row adds none (ports.lldp_frames counts them all).
    "lldp_rx": _WHEN + [("ttl", np.int32)],
    # One row per port; ts_ns = the end of the input.
    "ports": _WHEN
    + [
        ("flaps", np.int64),
        ("hidden_flaps", np.int64),
        ("micro_flaps", np.int64),
        ("down_ns_total", np.int64),
        ("longest_down_ns", np.int64),
        ("outages_over_budget", np.int64),
        ("oper_up", np.int8),
        ("down_since_ns", np.int64),  # down now since (-1: up, unknown, or down since before the capture)
        ("storms", np.int64),
        ("paused_ns", np.int64),
        ("speed_bps", np.int64),
        ("neighbor", STRING),  # system name of the last LLDP neighbor
        ("neighbor_chassis_id", STRING),
        ("neighbor_port_id", STRING),
        ("link_messages", np.int64),
        ("pfc_frames", np.int64),
        ("lldp_frames", np.int64),
    ],
}

LLDP_EVENTS = ("added", "updated", "changed", "aged_out", "shutdown")
POLICY_EVENTS = ("clear", "trip")
FLAP_SOURCES = ("netlink", "carrier counters", "PHY counter")  # kFlapSourceNames (track/counter_tracker.hpp)

# Enum columns: stored as small integers, named in every row-form output.
ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("lldp_events", "event"): LLDP_EVENTS,
    ("policy_events", "event"): POLICY_EVENTS,
    ("flaps", "source"): FLAP_SOURCES,
}

# The one list of detection tables by role (every output, the agent and the risk model
# take theirs from here): the per-port summary last, the streams of rows in time before it.
STREAM_TABLES = tuple(name for name in DETECTION_TABLES if name != "ports")
# What is reported as a finding (event logs, --follow): LLDPDUs received are evidence.
FINDING_TABLES = tuple(name for name in STREAM_TABLES if name != "lldp_rx")
# What replay writes: the Python-side episodes join the core's tables.
OUTPUT_TABLES = ("ports", "episodes") + STREAM_TABLES
# Columns that are instants (int64 ns since the epoch; -1 unknown), as opposed to durations
# and counts: Parquet writes them as timestamp[ns, UTC], the report as ISO times.
TIME_COLUMNS = frozenset(
    {"ts_ns", "down_ns", "up_ns", "start_ns", "end_ns", "first_ns", "last_ns", "risk_peak_ns", "down_since_ns",
     "down_earliest_ns", "down_latest_ns", "up_earliest_ns", "up_latest_ns"}
)
# A flap's duration is given as a figure when its range is at most this wide, else as a
# bound ("≥ 183.00 ms (≤ 1.183 s)", "50.56 ms ±5.00 ms"): what linkwatch leaves unknown is said.
DURATION_EXACT_NS = 2_000_000

# A row's "type" in JSON lines, the agent's event log and --follow: the table, singular.
ROW_TYPES = {name: name.removesuffix("s") for name in OUTPUT_TABLES}

ALL_TABLES = {**TABLES, **DETECTION_TABLES}

COUNT_KINDS = ("pfc", "pause", "lldp", "link", "other", "malformed")

OPERSTATES = ("unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up")

RTM_NEWLINK = 16
RTM_DELLINK = 17
IFF_UP = 0x1
IFF_RUNNING = 0x40
IFF_LOWER_UP = 0x10000

# IANA-MAU-MIB dot3MauType -> bits/s (operational speed). Values past 78 are not
# assigned consistently across vendors' MIB copies, so they read as unknown (0).
_MAU_SPEED_RANGES = [
    (range(2, 15), 10_000_000),
    (range(15, 21), 100_000_000),
    (range(21, 31), 1_000_000_000),
    (range(31, 42), 10_000_000_000),
    (range(44, 47), 100_000_000),
    (range(47, 54), 1_000_000_000),
    (range(54, 56), 10_000_000_000),
    (range(56, 57), 1_000_000_000),
    (range(57, 59), 10_000_000_000),
    (range(59, 70), 10_000_000_000),
    (range(70, 75), 40_000_000_000),
    (range(75, 79), 100_000_000_000),
]


def mau_speed_bps(mau_type: int) -> int:
    """Operational speed in bit/s for an IANA MAU type, 0 when unknown."""
    if mau_type == 1 or mau_type == 5:  # AUI, 10BaseT
        return 10_000_000
    for values, speed in _MAU_SPEED_RANGES:
        if mau_type in values:
            return speed
    return 0


def dtype_of(kind: object) -> np.dtype:
    return np.dtype(np.int32) if kind == STRING else np.dtype(kind)


def string_columns(table: str) -> list[str]:
    return [name for name, kind in ALL_TABLES[table] if kind == STRING]
