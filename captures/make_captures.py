#!/usr/bin/env python3
"""Make the lab captures with real tools: lldpd, mausezahn, ip, dumpcap, tcpdump, nlrecord.

Run as root:  python3 captures/make_captures.py [--out DIR] [--quick]

Two fresh network namespaces, "switch" and "host", joined by one veth pair whose ends share
ifindex 2 (so the kernel coalesces carrier events as on a physical NIC). lldpd runs on both
ends (tx-interval 1 s), mausezahn sends a small UDP frame to the host every 20 ms (a busy
port: its silences show the outages) and injects PFC and PAUSE frames, and `ip link set
swp1 down/up` on the switch end flaps the link. The host side is recorded three ways:
dumpcap (pcapng, ns), tcpdump (classic pcap, ns) and nlrecord (rtnetlink link messages,
LINKTYPE_NETLINK). What the script drove, with its own CLOCK_REALTIME ns, goes to
lab.truth.json. All traffic stays inside the two namespaces; both are removed on exit.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from flapwatch import wire
from flapwatch.sources.pcapng import PcapngWriter

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "support"))
import netns  # noqa: E402  (tests/support/netns.py: the one place with namespace helpers)

NLRECORD = REPO / "python" / "flapwatch" / "sources" / "nlrecord.py"  # run by path: no compiled extension needed
TOOLS = ("lldpd", "lldpcli", "mausezahn", "dumpcap", "tcpdump", "mergecap", "stdbuf")
TRAFFIC_DST = "192.0.2.9"  # on the link's subnet, but nobody's address

MAC_CONTROL_DST = wire.mac_text(wire.MAC_CONTROL_DST)

SWITCH = dict(role="switch", iface="swp1", mac="02:fa:00:00:01:01", ipv4="192.0.2.1/24",
              system_name="leaf1", description="flapwatch lab switch (lldpd in a netns)",
              pfc_tlv=dict(willing=0, mbc=0, cap=8, enable=0x08))
HOST = dict(role="host", iface="ens1f0np0", mac="02:fa:00:00:07:01", ipv4="192.0.2.2/24",
            system_name="gpu-host7", description="flapwatch lab GPU host (lldpd in a netns)",
            pfc_tlv=dict(willing=1, mbc=0, cap=8, enable=0x08))
LLDP_SIDE_KEYS = ("system_name", "description", "pfc_tlv")


def pfc_tlv_config(t: dict) -> str:
    """lldpd has no DCBX; its custom-tlv emits the 802.1Qaz PFC configuration TLV (00-80-c2/11)."""
    flags = t["willing"] << 7 | t["mbc"] << 6 | t["cap"]
    return f"configure lldp custom-tlv oui 00,80,c2 subtype 11 oui-info {flags:02x},{t['enable']:02x}"

OUT_FILES = ("lab-wire.pcapng", "lab-tcpdump.pcap", "lab-netlink.pcap", "lab.pcapng", "lab.truth.json")


def ns_now() -> int:
    return time.time_ns()  # CLOCK_REALTIME, the clock the capture timestamps use


# -- MAC control frames ----------------------------------------------------------------

def quanta(**by_prio: int) -> list[int]:
    q = [0] * 8
    for key, value in by_prio.items():
        q[int(key[1:])] = value
    return q


@dataclass
class MacControl:
    """One mausezahn invocation: `count` identical frames `interval_us` apart."""

    label: str
    opcode: int
    class_enable_vector: int = 0  # PFC only
    quanta: tuple[int, ...] = ()  # PFC: 8 values; PAUSE: 1
    vlan: int | None = None
    pcp: int = 0
    count: int = 1
    interval_us: int = 0

    def frame(self) -> bytes:
        """The whole frame, zero-padded to 60 bytes like a NIC's."""
        tags = [wire.vlan_tag(self.vlan, pcp=self.pcp)] if self.vlan is not None else None
        if self.opcode == wire.OP_PFC:
            return wire.pfc_frame(SWITCH["mac"], self.class_enable_vector, self.quanta, tags)
        return wire.pause_frame(SWITCH["mac"], self.quanta[0], tags)

    def payload_after_macs(self) -> bytes:
        """Tag, ethertype, opcode, fields and padding: what mausezahn's raw mode takes."""
        return self.frame()[12:]

    def truth(self) -> dict:
        d = dict(label=self.label, opcode=self.opcode, dst=MAC_CONTROL_DST, src=SWITCH["mac"],
                 vlan=self.vlan, pcp=self.pcp if self.vlan is not None else None,
                 count=self.count, interval_us=self.interval_us, frame_len=len(self.frame()))
        if self.opcode == wire.OP_PFC:
            d.update(class_enable_vector=self.class_enable_vector, quanta=list(self.quanta))
        else:
            d.update(quanta=self.quanta[0])
        return d


def pfc_burst(label, vector, q, **kw) -> MacControl:
    return MacControl(label, wire.OP_PFC, vector, tuple(q), **kw)


def pause_burst(label, q, **kw) -> MacControl:
    return MacControl(label, wire.OP_PAUSE, 0, (q,), **kw)


PFC_SET_A = [
    pfc_burst("prio3 xoff max", 0x08, quanta(p3=0xFFFF)),
    pfc_burst("prio3 xon", 0x08, quanta()),
    pfc_burst("prio3+4 partial", 0x18, quanta(p3=0x1000, p4=0x0200)),
    pfc_burst("all prios xoff max", 0xFF, [0xFFFF] * 8),
    pfc_burst("all prios xon", 0xFF, quanta()),
    # Quanta on classes that are not enabled must be ignored by receivers.
    pfc_burst("prio0 with stray quanta on disabled prio5", 0x01, quanta(p0=0x0100, p5=0x1234)),
]
PAUSE_SET_A = [pause_burst("pause max", 0xFFFF), pause_burst("pause xon", 0x0000), pause_burst("pause 256", 0x0100)]
PFC_SET_B = [  # tagged, as some hosts send them (VLAN 100, PCP 3)
    pfc_burst("vlan100 prio3 xoff", 0x08, quanta(p3=0x8000), vlan=100, pcp=3),
    pfc_burst("vlan100 prio3 xon", 0x08, quanta(), vlan=100, pcp=3),
]
PAUSE_SET_B = [pause_burst("vlan200 pause 1024", 0x0400, vlan=200, pcp=0)]


# -- scenario timing --------------------------------------------------------------------

@dataclass
class Plan:
    warmup_s: float = 3.0  # LLDP exchanges before anything happens
    settle_s: float = 1.5  # > 1 s: linkwatch has delivered the last coalesced event
    micro_down_ms: float = 5
    osc_flaps: int = 4
    osc_down_ms: float = 50
    osc_up_ms: float = 150
    outage_s: float = 2.0
    storm_frames: int = 120  # prio 3, 0xffff quanta every 2 ms: paused > 200 ms at 10G
    traffic_interval_ms: int = 20


QUICK = Plan(warmup_s=2.0, settle_s=1.2, osc_flaps=3, outage_s=1.0, storm_frames=40)


# -- processes ----------------------------------------------------------------------------

def wait_for_text(path: Path, text: str, proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Block until a process has logged `text` (its way of saying it is capturing)."""
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited ({proc.returncode}): {path.read_text()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.args} not ready in {timeout}s: {path.read_text()}")
        time.sleep(0.02)


def popen_logged(lab: netns.Lab, ns: netns.Namespace, argv: list[str], log: Path) -> subprocess.Popen:
    """Start argv in ns with stderr to a log file (where tools say they are ready)."""
    with open(log, "w") as f:
        return lab.popen(ns, argv, stderr=f)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
    proc.wait(timeout)


class LinkDriver:
    """`ip link set` through one long-lived `ip -batch` in the switch namespace.

    A new `ip` process per command costs several ms, too slow for a 5 ms flap; a batch reads
    one line at a time. After each set we ask for `link show` and wait for its line, so the
    recorded *_done_ns is after the kernel applied the change.
    """

    def __init__(self, ns: netns.Namespace, iface: str):
        self.iface = iface
        # stdbuf: ip's stdout is a pipe, line-buffer it so each confirmation arrives at once.
        self.proc = subprocess.Popen(["stdbuf", "-oL", *ns.cmd(["ip", "-o", "-batch", "-"])],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self._command("")  # warm up: the first command of a batch is several ms slower

    def _command(self, cmd: str) -> tuple[int, int]:
        t0 = ns_now()
        self.proc.stdin.write(f"{cmd}\nlink show dev {self.iface}\n" if cmd else f"link show dev {self.iface}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        t1 = ns_now()
        if self.iface not in line:
            raise RuntimeError(f"ip -batch: unexpected reply {line!r}")
        return t0, t1

    def set(self, state: str) -> tuple[int, int]:
        return self._command(f"link set dev {self.iface} {state}")

    def flap(self, kind: str, down_s: float) -> dict:
        down_ns, down_done_ns = self.set("down")
        time.sleep(max(0.0, down_s - (ns_now() - down_done_ns) / 1e9))
        up_ns, up_done_ns = self.set("up")
        return dict(kind=kind, iface=self.iface, planned_down_ms=round(down_s * 1e3, 3),
                    down_ns=down_ns, down_done_ns=down_done_ns, up_ns=up_ns, up_done_ns=up_done_ns)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(5)


def send_mac_control(ns: netns.Namespace, frames: list[MacControl], gap_s: float = 0.05) -> list[dict]:
    """mausezahn in raw mode. Quirks: -a must be given or it reads the source MAC from the
    first hex bytes; raw mode has no 802.1Q builder (-Q) and no zero padding, so the tag and
    the padding are in the hex string."""
    sent = []
    for f in frames:
        hexstr = ":".join(f"{b:02x}" for b in f.payload_after_macs())
        argv = ["mausezahn", SWITCH["iface"], "-q", "-c", str(f.count), "-a", SWITCH["mac"], "-b", MAC_CONTROL_DST]
        if f.count > 1:
            argv += ["-d", str(f.interval_us)]
        t0 = ns_now()
        ns.run([*argv, hexstr])
        sent.append(dict(f.truth(), start_ns=t0, end_ns=ns_now()))
        time.sleep(gap_s)
    return sent


def carrier_counts(ns: netns.Namespace, iface: str) -> dict:
    return {k: int(ns.read_sys(iface, f"carrier_{k}")) for k in ("changes", "up_count", "down_count")}


# -- files ------------------------------------------------------------------------------

def pcap_to_pcapng(src: Path, dst: Path, if_name: str) -> None:
    """Rewrite a ns pcap as pcapng with a named interface, so the merged file names it too
    (editcap/mergecap cannot set if_name). Written by flapwatch's own pcapng writer."""
    data = src.read_bytes()
    magic, = struct.unpack_from("=I", data)
    assert magic == 0xA1B23C4D, "expects nlrecord's native-order ns pcap"
    linktype, = struct.unpack_from("=I", data, 20)
    with PcapngWriter(dst, application="flapwatch make_captures.py") as w:
        iface = w.add_interface(if_name, linktype)
        off = 24
        while off + 16 <= len(data):
            sec, nsec, caplen, origlen = struct.unpack_from("=IIII", data, off)
            w.write(iface, sec * 1_000_000_000 + nsec, data[off + 16: off + 16 + caplen], origlen)
            off += 16 + caplen


def file_info(path: Path) -> dict:
    data = path.read_bytes()
    return dict(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())


# -- the run ----------------------------------------------------------------------------

def start_recorders(lab: netns.Lab, host: netns.Namespace, rec: Path, logs: Path) -> list[subprocess.Popen]:
    """dumpcap and tcpdump on the host end; each returns once the tool says it is capturing."""
    procs = []
    for argv, ready in (
        (["dumpcap", "-q", "-i", HOST["iface"], "-w", str(rec / "lab-wire.pcapng")], "File:"),
        # --immediate-mode: otherwise frames still in the ring's open block are lost at SIGTERM.
        # -Z root: keep root ownership of the file (tcpdump drops to user tcpdump by default).
        (["tcpdump", "-i", HOST["iface"], "--time-stamp-precision=nano", "--immediate-mode",
          "-Z", "root", "-w", str(rec / "lab-tcpdump.pcap")], "listening on"),
    ):
        log = logs / f"{argv[0]}.log"
        proc = popen_logged(lab, host, argv, log)
        wait_for_text(log, ready, proc)
        procs.append(proc)
    return procs


def start_lldpds(lab: netns.Lab, sw: netns.Namespace, host: netns.Namespace) -> list[tuple[netns.Lldpd, dict]]:
    daemons = []
    for ns, side in ((sw, SWITCH), (host, HOST)):
        started = ns_now()
        daemon = lab.lldpd(ns, side["iface"], side["system_name"], tx_interval=1,
                           description=side["description"], extra_config=(pfc_tlv_config(side["pfc_tlv"]),))
        daemons.append((daemon, dict(side=side["role"], system_name=side["system_name"],
                                     chassis_mac=side["mac"], port_mac=side["mac"], port_desc=side["iface"],
                                     description=side["description"], pfc_tlv=side["pfc_tlv"],
                                     tx_interval_s=1, ttl_s=4, started_ns=started)))
    return daemons


def start_traffic(lab: netns.Lab, sw: netns.Namespace, plan: Plan) -> tuple[subprocess.Popen, dict]:
    """Switch -> host frames every 20 ms, so the host's wire falls silent while the link is down.
    mausezahn keeps going through ENETDOWN; the host drops the datagrams silently (not its
    address, no forwarding), so nothing answers."""
    src = SWITCH["ipv4"].split("/")[0]
    proc = lab.popen(sw, ["mausezahn", SWITCH["iface"], "-q", "-c", "0", "-d", f"{plan.traffic_interval_ms}m",
                          "-a", SWITCH["mac"], "-b", HOST["mac"], "-A", src, "-B", TRAFFIC_DST,
                          "-t", "udp", "sp=49152,dp=4791"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, dict(kind="UDP, no payload (42-byte frames), switch -> host", src=src, dst=TRAFFIC_DST,
                      sport=49152, dport=4791, interval_ms=plan.traffic_interval_ms, start_ns=ns_now())


def drive_scenario(sw: netns.Namespace, host: netns.Namespace, plan: Plan, truth: dict,
                   mac_control: bool = True) -> None:
    """PFC/PAUSE, then flaps (micro, oscillation, storm + outage), then tagged PFC/PAUSE.
    mac_control=False: the flaps alone (no PFC/PAUSE frames, no storm)."""
    if mac_control:
        truth["pfc"] += send_mac_control(sw, PFC_SET_A)
        truth["pause"] += send_mac_control(sw, PAUSE_SET_A)
        time.sleep(1.0)

    truth["host_carrier_before"] = carrier_counts(host, HOST["iface"])
    driver = LinkDriver(sw, SWITCH["iface"])
    try:
        truth["flaps"].append(driver.flap("micro", plan.micro_down_ms / 1e3))
        time.sleep(plan.settle_s)
        for _ in range(plan.osc_flaps):
            truth["flaps"].append(driver.flap("oscillation", plan.osc_down_ms / 1e3))
            time.sleep(plan.osc_up_ms / 1e3)
        time.sleep(plan.settle_s)

        if mac_control:
            # A priority-3 pause storm, then the long outage right after it (a PFC-linked flap).
            storm = [pfc_burst("prio3 storm", 0x08, quanta(p3=0xFFFF), count=plan.storm_frames, interval_us=2000),
                     pfc_burst("prio3 storm end xon", 0x08, quanta())]
            truth["pfc"] += send_mac_control(sw, storm, gap_s=0.0)
            time.sleep(0.1)
        truth["flaps"].append(driver.flap("outage", plan.outage_s))
    finally:
        driver.close()
    for flap in truth["flaps"]:
        flap["observed_on"] = HOST["iface"]  # its carrier follows the switch end's admin state
    time.sleep(plan.settle_s + 0.5)  # LLDP resumes; the last carrier event is delivered

    if mac_control:
        truth["pfc"] += send_mac_control(sw, PFC_SET_B)
        truth["pause"] += send_mac_control(sw, PAUSE_SET_B)
        time.sleep(plan.settle_s)
    truth["host_carrier_after"] = carrier_counts(host, HOST["iface"])


REALTIME_PRIORITY = 10


@contextlib.contextmanager
def realtime_thread(enabled: bool = True):
    """SCHED_FIFO for the calling thread (and the processes it starts) while inside."""
    if not enabled:
        yield
        return
    policy, param = os.sched_getscheduler(0), os.sched_getparam(0)
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
    try:
        yield
    finally:
        os.sched_setscheduler(0, policy, param)


def record(rec: Path, plan: Plan, *, same_ifindex: bool = True, mac_control: bool = True,
           realtime: bool = False, logs: Path | None = None) -> dict:
    """Record one lab run into the directory rec (OUT_FILES there) and return its truth.

    same_ifindex: both veth ends at ifindex 2 (carrier events coalesced as on a physical NIC);
    False puts them at 2 and 3, so every carrier change is notified. mac_control=False leaves
    out the PFC/PAUSE frames and the storm (the flaps, LLDP and the traffic only).
    realtime: run nlrecord and the flap driver at SCHED_FIFO priority 10 (both mostly sleep).
    nlrecord's timestamps are taken in user space: on a busy 2-core machine a normal-priority
    recorder stamped a carrier message 42 ms late (12 ms under a CPU hog, under 4 ms at
    SCHED_FIFO); and a descheduled driver turns a 5 ms flap into 50. Tool logs go to logs
    (default: rec). On an exception the namespaces and processes are gone, the
    files in rec are whatever was written.
    """
    logs = rec if logs is None else logs
    truth: dict = dict(
        about=__doc__.split("\n\n")[0],
        clock="time.time_ns() (CLOCK_REALTIME) in make_captures.py; *_ns fields are ns since the epoch",
        quick=plan is QUICK,
        plan=vars(plan),
        links={side["role"]: {k: v for k, v in side.items() if k not in LLDP_SIDE_KEYS}
               for side in (SWITCH, HOST)},
        flaps=[], pfc=[], pause=[],
    )
    with netns.Lab() as lab:
        sw, host = lab.namespace("switch"), lab.namespace("host")
        print(f"namespaces: {sw.name} {host.name}", file=sys.stderr, flush=True)
        lab.veth(sw, SWITCH["iface"], host, HOST["iface"], same_ifindex=same_ifindex,
                 a_mac=SWITCH["mac"], b_mac=HOST["mac"], up=False)
        for ns, side in ((sw, SWITCH), (host, HOST)):
            truth["links"][side["role"]]["ifindex"] = ns.ifindexes()[side["iface"]]

        # Netlink first, with a dump: the file starts with the link's initial state (down).
        nl_log = logs / "nlrecord.log"
        nl_argv = [sys.executable, str(NLRECORD), "-o", str(rec / "lab-netlink.pcap"), "--dump"]
        if realtime:
            nl_argv = ["chrt", "-f", str(REALTIME_PRIORITY), *nl_argv]  # chrt execs: the pid stays nlrecord's
        nlrec = popen_logged(lab, host, nl_argv, nl_log)
        wait_for_text(nl_log, "listening", nlrec)
        for ns, side in ((sw, SWITCH), (host, HOST)):
            ns.run(["ip", "addr", "add", side["ipv4"], "dev", side["iface"]])
            ns.run(["ip", "link", "set", side["iface"], "up"])

        captures = start_recorders(lab, host, rec, logs)
        lldpds = start_lldpds(lab, sw, host)
        traffic, truth["traffic"] = start_traffic(lab, sw, plan)
        time.sleep(plan.warmup_s)  # a few LLDPDUs each way before anything happens

        with realtime_thread(realtime):  # ip -batch, started in there, inherits it
            drive_scenario(sw, host, plan, truth, mac_control=mac_control)

        stop(traffic, signal.SIGINT)
        truth["traffic"]["stop_ns"] = ns_now()
        for daemon, info in lldpds:  # SIGTERM: each sends a shutdown LLDPDU (TTL 0)
            info["stopped_ns"] = ns_now()
            daemon.stop()
            time.sleep(0.2)
        truth["lldp"] = [info for _, info in lldpds]
        time.sleep(0.5)
        for proc in (*captures, nlrec):
            stop(proc)

    # Merge by time into one multi-interface pcapng; the netlink interface gets a name.
    nl_ng = logs / "lab-netlink.pcapng"
    pcap_to_pcapng(rec / "lab-netlink.pcap", nl_ng, "nlmon0")
    subprocess.run(["mergecap", "-w", str(rec / "lab.pcapng"), str(rec / "lab-wire.pcapng"), str(nl_ng)],
                   check=True)
    truth["files"] = {name: file_info(rec / name) for name in OUT_FILES[:-1]}
    (rec / "lab.truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    return truth


def run(out: Path, plan: Plan) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    # Record into a temporary dir and move the files at the end: a failed or interrupted run
    # never leaves a half-written set (or one that disagrees with lab.truth.json) in `out`.
    tmp = Path(tempfile.mkdtemp(prefix="fwcap-"))
    rec = tmp / "out"
    rec.mkdir()
    try:
        truth = record(rec, plan, logs=tmp)
        for name in OUT_FILES:
            os.chmod(rec / name, 0o644)  # dumpcap writes 0600
            shutil.move(rec / name, out / name)
        return truth
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE, help="output directory (default: captures/)")
    ap.add_argument("--quick", action="store_true", help="shorter waits and outage (about 12 s)")
    args = ap.parse_args(argv)
    netns.require_root_and_tools(*TOOLS)
    # SIGTERM unwinds like Ctrl-C, so the Lab removes namespaces and processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t0 = time.monotonic()
    truth = run(args.out, QUICK if args.quick else Plan())
    for name, info in truth["files"].items():
        print(f"{info['bytes']:>8}  {args.out / name}")
    print(f"{len(truth['flaps'])} flaps, {sum(f['count'] for f in truth['pfc'])} PFC, "
          f"{sum(f['count'] for f in truth['pause'])} PAUSE frames in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
