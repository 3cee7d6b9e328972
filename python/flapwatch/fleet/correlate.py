"""Fleet-wide correlation over the per-device tables, vectorised (pandas joins, sorts and
group-bys; no loop over rows):

- links: the two ends of a cable paired through LLDP (a port's last neighbor system name
  and port id are the other device and its port; either end naming the other is enough);
- both ends: the flaps of a link's two ends matched within ``tolerance_ms`` once the
  clock skew between the two devices is taken out; the skew per device pair is estimated
  (median) from the flaps matched within ``tolerance_ms + max_skew_ms`` and reported;
- device-wide: >= ``device_min_ports`` ports of one device going down, downs chained by
  gaps <= ``device_gap_s`` (a reboot, a line card, a power event);
- waves: devices with a device-wide event, chained by gaps <= ``wave_gap_s``, at least
  ``wave_min_devices`` of one rack or pod (a topology CSV: device,rack,pod; without one,
  the LLDP graph: a device and its neighbors) and ``wave_min_fraction`` of it;
- the ranking: links (ports without a known peer on their own) by flaps, hidden flaps,
  outages over the job budget, both-end matches and risk.

A flap's time is its up message when the flap was notified (an up after a processed down
is urgent in linkwatch, so it is stamped within a millisecond on every kernel, while a
down can wait up to a second behind other ports' changes); a hidden flap's is the message
that revealed it (up to a second late: the match allows that second more). Its down time
(the revealing message for a hidden one) is what device-wide events chain."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from flapwatch.kernel.linkwatch import HZ_NS
from flapwatch.tables.units import NS_PER_MS, NS_PER_S


@dataclass
class FleetConfig:
    tolerance_ms: float = 100.0
    max_skew_ms: float = 100.0
    device_gap_s: float = 5.0
    device_min_ports: int = 4
    wave_gap_s: float = 10.0
    wave_min_devices: int = 3
    wave_min_fraction: float = 0.5

    def to_dict(self) -> dict:
        return asdict(self)


def _short(df: pd.DataFrame) -> pd.Series:
    """The port's name without its device prefix (``leaf1:swp3`` on leaf1 -> ``swp3``)."""
    port = df["port"].astype(str)
    parts = port.str.split(":", n=1, expand=True)
    if parts.shape[1] < 2:
        return port
    own = (parts[0] == df["device"].astype(str)) & parts[1].notna()
    return parts[1].where(own, port)


def port_devices(df: pd.DataFrame) -> pd.DataFrame:
    """Each row's device as its port names it (``leaf1:swp3`` is on leaf1, as replay names ports
    once a device is known), else the device the row was read for: a capture holding several
    devices' interfaces, or named otherwise than its device, correlates by its ports."""
    if df.empty:
        return df
    parts = df["port"].astype(str).str.split(":", n=1, expand=True)
    if parts.shape[1] < 2:
        return df
    return df.assign(device=parts[0].where(parts[1].notna(), df["device"].astype(str)))


def links(lldp_events: pd.DataFrame) -> pd.DataFrame:
    """One row per cable, its ends a and b (a < b): device_a, port_a, device_b, port_b, link."""
    cols = ["link", "device_a", "port_a", "device_b", "port_b"]
    ev = lldp_events[lldp_events["event"].isin(["added", "updated", "changed"]) & lldp_events["system_name"].notna()]
    if ev.empty:
        return pd.DataFrame(columns=cols)
    last = ev.sort_values(["device", "port", "ts_ns"]).drop_duplicates(["device", "port"], keep="last")
    ends = pd.DataFrame({"d1": last["device"].astype(str).values, "p1": _short(last).values,
                         "d2": last["system_name"].astype(str).values, "p2": last["port_id"].astype(str).values})
    ends = ends[ends["d1"] != ends["d2"]]
    first = (ends["d1"] + ":" + ends["p1"]) < (ends["d2"] + ":" + ends["p2"])
    out = pd.DataFrame({
        "device_a": np.where(first, ends["d1"], ends["d2"]), "port_a": np.where(first, ends["p1"], ends["p2"]),
        "device_b": np.where(first, ends["d2"], ends["d1"]), "port_b": np.where(first, ends["p2"], ends["p1"]),
    }).drop_duplicates()
    # Each end names its peer by its last LLDP neighbor; the two ends naming each other give
    # one link. (A port recabled during the capture belongs to the link its last neighbor says.)
    out["link"] = out["device_a"] + ":" + out["port_a"] + " -- " + out["device_b"] + ":" + out["port_b"]
    return out[cols].sort_values("link").reset_index(drop=True)


def flap_times(flaps: pd.DataFrame) -> pd.DataFrame:
    """device, short port, t (match time), t_down (chain time), precise, plus the flap's columns."""
    f = flaps.copy()
    f["short"] = _short(f)
    hidden = f["hidden"].astype(bool)
    notified_up = (~hidden) & (f["up_ns"] >= 0)
    f["t"] = np.where(notified_up, f["up_ns"], np.where(hidden | (f["down_ns"] < 0), f["ts_ns"], f["down_ns"]))
    f["t_down"] = np.where(hidden | (f["down_ns"] < 0), f["ts_ns"], f["down_ns"])
    f["precise"] = notified_up.values
    return f


def _nearest(left: pd.DataFrame, lt: str, right: pd.DataFrame, rt: str, tol: int) -> pd.DataFrame:
    """Each left row's nearest right row on the same link within ``tol`` (ia, ib)."""
    left = left.sort_values(lt, kind="stable")
    right = right.sort_values(rt, kind="stable")
    m = pd.merge_asof(left, right, left_on=lt, right_on=rt, by="link", tolerance=tol, direction="nearest")
    m = m.dropna(subset=["ia", "ib"])
    return m[["link", "ia", "ib"]].astype({"ia": np.int64, "ib": np.int64})


def _mutual(a: pd.DataFrame, b: pd.DataFrame, tol: int) -> pd.DataFrame:
    """Pairs (ia, ib) each the other's nearest within ``tol``: a has link, t, ia; b link, t_adj, ib."""
    if a.empty or b.empty:
        return pd.DataFrame({"link": pd.Series([], dtype=object), "ia": np.zeros(0, np.int64), "ib": np.zeros(0, np.int64)})
    ab = _nearest(a, "t", b, "t_adj", tol)
    ba = _nearest(b, "t_adj", a, "t", tol)
    return ab.merge(ba, on=["link", "ia", "ib"])


def both_ends(flaps: pd.DataFrame, link_table: pd.DataFrame, cfg: FleetConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pairs, skew): the matched flaps of every link's two ends, and per device pair the clock
    skew estimated from them (device_b's clock minus device_a's)."""
    pair_cols = ["link", "device_a", "port_a", "device_b", "port_b", "t_a", "t_b", "down_a", "up_a", "down_b",
                 "up_b", "delta_ns", "skew_ns", "residual_ns"]
    skew_cols = ["device_a", "device_b", "skew_ns", "matches", "spread_ns"]
    f = flap_times(flaps)
    if f.empty or link_table.empty:
        return pd.DataFrame(columns=pair_cols), pd.DataFrame(columns=skew_cols)
    f = f.reset_index(drop=True)
    f["i"] = np.arange(len(f))
    a = f.merge(link_table, left_on=["device", "short"], right_on=["device_a", "port_a"])
    b = f.merge(link_table, left_on=["device", "short"], right_on=["device_b", "port_b"])
    a = a.rename(columns={"i": "ia"})
    b = b.rename(columns={"i": "ib"})
    tol = int(cfg.tolerance_ms * NS_PER_MS)
    wide = tol + int(cfg.max_skew_ms * NS_PER_MS)
    # Pass 1: candidates within the tolerance plus the largest skew; the skew per device pair.
    b["t_adj"] = b["t"]
    cand = _mutual(a[["link", "t", "ia"]], b[["link", "t_adj", "ib"]], wide + HZ_NS)
    cand = cand.assign(t_a=f["t"].values[cand["ia"].values], t_b=f["t"].values[cand["ib"].values],
                       precise=f["precise"].values[cand["ia"].values] & f["precise"].values[cand["ib"].values])
    cand = cand.merge(link_table[["link", "device_a", "device_b"]], on="link")
    cand["delta_ns"] = cand["t_b"] - cand["t_a"]
    good = cand[cand["precise"] & (cand["delta_ns"].abs() <= wide)]
    skew = good.groupby(["device_a", "device_b"])["delta_ns"].agg(
        skew_ns="median", matches="size", spread_ns=lambda x: float(np.median(np.abs(x - np.median(x))))).reset_index()
    skew["skew_ns"] = skew["skew_ns"].round().astype(np.int64)
    limit = int(cfg.max_skew_ms * NS_PER_MS)
    skew["skew_ns"] = skew["skew_ns"].clip(-limit, limit)
    # Pass 2: with the skew taken out, within the tolerance (a second more for a hidden flap).
    b = b.merge(skew[["device_a", "device_b", "skew_ns"]], on=["device_a", "device_b"], how="left")
    b["skew_ns"] = b["skew_ns"].fillna(0).astype(np.int64)
    b["t_adj"] = b["t"] - b["skew_ns"]
    m = _mutual(a[["link", "t", "ia"]], b[["link", "t_adj", "ib"]], tol + HZ_NS)
    m = m.merge(link_table, on="link")
    m = m.merge(skew[["device_a", "device_b", "skew_ns"]], on=["device_a", "device_b"], how="left")
    m["skew_ns"] = m["skew_ns"].fillna(0).astype(np.int64)
    ia, ib = m["ia"].values, m["ib"].values
    m["t_a"], m["t_b"] = f["t"].values[ia], f["t"].values[ib]
    m["down_a"], m["up_a"] = f["down_ns"].values[ia], f["up_ns"].values[ia]
    m["down_b"], m["up_b"] = f["down_ns"].values[ib], f["up_ns"].values[ib]
    m["delta_ns"] = m["t_b"] - m["t_a"]
    m["residual_ns"] = m["delta_ns"] - m["skew_ns"]
    precise = f["precise"].values[ia] & f["precise"].values[ib]
    m = m[m["residual_ns"].abs() <= np.where(precise, tol, tol + HZ_NS)]
    pairs = m[pair_cols].sort_values(["link", "t_a"]).reset_index(drop=True)
    return pairs, skew[skew_cols].sort_values(["device_a", "device_b"]).reset_index(drop=True)


def _chain_ids(key: pd.Series, t: pd.Series, gap: int) -> np.ndarray:
    """Consecutive rows (sorted by key, t) in one chain while the key stays and gaps <= gap."""
    new = (key.values[1:] != key.values[:-1]) | (np.diff(t.values) > gap)
    return np.concatenate([[0], np.cumsum(new)]) if len(t) else np.zeros(0, np.int64)


def device_wide(flaps: pd.DataFrame, cfg: FleetConfig) -> pd.DataFrame:
    """device, start_ns, end_ns, ports, flaps: many ports of one device going down together."""
    cols = ["device", "start_ns", "end_ns", "ports", "flaps"]
    if flaps.empty:
        return pd.DataFrame(columns=cols)
    f = flap_times(flaps)[["device", "port", "t_down"]].sort_values(["device", "t_down"], kind="stable")
    f["chain"] = _chain_ids(f["device"], f["t_down"], int(cfg.device_gap_s * NS_PER_S))
    g = f.groupby("chain").agg(device=("device", "first"), start_ns=("t_down", "min"), end_ns=("t_down", "max"),
                               ports=("port", "nunique"), flaps=("port", "size"))
    g = g[g["ports"] >= cfg.device_min_ports]
    return g[cols].sort_values(["start_ns", "device"]).reset_index(drop=True)


def read_topology(path: str) -> pd.DataFrame:
    """A topology CSV (device plus any of rack, pod, row, ...: each column a level) as
    (level, group, device)."""
    topo = pd.read_csv(path, dtype=str)
    if "device" not in topo.columns:
        raise ValueError(f"{path}: a topology CSV needs a 'device' column (and rack, pod, ...)")
    levels = [c for c in topo.columns if c not in ("device", "kind")]
    m = topo.melt(id_vars=["device"], value_vars=levels, var_name="level", value_name="group").dropna()
    return m[["level", "group", "device"]].reset_index(drop=True)


def lldp_groups(link_table: pd.DataFrame) -> pd.DataFrame:
    """Without a topology: each device and its LLDP neighbors form a group (level 'lldp')."""
    if link_table.empty:
        return pd.DataFrame(columns=["level", "group", "device"])
    e = pd.concat([link_table[["device_a", "device_b"]].set_axis(["group", "device"], axis=1),
                   link_table[["device_b", "device_a"]].set_axis(["group", "device"], axis=1)])
    own = pd.DataFrame({"group": e["group"].unique(), "device": e["group"].unique()})
    m = pd.concat([e, own]).drop_duplicates()
    m["level"] = "lldp"
    return m[["level", "group", "device"]].sort_values(["group", "device"]).reset_index(drop=True)


def waves(events: pd.DataFrame, membership: pd.DataFrame, cfg: FleetConfig) -> pd.DataFrame:
    """level, group, start_ns, end_ns, devices, group_devices, members: device-wide events on
    many devices of one group within seconds."""
    cols = ["level", "group", "start_ns", "end_ns", "devices", "group_devices", "members"]
    if events.empty or membership.empty:
        return pd.DataFrame(columns=cols)
    size = membership.groupby(["level", "group"])["device"].nunique().rename("group_devices").reset_index()
    e = events[["device", "start_ns"]].merge(membership, on="device")
    e = e.sort_values(["level", "group", "start_ns"], kind="stable").reset_index(drop=True)
    e["chain"] = _chain_ids(e["level"] + "\0" + e["group"], e["start_ns"], int(cfg.wave_gap_s * NS_PER_S))
    g = e.groupby("chain").agg(level=("level", "first"), group=("group", "first"), start_ns=("start_ns", "min"),
                               end_ns=("start_ns", "max"), devices=("device", "nunique"),
                               members=("device", lambda d: ",".join(sorted(set(d)))))
    g = g.merge(size, on=["level", "group"])
    g = g[(g["devices"] >= cfg.wave_min_devices) & (g["devices"] >= cfg.wave_min_fraction * g["group_devices"])]
    return g[cols].sort_values(["start_ns", "level", "group"]).reset_index(drop=True)


def ranking(ports: pd.DataFrame, link_table: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Links (and ports without a known peer) by flaps, hidden flaps, outages over the job
    budget, both-end matches and risk (the worse end's)."""
    cols = ["link", "flaps", "hidden_flaps", "outages_over_budget", "down_ns_total", "both_end_flaps", "risk",
            "flaps_a", "flaps_b"]
    if ports.empty:
        return pd.DataFrame(columns=cols)
    p = ports.copy()
    p["short"] = _short(p)
    p = p[p["short"] != "lo"]
    key_a = link_table.rename(columns={"device_a": "device", "port_a": "short"})[["link", "device", "short"]]
    key_b = link_table.rename(columns={"device_b": "device", "port_b": "short"})[["link", "device", "short"]]
    ends = pd.concat([key_a.assign(end="a"), key_b.assign(end="b")])
    p = p.merge(ends, on=["device", "short"], how="left")
    p["link"] = p["link"].fillna(p["device"] + ":" + p["short"])
    p["flaps_a"] = np.where(p["end"] == "a", p["flaps"], 0)
    p["flaps_b"] = np.where(p["end"] == "b", p["flaps"], 0)
    g = p.groupby("link").agg(flaps=("flaps", "sum"), hidden_flaps=("hidden_flaps", "sum"),
                              outages_over_budget=("outages_over_budget", "sum"), down_ns_total=("down_ns_total", "sum"),
                              risk=("risk", "max"), flaps_a=("flaps_a", "sum"), flaps_b=("flaps_b", "sum"))
    both = pairs.groupby("link").size().rename("both_end_flaps") if len(pairs) else pd.Series(dtype=np.int64, name="both_end_flaps")
    g = g.join(both, how="left").fillna({"both_end_flaps": 0}).reset_index()
    g["both_end_flaps"] = g["both_end_flaps"].astype(np.int64)
    g = g[(g["flaps"] > 0) | (g["risk"] > 0)]
    g = g.sort_values(["flaps", "hidden_flaps", "outages_over_budget", "risk", "link"],
                      ascending=[False, False, False, False, True])
    return g[cols].reset_index(drop=True)


@dataclass
class Correlation:
    links: pd.DataFrame
    both_ends: pd.DataFrame
    skew: pd.DataFrame
    device_wide: pd.DataFrame
    waves: pd.DataFrame
    ranking: pd.DataFrame

    TABLES = ("links", "both_ends", "skew", "device_wide", "waves", "ranking")


def correlate(flaps: pd.DataFrame, lldp_events: pd.DataFrame, ports: pd.DataFrame,
              topology: pd.DataFrame | None = None, cfg: FleetConfig | None = None) -> Correlation:
    cfg = cfg or FleetConfig()
    flaps, lldp_events, ports = port_devices(flaps), port_devices(lldp_events), port_devices(ports)
    lt = links(lldp_events)
    pairs, skew = both_ends(flaps, lt, cfg)
    dw = device_wide(flaps, cfg)
    membership = topology if topology is not None and len(topology) else lldp_groups(lt)
    return Correlation(lt, pairs, skew, dw, waves(dw, membership, cfg), ranking(ports, lt, pairs))
