"""The Episodes table as users take it: label names in pandas, the bitmask kept for vector work."""

from __future__ import annotations

import flapwatch
from conftest import CAPTURES


def test_episodes_to_pandas_names_the_labels():
    episodes = flapwatch.classify(flapwatch.analyze(CAPTURES / "lab.pcapng"))
    df = episodes.to_pandas()
    assert df["labels"].tolist() == episodes.label_lists() == [["micro-flap", "single"], ["oscillation", "hidden"],
                                                                 ["single", "pfc-linked"]]
    assert episodes["labels"].dtype.kind in "iu"


def test_a_ports_micro_flaps_are_its_episodes(tmp_path):
    """One count, not two that disagree (issue 17: micro_flaps=5 in an episode whose port had 1)."""
    from flapwatch.assess.result import build_result

    paths = [CAPTURES / "lab.pcapng"]
    for family, seed in (("micro-flap", 1), ("hidden", 2), ("oscillation", 3)):
        paths.append(tmp_path / f"{family}.pcapng")
        flapwatch.simulate.simulate(family, paths[-1], seed)
    for path in paths:
        analysis = flapwatch.analyze(path)
        episodes = flapwatch.classify(analysis)
        per_port: dict[str, int] = {}
        for port, n in zip(episodes.text("port"), episodes["micro_flaps"].tolist()):
            per_port[port] = per_port.get(port, 0) + n
        rows = build_result(analysis).rows("ports")
        assert {r["port"]: r["micro_flaps"] for r in rows if r["port"] in per_port} == per_port, path
        for e in build_result(analysis).episodes:
            if "micro-flap" in e["labels"]:
                port = next(r for r in rows if r["port"] == e["port"])
                assert e["evidence"]["micro-flap"]["features"]["micro_flaps"] <= port["micro_flaps"]
