"""Counters: what NIC and switch counters mean (driver profiles) and how their dumps read
(`ethtool -S`, operators' timestamped polling logs). The PFC and PAUSE frames a RoCE NIC or
a switch ASIC consumes in the MAC never reach a capture; these counters are how flapwatch
sees them (docs/DESIGN.md, "Counters")."""
