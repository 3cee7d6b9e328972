"""Network-namespace helpers for tests and scripts: the one place that creates namespaces.

Everything here runs real tools (ip, lldpd, lldpcli) as root and keeps all traffic inside
namespaces it created. A `Lab` owns what it made: on exit (also after an exception or
SIGTERM turned into SystemExit) it stops its processes, kills whatever is still running in
its namespaces and deletes them, so a failed run leaves nothing behind.

    with Lab() as lab:
        sw, host = lab.namespace("sw"), lab.namespace("host")
        lab.veth(sw, "swp1", host, "eth0", same_ifindex=True)
        lab.lldpd(sw, "swp1", "leaf1")
        host.run(["ip", "link"])

Standard library only, so scripts outside the test suite (captures/make_captures.py) can
import it by path.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "fw"

# linkwatch's rate limit and work queue are one per kernel, shared by every namespace: a flap
# in one lab delays the notifications of another lab's flaps. Labs therefore run one at a
# time machine-wide (pytest runs them one after the other anyway; this keeps concurrent
# sessions, benches and scripts from skewing each other's link-message timing). Reentrant
# within a process: a fixture's lab may be open while a test opens another.
KERNEL_LOCK = Path(tempfile.gettempdir()) / "flapwatch-netns.lock"
_kernel_lock: dict = {"fd": None, "depth": 0}


def _hold_kernel() -> None:
    if _kernel_lock["depth"] == 0:
        fd = os.open(KERNEL_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"netns: waiting for another lab to finish ({KERNEL_LOCK}: linkwatch is kernel-wide)",
                  file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        _kernel_lock["fd"] = fd
    _kernel_lock["depth"] += 1


def _release_kernel() -> None:
    _kernel_lock["depth"] -= 1
    if _kernel_lock["depth"] == 0:
        os.close(_kernel_lock["fd"])  # closing the only descriptor drops the flock
        _kernel_lock["fd"] = None


def require_root_and_tools(*tools: str) -> None:
    """Raise (never skip) when not root or a tool is missing: a missing tool is a setup bug."""
    if os.geteuid() != 0:
        raise RuntimeError("network namespaces need root")
    missing = [t for t in ("ip", *tools) if shutil.which(t) is None]
    if missing:
        raise RuntimeError(f"missing tools: {', '.join(missing)}")


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    kw.setdefault("check", True)
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    try:
        return subprocess.run(cmd, **kw)
    except subprocess.CalledProcessError as e:
        raise RuntimeError(f"{' '.join(cmd)} failed ({e.returncode}): {e.stderr or e.stdout}") from e


@dataclass
class Namespace:
    name: str

    def cmd(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, argv: list[str], **kw) -> subprocess.CompletedProcess:
        return _run(self.cmd(argv), **kw)

    def popen(self, argv: list[str], **kw) -> subprocess.Popen:
        # `ip netns exec` execs the command, so the Popen pid is the command's pid.
        return subprocess.Popen(self.cmd(argv), **kw)

    def ifindexes(self) -> dict[str, int]:
        links = json.loads(_run(["ip", "-n", self.name, "-j", "link", "show"]).stdout)
        return {link["ifname"]: link["ifindex"] for link in links}

    def read_sys(self, iface: str, attr: str) -> str:
        # `ip netns exec` mounts a sysfs of the namespace, so /sys/class/net is this namespace's.
        return self.run(["cat", f"/sys/class/net/{iface}/{attr}"]).stdout.strip()

    def pids(self) -> list[int]:
        out = _run(["ip", "netns", "pids", self.name], check=False).stdout
        return [int(p) for p in out.split()]


@dataclass
class Lldpd:
    """One lldpd per namespace, with its own control socket, pid file and config."""

    ns: Namespace
    system_name: str
    socket: Path
    proc: subprocess.Popen
    log: Path

    def cli(self, *args: str) -> str:
        return self.ns.run(["lldpcli", "-u", str(self.socket), *args]).stdout

    def config(self) -> dict[str, str]:
        out = self.cli("-f", "keyvalue", "show", "configuration")
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM: lldpd then sends a shutdown LLDPDU (TTL 0) on each port before exiting."""
        _terminate(self.proc, timeout)


def _terminate(proc: subprocess.Popen, timeout: float = 5.0, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


@dataclass
class Lab:
    """Owns namespaces and processes; `close()` (or leaving the `with`) removes all of them."""

    namespaces: list[Namespace] = field(default_factory=list)
    procs: list[subprocess.Popen] = field(default_factory=list)
    workdir: Path | None = None
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    holds_kernel: bool = False

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _work(self) -> Path:
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{self.tag}-"))
            # lldpd's unprivileged child (user _lldpd) creates its socket lock next to the socket.
            os.chmod(self.workdir, 0o755)
        return self.workdir

    def namespace(self, role: str) -> Namespace:
        """A fresh namespace `fw<tag>-<role>`, lo up, IPv6 off (no DAD/MLD chatter on the wire)."""
        if not self.holds_kernel:
            _hold_kernel()
            self.holds_kernel = True
        ns = Namespace(f"{PREFIX}{self.tag}-{role}")
        _run(["ip", "netns", "add", ns.name])
        self.namespaces.append(ns)
        ns.run(["ip", "link", "set", "lo", "up"])
        ns.run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
        return ns

    def veth(
        self,
        a: Namespace,
        a_name: str,
        b: Namespace,
        b_name: str,
        *,
        same_ifindex: bool | None = None,
        a_mac: str | None = None,
        b_mac: str | None = None,
        up: bool = True,
    ) -> int | None:
        """A veth pair a_name@a <-> b_name@b. Returns the shared ifindex when asked for one.

        same_ifindex: True, both ends get the same ifindex. The kernel treats a carrier
        change as urgent when a device's ifindex differs from its iflink (the peer's index),
        so only with equal indexes are carrier events rate-limited and coalesced by linkwatch
        the way they are on a physical NIC. False: different indexes (a's, then a's + 1), so
        every carrier change is notified. None: the kernel's choice; ifindexes are allocated
        per namespace, so in two fresh namespaces that is the same index (2) on both ends.
        """
        a_opts, b_opts, index = [], [], None
        if same_ifindex is not None:
            used = set(a.ifindexes().values()) | set(b.ifindexes().values())
            index = max(used, default=1) + 1
            a_opts, b_opts = ["index", str(index)], ["index", str(index if same_ifindex else index + 1)]
            if not same_ifindex:
                index = None
        if a_mac:
            a_opts += ["address", a_mac]
        if b_mac:
            b_opts += ["address", b_mac]
        _run(["ip", "-n", a.name, "link", "add", a_name, *a_opts, "type", "veth",
              "peer", "name", b_name, "netns", b.name, *b_opts])
        if up:
            a.run(["ip", "link", "set", a_name, "up"])
            b.run(["ip", "link", "set", b_name, "up"])
        return index

    def popen(self, ns: Namespace, argv: list[str], **kw) -> subprocess.Popen:
        """Start a process in ns that the lab will stop on close."""
        proc = ns.popen(argv, **kw)
        self.procs.append(proc)
        return proc

    def lldpd(
        self,
        ns: Namespace,
        iface: str,
        system_name: str,
        *,
        tx_interval: int = 1,
        description: str | None = None,
        extra_config: tuple[str, ...] = (),
        timeout: float = 10.0,
    ) -> Lldpd:
        """Start lldpd on iface in ns and wait until it has applied its configuration.

        Its own control socket (-u), pid file (-p) and config (-O) keep instances in different
        namespaces apart. Config goes through -O rather than lldpcli afterwards because lldpd
        stays paused until that config's implicit `resume`: the first LLDPDU already carries
        the system name and tx interval. lldpd drops to user _lldpd and chroots into
        /run/lldpd (shared by all instances, harmless); the work dir is made world-readable so
        the unprivileged side can reach its socket.
        """
        work = self._work()
        stem = f"lldpd-{ns.name}"
        conf = work / f"{stem}.conf"
        conf.write_text("\n".join([
            f"configure system hostname {system_name}",
            f"configure lldp tx-interval {tx_interval}",
            *extra_config,
        ]) + "\n")
        sock, log = work / f"{stem}.sock", work / f"{stem}.log"
        argv = ["lldpd", "-d", "-I", iface, "-u", str(sock), "-p", str(work / f"{stem}.pid"), "-O", str(conf)]
        if description:
            argv += ["-S", description]
        with open(log, "w") as logf:
            proc = self.popen(ns, argv, stdout=logf, stderr=subprocess.STDOUT)
        daemon = Lldpd(ns, system_name, sock, proc, log)
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"lldpd in {ns.name} exited ({proc.returncode}): {log.read_text()}")
            if sock.exists() and "resume operations" in log.read_text():
                if daemon.config().get("configuration.config.hostname") == system_name:
                    return daemon
            if time.monotonic() > deadline:
                raise RuntimeError(f"lldpd in {ns.name} not ready after {timeout}s: {log.read_text()}")
            time.sleep(0.05)

    def close(self) -> None:
        """Stop our processes, kill leftovers inside our namespaces, delete the namespaces."""
        for proc in reversed(self.procs):
            _terminate(proc, timeout=5.0)
        self.procs.clear()
        for ns in reversed(self.namespaces):
            # Anything still inside was started by us (e.g. children of our processes).
            for sig in (signal.SIGTERM, signal.SIGKILL):
                pids = ns.pids()
                for pid in pids:
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
                deadline = time.monotonic() + 2.0
                while pids and ns.pids() and time.monotonic() < deadline:
                    time.sleep(0.05)
            _run(["ip", "netns", "del", ns.name], check=False)
        self.namespaces.clear()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        if self.holds_kernel:
            self.holds_kernel = False
            _release_kernel()


def wait_for(cond, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll cond() until it is true; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def leftover_namespaces() -> list[str]:
    """Namespaces with our prefix that still exist (tests assert this is empty after a run)."""
    out = _run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX)]
