"""flapwatch.simulate: captures that read back identically in tshark, a truth sidecar that
agrees with what the engine finds, the kernel's linkwatch coalescing, and the CLI hook."""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import random
import subprocess

import pytest

import flapwatch
from conftest import require_tools
from flapwatch import simulate
from flapwatch.cli import simulate_cmd
from flapwatch.kernel.linkwatch import HZ_NS, TICK_LATE_NS, TIMER_SLACK_NS, notifications

S = 1_000_000_000
MS = 1_000_000


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A short both-ends scenario: a few thousand frames of every kind."""
    path = tmp_path_factory.mktemp("sim") / "both.pcapng"
    return simulate.simulate("both-ends", path, seed=1, duration_s=60, manifest=True)


FIELDS = ["frame.time_epoch", "frame.interface_name", "eth.src", "macc.cbfc.enbv",
          *[f"macc.cbfc.pause_time.c{i}" for i in range(8)],
          "lldp.chassis.id.mac", "lldp.port.id", "lldp.time_to_live", "lldp.tlv.system.name",
          "netlink-route.ifla_ifname", "netlink-route.ifla_carrier", "netlink-route.ifla_carrier_up_count",
          "netlink-route.ifla_carrier_down_count"]


def tshark_rows(path) -> list[list[str]]:
    require_tools("tshark")
    argv = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
            "-E", "aggregator=,"]
    for f in FIELDS:
        argv += ["-e", f]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


@pytest.mark.tools
def test_tshark_reads_back_every_frame_identically(small):
    rows = tshark_rows(small.path)
    assert len(rows) == small.frames == len(small.manifest)
    kinds = collections.Counter()
    for (ts, iface, kind, fields), row in zip(small.manifest, rows):
        kinds[kind] += 1
        assert int(row[0].replace(".", "")) == ts  # ns timestamps survive
        assert row[1] == iface  # "device:port" names in the IDB
        if kind == "pfc":
            src, cev, quanta = fields
            assert row[2] == src and int(row[3], 16) == cev
            assert [int(q) for q in row[4:12]] == list(quanta)
        elif kind == "lldp":
            chassis, port_id, ttl, system = fields
            assert row[12:16] == [chassis, port_id, str(ttl), system]
        elif kind == "netlink":
            names, carrier, up, down = (row[16 + k].split(",") if row[16 + k] else [] for k in range(4))
            assert list(zip(names, map(int, carrier), map(int, up), map(int, down))) == [tuple(f) for f in fields]
    assert {"pfc", "lldp", "netlink", "other"} <= set(kinds)


def test_flapwatch_reads_the_same_frames(small):
    cap = flapwatch.read_capture(small.path)
    kinds = collections.Counter(kind for _, _, kind, _ in small.manifest)
    assert cap.counts["malformed"] == 0 and not cap.warnings
    assert cap.counts["pfc"] == kinds["pfc"] and cap.counts["lldp"] == kinds["lldp"]
    done = sum(1 for _, _, kind, f in small.manifest if kind == "netlink" and not f)  # NLMSG_DONE ending a dump
    assert cap.counts["pause"] == kinds["pause"] and cap.counts["other"] == kinds["other"] + done
    msgs = sum(len(f) for _, _, kind, f in small.manifest if kind == "netlink")
    assert cap.link.rows == msgs  # dump (several messages a frame) + notifications; NLMSG_DONE has none
    # ports from several devices never collide: "device:port" everywhere
    assert all(":" in p for p in cap.ports)


@pytest.mark.parametrize("family, seed", [("oscillation", 2), ("burst", 3), ("device-wide", 1), ("hidden", 1),
                                          ("neighbor-change", 2), ("degrading", 5)])
def test_truth_agrees_with_what_the_engine_finds(tmp_path, family, seed):
    r = simulate.simulate(family, tmp_path / "x.pcapng", seed)
    truth = json.loads((tmp_path / "x.pcapng.truth.json").read_text())
    assert truth == json.loads(json.dumps(r.truth)) and truth["scenario"] == family
    a = flapwatch.analyze(r.path, truth["config"])
    assert not a.warnings  # every port's speed is known: LLDP MAU or the truth's config
    flaps, hidden = collections.Counter(), collections.Counter()
    for port, h in zip(a.flaps.text("port"), a.flaps["hidden"].tolist()):
        flaps[port] += 1
        hidden[port] += h
    want, want_hidden = collections.Counter(), collections.Counter()
    for e in truth["episodes"]:
        for down, up, notified in e["flap_times"]:
            want[e["port"]] += 1
            want_hidden[e["port"]] += not notified
    # Every flap driven is a flap found, and exactly the ones the modelled kernel never
    # notified are the hidden ones the counters revealed.
    assert flaps == want and hidden == want_hidden
    assert 0 < truth["bytes"] < 6_000_000
    labels = {lab for e in truth["episodes"] for lab in e["labels"]}
    assert set(labels) <= set(simulate.LABELS)


def test_same_seed_same_bytes(tmp_path):
    a = simulate.simulate("pfc-linked", tmp_path / "a.pcapng", 4, duration_s=40)
    b = simulate.simulate("pfc-linked", tmp_path / "b.pcapng", 4, duration_s=40)
    digest = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()  # noqa: E731
    assert digest(a.path) == digest(b.path)
    c = simulate.simulate("pfc-linked", tmp_path / "c.pcapng", 5, duration_s=40)
    assert digest(c.path) != digest(a.path)


def test_every_family_has_its_label(tmp_path):
    """Each family drives its label (on the first seeds of the bench's list)."""
    for family in simulate.FAMILIES:
        found = set()
        for seed in range(1, 4):
            r = simulate.simulate(family, tmp_path / f"{family}.pcapng", seed)
            found |= {lab for e in r.truth["episodes"] for lab in e["labels"]}
        if family == "stable":
            assert found == set()
        else:
            assert family in found, family


def test_linkwatch_coalesces_like_the_lab_kernel():
    """The lab's sequence (captures/lab.truth.json): a 5 ms flap, four 50 ms flaps 200 ms
    apart, a 2 s outage. The real kernel notified the micro-flap, the first of the four, the
    other three only as a counter jump a second later, and the outage."""
    tr = []
    for down, dur in [(0, 5 * MS)] + [(1500 * MS + k * 200 * MS, 50 * MS) for k in range(4)] + [(4 * S, 2 * S)]:
        tr += [(down, 0, False), (down + dur, 0, True)]
    msgs = notifications(tr, [True], [1], [1], random.Random(0))
    shown = [(m.up, m.up_count, m.down_count) for m in msgs]
    assert shown == [(False, 1, 2), (True, 2, 2), (False, 2, 3), (True, 3, 3), (True, 6, 6), (False, 6, 7),
                     (True, 7, 7)]
    reveal = msgs[4].t_ns
    # the next run: after the second is up, at its timer's jiffy on the wheel (HZ=250: within 32 ms)
    assert HZ_NS < reveal - msgs[2].t_ns <= HZ_NS + TICK_LATE_NS + TIMER_SLACK_NS[1]
    assert all(300_000 <= m.t_ns - d <= 900_000 for m, d in zip(msgs, [0, 5 * MS, 1500 * MS]))  # 0.3-0.9 ms


def test_linkwatch_rate_limit_is_per_kernel():
    """Two ports of one device: the second's down, 100 ms after the first's, waits for the
    next run a second later (and shows as hidden if it is over by then)."""
    tr = [(0, 0, False), (3 * S, 0, True), (100 * MS, 1, False), (150 * MS, 1, True)]
    msgs = notifications(tr, [True, True], [1, 1], [0, 0], random.Random(1))
    port1 = [m for m in msgs if m.port == 1]
    assert len(port1) == 1 and port1[0].up and port1[0].down_count == 1 and port1[0].t_ns >= S


def test_cli_hook(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="flapwatch")
    sub = parser.add_subparsers(dest="command", required=True)
    p = simulate_cmd.add_parser(sub)
    assert "flapwatch simulate oscillation" in p.epilog
    out = tmp_path / "cli.pcapng"
    args = parser.parse_args(["simulate", "micro-flap", "-o", str(out), "--seed", "3", "--duration", "50"])
    assert args.func(args) == 0
    assert out.exists() and (tmp_path / "cli.pcapng.truth.json").exists()
    assert "truth in" in capsys.readouterr().out
    args = parser.parse_args(["simulate", "no-such-family", "-o", str(out)])
    assert args.func(args) == 2  # a usage error, named
    assert "unknown scenario 'no-such-family'" in capsys.readouterr().err
