"""Time units. Every time in every table is int64 nanoseconds since the Unix epoch, so
they travel unchanged from the core to numpy, Arrow, Parquet and Dask; these are the
only conversions (sources/nlrecord.py, stdlib-only by design, spells its own)."""

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
NS_PER_US = 1_000
