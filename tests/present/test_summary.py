"""`flapwatch inspect`'s summary: neighbors are what a port heard from others."""

from __future__ import annotations

from conftest import CAPTURES
from flapwatch.present.summary import summarize


def test_own_lldpdus_and_shutdowns_are_not_neighbors():
    # lab.pcapng: the host end's wire (its own LLDPDUs leaving, leaf1's arriving, leaf1's
    # TTL-0 shutdown) and its netlink messages (its own address, 02:fa:00:00:07:01)
    s = summarize([CAPTURES / "lab.pcapng"]).to_json()
    assert [(n["port"], n["system_name"], n["ttl"], n["shutdowns"]) for n in s["lldp_neighbors"]] == [
        ("ens1f0np0", "leaf1", 4, 1)]
    assert s["lldp_own_frames"] == {"ens1f0np0": 13}
    assert sum(n["frames"] for n in s["lldp_neighbors"]) + 13 == s["counts"]["lldp"]


def test_without_link_messages_every_sender_is_listed():
    """A wire capture alone cannot tell the port's own address: both senders are shown."""
    s = summarize([CAPTURES / "lab-wire.pcapng"]).to_json()
    assert sorted(n["system_name"] for n in s["lldp_neighbors"]) == ["gpu-host7", "leaf1"]
    assert s["lldp_own_frames"] == {}
