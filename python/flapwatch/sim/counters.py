"""Simulated counter series (issue 13, "Simulator"): what a poller of `ethtool -S` (or of
SONiC's COUNTERS_DB) reads on a host whose pause frames never reach a capture, per driver
profile, for three families, with the truth.

- Families: ``pfc`` (busy but healthy PFC: pause bursts of up to 90 % of a poll that end
  with XON, no storm), ``storm`` (one to three storms: a priority paused without a break
  for a second or more, in rx or tx, over the same background), ``phy-flap`` (PHY
  link-downs that only the PHY counter counts; mlx5 and bnxt, the drivers with one in
  `ethtool -S`).
- Profiles (flapwatch.counters.profiles): ``mlx5_core`` (frames and µs durations, fresh on
  every read, a 32-bit ``link_down_events_phy``, PFC counters listed for enabled
  priorities only), ``bnxt_en`` (frames and µs durations copied once a second by the
  driver: a 100 ms poll reads nine repeats in ten), ``ice`` and ``i40e`` (XON/XOFF frame
  counts only, i40e in either spelling), ``sonic`` (SAI names, µs durations, pfcwd's
  200 ms cadence).
- Anomalies a scenario may carry (``CounterScenario.anomalies``): ``wrap`` (a 32-bit
  counter starts just below 2^32 and wraps mid-storm, or the PHY counter wraps at a
  flap), ``reset`` (a driver reload: every counter back to 0 mid-run; ``reset-in-storm``:
  in the middle of a storm), ``vanish`` (PFC
  switched off on a priority for a while: its counters leave the dump and come back with
  a jump), ``relist`` (the name list changes: queue counters come and go; i40e switches
  spelling generation), ``repeats`` (bnxt's cached copies, always on for bnxt).

Frames: a paused priority gets XOFF refreshes every half pause (65535 quanta at 100G:
~6,000 a second), a pause that ends gets one XON. Durations are exact in µs. The truth's
storms are the unbroken pauses the scenario drove (port, priority, start, end); its PHY
flaps the link-downs (port, time). ``CounterScenario.samples()`` gives the sample tuples
the push API and ``flapwatch.analyze(counter_samples=...)`` take; ``write_logs(dir)``
writes one timestamped `ethtool -S` log per port (the form operators' loops write) when
every counter has its profile's width (a 32-bit duration exists only as samples).
``score(scenario, analysis)`` matches the detections to the truth.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path

from flapwatch.counters.profiles import BUILTIN, Counter
from flapwatch.counters.samples import sample
from flapwatch.tables.units import NS_PER_MS as MS
from flapwatch.tables.units import NS_PER_S as S
XOFF_PER_S = 6000  # PFC refreshes of a paused priority at 100G (every ~167 µs)
PROFILES = ("mlx5_core", "bnxt_en", "ice", "i40e", "sonic")
FAMILIES = ("pfc", "storm", "phy-flap")
PHY_PROFILES = ("mlx5_core", "bnxt_en")  # a PHY link-down counter in `ethtool -S`
ANOMALIES = ("wrap", "reset", "reset-in-storm", "vanish", "relist", "repeats")
WRAP = 2**32


@dataclass
class StormTruth:
    port: str
    priority: int
    start_ns: int
    end_ns: int
    direction: str = "rx"


@dataclass
class FlapTruth:
    port: str
    ts_ns: int


@dataclass
class CounterScenario:
    seed: int
    profile: str
    family: str
    ports: list[str]
    t0: int
    duration_ns: int
    poll_ns: int
    refresh_ns: int
    priorities: dict[str, list[int]]  # PFC-enabled priorities per port
    anomalies: list[str] = field(default_factory=list)
    storms: list[StormTruth] = field(default_factory=list)
    flaps: list[FlapTruth] = field(default_factory=list)
    # (port, prio, direction) -> sorted pause intervals [(start, end)], the storms' included
    pauses: dict[tuple, list[tuple[int, int]]] = field(default_factory=dict)
    resets: dict[str, list[int]] = field(default_factory=dict)  # port -> reload times
    vanish: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # port -> (prio, off, on)
    relist_at: int | None = None
    wrap32: set = field(default_factory=set)  # counter names kept as 32-bit (a duration wrapping mid-storm)
    wrap_base: dict[tuple[str, str], int] = field(default_factory=dict)  # (port, name) -> starting value
    i40e_old_until: int | None = None  # i40e: the old spelling until this time

    @property
    def name(self) -> str:
        return f"{self.profile}-{self.family}-{self.seed}" + ("+" + "+".join(self.anomalies) if self.anomalies else "")

    @property
    def log_ok(self) -> bool:
        """Every counter has its profile's width: the series can be an `ethtool -S` log."""
        return not self.wrap32

    # -- the counters' values -------------------------------------------------------------
    def _paused_us(self, port, prio, d, t) -> int:
        total = 0
        for s, e in self.pauses.get((port, prio, d), ()):
            if s >= t:
                break
            total += min(e, t) - s
        return total // 1000

    def _frames(self, port, prio, d, t) -> tuple[int, int]:
        """(XOFF, XON) frames sent by time t."""
        xoff = xon = 0
        for s, e in self.pauses.get((port, prio, d), ()):
            if s >= t:
                break
            xoff += 1 + (min(e, t) - s) * XOFF_PER_S // S
            if e <= t:
                xon += 1
        return xoff, xon

    def _starts(self, port, prio, d, t) -> int:
        """Pauses begun by time t (XON -> XOFF transitions)."""
        return sum(1 for s, _ in self.pauses.get((port, prio, d), ()) if s < t)

    def _phy(self, port, t) -> int:
        return sum(1 for f in self.flaps if f.port == port and f.ts_ns <= t)

    def _since_reset(self, port, t) -> int:
        """The last reload at or before t (0: none): counters count from there."""
        r = [x for x in self.resets.get(port, ()) if x <= t]
        return r[-1] if r else 0

    def _values(self, port: str, t: int) -> dict[str, int]:
        """Every counter of `port` as the driver reports it at time t (before the dump's
        quirks: vanishing, the name list, bnxt's copies)."""
        base_t = self._since_reset(port, t)

        def since(f, *a):
            v = f(*a, t)
            if base_t:
                b = f(*a, base_t)
                v = tuple(x - y for x, y in zip(v, b)) if isinstance(v, tuple) else v - b
            return v

        # counters every dump has (unclassified): a dump is never empty, as on a real NIC
        out: dict[str, int] = {"rx_packets": (t - self.t0) // 1000, "tx_packets": (t - self.t0) // 900}
        prios = self.priorities[port]
        p = self.profile
        for prio in prios:
            for d in ("rx", "tx"):
                us = since(self._paused_us, port, prio, d)
                xoff, xon = since(self._frames, port, prio, d)
                if p == "mlx5_core":
                    out[f"{d}_prio{prio}_pause"] = xoff + xon
                    out[f"{d}_prio{prio}_pause_duration"] = us
                    if d == "rx":
                        out[f"rx_prio{prio}_pause_transition"] = xon
                elif p == "bnxt_en":
                    out[f"{d}_pfc_ena_frames_pri{prio}"] = xoff + xon
                    out[f"pfc_pri{prio}_{d}_duration_us"] = us
                    out[f"pfc_pri{prio}_{d}_transitions"] = 2 * xon
                elif p == "ice":
                    out[f"{d}_priority_{prio}_xon.nic"] = xon
                    out[f"{d}_priority_{prio}_xoff.nic"] = xoff
                elif p == "i40e":
                    old = self.i40e_old_until is not None and t < self.i40e_old_until
                    suffix = "" if old else f"_{d}"
                    out[f"port.{d}_priority_{prio}_xon{suffix}"] = xon
                    out[f"port.{d}_priority_{prio}_xoff{suffix}"] = xoff
                elif p == "sonic":
                    out[f"SAI_PORT_STAT_PFC_{prio}_{d.upper()}_PKTS"] = xoff + xon
                    out[f"SAI_PORT_STAT_PFC_{prio}_{d.upper()}_PAUSE_DURATION_US"] = us
                    if d == "rx":
                        out[f"SAI_PORT_STAT_PFC_{prio}_ON2OFF_RX_PKTS"] = since(self._starts, port, prio, d)
        if p in PHY_PROFILES:
            name = "link_down_events_phy" if p == "mlx5_core" else "link_down_events"
            out[name] = self._phy(port, t) - (self._phy(port, base_t) if base_t else 0)
        if p == "mlx5_core":
            out["rx_pause_ctrl_phy"] = out["tx_pause_ctrl_phy"] = 0
        vanish = self.vanish.get(port)
        if vanish and t >= vanish[2]:  # back after PFC was off: the hardware's count moved meanwhile
            for name in out:
                if self._is_prio(name, vanish[0]):
                    out[name] += 5_000_000 if "dur" in name.lower() else 40_000
        for (wp, name), base in self.wrap_base.items():
            if wp == port and name in out:
                out[name] = (out[name] + base) % WRAP
        return out

    def _dump(self, port: str, ts: int) -> dict[str, int]:
        """What one read of `port` at ts shows: bnxt's last copy, vanished priorities
        gone, queue counters listed or not."""
        t = ts
        if self.refresh_ns:  # the driver's copy: the last refresh tick (jittered) before the read
            phase = self.seed * 7919 * MS % self.refresh_ns

            def tick(k: int) -> int:  # the driver's timer, a little late or early each time
                return self.t0 + phase + k * self.refresh_ns + (k * 37 % 5 - 2) * MS // 2

            k = (ts - self.t0 - phase) // self.refresh_ns
            while k > -1 and tick(k) > ts:
                k -= 1
            t = tick(k) if k >= 0 else self.t0
        values = self._values(port, t)
        out = {}
        if self.relist_at is not None:  # queue counters (unclassified) come and go with `ethtool -L`
            queues = 4 if ts < self.relist_at else 8
            for q in range(queues):
                out[f"rx_queue_{q}_packets"] = (ts - self.t0) // MS * (q + 1)
        vanish = self.vanish.get(port)
        for name, v in values.items():
            if vanish and vanish[1] <= ts < vanish[2] and self._is_prio(name, vanish[0]):
                continue
            out[name] = v
        return out

    @staticmethod
    def _is_prio(name: str, prio: int) -> bool:
        return any(s in name for s in (f"prio{prio}_", f"pri{prio}_", f"pri{prio}", f"priority_{prio}_", f"PFC_{prio}_"))

    def reads(self):
        """(ts_ns, port, {name: value}) in time order: every poll of every port."""
        rng = random.Random(self.seed * 31 + 1)
        out = []
        for i, port in enumerate(self.ports):
            offset = i * 3 * MS
            k = 0
            while True:
                ts = self.t0 + k * self.poll_ns + offset + rng.randrange(0, 2 * MS)
                if ts > self.t0 + self.duration_ns:
                    break
                out.append((ts, port, self._dump(port, ts)))
                k += 1
        out.sort(key=lambda r: r[0])
        return out

    def samples(self) -> list[tuple]:
        """The sample tuples (flapwatch.counters.samples.sample), classified by the profile,
        with the widths the scenario gives."""
        profile = BUILTIN[self.profile]
        out = []
        names_seen: dict[str, tuple] = {}
        for ts, port, values in self.reads():
            counters = []
            for name, v in values.items():
                c = profile.counter(name)
                if c is None:
                    continue
                if name in self.wrap32:
                    c = Counter(c.name, c.meaning, c.direction, c.priority, c.unit, 32)
                counters.append((c, v))
            names = tuple(values)
            reread = port in names_seen and names_seen[port] != names
            names_seen[port] = names
            out.append(sample(ts, port, counters, read_ns=200_000, refresh_s=profile.refresh_s, names_reread=reread))
        return out

    def write_logs(self, directory: str | os.PathLike) -> list[Path]:
        """One `ethtool -S` polling log per port (``PORT.ethtool.log``: `date +%s.%N`, then
        the dump), as `while sleep 0.1; do date +%s.%N; ethtool -S eth0; done` writes."""
        if not self.log_ok:
            raise ValueError(f"{self.name}: a 32-bit {sorted(self.wrap32)} exists only as samples")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files = {p: open(directory / f"{p}.ethtool.log", "w") for p in self.ports}
        try:
            for ts, port, values in self.reads():
                f = files[port]
                f.write(f"{ts // S}.{ts % S:09d}\nNIC statistics:\n")
                f.writelines(f"     {name}: {v}\n" for name, v in values.items())
        finally:
            for f in files.values():
                f.close()
        return [directory / f"{p}.ethtool.log" for p in self.ports]


def _background(rng: random.Random, sc: CounterScenario, port: str, prio: int, d: str, busy: float) -> None:
    """Healthy PFC: in some 100 ms slots a burst paused for up to 95 % of it, ending with XON
    (heavy congestion, still short of pfcwd's 99 %)."""
    slot = 100 * MS
    iv = sc.pauses.setdefault((port, prio, d), [])
    for k in range(sc.duration_ns // slot):
        if rng.random() < busy:
            start = sc.t0 + k * slot + rng.randrange(0, 5 * MS)
            length = int(min(rng.uniform(0.02, 1.3), 0.95) * (slot - 6 * MS))
            iv.append((start, start + length))


def _merge(iv: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for s, e in sorted(iv):
        if out and s <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def make_scenario(seed: int, profile: str | None = None, family: str | None = None,
                  anomalies: list[str] | None = None) -> CounterScenario:
    """One scenario; profile, family and anomalies follow from the seed unless given."""
    rng = random.Random(seed)
    profile = profile or PROFILES[seed % len(PROFILES)]
    if family is None:
        fams = FAMILIES if profile in PHY_PROFILES else FAMILIES[:2]
        family = fams[(seed // len(PROFILES)) % len(fams)]
    if family == "phy-flap" and profile not in PHY_PROFILES:
        raise ValueError(f"{profile} has no PHY link-down counter in `ethtool -S`")
    if anomalies is None:
        anomalies = [a for a, every in (("wrap", 4), ("reset", 3), ("vanish", 5), ("relist", 6), ("reset-in-storm", 8))
                     if rng.randrange(every) == 0]
    anomalies = list(anomalies)
    if profile == "bnxt_en" and "repeats" not in anomalies:
        anomalies.append("repeats")
    bnxt = profile == "bnxt_en"
    sonic = profile == "sonic"
    ports = [f"Ethernet{4 * i}" if sonic else f"eth{i}" for i in range(rng.randint(2, 4))]
    sc = CounterScenario(
        seed=seed, profile=profile, family=family, ports=ports,
        t0=(1_760_000_000 + seed * 3600) * S, duration_ns=rng.randint(10, 14) * S,
        poll_ns=200 * MS if sonic else 100 * MS, refresh_ns=S if bnxt else 200 * MS if sonic else 0,
        priorities={p: sorted(rng.sample(range(8), rng.randint(1, 3))) for p in ports},
        anomalies=anomalies)
    # healthy PFC everywhere (lighter where storms and flaps are the point)
    busy = 0.45 if family == "pfc" else 0.2
    for port in ports:
        for prio in sc.priorities[port]:
            for d in ("rx", "tx"):
                if rng.random() < 0.7:
                    _background(rng, sc, port, prio, d, busy * rng.uniform(0.3, 1.0))
    # storms: an unbroken pause, the background's bursts swallowed
    if family == "storm":
        taken: dict[tuple, list] = {}
        for _ in range(rng.randint(1, 3)):
            port = rng.choice(ports)
            prio = rng.choice(sc.priorities[port])
            d = rng.choice(("rx", "tx"))
            # long enough for the driver's cadence to see it: bnxt's copies a second apart need
            # two whole copies inside (three where a reload takes one of them)
            lo = (4.0 if "reset-in-storm" in anomalies else 2.5) if bnxt else 0.6
            length = int(rng.uniform(lo, lo + 2.5) * S) if bnxt else int(rng.uniform(lo, 3.5) * S)
            start = sc.t0 + rng.randint(1 * S, sc.duration_ns - length - 2 * S)
            start -= start % MS
            others = taken.setdefault((port, prio), [])
            if any(s - 2 * S < start + length and start < e + 2 * S for s, e in others):
                continue  # two storms of one priority need a clear gap to be two
            others.append((start, start + length))
            sc.storms.append(StormTruth(port, prio, start, start + length, d))
            iv = sc.pauses.setdefault((port, prio, d), [])
            # the background on either side stays clear of the storm by a poll
            iv[:] = [(s, e) for s, e in iv if e < start - 150 * MS or s > start + length + 150 * MS]
            iv.append((start, start + length))
        sc.storms.sort(key=lambda s: s.start_ns)
    if family == "phy-flap":
        for _ in range(rng.randint(1, 3)):
            port = rng.choice(ports)
            ts = sc.t0 + rng.randint(1 * S, sc.duration_ns - 2 * S)
            if any(f.port == port and abs(f.ts_ns - ts) < (2 * S if bnxt else 300 * MS) for f in sc.flaps):
                continue  # one poll (bnxt: one copy) holds them together: the count says 2, the truth 2 too, but
                # the bounds can't separate them; keep flaps a copy apart
            sc.flaps.append(FlapTruth(port, ts))
        sc.flaps.sort(key=lambda f: f.ts_ns)
    for key in sc.pauses:
        sc.pauses[key] = _merge(sc.pauses[key])
    # anomalies
    busy_spans = [(s.start_ns - 500 * MS, s.end_ns + 500 * MS) for s in sc.storms] + \
                 [(f.ts_ns - 2 * S, f.ts_ns + 2 * S) for f in sc.flaps]

    def quiet_time() -> int | None:
        for _ in range(50):
            t = sc.t0 + rng.randint(2 * S, sc.duration_ns - 2 * S)
            if not any(a <= t <= b for a, b in busy_spans):
                return t
        return None

    if "wrap" in anomalies:
        if family == "storm" and profile in ("mlx5_core", "bnxt_en", "sonic"):
            # a 32-bit duration counter that wraps in the middle of the first storm
            st = sc.storms[0] if sc.storms else None
            if st:
                name = {"mlx5_core": f"{st.direction}_prio{st.priority}_pause_duration",
                        "bnxt_en": f"pfc_pri{st.priority}_{st.direction}_duration_us",
                        "sonic": f"SAI_PORT_STAT_PFC_{st.priority}_{st.direction.upper()}_PAUSE_DURATION_US"}[profile]
                mid = (st.start_ns + st.end_ns) // 2
                before = sc._paused_us(st.port, st.priority, st.direction, mid)
                sc.wrap32.add(name)
                sc.wrap_base[(st.port, name)] = WRAP - before
        elif family == "storm" and sc.storms and profile in ("ice", "i40e"):
            # Intel: the XOFF count (a 32-bit register the driver extends) as a 32-bit count wrapping mid-storm
            st = sc.storms[0]
            name = (f"{st.direction}_priority_{st.priority}_xoff.nic" if profile == "ice"
                    else f"port.{st.direction}_priority_{st.priority}_xoff_{st.direction}")
            mid = (st.start_ns + st.end_ns) // 2
            sc.wrap32.add(name)
            sc.wrap_base[(st.port, name)] = WRAP - sc._frames(st.port, st.priority, st.direction, mid)[0]
        elif profile == "mlx5_core":
            # the 32-bit PHY counter sits just below 2^32: the first flap (if any) wraps it
            port = sc.flaps[0].port if sc.flaps else ports[0]
            sc.wrap_base[(port, "link_down_events_phy")] = WRAP - 1
    if "reset-in-storm" in anomalies and sc.storms:
        st = sc.storms[0]  # a driver reload in the middle of a storm: one storm still, not two
        sc.resets[st.port] = [(st.start_ns + st.end_ns) // 2]
    if "reset" in anomalies:
        t = quiet_time()
        if t is not None:
            sc.resets[rng.choice(ports)] = [t]
    if "vanish" in anomalies:
        t = quiet_time()
        if t is not None:
            port = rng.choice(ports)
            prio = rng.choice(sc.priorities[port])
            off, on = t - 300 * MS, t + 700 * MS
            # PFC off on it: no pause then, and no storm of it nearby
            if not any(s.port == port and s.priority == prio for s in sc.storms):
                sc.vanish[port] = (prio, off, on)
                for d in ("rx", "tx"):
                    key = (port, prio, d)
                    if key in sc.pauses:
                        sc.pauses[key] = [(s, e) for s, e in sc.pauses[key] if e < off - 100 * MS or s > on + 100 * MS]
    if "relist" in anomalies:
        t = quiet_time()
        if t is not None:
            sc.relist_at = t
            if profile == "i40e" and not sc.wrap32:
                sc.i40e_old_until = t  # the driver upgraded: the old spelling until then
    elif profile == "i40e" and not sc.wrap32 and seed % 2:
        sc.i40e_old_until = sc.t0 + sc.duration_ns + S  # the old generation throughout
    return sc


def scenarios(n: int, first_seed: int = 0) -> list[CounterScenario]:
    return [make_scenario(s) for s in range(first_seed, first_seed + n)]


def wrap_and_reset_cases(first_seed: int = 10_000) -> list[CounterScenario]:
    """The acceptance's adversarial cases, per profile: a 32-bit counter wrapping
    mid-storm (the storm found once, nothing else) and a reset mid-run with no storm
    and no flap (nothing found)."""
    out = []
    for i, p in enumerate(PROFILES):
        out.append(make_scenario(first_seed + 2 * i, p, "storm", ["wrap"]))
        out.append(make_scenario(first_seed + 2 * i + 1, p, "pfc", ["reset"]))
        out.append(make_scenario(first_seed + 50 + i, p, "storm", ["reset-in-storm"]))
        if p == "mlx5_core":
            out.append(make_scenario(first_seed + 100, p, "phy-flap", ["wrap", "reset"]))
    return out


# -- scoring --------------------------------------------------------------------------------
@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: "Score") -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def score(sc: CounterScenario, storms: list[dict], flaps: list[dict]) -> dict[str, Score]:
    """Storms match by port, priority and overlapping time (a poll, or a driver copy, of
    slack); PHY flaps by port and the truth's time within the detection's bounds (the
    same slack). Each truth matches once."""
    slack = max(sc.poll_ns, sc.refresh_ns) + 50 * MS

    def storm_hit(t: StormTruth, d: dict) -> bool:
        return (t.port == d["port"] and t.priority == d["priority"] and d["start_ns"] <= t.end_ns + slack
                and t.start_ns - slack <= d["end_ns"])

    def flap_hit(t: FlapTruth, d: dict) -> bool:
        return t.port == d["port"] and d["down_ns"] - slack <= t.ts_ns <= d["up_ns"] + slack

    return {"storms": _match(sc.storms, storms, storm_hit), "phy_flaps": _match(sc.flaps, flaps, flap_hit)}


def _match(truth: list, found: list[dict], hit) -> Score:
    """Each detection against the first truth it hits not matched yet."""
    out, used = Score(), set()
    for d in found:
        i = next((i for i, t in enumerate(truth) if i not in used and hit(t, d)), None)
        if i is None:
            out.fp += 1
        else:
            used.add(i)
            out.tp += 1
    out.fn = len(truth) - len(used)
    return out


def run(sc: CounterScenario, workdir: str | os.PathLike | None = None, config=None):
    """The scenario through `flapwatch.analyze`: as `ethtool -S` logs in ``workdir`` when it
    can be one, else as samples; returns (analysis, {"storms": Score, "phy_flaps": Score})."""
    import flapwatch

    if workdir is not None and sc.log_ok:
        logs = sc.write_logs(Path(workdir) / sc.name)
        a = flapwatch.analyze(logs, config, counter_driver=sc.profile)
    else:
        a = flapwatch.analyze([], config, counter_samples=sc.samples())
    storms = a.tables["pfc_storms"].records()
    flaps = [f for f in a.tables["flaps"].records()]
    return a, score(sc, storms, flaps)
