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
