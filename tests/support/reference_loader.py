"""Import flapwatch's pure-Python reference readers for tests, with or without the
compiled extension: ``import flapwatch`` loads no ``_core`` (the extension is imported
where it is used), so the package itself serves; python/ is put on sys.path when the
package is not installed."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

MODULES = {"schema": "flapwatch.tables.schema", "errors": "flapwatch.errors", "reference": "flapwatch.sources.reference"}


def load_package_module(name: str):
    """A pure-Python flapwatch module by its short name (``schema``, ``errors``, ``reference``)."""
    try:
        return importlib.import_module(MODULES[name])
    except ImportError:
        sys.path.insert(0, str(REPO / "python"))
        return importlib.import_module(MODULES[name])


def load_reference():
    return load_package_module("reference")


def load_schema():
    return load_package_module("schema")
