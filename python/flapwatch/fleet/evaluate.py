"""Scoring the fleet correlation against the simulator's fleet truth (``fleet.truth.json``
from ``flapwatch simulate --devices``): precision and recall of the both-end pairs, the
device-wide events and the waves, and the recall of the injected faults."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flapwatch.fleet.correlate import Correlation
from flapwatch.tables.units import NS_PER_MS, NS_PER_S

MATCH_UP_NS = 5 * NS_PER_MS  # an observed up within this of the true one (clock offset taken out)
EVENT_NS = 2 * NS_PER_S  # an event's start within this (linkwatch can hold a down up to a second)


def _pr(tp_detected: int, detected: int, tp_truth: int, truth: int) -> dict:
    return {"precision": tp_detected / detected if detected else 1.0, "recall": tp_truth / truth if truth else 1.0,
            "detected": detected, "truth": truth}


def _true_flap(truth: dict, devices: pd.Series, ports: pd.Series, up_ns: pd.Series) -> np.ndarray:
    """Index of the true flap each observed one is (-1 none): same port, the up within 5 ms."""
    offset = {d["name"]: d["clock_offset_ns"] for d in truth["devices"]}
    tf = pd.DataFrame(truth["flaps"])
    tf["k"] = np.arange(len(tf))
    obs = pd.DataFrame({"port": ports.astype(str).values,
                        "t": (up_ns.values - devices.map(offset).fillna(0).astype(np.int64).values).astype(np.int64),
                        "j": np.arange(len(ports))})
    m = pd.merge_asof(obs.sort_values("t"), tf[["port", "up_ns", "k"]].sort_values("up_ns"), left_on="t",
                      right_on="up_ns", by="port", tolerance=MATCH_UP_NS, direction="nearest")
    out = np.full(len(obs), -1, np.int64)
    ok = m["k"].notna()
    out[m.loc[ok, "j"].values] = m.loc[ok, "k"].astype(np.int64).values
    return out


def _events(detected: pd.DataFrame, truth: list[dict], keys: list[str], offset: dict) -> dict:
    t = pd.DataFrame(truth, columns=keys + ["start_ns"])
    d = detected[keys + ["start_ns"]].copy()
    dev_offset = d[keys[0]].map(offset).fillna(0).astype(np.int64) if keys == ["device"] else 0
    d["t"] = d["start_ns"] - dev_offset
    d["j"] = np.arange(len(d))
    t["k"] = np.arange(len(t))
    m = d.merge(t, on=keys, suffixes=("", "_true"))
    m = m[(m["t"] - m["start_ns_true"]).abs() <= EVENT_NS]
    return _pr(m["j"].nunique(), len(d), m["k"].nunique(), len(t))


def score(corr: Correlation, truth: dict) -> dict:
    """{both_ends, device_wide, waves: {precision, recall, detected, truth}, injected: {...}}."""
    offset = {d["name"]: d["clock_offset_ns"] for d in truth["devices"]}
    tf = pd.DataFrame(truth["flaps"])
    pairs = corr.both_ends
    truth_pairs = int((tf["pair"] >= 0).sum() // 2) if len(tf) else 0
    if len(pairs):
        ka = _true_flap(truth, pairs["device_a"], pairs["device_a"] + ":" + pairs["port_a"], pairs["up_a"])
        kb = _true_flap(truth, pairs["device_b"], pairs["device_b"] + ":" + pairs["port_b"], pairs["up_b"])
        partner = tf["pair"].values
        right = (ka >= 0) & (kb >= 0) & (partner[np.maximum(ka, 0)] == kb)
        found = len({tuple(sorted(x)) for x in zip(ka[right].tolist(), kb[right].tolist())})
        both = _pr(int(right.sum()), len(pairs), found, truth_pairs)
    else:
        both = _pr(0, 0, 0, truth_pairs)
    out = {"both_ends": both,
           "device_wide": _events(corr.device_wide, truth["device_wide"], ["device"], offset),
           "waves": _events(corr.waves, truth["waves"], ["level", "group"], offset)}
    # The injected faults: each line card and host reboot a device-wide event on its device,
    # each rack power loss a rack wave, each pod reboot a pod wave.
    dw, wv = corr.device_wide, corr.waves
    hit, total = 0, 0
    for f in truth["faults"]:
        if f["family"] in ("linecard", "host-reboot"):
            sel = dw[dw["device"] == f["device"]]
            start = f["start_ns"] + offset[f["device"]]
        elif f["family"] in ("rack-power", "pod-reboot"):
            level, group = ("rack", f["rack"]) if f["family"] == "rack-power" else ("pod", f["pod"])
            sel = wv[(wv["level"] == level) & (wv["group"] == group)]
            start = f["start_ns"]
        else:
            continue
        total += 1
        hit += bool(((sel["start_ns"] - start).abs() <= 4 * NS_PER_S).any())
    out["injected"] = {"recall": hit / total if total else 1.0, "found": hit, "faults": total}
    return out
