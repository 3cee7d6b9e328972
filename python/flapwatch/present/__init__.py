"""Presentation: rows, text, writers (JSON, CSV, Parquet), the HTML report, the inspect
summary, time formats and the progress bar. Nothing here decides what was detected."""
