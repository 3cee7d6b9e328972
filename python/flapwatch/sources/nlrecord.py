"""Record rtnetlink link messages into a pcap in nlmon's framing (LINKTYPE_NETLINK, 253).

    python -m flapwatch.nlrecord -o OUT.pcap [--dump] [--duration S] [--count N]
    python python/flapwatch/nlrecord.py ...      (same, without importing the package)

    with NetlinkRecorder("out.pcap", dump=True) as rec:   # records in a thread
        ...
    # or: rec = NetlinkRecorder(...); rec.start(); ...; rec.stop()

A file written here reads like a capture on an nlmon device: tshark decodes it as
netlink-route, and flapwatch reads it with the same decoder. Differences from nlmon, kept
deliberately: only datagrams received on this socket are recorded (link notifications of
RTNLGRP_LINK and the replies to our own dump request, not the request itself), and the
timestamp is taken in user space right after recvmsg (0.1-0.5 ms after the kernel queued
the message): netlink sockets do not deliver SO_TIMESTAMPNS (netlink_recvmsg never calls
sock_recv_timestamp); we still ask for it and use it if a kernel ever provides it.

Standard library only, and no package-relative imports: it must run inside a network
namespace (`ip netns exec NS python .../nlrecord.py`) without the compiled extension.
"""

from __future__ import annotations

import argparse
import errno
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

NETLINK_ROUTE = 0
RTMGRP_LINK = 1  # bitmask of RTNLGRP_LINK (group 1) for bind()
RTM_GETLINK = 18
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300  # NLM_F_ROOT | NLM_F_MATCH
SO_TIMESTAMPNS = 35  # SO_TIMESTAMPNS_OLD: struct timespec of two native longs
SO_RCVBUFFORCE = 33  # root may exceed net.core.rmem_max

LINKTYPE_NETLINK = 253
ARPHRD_NETLINK = 824
# nlmon frames reach packet sockets through dev_queue_xmit_nit(), which marks every copy
# PACKET_OUTGOING, so a real nlmon capture (libpcap) has pkttype 4 on kernel messages too.
PACKET_OUTGOING = 4
SNAPLEN = 262144
PCAP_NS_MAGIC = 0xA1B23C4D


def pcap_header(snaplen: int = SNAPLEN, linktype: int = LINKTYPE_NETLINK) -> bytes:
    """Nanosecond pcap file header in native byte order (as libpcap writes it)."""
    return struct.pack("=IHHiIII", PCAP_NS_MAGIC, 2, 4, 0, 0, snaplen, linktype)


def cooked_header(protocol: int = NETLINK_ROUTE, pkttype: int = PACKET_OUTGOING) -> bytes:
    """nlmon's 16-byte cooked header: pkttype, hatype 824, halen 0, 8 address bytes, family."""
    return struct.pack(">HHH8sH", pkttype, ARPHRD_NETLINK, 0, bytes(8), protocol)


def pcap_record(ts_ns: int, payload: bytes, orig_len: int | None = None) -> bytes:
    caplen = min(len(payload), SNAPLEN)
    sec, nsec = divmod(ts_ns, 1_000_000_000)
    return struct.pack("=IIII", sec, nsec, caplen, orig_len or len(payload)) + payload[:caplen]


def getlink_dump_request(seq: int) -> bytes:
    """RTM_GETLINK dump: every link's current state, including its carrier counters."""
    ifinfomsg = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0)
    return struct.pack("=IHHII", 16 + len(ifinfomsg), RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + ifinfomsg


class NetlinkRecorder:
    """Subscribe to RTNLGRP_LINK and append each received datagram to a pcap file."""

    def __init__(self, path: str | os.PathLike, dump: bool = False, rcvbuf: int = 8 << 20,
                 groups: int = RTMGRP_LINK):
        self.path = os.fspath(path)
        self.dump = dump
        self.rcvbuf = rcvbuf
        self.groups = groups
        self.records = 0  # datagrams written
        self.overruns = 0  # ENOBUFS: the kernel dropped messages (socket buffer full)
        self._sock: socket.socket | None = None
        self._out = None
        self._wake_r, self._wake_w = os.pipe()  # stop() wakes the select() through this
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------
    def open(self) -> None:
        """Subscribe first, then write the header: once the file exists, no event is missed."""
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, self.rcvbuf)
        except OSError:  # not privileged: capped by net.core.rmem_max
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.bind((0, self.groups))
        self._sock = sock
        self._out = open(self.path, "wb")
        self._out.write(pcap_header())
        self._out.flush()
        if self.dump:
            sock.send(getlink_dump_request(seq=int(time.time())))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._out is not None:
            self._out.close()
            self._out = None

    def _close_wake(self) -> None:
        # Only once no loop can select() on it any more, so the fd numbers are not reused early.
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1

    def stop(self) -> None:
        """Ask the loop to end (safe from a signal handler or another thread); join a thread."""
        self._stopping.set()
        if self._wake_w >= 0:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
            self._thread = None
            self._close_wake()

    def start(self) -> "NetlinkRecorder":
        """Open now (so the caller knows it is subscribed) and record in a background thread."""
        self.open()
        self._thread = threading.Thread(target=self._loop, name="nlrecord", daemon=True)
        self._thread.start()
        return self

    def __enter__(self) -> "NetlinkRecorder":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def run(self, duration: float | None = None, count: int | None = None, ready=None) -> int:
        """Record in the calling thread until stop(), the duration or the count; returns records.
        `ready()` is called once subscribed (the file header is on disk by then)."""
        self.open()
        if ready is not None:
            ready()
        self._loop(duration, count)
        self._close_wake()
        return self.records

    # -- the loop ------------------------------------------------------------------
    def _loop(self, duration: float | None = None, count: int | None = None) -> None:
        assert self._sock is not None and self._out is not None
        deadline = None if duration is None else time.monotonic() + duration
        try:
            while not self._stopping.is_set() and (count is None or self.records < count):
                timeout = None if deadline is None else deadline - time.monotonic()
                if timeout is not None and timeout <= 0:
                    break
                ready, _, _ = select.select([self._sock, self._wake_r], [], [], timeout)
                if self._sock in ready:
                    self._receive_one()
        finally:
            self.close()

    def _receive_one(self) -> None:
        try:
            data, ancdata, flags, _ = self._sock.recvmsg(SNAPLEN, socket.CMSG_SPACE(16))
        except OSError as e:
            if e.errno == errno.ENOBUFS:  # the kernel dropped notifications; keep going
                self.overruns += 1
                print(f"nlrecord: receive buffer overrun #{self.overruns}", file=sys.stderr)
                return
            raise
        ts_ns = time.time_ns()
        for level, kind, value in ancdata:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                sec, nsec = struct.unpack("=qq", value[:16])
                ts_ns = sec * 1_000_000_000 + nsec
        if flags & socket.MSG_TRUNC:
            print("nlrecord: datagram larger than the snaplen was truncated", file=sys.stderr)
        frame = cooked_header() + data
        self._out.write(pcap_record(ts_ns, frame))
        self._out.flush()  # a reader may be tailing the file
        self.records += 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="nlrecord", description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", required=True, help="pcap file to write (overwritten)")
    ap.add_argument("--dump", action="store_true", help="first record every link's state (RTM_GETLINK dump)")
    ap.add_argument("--duration", type=float, help="stop after this many seconds")
    ap.add_argument("--count", type=int, help="stop after this many datagrams")
    args = ap.parse_args(argv)

    rec = NetlinkRecorder(args.output, dump=args.dump)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: rec.stop())
    rec.run(args.duration, args.count,
            ready=lambda: print(f"nlrecord: listening, writing {args.output}", file=sys.stderr, flush=True))
    print(f"nlrecord: {rec.records} datagrams, {rec.overruns} overruns", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
