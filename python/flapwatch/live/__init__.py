"""Live: the agent on interfaces and netlink (Agent), and what it exports (metrics)."""
