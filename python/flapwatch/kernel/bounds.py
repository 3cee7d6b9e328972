"""Each flap's true down time, bounded by what linkwatch allows (kernel/linkwatch.py).

A message is a delayed run ("tick") when its device sent one one or two seconds (+ up to 36 ms
each) before; otherwise it ran at once, within ~1 ms of the change. A visible down's message is its latest
possible start; at a tick it may have waited a second. Hidden flaps lie between the port's
previous message and the one revealing them, within the second before it at a tick - or the
millisecond before it otherwise, which makes them micro-flaps.

Here (not in assess/) so that anything `flapwatch inspect` loads may use it (it loads nothing
of the assessment; docs/DESIGN.md, Layout). The flaps table's own ranges (down_earliest_ns ..
duration_max_ns) are the core's (track/link_tracker.hpp): they bound, these place. Measured
here, delayed runs came 1.020 s after the previous one (the timer wheel's level-1 bucket), past
TICK_NS; and runs for devices of other namespaces are not seen at all (docs/DESIGN.md,
"Durations with their uncertainty").
"""

from __future__ import annotations

import numpy as np

from flapwatch.kernel.linkwatch import HZ_NS, NOTIFY_DELAY_NS, TICK_LATE_NS
from flapwatch.tables.units import NS_PER_MS, NS_PER_US

# linkwatch's timing, widened by margins for what its model leaves out (messages queued behind
# others in one run, a busy kworker, the recorder's timestamps).
# a delayed run: 1 s after an earlier run, plus its timer's rounding on the jiffies wheel (up to 36 ms at HZ=250)
TICK_NS = (HZ_NS - 1 * NS_PER_MS, HZ_NS + TICK_LATE_NS + 2 * NS_PER_MS)
NOTIFY_NS = NOTIFY_DELAY_NS[1] + 600 * NS_PER_US  # a run at once follows the change by 0.3-0.9 ms
CHAINED_TICKS = (1, 2)  # seen on a veth: a port's next message 2.03 s after its own run


def _has_message_within(q_key: np.ndarray, q_t: np.ndarray, m_key: np.ndarray, m_t: np.ndarray,
                        lo_ns: int, hi_ns: int) -> np.ndarray:
    """For each query (key, t): whether a message of the same key lies in [t - hi_ns, t - lo_ns]."""
    out = np.zeros(len(q_key), bool)
    if len(q_key) == 0 or len(m_key) == 0:
        return out
    m_order = np.lexsort((m_t, m_key))
    mk, mt = np.asarray(m_key)[m_order], np.asarray(m_t, np.int64)[m_order]
    q_order = np.argsort(q_key, kind="stable")
    qk, qt = np.asarray(q_key)[q_order], np.asarray(q_t, np.int64)[q_order]
    keys, q_first = np.unique(qk, return_index=True)
    q_last = np.r_[q_first[1:], len(qk)]
    m_first, m_last = np.searchsorted(mk, keys, "left"), np.searchsorted(mk, keys, "right")
    for qs, qe, ms, me in zip(q_first, q_last, m_first, m_last):  # one pass per device
        times, t = mt[ms:me], qt[qs:qe]
        out[q_order[qs:qe]] = np.searchsorted(times, t - lo_ns, "right") > np.searchsorted(times, t - hi_ns, "left")
    return out


def flap_bounds(port: np.ndarray, device: np.ndarray, down_ns: np.ndarray, up_ns: np.ndarray,
                hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(earliest, latest) possible true down time of each flap, from what linkwatch allows.

    A message is a delayed run ("tick") when its device sent one a second (+ up to 36 ms) earlier;
    otherwise it ran at once, within ~1 ms of the change it reports. A visible down's message
    is its latest; at a tick it may have been pending since the second before. Hidden flaps lie
    between the port's previous message and the revealing one, and within the second before
    it at a tick, or the millisecond before it otherwise (then they were sub-millisecond)."""
    hidden = np.asarray(hidden, bool)
    msg_dev = np.concatenate([device[~hidden], device[up_ns >= 0]])
    msg_t = np.concatenate([down_ns[~hidden], up_ns[up_ns >= 0]])
    observed = np.where(hidden, up_ns, down_ns).astype(np.int64)
    # A run the capture cannot see (the veth peer that dev_open leaves queued, another device of
    # the kernel) may fall a second after the device's own run and put its next one another
    # second later: a message 1 or 2 rate-limit periods after one of its device is a possible tick.
    dev = np.asarray(device)
    tick = np.zeros(observed.size, bool)
    for k in CHAINED_TICKS:
        tick |= _has_message_within(dev, observed, msg_dev, msg_t, k * HZ_NS - 1 * NS_PER_MS,
                                    k * (HZ_NS + TICK_LATE_NS) + 2 * NS_PER_MS)
    hi = observed
    lo = hi - np.where(tick, TICK_NS[1], NOTIFY_NS)
    lo = np.where(hidden, np.maximum(lo, down_ns), lo)  # a hidden flap's down_ns is the previous message
    return lo, hi
