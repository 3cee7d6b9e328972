"""The SONiC switch source: a switch's own PFC counters and port link state, read from its
redis databases (sonic-swss-common's database_config.json and the COUNTERS_DB layout; docs/DESIGN.md, "Counters"), pushed into
the agent as the same records every other source gives (counter samples and link events).

- COUNTERS_DB (2): ``COUNTERS_PORT_NAME_MAP`` (port alias -> ``oid:0x...``), then per port
  the ``COUNTERS:oid:...`` hash's SAI PFC fields (``SAI_PORT_STAT_PFC_N_{RX,TX}_PKTS``,
  ``..._{RX,TX}_PAUSE_DURATION_US`` in µs, ``..._ON2OFF_RX_PKTS``, link-level
  ``SAI_PORT_STAT_PAUSE_{RX,TX}_PKTS``), classified by the ``sonic`` driver profile. A
  field the hash lacks is absent, not 0 (the platform does not count it).
- The sample's time is syncd's own read, ``COUNTERS:TIME_STAMP``'s
  ``PFC_WD_Port_Counter_time_stamp`` (steady_clock ns, as pfcwd's Lua scripts use it), mapped
  to the realtime clock: the pause-duration delta over the interval between two of syncd's
  reads is exactly pfcwd's rule (paused > 99 % of the poll). A stamp that has not moved is
  no new read (nothing pushed). Without a stamp (older images, mocks) the agent's read time
  stands in, and the profile's refresh period says unchanged values are repeats.
- APPL_DB (0): ``PORT_TABLE:<alias>`` ``oper_status`` ("up"/"down") and ``flap_count``
  (+1 on every transition, so 2 per flap: the carrier-changes counter of the port). The
  first read of a port is its baseline (a state, no flap); a change of either is a link
  event with ``carrier_changes = flap_count``, so a flap that came and went between two
  polls (+2, same state) is a hidden flap. ``last_down_time`` / ``last_up_time`` have 1 s
  resolution: kept as what the switch says, the poll time bounds the event closer.

Both databases are read at pfcwd's cadence (200 ms, `pfcwd start_default`), each in one
MULTI/EXEC round trip so one sample's values are one consistent snapshot. DB numbers are
database_config.json's (COUNTERS_DB 2, APPL_DB 0, STATE_DB 6); a switch's own
/var/run/redis/sonic-db/database_config.json is read when present."""

from __future__ import annotations

import fnmatch
import json
import os
import threading
import time
from dataclasses import dataclass, field

from flapwatch.counters.profiles import SONIC, DriverProfile
from flapwatch.counters.samples import interval_ns, sample
from flapwatch.errors import ConfigError

DEFAULT_ADDRESS = "/var/run/redis/redis.sock"
DB_CONFIG_PATH = "/var/run/redis/sonic-db/database_config.json"
DEFAULT_DBS = {"APPL_DB": 0, "COUNTERS_DB": 2, "STATE_DB": 6}
STAMP_KEY = "COUNTERS:TIME_STAMP"
STAMP_FIELD = "PFC_WD_Port_Counter_time_stamp"
PORT_MAP = "COUNTERS_PORT_NAME_MAP"
LINK_FIELDS = ("oper_status", "flap_count", "last_down_time", "last_up_time")
# APPL_DB PORT_TABLE keys that are markers, not ports.
_NOT_PORTS = {"PortConfigDone", "PortInitDone"}

# Every SAI port stat the sonic profile can mean (N = 0..7); HMGET asks for these only.
SAI_FIELDS = tuple(
    [f"SAI_PORT_STAT_PFC_{n}_{what}" for n in range(8)
     for what in ("RX_PKTS", "TX_PKTS", "RX_PAUSE_DURATION_US", "TX_PAUSE_DURATION_US", "ON2OFF_RX_PKTS")]
    + ["SAI_PORT_STAT_PAUSE_RX_PKTS", "SAI_PORT_STAT_PAUSE_TX_PKTS"])


def db_numbers(config: dict | str | os.PathLike | None = None) -> dict[str, int]:
    """{"APPL_DB": 0, "COUNTERS_DB": 2, "STATE_DB": 6} from a database_config.json
    (``DATABASES.<name>.id``), or SONiC's defaults."""
    if config is None:
        return dict(DEFAULT_DBS)
    if not isinstance(config, dict):
        try:
            with open(config) as f:
                config = json.load(f)
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot read the SONiC database config: {e}", os.fspath(config)) from None
    dbs = config.get("DATABASES", {})
    out = dict(DEFAULT_DBS)
    for name in out:
        if name in dbs and "id" in dbs[name]:
            out[name] = int(dbs[name]["id"])
    return out


def connection_kwargs(address: str | None) -> dict:
    """redis-py connection arguments of an address: a unix socket path (the default
    /var/run/redis/redis.sock), unix:///path, HOST:PORT, [v6]:PORT, or redis://..."""
    address = address or DEFAULT_ADDRESS
    if address.startswith("unix://"):
        return {"unix_socket_path": address[len("unix://"):]}
    if address.startswith("/") or address.startswith("."):
        return {"unix_socket_path": address}
    if address.startswith(("redis://", "rediss://")):
        return {"url": address}
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--sonic takes a unix socket path or HOST:PORT, not {address!r}")
    return {"host": host.strip("[]") or "127.0.0.1", "port": int(port)}


def _connect(address: str | None, db: int):
    try:
        import redis
    except ImportError:
        raise ConfigError("--sonic needs the redis client: pip install 'flapwatch[sonic]'") from None
    kw = connection_kwargs(address)
    common = dict(db=db, decode_responses=True, socket_timeout=2.0, socket_connect_timeout=2.0)
    if "url" in kw:
        return redis.Redis.from_url(kw["url"], **common)
    return redis.Redis(**kw, **common)


@dataclass
class _Port:
    up: bool | None = None  # None: not read yet
    flap_count: int = -1
    last_down: str = ""
    last_up: str = ""
    pushed_ns: int = 0  # the last event pushed


@dataclass
class SonicStats:
    polls: int = 0
    samples: int = 0  # counter samples pushed
    repeats: int = 0  # polls whose syncd stamp had not moved (nothing pushed)
    link_events: int = 0
    errors: int = 0
    push_dropped: int = 0
    notices: list[str] = field(default_factory=list)


class SonicSource:
    """Polls one SONiC switch's redis and pushes what it reads into ``agent`` (a
    flapwatch.Agent, or anything with push_link / push_counters).

        source = SonicSource("/var/run/redis/redis.sock")
        source.start(agent)  ...  source.stop()

    ``ports``: shell patterns of the port aliases to watch (default: every port);
    ``counters`` / ``links``: read COUNTERS_DB / APPL_DB PORT_TABLE."""

    def __init__(self, address: str | None = None, *, interval: float | str = "200ms",
                 ports: list[str] | None = None, profile: DriverProfile = SONIC,
                 db_config: dict | str | os.PathLike | None = None, counters: bool = True, links: bool = True,
                 stamp_field: str = STAMP_FIELD):
        self.address = address or DEFAULT_ADDRESS
        connection_kwargs(self.address)  # a usage error before anything starts
        self.interval_ns = interval_ns(interval)
        self.patterns = list(ports or [])
        self.profile = profile
        if db_config is None and os.path.exists(DB_CONFIG_PATH):
            db_config = DB_CONFIG_PATH
        self.dbs = db_numbers(db_config)
        self.counters, self.links = counters, links
        self.stamp_field = stamp_field
        self.fields = [f for f in SAI_FIELDS if profile.counter(f) is not None]
        self._classified = [profile.counter(f) for f in self.fields]
        self._ports: dict[str, _Port] = {}
        self._last_stamp: int | None = None
        self._last_ts = 0
        self._stamp_offset: int | None = None
        self.stats = SonicStats()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._counters_db = self._appl_db = None

    # redis
    def connect(self) -> "SonicSource":
        self._counters_db = _connect(self.address, self.dbs["COUNTERS_DB"])  # ConfigError without redis-py
        self._appl_db = _connect(self.address, self.dbs["APPL_DB"])
        import redis

        try:
            self._counters_db.ping()
        except redis.RedisError as e:
            raise ConfigError(f"cannot reach SONiC's redis at {self.address}: {e}") from None
        return self

    def _watched(self, name: str) -> bool:
        return not self.patterns or any(fnmatch.fnmatchcase(name, p) for p in self.patterns)

    def _stamp_ts(self, stamp: str | None, read_ns: int) -> int | None:
        """syncd's steady_clock ns -> realtime ns; None without a stamp."""
        try:
            s = int(stamp) if stamp is not None else None
        except ValueError:
            s = None
        if s is None:
            return None
        if self._stamp_offset is None or abs(s + self._stamp_offset - read_ns) > 5_000_000_000:
            # Same host (the agent beside syncd): steady_clock is CLOCK_MONOTONIC, exact.
            # Else (a remote redis, or a clock far off): anchor at this read.
            mono = time.monotonic_ns()
            if 0 <= mono - s < 60_000_000_000:
                self._stamp_offset = time.time_ns() - mono
            else:
                self._stamp_offset = read_ns - s
        return s + self._stamp_offset

    def poll_once(self, agent) -> None:
        """One read of both databases, pushed into ``agent``."""
        self.stats.polls += 1
        if self.counters:
            self._poll_counters(agent)
        if self.links:
            self._poll_links(agent)

    def _poll_counters(self, agent) -> None:
        names = self._counters_db.hgetall(PORT_MAP)
        ports = sorted((alias, oid) for alias, oid in names.items() if self._watched(alias))
        if not ports:
            return
        t0 = time.time_ns()
        pipe = self._counters_db.pipeline(transaction=True)
        pipe.hget(STAMP_KEY, self.stamp_field)
        for _, oid in ports:
            pipe.hmget(f"COUNTERS:{oid}", self.fields)
        res = pipe.execute()
        t1 = time.time_ns()
        ts = self._stamp_ts(res[0], t1)
        refresh_s = self.profile.refresh_s
        if ts is not None:
            if self._last_stamp is not None and int(res[0]) == self._last_stamp:
                self.stats.repeats += 1
                return
            if self._last_stamp is not None and int(res[0]) < self._last_stamp:
                # syncd restarted (a new steady_clock origin): anchor again, never step back
                self.stats.notices.append(f"{STAMP_KEY} went back (syncd restarted?); its clock anchored again")
                self._stamp_offset = None
                ts = max(self._stamp_ts(res[0], t1), self._last_ts + 1)
            self._last_stamp = int(res[0])
            self._last_ts = ts
            refresh_s = 0.0  # every sample is a new read of syncd's: no repeats to allow for
        else:
            ts = t0
        for (alias, _), values in zip(ports, res[1:]):
            counters = []
            for c, v in zip(self._classified, values):
                if v is None:
                    continue  # absent, not 0
                try:
                    counters.append((c, int(v)))
                except ValueError:
                    continue
            s = sample(ts, alias, counters, read_ns=t1 - t0, refresh_s=refresh_s)
            if agent.push_counters(s):
                self.stats.samples += 1
            else:
                self.stats.push_dropped += 1

    def _port_keys(self) -> list[str]:
        keys = [k for k in self._appl_db.scan_iter(match="PORT_TABLE:*", count=1000)]
        return sorted(k for k in keys if k.count(":") == 1 and k.split(":", 1)[1] not in _NOT_PORTS
                      and self._watched(k.split(":", 1)[1]))

    def _poll_links(self, agent) -> None:
        if not hasattr(self, "_keys") or self.stats.polls % 25 == 1:  # new ports (breakout): every ~5 s
            self._keys = self._port_keys()
        if not self._keys:
            return
        pipe = self._appl_db.pipeline(transaction=True)
        for k in self._keys:
            pipe.hmget(k, LINK_FIELDS)
        res = pipe.execute()
        ts = time.time_ns()
        prev, self._links_ns = getattr(self, "_links_ns", 0), ts
        for key, (oper, flaps, last_down, last_up) in zip(self._keys, res):
            if oper not in ("up", "down"):
                continue  # not a port (or not yet set up by orchagent)
            alias = key.split(":", 1)[1]
            up = oper == "up"
            try:
                count = int(flaps) if flaps is not None else -1
            except ValueError:
                count = -1
            p = self._ports.setdefault(alias, _Port())
            first = p.up is None
            if not first and up == p.up and count == p.flap_count:
                continue
            if not first and count >= 0 and p.flap_count >= 0 and count < p.flap_count:
                self.stats.notices.append(f"{alias}: flap_count went back from {p.flap_count} to {count} "
                                          "(APPL_DB rebuilt?); a new baseline, no flap made of it")
            if not first and prev > p.pushed_ns:
                # The state as the last poll saw it, unchanged then: what changed since happened
                # after it (a flap between two polls is bounded by them, not by the last change).
                agent.push_link(prev, alias, p.up, carrier_changes=p.flap_count)
            ok = agent.push_link(ts, alias, up, carrier_changes=count, baseline=first)
            p.pushed_ns = ts
            self.stats.link_events += ok
            self.stats.push_dropped += not ok
            p.up, p.flap_count, p.last_down, p.last_up = up, count, last_down or "", last_up or ""

    # the thread
    def start(self, agent) -> "SonicSource":
        if self._counters_db is None:
            self.connect()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(agent,), name="flapwatch-sonic", daemon=True)
        self._thread.start()
        return self

    def _run(self, agent) -> None:
        import redis

        period = self.interval_ns / 1e9
        next_t = time.monotonic()
        failing = False
        while not self._stop.is_set():
            try:
                self.poll_once(agent)
                if failing:
                    self.stats.notices.append(f"SONiC redis at {self.address} is back")
                failing = False
            except redis.RedisError as e:
                self.stats.errors += 1
                if not failing:
                    self.stats.notices.append(f"SONiC redis at {self.address}: {e}; retrying every poll")
                failing = True
            next_t += period
            delay = next_t - time.monotonic()
            if delay < 0:  # late (a slow redis): skip the missed polls, keep the cadence
                next_t = time.monotonic()
                delay = 0
            self._stop.wait(delay)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
