"""Port naming by device and interface (docs/DECODE_RULES.md, "Ports and devices"): the
core and the two reference readers give the same "device:port" names, and the replay's
resolution (sources/devices.py) picks each file's device and interface by the documented
rules."""

from __future__ import annotations

import os
import warnings

import pytest

import capture_writers as cw
import flapwatch
from conftest import CAPTURES
from flapwatch import wire
from flapwatch.sources import devices as dv
from reference_loader import load_reference
from table_compare import assert_tables_equal
from test_reference_backends import SRC, T0, build_multi_section_pcapng, mixed_frames

ref = load_reference()


def _names(capture) -> set[str]:
    names = set()
    for table in ("pfc", "pause", "lldp", "link", "malformed"):
        names.update(capture.strings[i] for i in capture.tables[table]["port"].tolist() if i >= 0)
    return names


def _netlink_pcap(tmp_path, name: str, ifnames: list[str]) -> str:
    frames = []
    for k, ifname in enumerate(ifnames):
        msg = wire.newlink_msg(ifindex=k + 2, ifname=ifname, mac=bytes([2, 0, 0, 0, 0, k + 1]), up=True,
                               changes=1, up_count=1, down_count=0)
        frames.append((T0 + k * 1000, wire.nlmon_frame(msg)))
    path = tmp_path / name
    path.write_bytes(cw.pcap_bytes(frames, linktype=253, nano=True))
    return str(path)


def _both(path, **naming):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return flapwatch.read_capture(path, **naming), ref.read_tables(str(path), "dpkt", **naming)


@pytest.mark.parametrize("naming", [{}, {"device": "h1"}, {"device": "h1", "iface": "e9"}, {"iface": "e9"}],
                         ids=["none", "device", "device+iface", "iface"])
def test_core_and_rules_name_ports_alike(tmp_path, naming):
    data, expected = build_multi_section_pcapng()
    multi = tmp_path / "multi.pcapng"
    multi.write_bytes(data)
    pcap = tmp_path / "wire.pcap"
    pcap.write_bytes(cw.pcap_bytes([(T0, f) for f in mixed_frames()[:4]], nano=True))
    links = _netlink_pcap(tmp_path, "links.pcap", ["ens1", "leaf9:swp1", ""])
    device, iface = naming.get("device"), naming.get("iface")

    def q(name):
        return name if not device or ":" in name else f"{device}:{name}"

    for path, want in [
        (multi, {q(p.replace("multi", iface) if iface and p.startswith("multi") else p) for _, p in expected}),
        (pcap, {q(iface or "wire")}),
        (links, {q("ens1"), "leaf9:swp1", q("if4")}),
        (CAPTURES / "lab.pcapng", {q("ens1f0np0"), q("lo")}),
    ]:
        core, rules = _both(path, **naming)
        assert_tables_equal(core, rules, ignore_columns={"reason"}, labels=("core", "rules"))
        assert _names(core) == want, path


@pytest.mark.tools
def test_tshark_names_ports_alike(tmp_path):
    """The pyshark reference reader with a device and an interface, against the core."""
    data, _ = build_multi_section_pcapng()
    multi = tmp_path / "multi.pcapng"
    multi.write_bytes(data)
    for path in (multi, CAPTURES / "lab.pcapng", CAPTURES / "lab-tcpdump.pcap"):
        core = flapwatch.read_capture(path, device="h1", iface="e9")
        tshark = ref.read_tables(str(path), "pyshark", device="h1", iface="e9")
        assert_tables_equal(core, tshark, ignore_columns={"reason"}, labels=("core", "tshark"))


def test_iter_capture_names_like_read_capture():
    batches = list(flapwatch.iter_capture(CAPTURES / "lab.pcapng", batch_frames=500, device="h1"))
    assert set().union(*(b.ports for b in batches)) == set(flapwatch.read_capture(CAPTURES / "lab.pcapng",
                                                                                 device="h1").ports)


@pytest.mark.parametrize("bad", ["", "a:b", "two words"])
def test_a_device_name_has_no_colon_or_space(bad):
    with pytest.raises(ValueError, match="device name"):
        dv.check_device(bad)
    if bad:
        with pytest.raises(ValueError):
            flapwatch.read_capture(CAPTURES / "lab-wire.pcapng", device=bad)


def test_device_of_path():
    assert dv.device_of_path("/x/leaf1@swp3.pcap") == "leaf1"
    assert dv.device_of_path("/x/leaf1@2024-05-01.pcapng.gz") == "leaf1"
    assert dv.device_of_path("/x/y/wire.pcap") is None  # a file by itself: not its folder
    assert dv.device_of_path("/x/gpu-host7/wire.pcap", "/x/gpu-host7/") == "gpu-host7"
    assert dv.device_of_path("/x/device=leaf2/a.pcapng", "/x/device=leaf2") == "leaf2"
    assert dv.device_of_path("/x/leaf1@a.pcap", "/x/other") == "leaf1"  # the file name first


def test_resolution_rules(tmp_path):
    """Mapping, then --device, then the file name / directory, then none; a classic
    pcap's interface from the mapping, the name after '@', or the link captures."""
    (tmp_path / "leaf1").mkdir()
    for name in ("leaf1/a.pcapng", "b.pcap", "h7@ens2.pcap", "plain.pcapng"):
        (tmp_path / name).write_bytes(cw.pcap_bytes([(T0, wire.pause_frame(SRC, 1))]))
    r = dv.resolve_inputs([tmp_path / "leaf1", f"{tmp_path}/b.pcap=sw9:swp4", tmp_path / "h7@ens2.pcap",
                           tmp_path / "plain.pcapng"])
    got = [(os.path.basename(i.path), i.device, i.iface, i.how) for i in r.inputs]
    assert got == [("a.pcapng", "leaf1", None, "directory"), ("b.pcap", "sw9", "swp4", "mapping"),
                   ("h7@ens2.pcap", "h7", "ens2", "file name"), ("plain.pcapng", None, None, "")]
    r = dv.resolve_inputs([tmp_path / "leaf1", tmp_path / "plain.pcapng"], device="rack1",
                          devices={tmp_path / "plain.pcapng": "other"})
    assert [(i.device, i.how) for i in r.inputs] == [("rack1", "--device"), ("other", "mapping")]
    with pytest.raises(ValueError, match="names captures not given"):
        dv.resolve_inputs([tmp_path / "b.pcap"], devices={tmp_path / "nope.pcap": "x"})
    with pytest.raises(ValueError, match="--device"):
        dv.resolve_inputs([tmp_path / "b.pcap"], device="a:b")


def test_a_classic_pcap_takes_the_one_interface_whose_carrier_changed(tmp_path):
    """Not lo (no change), not an interface with one message: the one that flapped. A
    file named after one of the interfaces keeps that name; two flapping: the stem."""
    wire_pcap = tmp_path / "wire.pcap"
    wire_pcap.write_bytes(cw.pcap_bytes([(T0, wire.pause_frame(SRC, 1))]))

    def links(name, flapping):
        frames = []
        for k, ifname in enumerate(["lo", "ens1", "ens2"]):
            for n, up in enumerate([True, False, True] if ifname in flapping else [True]):
                msg = wire.newlink_msg(ifindex=k + 1, ifname=ifname, mac=bytes(6), up=up, changes=n,
                                       up_count=(n + 1) // 2, down_count=n // 2, loopback=ifname == "lo")
                frames.append((T0 + 1000 * (3 * k + n), wire.nlmon_frame(msg)))
        path = tmp_path / name
        path.write_bytes(cw.pcap_bytes(frames, linktype=253, nano=True))
        return path

    one, two = links("one.pcap", {"ens2"}), links("two.pcap", {"ens1", "ens2"})
    r = dv.resolve_inputs([wire_pcap, one])
    assert r.inputs[0].iface == "ens2" and "taken as ens2" in r.notices[0]
    assert dv.resolve_inputs([wire_pcap, two]).inputs[0].iface is None  # the stem, and a warning later
    assert dv.resolve_inputs([wire_pcap, f"{one}=dev"]).inputs[0].iface is None  # another device's links
    named = tmp_path / "ens1.pcap"
    named.write_bytes(wire_pcap.read_bytes())
    r = dv.resolve_inputs([named, one])
    assert r.inputs[0].iface == "ens1" and not r.notices
