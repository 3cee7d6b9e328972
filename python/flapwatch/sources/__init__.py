"""Sources: captures in (read_capture, iter_capture; the pure-Python reference readers),
and out (the pcapng writer; nlrecord, the stdlib-only netlink recorder)."""
