"""The live counter source's cost (issue 13): one GSTATS sample on veth (N µs), and the
agent sampling 8 veth interfaces at 100 Hz (< 2 % of a core). Needs root (it makes a
network namespace); writes bench/out/bench_counters.json. See bench/README.md, "Counters".

    python bench/bench_counters.py [--seconds 10] [--interfaces 8] [--hz 100]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"

INSIDE = r"""
import json, os, resource, statistics, sys, time
from flapwatch import _core
from flapwatch.live.agent import Agent
n_if, hz, seconds = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
ifaces = [f"va{i}" for i in range(n_if)]
# 1. one GSTATS sample, from Python (the ioctl sequence plus the binding) and inside (GSTATS alone)
r = _core.EthtoolReader(ifaces[0])
r.read()
names = len(r.read()[2])
lat = []
for _ in range(20000):
    t = time.perf_counter_ns(); r.read(); lat.append(time.perf_counter_ns() - t)
lat.sort()
gstats = []
for _ in range(2000):
    gstats.append(r.read()[1])
gstats.sort()
# 2. the agent's counter thread on every interface at `hz`
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
agent = Agent([], netlink=False, counters=True, counter_interfaces=ifaces, counter_interval=1.0 / hz)
agent.start()
time.sleep(1.0)  # warm up
c0, w0, s0 = cpu(), time.monotonic(), agent.stats["counters"]["samples"]
time.sleep(seconds)
c1, w1, s1 = cpu(), time.monotonic(), agent.stats["counters"]["samples"]
stats = agent.stats["counters"]
agent.stop()
print(json.dumps({
    "names": names,
    "read_us_p50": lat[len(lat) // 2] / 1e3, "read_us_p99": lat[int(len(lat) * 0.99)] / 1e3,
    "read_us_mean": sum(lat) / len(lat) / 1e3,
    "gstats_us_p50": gstats[len(gstats) // 2] / 1e3,
    "agent_interfaces": n_if, "agent_hz": hz, "agent_seconds": w1 - w0,
    "agent_samples_per_s": (s1 - s0) / (w1 - w0),
    "agent_core_percent": 100 * (c1 - c0) / (w1 - w0),
    "agent_read_us_mean": stats["read_ns_total"] / max(stats["samples"], 1) / 1e3,
    "dropped": stats["dropped"], "reads_failed": stats["reads_failed"],
}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--interfaces", type=int, default=8)
    ap.add_argument("--hz", type=float, default=100.0)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_counters: needs root (it makes a network namespace with veth pairs)")
    ns = f"fwbench{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for i in range(args.interfaces):
            subprocess.run(["ip", "-n", ns, "link", "add", f"va{i}", "type", "veth", "peer", "name", f"vb{i}"], check=True)
            subprocess.run(["ip", "-n", ns, "link", "set", f"va{i}", "up"], check=True)
            subprocess.run(["ip", "-n", ns, "link", "set", f"vb{i}", "up"], check=True)
        print(f"load average at start: {os.getloadavg()}", file=sys.stderr)
        out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", INSIDE, str(args.interfaces),
                              str(args.hz), str(args.seconds)], check=True, capture_output=True, text=True).stdout
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    result = json.loads(out.strip().splitlines()[-1])
    result["loadavg"] = os.getloadavg()
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_counters.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"one GSTATS sample on veth ({result['names']} counters): {result['read_us_p50']:.1f} µs p50, "
          f"{result['read_us_p99']:.1f} µs p99 from Python (GSSET_INFO + GSTATS + binding); "
          f"GSTATS alone {result['gstats_us_p50']:.1f} µs p50")
    print(f"agent, {result['agent_interfaces']} interfaces at {result['agent_hz']:.0f} Hz: "
          f"{result['agent_samples_per_s']:.0f} samples/s, {result['agent_core_percent']:.2f} % of a core "
          f"(limit 2 %), dropped {result['dropped']}")


if __name__ == "__main__":
    main()
