"""python/flapwatch/_core.pyi, the typed stub of the C++ extension, is what
pybind11-stubgen makes of the built module: regenerate it when the binding changes
(pybind11-stubgen flapwatch._core -o /tmp/stubs && cp /tmp/stubs/flapwatch/_core.pyi
python/flapwatch/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import flapwatch

from conftest import REPO


def test_core_stub_matches_the_built_module(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pybind11_stubgen", "flapwatch._core", "-o", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    generated = (tmp_path / "flapwatch" / "_core.pyi").read_text()
    shipped = (REPO / "python" / "flapwatch" / "_core.pyi").read_text()
    assert generated == shipped, "python/flapwatch/_core.pyi is stale: regenerate it (see this file's docstring)"


def test_stub_and_py_typed_are_installed():
    package = Path(flapwatch.__file__).parent
    assert (package / "py.typed").is_file()
    assert (package / "_core.pyi").is_file()
