"""Assessment: flap episodes and their signatures, risk, and the evaluation against
a simulator's truth. Python on top of the engine's detection tables."""
