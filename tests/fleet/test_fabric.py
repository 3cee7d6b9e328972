"""simulate --devices: each device its own capture, clocks off by up to the skew asked for,
both ends of every link captured, the cross-device truth self-consistent."""

from __future__ import annotations

import os

from flapwatch.cli import main
from fleet_fixtures import ci_fleet, ci_truth  # noqa: F401  (fixtures)


def test_fabric_layout_and_truth(ci_fleet, ci_truth):
    devices = ci_truth["devices"]
    assert len(devices) == 8 + 16 and len(ci_fleet.files) == len(devices)
    assert all(os.path.exists(os.path.join(ci_fleet.directory, d["file"])) for d in devices)
    assert max(abs(d["clock_offset_ns"]) for d in devices) <= 50_000_000
    assert len({d["clock_offset_ns"] for d in devices}) == len(devices)
    assert len(ci_truth["links"]) == 64
    families = {f["family"] for f in ci_truth["faults"]}
    assert families >= {"cable", "port", "linecard", "host-reboot", "rack-power", "pod-reboot"}
    pairs = [f for f in ci_truth["flaps"] if f["pair"] >= 0]
    flaps = ci_truth["flaps"]
    assert all(flaps[f["pair"]]["pair"] == flaps.index(f) for f in pairs[:50])
    assert {"rack", "pod"} <= {w["level"] for w in ci_truth["waves"]}


def test_simulate_devices_cli(tmp_path, capsys):
    out = tmp_path / "f"
    assert main(["simulate", "--devices", "2", "--ports", "3", "--host-nics", "2", "--duration", "90",
                 "-o", str(out) + "/"]) == 0
    assert "5 devices (2 switches)" in capsys.readouterr().out
    assert sorted(os.listdir(out)) == sorted(["fleet.truth.json", "topology.csv", "leaf000.pcapng", "leaf001.pcapng",
                                              "gpu-p0-000.pcapng", "gpu-p0-001.pcapng", "gpu-p0-002.pcapng"])
    assert main(["fleet", str(out), "-o", str(tmp_path / "o"), "--serial", "-q"]) == 0
    assert "5 devices" in capsys.readouterr().out
    assert main(["simulate", "oscillation", "--devices", "2", "-o", str(out)]) == 2


def test_fleet_cli_errors(tmp_path, capsys):
    """The CLI contract: a missing input is exit 3, bad options exit 2, one line on stderr."""
    assert main(["fleet", str(tmp_path / "none"), "-o", str(tmp_path / "o"), "--serial", "-q"]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("flapwatch: error: No such file or directory")
    assert main(["fleet", str(tmp_path), "-o", str(tmp_path / "o"), "--workers", "0"]) == 2
    assert "--workers takes a number >= 1" in capsys.readouterr().err
    assert main(["simulate", "--devices", "0", "-o", str(tmp_path / "f")]) == 2
