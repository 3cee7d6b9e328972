"""Port identity: which device, and for a classic pcap which interface, names a capture's
ports (docs/DECODE_RULES.md, "Ports and devices"). The core builds "device:port" from
what is resolved here, one (device, iface) pair per file; this module decides them:

    resolve_inputs(["wire.pcap", "links.pcap"])              one unnamed device; wire.pcap's
                                                             interface from links.pcap
    resolve_inputs(["leaf1/", "host7/"])                     a directory is one device
    resolve_inputs(["leaf1@swp3.pcap"])                      the file name's device part
    resolve_inputs(["a.pcap=leaf1:swp3"], device="leaf1")    a mapping, --device

``device_of_path`` is the one rule for a device from a path (fleet tools call it too).
"""

from __future__ import annotations

import glob
import os
import struct
from dataclasses import dataclass, field
# typing and pathlib are not imported at run time: replay's start resolves its inputs
# before the core runs, and numpy (imported meanwhile) brings typing anyway.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, Mapping

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".cap.gz")
# A file name "DEVICE@REST.pcap" names its device; REST names a classic pcap's interface.
DEVICE_SEPARATOR = "@"
LINKTYPE_NETLINK = 253

__all__ = ["CaptureInput", "Resolved", "CAPTURE_SUFFIXES", "capture_stem", "check_device", "device_of_path",
           "expand_inputs", "parse_mapping", "resolve_inputs", "mismatch_warnings", "device_of_port"]


def capture_stem(path: str | os.PathLike) -> str:
    """The file name without ``.gz``, then without ``.pcapng`` / ``.pcap`` / ``.cap``."""
    name = os.path.basename(os.fspath(path))
    name = name.removesuffix(".gz")
    for ext in (".pcapng", ".pcap", ".cap"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def check_device(name: str, what: str = "device name") -> str:
    """A device name is non-empty text without ':' (the separator in "device:port")."""
    if not name or ":" in name or any(c.isspace() for c in name):
        raise ValueError(f"{what} {name!r}: a device name is non-empty, without ':' or spaces")
    return name


def device_of_path(path: str | os.PathLike, directory: str | os.PathLike | None = None) -> str | None:
    """The device a capture's path names, or None: the file name's part before '@'
    ("leaf1@swp3.pcap", "leaf1@2024-05-01.pcapng.gz" -> "leaf1"), else the base name of
    ``directory``, the directory the file was found in when a directory was the input
    (one device per directory; its sub-directories holding captures are devices of their
    own; "device=leaf1" names leaf1). A file given by itself names no device from its
    directory."""
    stem = capture_stem(path)
    if DEVICE_SEPARATOR in stem:
        device = stem.split(DEVICE_SEPARATOR, 1)[0]
        if device and ":" not in device and not any(c.isspace() for c in device):
            return device
    if directory is not None:
        name = os.path.basename(os.path.normpath(os.path.abspath(os.fspath(directory))))
        name = name.removeprefix("device=")  # a hive partition's folder: device=leaf1
        if name and ":" not in name and not any(c.isspace() for c in name):
            return name
    return None


def _iface_of_stem(path: str) -> str | None:
    """A classic pcap's interface as its file name says it: the part after '@' when the
    name has a device part ("host7@ens1.pcap" -> "ens1"), else the stem (the core's
    default: None here)."""
    stem = capture_stem(path)
    if DEVICE_SEPARATOR in stem:
        device, rest = stem.split(DEVICE_SEPARATOR, 1)
        if device and rest:
            return rest
    return None


def parse_mapping(spec: str) -> tuple[str | None, str | None]:
    """"device[:iface]" -> (device, iface); "" or ":" parts are None."""
    device, _, iface = spec.partition(":")
    device = check_device(device, "mapping's device") if device else None
    return device, (iface or None)


def _split_item(item: str) -> tuple[str, str | None]:
    """"FILE=device[:iface]" (when FILE=... is not itself a file) -> (FILE, spec)."""
    if "=" in item and not os.path.exists(item):
        path, spec = item.rsplit("=", 1)
        return path, spec
    return item, None


def expand_inputs(captures) -> list[tuple[str, str | None, str | None]]:
    """Files, directories (their captures, sorted), glob patterns and "FILE=device[:iface]"
    -> (path, the directory input it came from or None, the mapping spec or None)."""
    if isinstance(captures, (str, os.PathLike)):
        captures = [captures]
    out: list[tuple[str, str | None, str | None]] = []

    def add_dir(d: str, spec: str | None) -> None:
        from pathlib import Path

        entries = sorted(Path(d).iterdir())
        out.extend((str(p), d, spec) for p in entries if p.name.endswith(CAPTURE_SUFFIXES) and not p.is_dir())
        for sub in entries:  # sub-directories holding captures: a device each
            if sub.is_dir():
                out.extend((str(p), str(sub), spec) for p in sorted(sub.iterdir())
                           if p.name.endswith(CAPTURE_SUFFIXES) and not p.is_dir())

    for item in captures:
        item, spec = _split_item(os.fspath(item))
        if os.path.isdir(item):
            add_dir(item, spec)
        elif any(c in item for c in "*?[") and not os.path.exists(item):
            matched = sorted(glob.glob(item))
            if not matched:
                raise FileNotFoundError(f"no capture matches {item!r}")
            for m in matched:
                if os.path.isdir(m):
                    add_dir(m, spec)
                else:
                    out.append((m, None, spec))
        else:
            out.append((item, None, spec))
    if not out:
        raise FileNotFoundError("no captures given")
    return out


@dataclass(frozen=True)
class CaptureInput:
    """One capture and what names its ports: ``device`` (None: only what the capture
    says), ``iface`` (a classic pcap's interface; None: its file stem), and ``how`` the
    device was decided ("mapping", "--device", "file name", "directory", "")."""

    path: str
    device: str | None = None
    iface: str | None = None
    how: str = ""

    def naming(self) -> tuple[str, str]:
        """The core's (device, iface) pair, "" for none."""
        return (self.device or "", self.iface or "")


@dataclass
class Resolved:
    """The inputs in order, and the notices the resolution gave (stderr, not warnings)."""

    inputs: list[CaptureInput]
    notices: list[str] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return [i.path for i in self.inputs]

    def naming(self) -> list[tuple[str, str]]:
        return [i.naming() for i in self.inputs]


def _match_mapping(path: str, directory: str | None, devices: Mapping):
    """The (key, spec) ``devices`` gives for a path (by the path itself or the directory
    it came from), compared as real paths; (None, None) when it gives none."""
    def real(p):
        return os.path.realpath(os.fspath(p))

    want = {real(path)} | ({real(directory)} if directory is not None else set())
    for key, spec in devices.items():
        if real(key) in want:
            return key, spec
    return None, None


def resolve_inputs(captures, *, devices: Mapping[str | os.PathLike, str] | None = None,
                   device: str | None = None, infer_iface: bool = True) -> Resolved:
    """Each capture's device and interface, by the first rule that gives one:

    1. a mapping: ``devices={path: "device[:iface]"}`` or an input "FILE=device[:iface]"
       (a directory's mapping covers its captures);
    2. ``device`` (``--device NAME``) for every capture without a mapping;
    3. the file name's device part ("leaf1@...") or the directory given as the input;
    4. none: the capture's own names (bare, or "device:port" where an if_name says so).

    A classic pcap's interface (its frames' port): the mapping's, else its file name's
    part after '@', else (``infer_iface``) the interface the link captures of the same
    device (the same resolved device, or both none) have: the one named like the file's
    stem, else the only one whose carrier changed (a notice says so); else the stem."""
    if isinstance(device, str):
        check_device(device, "--device")
    items = expand_inputs(captures)
    used: set = set()
    inputs: list[CaptureInput] = []
    for path, directory, spec in items:
        dev = iface = None
        how = ""
        if spec is None and devices:
            key, spec = _match_mapping(path, directory, devices)
            if key is not None:
                used.add(key)
        if spec is not None:
            dev, iface = parse_mapping(spec)
            how = "mapping"
        if dev is None and device:
            dev, how = device, "--device"
        if dev is None:
            dev = device_of_path(path, directory)
            if dev is not None:
                how = "file name" if DEVICE_SEPARATOR in capture_stem(path) else "directory"
        if iface is None:
            iface = _iface_of_stem(path)
        inputs.append(CaptureInput(path, dev, iface, how))
    if devices:
        unused = [os.fspath(k) for k in devices if k not in used]
        if unused:
            raise ValueError(f"devices= names captures not given: {', '.join(unused)}")
    resolved = Resolved(inputs)
    if infer_iface:
        _infer_interfaces(resolved)
    return resolved


# --------------------------------------------------------- a classic pcap's interface


def _link_types(path: str) -> tuple[str, set[int]]:
    """("pcap" | "pcapng" | "", link types): a classic pcap's, or the link types of the
    pcapng IDBs before its first packet block (where writers put them)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
            fh.seek(0)
            if head == b"\x1f\x8b":
                import gzip  # only for a compressed capture

                src = gzip.GzipFile(fileobj=fh)
            else:
                src = fh
            raw = src.read(1 << 16)
    except (OSError, EOFError):
        return "", set()
    if len(raw) >= 24:
        for order in "<>":
            if struct.unpack_from(order + "I", raw)[0] in (0xA1B2C3D4, 0xA1B23C4D):
                return "pcap", {struct.unpack_from(order + "I", raw, 20)[0] & 0xFFFF}
    if len(raw) < 12 or raw[:4] != b"\x0a\x0d\x0d\x0a":
        return "", set()
    types: set[int] = set()
    order = "<" if raw[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    off = 0
    while off + 12 <= len(raw):
        btype, length = struct.unpack_from(order + "II", raw, off)
        if length < 12 or length % 4:
            break
        if btype in (2, 3, 6):  # the first packet block
            break
        if btype == 1 and off + 10 <= len(raw):
            types.add(struct.unpack_from(order + "H", raw, off + 8)[0])
        off += length
    return "pcapng", types


def _carrier_interfaces(path: str) -> tuple[set[str], set[str]]:
    """The interfaces a capture has link messages for, and those whose carrier changed
    within it (the carrier flag or a carrier counter differs between two messages)."""
    from flapwatch.sources.capture import read_capture
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            cap = read_capture(path)
        except Exception:  # the replay reports an unreadable file itself
            return set(), set()
    import numpy as np

    link = cap.tables["link"]
    ports = np.asarray(link["port"])
    named, changed = set(), set()
    for p in np.unique(ports).tolist():
        mine = ports == p
        name = cap.strings[p]
        named.add(name)
        for col in ("carrier", "carrier_changes", "carrier_up_count", "carrier_down_count"):
            v = np.asarray(link[col])[mine]
            v = v[v >= 0]
            if len(np.unique(v)) > 1:
                changed.add(name)
                break
    return named, changed


def _infer_interfaces(resolved: Resolved) -> None:
    inputs = resolved.inputs
    kinds = [_link_types(i.path) for i in inputs]
    wire = [k for k, i in enumerate(inputs)
            if i.iface is None and kinds[k][0] == "pcap" and LINKTYPE_NETLINK not in kinds[k][1]]
    if not wire:
        return
    links = [j for j, (container, types) in enumerate(kinds) if LINKTYPE_NETLINK in types]
    scanned: dict[int, tuple[set[str], set[str]]] = {}
    for k in wire:
        me = inputs[k]
        named: set[str] = set()
        changed: set[str] = set()
        sources: list[str] = []
        for j in links:
            if inputs[j].device != me.device:
                continue
            if j not in scanned:
                scanned[j] = _carrier_interfaces(inputs[j].path)
            n, c = scanned[j]
            if n:
                sources.append(os.path.basename(inputs[j].path))
            named |= n
            changed |= c
        if not named:
            continue
        stem = capture_stem(me.path)
        if stem in named:
            inputs[k] = CaptureInput(me.path, me.device, stem, me.how)
        elif len(changed) == 1:
            iface = next(iter(changed))
            inputs[k] = CaptureInput(me.path, me.device, iface, me.how)
            whose = f"device {me.device}" if me.device else "the same (unnamed) device"
            resolved.notices.append(
                f"{me.path}: a classic pcap names no interface; its frames are taken as {iface}, the one "
                f"interface whose carrier changed in the link captures of {whose} ({', '.join(sources)}); "
                f"say otherwise with {me.path}=DEVICE:IFACE")


# ------------------------------------------------------------- after the analysis


def device_of_port(port: str) -> str:
    """The device part of a port name ("leaf1:swp3" -> "leaf1"); "" for a bare name."""
    return port.split(":", 1)[0] if ":" in port else ""


def mismatch_warnings(ports: list[str], link_messages, wire_frames) -> list[str]:
    """A port with wire frames and no link messages while another port of the same device
    has link messages and no wire frames: likely one port under two names (a classic
    pcap named after its file, a capture given the wrong device)."""
    import numpy as np  # (here: resolving inputs must not wait for numpy, cli/replay_cmd.py)

    by_device: dict[str, tuple[list[str], list[str]]] = {}
    for name, links, frames in zip(ports, np.asarray(link_messages).tolist(), np.asarray(wire_frames).tolist()):
        wire_only, link_only = by_device.setdefault(device_of_port(name), ([], []))
        if frames > 0 and links == 0:
            wire_only.append(name)
        elif links > 0 and frames == 0:
            link_only.append(name)
    out = []
    for dev, (wire_only, link_only) in sorted(by_device.items()):
        if wire_only and link_only:
            out.append(
                f"port {', '.join(wire_only)} has wire frames and no link messages, while "
                f"{', '.join(link_only)} of the same device {'(' + dev + ') ' if dev else ''}has link messages "
                f"and no wire frames: likely one port under two names; name the capture's interface "
                f"(FILE=DEVICE:IFACE) or its device (--device, a directory per device)")
    return out
