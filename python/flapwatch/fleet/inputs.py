"""Which device each input is: files, directories and globs, one device per capture file
(its name without the capture suffix, up to an ``@``: ``leaf07.pcapng.gz`` and
``leaf07@0528.pcap`` are ``leaf07``) or per directory of
captures (a directory's sub-directories holding captures are devices by their names). That
name is the partition the device's tables are written under; the correlation takes a port's
device from the port's own name when it is ``device:port`` (correlate.port_devices)."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Iterable

from flapwatch.detect.analysis import CAPTURE_SUFFIXES
from flapwatch.fleet.device import DeviceInput
from flapwatch.fleet.eventlog import EVENT_LOG_SUFFIXES


def _is_capture(name: str) -> bool:
    """A capture, or the live agent's event log (a device without captures)."""
    return name.endswith(CAPTURE_SUFFIXES + EVENT_LOG_SUFFIXES)


def _device_of_file(path: str) -> str:
    name = os.path.basename(path)
    for suffix in sorted(CAPTURE_SUFFIXES + EVENT_LOG_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.split("@", 1)[0]


def discover(inputs: str | os.PathLike | Iterable[str | os.PathLike]) -> list[DeviceInput]:
    """The devices in ``inputs``, sorted by name; a device named twice is an error."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    found: dict[str, list[str]] = {}

    def add(device: str, paths: list[str]) -> None:
        if device in found:
            raise ValueError(f"device {device!r} given twice ({found[device][0]} and {paths[0]})")
        found[device] = paths

    items: list[str] = []
    for item in inputs:
        item = os.fspath(item)
        if any(c in item for c in "*?[") and not os.path.exists(item):
            matched = sorted(glob.glob(item))
            if not matched:
                raise FileNotFoundError(f"no capture matches {item!r}")
            items += matched
        else:
            items.append(item)
    for item in items:
        if os.path.isdir(item):
            entries = sorted(Path(item).iterdir())
            files = [str(p) for p in entries if p.is_file() and _is_capture(p.name)]
            subdirs = [p for p in entries if p.is_dir() and any(_is_capture(q.name) for q in p.iterdir())]
            if files and not subdirs and os.path.basename(os.path.normpath(item)).startswith("device="):
                add(os.path.basename(os.path.normpath(item)).split("=", 1)[1], files)
                continue
            for f in files:
                add(_device_of_file(f), [f])
            for d in subdirs:
                add(d.name.split("=", 1)[-1], sorted(str(q) for q in d.iterdir() if _is_capture(q.name)))
        elif os.path.exists(item):
            add(_device_of_file(item), [item])
        else:
            raise FileNotFoundError(2, "No such file or directory", item)
    if not found:
        raise FileNotFoundError("no captures given")
    return [DeviceInput(name, paths, sum(os.path.getsize(p) for p in paths)) for name, paths in sorted(found.items())]


def partitions(devices: list[DeviceInput], n: int) -> list[list[DeviceInput]]:
    """``n`` groups of about equal bytes (largest first to the lightest group; deterministic)."""
    n = max(1, min(n, len(devices)))
    groups: list[list[DeviceInput]] = [[] for _ in range(n)]
    load = [0] * n
    for dev in sorted(devices, key=lambda d: (-d.size, d.device)):
        i = min(range(n), key=lambda k: (load[k], k))
        groups[i].append(dev)
        load[i] += dev.size + 1
    return [g for g in groups if g]
