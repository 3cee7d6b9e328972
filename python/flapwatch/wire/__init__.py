"""Frame builders: the bytes of Ethernet, MAC control (PFC, PAUSE), LLDP and netlink
link messages, for the simulator, the tests and the capture script."""
