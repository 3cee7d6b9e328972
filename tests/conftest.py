"""Shared test setup: tests/support on sys.path (netns, capture_writers, table_compare,
reference_loader), the public captures' location, the markers, and no skipping in CI.

tests/ mirrors python/flapwatch/ (sources, detect, assess, sim, live, cli) plus core/
(the C++ core and binding: sanitizers, fuzzing, stubs) and layout/. Markers:
- root:  makes network namespaces, veth pairs, raw sockets (run as root);
- tools: runs a program outside Python (tshark, tcpdump, lldpd, mausezahn, cmake, g++,
         clang, chromium, promtool, prometheus);
- slow:  takes more than ~20 s.
`pytest -m "not root and not tools"` runs as any user with only the Python extras."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS / "support"))
sys.path.insert(0, str(TESTS))  # `from conftest import ...`

REPO = TESTS.parent
CAPTURES = REPO / "captures"
# CI clones the repo next to a copy of shared/.
SHARED_CAPTURES = REPO.parent / "shared" / "captures-public"


def require_tools(*names: str) -> None:
    """Fail (never skip) when a tool a test depends on is missing."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        pytest.fail(f"required tool(s) not installed: {', '.join(missing)} (.ci/run installs them)")


@pytest.fixture(scope="session")
def shared_captures() -> Path:
    if not SHARED_CAPTURES.is_dir():
        pytest.fail(f"public captures not found at {SHARED_CAPTURES}")
    return SHARED_CAPTURES


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped test is a failed test: CI installs everything the tests need."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and (os.environ.get("CI") or os.environ.get("FLAPWATCH_REQUIRE_ALL")):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {report.longrepr}"
