"""The simulator: fleets of devices with one fault family each, written as pcapng
captures with their ground truth. ``flapwatch.simulate.simulate(...)`` writes one."""

from flapwatch.assess.signatures import LABELS
from flapwatch.sim.simulate import FAMILIES, family_for_seed, simulate

__all__ = ["FAMILIES", "LABELS", "family_for_seed", "simulate"]
