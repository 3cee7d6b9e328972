"""The simulator: fleets of devices with one fault family each, written as pcapng
captures with their ground truth. ``flapwatch.simulate.simulate(...)`` writes one
(scenario.py; the modules in the order a scenario is built: fleet, faults, world,
netlink, traffic, truth)."""

from flapwatch.assess.episodes import LABELS
from flapwatch.sim.scenario import FAMILIES, family_for_seed, simulate

__all__ = ["FAMILIES", "LABELS", "family_for_seed", "simulate"]
