"""Detection: captures through the C++ engine's trackers (analyze), or followed while
they are written (Follower). No presentation here."""
