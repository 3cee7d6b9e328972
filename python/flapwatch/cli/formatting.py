"""The help formatter every parser of the command line uses."""

from __future__ import annotations

import argparse
import os
import sys


def terminal_columns() -> int:
    """What shutil.get_terminal_size() says of the width: $COLUMNS, else the terminal on
    stdout, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's RawDescriptionHelpFormatter, sized without shutil: add_argument builds a
    formatter for every argument only to check its metavar, and argparse sizes each one with
    shutil.get_terminal_size(), which imports shutil (and bz2, lzma): ~1.5 ms of every
    command's start (bench/README.md)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         terminal_columns() - 2 if width is None else width)
