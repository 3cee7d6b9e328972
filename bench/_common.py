"""What the benchmarks share: waiting for quiet CPUs and describing the machine."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def cpu_idle(interval: float = 1.0) -> float:
    """Fraction of all CPUs idle over `interval` seconds (from /proc/stat)."""
    def sample():
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return fields[3] + fields[4], sum(fields)  # idle + iowait, total
    i0, t0 = sample()
    time.sleep(interval)
    i1, t1 = sample()
    return (i1 - i0) / max(1, t1 - t0)


def wait_quiet(limit_s: float, threshold: float = 0.9) -> float:
    """Waits up to limit_s for the CPUs to be >= threshold idle; returns the idle share seen."""
    deadline = time.monotonic() + limit_s
    idle = cpu_idle()
    while idle < threshold and time.monotonic() < deadline:
        print(f"  waiting for idle CPUs: {idle:.0%} idle", flush=True)
        idle = cpu_idle(2.0)
    return idle


def machine_at_start(wait_quiet_s: float) -> dict:
    """Waits for quiet CPUs if asked, then the machine as it is now (for the results JSON)."""
    idle = wait_quiet(wait_quiet_s) if wait_quiet_s > 0 else cpu_idle()
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "commit": commit,
            "cpu_idle_at_start": round(idle, 3), "loadavg_at_start": os.getloadavg()[0],
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}
