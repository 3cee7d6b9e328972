"""Benchmark the capture core against its peers on a 5-million-frame PFC-heavy pcap.

    python bench/bench_inspect.py                 # speed: C loop, inspect, read_capture, dpkt, scapy
    python bench/bench_inspect.py --rss           # peak RSS of `flapwatch inspect --json` on ~2 GB
    python bench/bench_inspect.py --rss --rss-sizes 1,2,4   # ... and whether it stays flat

Speed mode generates bench/out/mix_<frames>.pcap if missing (bench/generate.py), then runs,
one at a time, on a warm page cache (the capture is evicted and read back once first, so the
cache is in the same state every run; wall times; best of --repeat unless said):
  raw C loop        bench/peers/raw_loop.c (cc -O2): read() in 4 MiB blocks, ethertype and PFC /
                    PAUSE sums per record; the limit for one core. The whole process.
  read_capture      flapwatch.read_capture(CAPTURE) inside this process; alternated with the C
                    loop, so both see the same machine load.
  inspect process   `flapwatch inspect --json CAPTURE`: interpreter start, imports, read, summary,
                    JSON; the console script next to this interpreter.
  dpkt process      bench/peers/dpkt_inspect.py (dpkt.pcap.Reader + Ethernet + struct); 1 run.
  scapy             bench/peers/scapy_inspect.py on the first --scapy-frames frames; its own loop
                    time (import excluded) gives the frames/s; 1 run.
and a breakdown of the inspect process (interpreter start, `import flapwatch`, iter_capture
alone, summarize(); --profile adds a cProfile of it). Every result is checked: against the
generator's truth file, and flapwatch against the C loop, dpkt and scapy (on the slice).
Goals: inspect / dpkt >= 50, read_capture / C loop >= 0.5; --rss: peak RSS < 300 MB.
Results go to bench/out/bench_inspect.json / bench_rss.json. Exit status 1 if a check fails
(a missed goal is reported, not an error).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
PEERS = BENCH / "peers"
sys.path.insert(0, str(BENCH))
import generate  # noqa: E402

GOAL_VS_DPKT = 50.0
GOAL_VS_C = 0.5
GOAL_RSS_MB = 300.0

failures: list[str] = []


def check(what: str, ok: bool, detail: str = "") -> None:
    print(f"  check {'ok  ' if ok else 'FAIL'} {what}{'' if ok else ': ' + detail}")
    if not ok:
        failures.append(what)


def run(cmd: list[str], rss: bool = False) -> dict:
    """Run a process: wall time, CPU time (user + system, all its threads), output, and with
    rss=True its peak RSS.

    The peak RSS comes from GNU time (/usr/bin/time -f %M) wrapped around the command:
    a child forked straight from this process would report this process's RSS as its own
    peak (Linux keeps the larger of the pre-exec and post-exec high-water marks)."""
    gnu_time = rss and os.path.exists("/usr/bin/time")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as rss_file:
        argv = ["/usr/bin/time", "-f", "%M", "-o", rss_file.name] + cmd if gnu_time else cmd
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
        if code != 0:
            sys.exit(f"{' '.join(map(str, cmd))} exited {code}:\n{stderr}")
        # Without GNU time, wait4's figure: an upper bound (it includes this process's RSS).
        maxrss_kb = int(rss_file.read().split()[-1]) if gnu_time else usage.ru_maxrss
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_mb": maxrss_kb / 1024, "stdout": stdout,
            "stderr": stderr}


def rounds(rows: dict[str, list[str]], repeat: int) -> tuple[dict, dict, dict]:
    """Every row's command once untimed (Python writes its bytecode caches, as pip install
    does), then once per round, in order, `repeat` rounds (a load that comes and goes hits
    every row alike): (walls, CPU times, the last stdout), by row."""
    for cmd in rows.values():
        run(cmd)
    walls: dict[str, list[float]] = {name: [] for name in rows}
    cpus: dict[str, list[float]] = {name: [] for name in rows}
    outputs: dict[str, str] = {}
    for i in range(repeat):
        for name, cmd in rows.items():
            r = run(cmd)
            walls[name].append(r["wall"])
            cpus[name].append(r["cpu"])
            outputs[name] = r["stdout"]
        print(f"  round {i + 1}/{repeat} done, load average {os.getloadavg()[0]:.2f}", flush=True)
    return walls, cpus, outputs


def timed_run(cmd: list[str]) -> tuple[float, dict]:
    r = run(cmd)
    return r["wall"], r


def best_of(n: int, fn) -> tuple[float, object]:
    """The fastest of n calls of fn() -> (seconds, result); returns it and the last result."""
    best, result = float("inf"), None
    for _ in range(n):
        seconds, result = fn()
        best = min(best, seconds)
    return best, result


def flapwatch_cmd() -> list[str]:
    """The console script installed next to this interpreter (a pyenv shim or similar
    wrapper in front of it costs ~0.1 s that is not flapwatch's)."""
    script = Path(sysconfig.get_path("scripts")) / "flapwatch"
    return [str(script)] if script.exists() else [shutil.which("flapwatch") or "flapwatch"]


def compile_raw_loop() -> Path:
    exe = OUT / "raw_loop"
    subprocess.run(["cc", "-O2", "-o", str(exe), str(PEERS / "raw_loop.c")], check=True)
    return exe


def drop_from_page_cache(path: Path) -> None:
    """Evict the file's cached pages, so the warm-up read brings all of it back the same way.

    These VMs run DAMON with a `pageout` scheme, which evicts pages of files left idle; a
    file partly evicted and faulted back costs about twice the kernel copy time of one read
    back in one go (the C loop: 0.17-0.21 s instead of 0.08-0.10 s of system time on the
    same 823 MB), which would move the read_capture / C loop ratio."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # dirty pages (a capture just generated) are not evicted
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def ensure_capture(path: Path, frames: int | None, size_gb: float | None) -> dict:
    truth_path = path.with_name(path.name + ".truth.json")
    if not (path.exists() and truth_path.exists()):
        print(f"generating {path} ...", flush=True)
        generate.generate(path, frames, None if size_gb is None else int(size_gb * 1e9), seed=1,
                          lldp_every=100_000, nano=True)
    return json.loads(truth_path.read_text())


def same(a: dict, b: dict, keys: tuple[str, ...]) -> tuple[bool, str]:
    diff = [k for k in keys if a.get(k) != b.get(k)]
    return not diff, "differ in " + ", ".join(f"{k}: {a.get(k)} != {b.get(k)}" for k in diff)


def neighbors(summary: dict) -> list[tuple]:
    return sorted((n["port"], n["chassis_id"], n["port_id"], n["ttl"], n["system_name"], n["frames"])
                  for n in summary["lldp_neighbors"])


def slice_pcap(src: Path, dst: Path, frames: int) -> None:
    """The first `frames` records of a little-endian pcap, as a pcap."""
    with open(src, "rb") as f, open(dst, "wb") as out:
        out.write(f.read(24))
        for _ in range(frames):
            head = f.read(16)
            if len(head) < 16:
                break
            out.write(head + f.read(int.from_bytes(head[8:12], "little")))


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    git = lambda *a: subprocess.run(["git", *a], cwd=BENCH.parent, capture_output=True, text=True).stdout  # noqa: E731
    core = Path(importlib.util.find_spec("flapwatch._core").origin)
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "commit": git("rev-parse", "--short", "HEAD").strip(),
            "uncommitted_changes_in": sorted({line[3:].split("/")[0] for line in git("status", "--porcelain",
                                              "cpp", "python").splitlines()}),
            "core_built": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(core.stat().st_mtime)),
            "core_sha256": hashlib.sha256(core.read_bytes()).hexdigest()[:12],
            "loadavg_at_start": os.getloadavg()[0], "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def rate(frames: int, seconds: float) -> float:
    return frames / seconds if seconds > 0 else float("nan")


# ---------------------------------------------------------------------------- speed


def bench_speed(args) -> dict:
    import flapwatch
    from flapwatch.present.summary import summarize

    if args.capture:
        capture = args.capture.resolve()
        truth_path = capture.with_name(capture.name + ".truth.json")
        if not truth_path.exists():
            sys.exit(f"{truth_path} missing: --capture takes a pcap written by bench/generate.py")
        truth = json.loads(truth_path.read_text())
    else:
        capture = OUT / f"mix_{args.frames}.pcap"
        truth = ensure_capture(capture, args.frames, None)
    frames = truth["frames"]
    size_mb = capture.stat().st_size / 1e6
    print(f"capture {capture}: {frames:,} frames, {size_mb:,.0f} MB")
    raw_loop = compile_raw_loop()
    fw = flapwatch_cmd()
    res: dict = {"capture": str(capture), "frames": frames, "bytes": capture.stat().st_size, "machine": machine()}

    print("raw C loop and flapwatch.read_capture (in process), alternated ...", flush=True)
    drop_from_page_cache(capture)
    run([str(raw_loop), str(capture)])  # read it back in one go: a warm cache in a known state

    def read_once():
        gc.collect()
        t0 = time.perf_counter()
        cap = flapwatch.read_capture(capture)
        return time.perf_counter() - t0, cap.counts

    t_c = t_read = float("inf")
    pairs = []  # (C loop, read_capture) per round: the first read maps fresh column memory,
    for _ in range(args.repeat):  # later ones reuse the pool's; alternated, so both see the same load
        r = run([str(raw_loop), str(capture)])
        t_c = min(t_c, r["wall"])
        seconds, counts = read_once()
        t_read = min(t_read, seconds)
        pairs.append((r["wall"], seconds))
    c_out = json.loads(r["stdout"])
    check("C loop = truth (frames, ethertypes, PFC, PAUSE)", *same(c_out, truth, (
        "frames", "ethertypes", "pfc_per_priority", "pause_frames", "pause_quanta_sum")))
    check("read_capture counts = truth", counts == truth["counts"], str(counts))

    print("flapwatch inspect --json (process) ...", flush=True)
    t_inspect, r = best_of(args.repeat, lambda: timed_run(fw + ["inspect", "--json", str(capture)]))
    fw_out = json.loads(r["stdout"])
    res["inspect_maxrss_mb"] = run(fw + ["inspect", "--json", str(capture)], rss=True)["maxrss_mb"]  # untimed run
    check("inspect = truth (frames, counts, PFC, PAUSE)", *same(fw_out, truth, (
        "frames", "counts", "pfc_per_priority", "pause_frames", "pause_quanta_sum")))
    check("inspect = truth (LLDP neighbors)", neighbors(fw_out) == neighbors(truth), str(neighbors(fw_out)))
    check("inspect = C loop (PFC per priority, PAUSE quanta)",
          *same(fw_out, c_out, ("pfc_per_priority", "pause_frames", "pause_quanta_sum")))


    print("breakdown of the inspect process ...", flush=True)
    py = sys.executable
    t_py, _ = best_of(args.repeat, lambda: timed_run([py, "-c", "pass"]))
    t_import, _ = best_of(args.repeat, lambda: timed_run([py, "-c", "import flapwatch"]))
    t_import_cli, _ = best_of(args.repeat, lambda: timed_run([py, "-c", "import flapwatch.cli, flapwatch.present.summary, json"]))

    def iterate_once():
        t0 = time.perf_counter()
        n = sum(b.frames for b in flapwatch.iter_capture(capture, batch_frames=1 << 20))
        return time.perf_counter() - t0, n

    def summarize_once():
        t0 = time.perf_counter()
        s = summarize([capture]).to_json()
        json.dumps(s, separators=(",", ":"))
        return time.perf_counter() - t0, s

    t_iter, _ = best_of(args.repeat, iterate_once)
    t_summarize, _ = best_of(args.repeat, summarize_once)
    if args.profile:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.runcall(summarize_once)
        pstats.Stats(profile).sort_stats("tottime").print_stats(12)

    print("dpkt script (process, 1 run) ...", flush=True)
    r = run([py, str(PEERS / "dpkt_inspect.py"), str(capture)])
    t_dpkt, dpkt_out = r["wall"], json.loads(r["stdout"])
    check("inspect = dpkt (frames, counts, PFC, PAUSE, LLDP)", *same(fw_out, dpkt_out, (
        "frames", "counts", "pfc_per_priority", "pause_frames", "pause_quanta_sum", "lldp_neighbors")))

    print(f"scapy on the first {args.scapy_frames:,} frames (1 run) ...", flush=True)
    sliced = OUT / f"slice_{args.scapy_frames}.pcap"
    slice_pcap(capture, sliced, args.scapy_frames)
    r = run([py, str(PEERS / "scapy_inspect.py"), str(sliced)])
    scapy_out = json.loads(r["stdout"])
    t_scapy_loop = float(r["stderr"].split("loop_seconds=")[1].split()[0])
    t_scapy_proc = r["wall"]
    fw_slice = json.loads(run(fw + ["inspect", "--json", str(sliced)])["stdout"])
    check(f"inspect = scapy on the {args.scapy_frames:,}-frame slice", *same(fw_slice, scapy_out, (
        "frames", "counts", "pfc_per_priority", "pause_frames", "pause_quanta_sum", "lldp_neighbors")))
    sliced.unlink()

    scapy_frames = scapy_out["frames"]
    rows = [
        ("raw C loop (process)", t_c, rate(frames, t_c)),
        ("flapwatch inspect --json (process)", t_inspect, rate(frames, t_inspect)),
        ("flapwatch.read_capture (in process)", t_read, rate(frames, t_read)),
        ("dpkt script (process)", t_dpkt, rate(frames, t_dpkt)),
        (f"scapy, {scapy_frames:,} frames (loop)", t_scapy_loop, rate(scapy_frames, t_scapy_loop)),
        (f"scapy, {scapy_frames:,} frames (process)", t_scapy_proc, rate(scapy_frames, t_scapy_proc)),
    ]
    res["runs"] = {name: {"seconds": round(t, 4), "frames_per_s": round(fps)} for name, t, fps in rows}
    res["breakdown_s"] = {
        "python -c pass": round(t_py, 4),
        "python -c 'import flapwatch'": round(t_import, 4),
        "python -c 'import flapwatch.cli, flapwatch.present.summary, json'": round(t_import_cli, 4),
        "iter_capture alone, batch 2^20 (in process)": round(t_iter, 4),
        "summarize + to_json + dumps (in process)": round(t_summarize, 4),
        "  of which summarising (the above minus iter_capture)": round(t_summarize - t_iter, 4),
        "read_capture (in process)": round(t_read, 4),
    }
    ratio_dpkt = t_dpkt / t_inspect
    ratio_c = t_c / t_read
    res["read_capture_rounds"] = [{"c_loop_s": round(c, 4), "read_capture_s": round(t, 4), "ratio": round(c / t, 3)}
                                  for c, t in pairs]
    res["ratios"] = {"inspect_vs_dpkt": round(ratio_dpkt, 2), "read_capture_vs_c_loop": round(ratio_c, 3),
                     "dpkt_vs_scapy_loop": round(rate(frames, t_dpkt) / rate(scapy_frames, t_scapy_loop), 2)}
    res["goals"] = {"inspect_vs_dpkt >= 50": ratio_dpkt >= GOAL_VS_DPKT, "read_capture_vs_c_loop >= 0.5": ratio_c >= GOAL_VS_C}
    res["checks_failed"] = list(failures)

    print(f"\n{frames:,} frames, {size_mb:,.0f} MB, {res['machine']['cpu']}, {res['machine']['cores']} cores, "
          f"load {res['machine']['loadavg_at_start']:.2f} at start; best of {args.repeat} except dpkt/scapy")
    print(f"{'':40} {'seconds':>9} {'frames/s':>14}")
    for name, t, fps in rows:
        print(f"{name:40} {t:9.3f} {fps:14,.0f}")
    print("\ninspect process breakdown (seconds):")
    for name, t in res["breakdown_s"].items():
        print(f"  {name:58} {t:8.3f}")
    print(f"\ninspect process / dpkt process:  {ratio_dpkt:7.1f}x   (goal >= {GOAL_VS_DPKT:g}x: "
          f"{'met' if ratio_dpkt >= GOAL_VS_DPKT else 'MISSED'})")
    print(f"read_capture / raw C loop:       {ratio_c:7.3f}x   (goal >= {GOAL_VS_C:g}x: "
          f"{'met' if ratio_c >= GOAL_VS_C else 'MISSED'})")
    print("  per round (C loop s / read_capture s = ratio; round 1 is the first call, on fresh column memory): " +
          ", ".join(f"{c:.3f}/{t:.3f} = {c / t:.2f}x" for c, t in pairs))
    print(f"(inspect peak RSS {res['inspect_maxrss_mb']:.0f} MB)")
    return res


# ------------------------------------------------------------------------------ RSS


def bench_rss(args) -> dict:
    fw = flapwatch_cmd()
    res: dict = {"machine": machine(), "runs": []}
    for gb in args.rss_sizes:
        capture = OUT / f"mix_{gb:g}gb.pcap"
        truth = ensure_capture(capture, None, gb)
        print(f"flapwatch inspect --json on {capture.name} ({capture.stat().st_size / 1e9:.2f} GB, "
              f"{truth['frames']:,} frames) ...", flush=True)
        r = run(fw + ["inspect", "--json", str(capture)], rss=True)
        out = json.loads(r["stdout"])
        check(f"inspect = truth on {capture.name}", *same(out, truth, (
            "frames", "counts", "pfc_per_priority", "pause_frames", "pause_quanta_sum")))
        row = {"capture": capture.name, "bytes": capture.stat().st_size, "frames": truth["frames"],
               "seconds": round(r["wall"], 3), "frames_per_s": round(rate(truth["frames"], r["wall"])),
               "maxrss_mb": round(r["maxrss_mb"], 1)}
        res["runs"].append(row)
        if not args.keep:
            capture.unlink()
            capture.with_name(capture.name + ".truth.json").unlink()
    print(f"\n{'capture':20} {'GB':>6} {'frames':>13} {'seconds':>8} {'frames/s':>12} {'peak RSS MB':>12}")
    for row in res["runs"]:
        print(f"{row['capture']:20} {row['bytes'] / 1e9:6.2f} {row['frames']:13,} {row['seconds']:8.2f} "
              f"{row['frames_per_s']:12,} {row['maxrss_mb']:12.1f}")
    worst = max(row["maxrss_mb"] for row in res["runs"])
    res["goals"] = {"peak_rss_mb < 300": worst < GOAL_RSS_MB}
    res["checks_failed"] = list(failures)
    print(f"\npeak RSS {worst:.1f} MB (goal < {GOAL_RSS_MB:g} MB: {'met' if worst < GOAL_RSS_MB else 'MISSED'})")
    return res


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=5_000_000, help="frames in the generated capture")
    p.add_argument("--capture", type=Path, help="use this pcap (with PATH.truth.json from generate.py)")
    p.add_argument("--repeat", type=int, default=3, help="runs of the fast ones (best is kept)")
    p.add_argument("--scapy-frames", type=int, default=50_000)
    p.add_argument("--profile", action="store_true", help="also print a cProfile of summarize()")
    p.add_argument("--rss", action="store_true", help="peak-RSS mode")
    p.add_argument("--rss-sizes", type=lambda s: [float(x) for x in s.split(",")], default=[2.0],
                   help="capture sizes in GB for --rss (default 2)")
    p.add_argument("--keep", action="store_true", help="--rss: keep the big captures")
    args = p.parse_args()
    OUT.mkdir(exist_ok=True)
    res = bench_rss(args) if args.rss else bench_speed(args)
    out = OUT / ("bench_rss.json" if args.rss else "bench_inspect.json")
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"results: {out}")
    if failures:
        print(f"FAILED checks: {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
