"""Issue 14: the fleet on Dask, in one run.

    python bench/bench_fleet.py [--switches 64 --ports 32 --host-nics 8 --duration 600] [--skip-memory]

1. Accuracy: `simulate --devices 64 --ports 32` (64 switches x 32 ports and their 2,048 host
   ends on 256 hosts, 10 min, clocks off by up to +-50 ms) through `run_fleet` on an embedded
   cluster of 2 workers, scored against the fleet truth (fleet/evaluate.py).
2. Throughput and scaling on that fleet: a serial loop in this process, then 1 and 2 workers
   (the cluster started and warmed before the clock starts): devices/s and captured frames/s.
3. Memory: per-worker peak RSS (VmHWM, reset once the worker is warm) for fleets
   of 64 and 512 devices (16 and 128 switches x 12 ports, 4-NIC hosts), 2 workers; and over
   each worker's resident set when warm (flapwatch imported, before its first device).

Run it alone (2 shared cores): every figure moves with load. Writes bench/out/bench_fleet.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import machine_at_start  # noqa: E402

from flapwatch.fleet.driver import run_devices, run_serial  # noqa: E402
from flapwatch.fleet.inputs import discover  # noqa: E402
from flapwatch.sim.fabric import simulate_fabric  # noqa: E402


def cluster(workers: int):
    from distributed import Client, LocalCluster

    c = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50)
    client = Client(c)
    client.run(lambda: __import__("flapwatch.fleet.device") and __import__("flapwatch.assess.result") and None)
    return c, client


def _hwm_kb() -> int:
    """This process's peak resident set (VmHWM) since the last reset."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def _reset_hwm_kb() -> int:
    """Resets VmHWM to the current resident set (Linux >= 4.0) and returns it: ru_maxrss would
    carry the forking parent's peak into each worker."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _hwm_kb()


def timed_run(devices, out: str, workers: int, partitions: int) -> dict:
    c, client = cluster(workers)
    try:
        base = client.run(_reset_hwm_kb)  # each worker warmed (flapwatch imported), before any device
        t = time.perf_counter()
        info = run_devices(devices, out, client=client, n_partitions=partitions)
        seconds = time.perf_counter() - t
        peak = client.run(_hwm_kb)
    finally:
        client.close()
        c.close()
    frames = sum(s.frames for s in info.stats)
    return {"workers": workers, "partitions": partitions, "seconds": round(seconds, 3),
            "devices_per_s": round(len(devices) / seconds, 1), "frames_per_s": round(frames / seconds),
            "worker_peak_rss_mb": sorted(round(v / 1024, 1) for v in peak.values()),
            "worker_baseline_rss_mb": sorted(round(v / 1024, 1) for v in base.values()),
            "worker_peak_over_baseline_mb": max(round((peak[w] - base[w]) / 1024, 1) for w in peak)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--switches", type=int, default=64)
    ap.add_argument("--ports", type=int, default=32)
    ap.add_argument("--host-nics", type=int, default=8)
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--partitions", type=int, default=32, help="tasks per run (default 32)")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--wait-quiet", type=float, default=0, help="wait up to S seconds for idle CPUs first")
    args = ap.parse_args()
    from flapwatch.fleet import run_fleet
    from flapwatch.fleet.evaluate import score

    results: dict = {"machine": machine_at_start(args.wait_quiet), "load_at_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        fab = simulate_fabric(tmp / "fleet", args.switches, args.ports, duration_s=args.duration, seed=args.seed,
                              host_nics=args.host_nics)
        gen_s = time.perf_counter() - t
        size = sum(os.path.getsize(f) for f in fab.files)
        results["fleet"] = {"switches": args.switches, "ports": args.ports, "host_nics": args.host_nics,
                            "devices": len(fab.files), "host_ends": sum(1 for d in fab.truth["devices"] if d["kind"] == "host")
                            * args.host_nics, "duration_s": args.duration, "frames": fab.frames, "bytes": size,
                            "faults": len(fab.truth["faults"]), "generate_s": round(gen_s, 2)}
        print(f"fleet: {results['fleet']}", flush=True)

        c, client = cluster(2)
        try:
            t = time.perf_counter()
            r = run_fleet([fab.directory], str(tmp / "out"), topology=fab.topology_path, client=client)
            results["accuracy_run_s"] = round(time.perf_counter() - t, 2)
        finally:
            client.close()
            c.close()
        results["score"] = score(r.correlation, fab.truth)
        results["summary"] = r.summary
        print(f"score: {json.dumps(results['score'])}", flush=True)

        devices = discover([fab.directory])
        t = time.perf_counter()
        info = run_serial(devices, str(tmp / "serial"))
        serial_s = time.perf_counter() - t
        frames = sum(s.frames for s in info.stats)
        results["serial"] = {"seconds": round(serial_s, 3), "devices_per_s": round(len(devices) / serial_s, 1),
                             "frames_per_s": round(frames / serial_s)}
        print(f"serial: {results['serial']}", flush=True)
        runs = [timed_run(devices, str(tmp / f"w{w}"), w, args.partitions) for w in (1, 2)]
        results["dask"] = runs
        results["speedup_2_over_1"] = round(runs[0]["seconds"] / runs[1]["seconds"], 2)
        print(f"dask: {runs}; 2 workers / 1 = {results['speedup_2_over_1']}x", flush=True)

        if not args.skip_memory:
            mem = []
            for switches in (16, 128):
                f = simulate_fabric(tmp / f"mem{switches}", switches, 12, duration_s=args.duration, seed=args.seed,
                                    host_nics=4)
                run = timed_run(discover([f.directory]), str(tmp / f"memout{switches}"), 2, args.partitions)
                run["devices"] = len(f.files)
                mem.append(run)
                print(f"memory: {run}", flush=True)
            results["memory"] = mem
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "bench_fleet.json").write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
