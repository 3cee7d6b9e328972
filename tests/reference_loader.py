"""Import flapwatch.reference for tests without needing the compiled extension.

The normal import is tried first (installed package or PYTHONPATH=python). If the
package's __init__ cannot be imported (``_core`` not built yet), the reference
package and schema are loaded from their files under a private package name, so the
reference readers stay testable on their own and nothing named ``flapwatch`` is
faked in sys.modules.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE_DIR = REPO / "python" / "flapwatch"
_PRIVATE = "_flapwatch_reference_only"


def load_reference():
    """The ``flapwatch.reference`` module (or its file-loaded twin)."""
    try:
        return importlib.import_module("flapwatch.reference")
    except ImportError:
        pass
    if str(REPO / "python") not in sys.path:
        sys.path.insert(0, str(REPO / "python"))
        try:
            return importlib.import_module("flapwatch.reference")
        except ImportError:
            pass
    if _PRIVATE not in sys.modules:
        # An empty package whose __path__ is python/flapwatch: its submodules (schema,
        # errors, reference) load from there, and flapwatch/__init__.py never runs.
        pkg = types.ModuleType(_PRIVATE)
        pkg.__path__ = [str(PACKAGE_DIR)]
        sys.modules[_PRIVATE] = pkg
    return importlib.import_module(f"{_PRIVATE}.reference")


def load_package_module(name: str):
    """A pure-Python flapwatch module (``schema``, ``errors``) from the same package as
    the reference readers."""
    package = load_reference().__name__.rsplit(".", 1)[0]
    return importlib.import_module(f"{package}.{name}")


def load_schema():
    return load_package_module("schema")
