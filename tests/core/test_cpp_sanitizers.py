"""The C++ unit tests (tests/cpp, doctest + CTest) under sanitizers.

  ASan + UBSan   every C++ test                    build/sanitize-asan
  TSan           the ring and the pipeline tests   build/sanitize-tsan
                 (the threaded ones)

Every C++ test is one that tests/cpp/CMakeLists.txt registers (its foreach list).

Each test configures (FLAPWATCH_TESTS=ON, FLAPWATCH_SANITIZE=...), builds with -j2 and
runs ctest. The build directories persist (build/ is git-ignored), so a second run only
rebuilds what changed; FLAPWATCH_SANITIZE_BUILD_ROOT puts them elsewhere. Any sanitizer
report fails the test with the report in the message. cmake, g++ and doctest
(doctest-dev) are required: missing, the test fails rather than skips.

Before trusting a clean run, each build compiles a canary with the same flags and a
planted bug and checks that this machine's sanitizer runtime catches it.

TSan on kernels with many mmap random bits (vm.mmap_rnd_bits > 28, e.g. 32 on
Ubuntu 24.04) dies at start-up, with "unexpected memory mapping" or a bare SIGSEGV
(GCC 12's runtime does not re-exec itself without ASLR). The sanitized binaries are
probed first; if one cannot start, ctest runs under `setarch <arch> -R` (ASLR off for
it and its children). FLAPWATCH_SANITIZE_SETARCH=1 forces that path.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, require_tools

pytestmark = [pytest.mark.tools, pytest.mark.slow]

BUILD_ROOT = Path(os.environ.get("FLAPWATCH_SANITIZE_BUILD_ROOT", REPO / "build"))
JOBS = "2"  # 2-core machines, shared: never more

SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:detect_stack_use_after_return=1",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
    "TSAN_OPTIONS": "halt_on_error=1:second_deadlock_stack=1",
}

# Text that only a sanitizer report contains: fail on it even if an exit code was lost.
REPORT = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|ThreadSanitizer: reported"
    r"|runtime error:|SUMMARY: (Address|Undefined|Thread)Sanitizer")
# The runtime failing to start (address-space layout), not a finding.
STARTUP = re.compile(r"(Thread|Address|Memory)Sanitizer.*(unexpected memory mapping|failed to allocate|"
                     r"Shadow memory range|CHECK failed)|FATAL: ThreadSanitizer")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(SANITIZER_ENV)
    return env


def _run(cmd: list[str], timeout: float, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=timeout, errors="replace")


def _check(proc: subprocess.CompletedProcess, what: str) -> str:
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"{what} failed (exit {proc.returncode}):\n{out[-20000:]}", pytrace=False)
    return out


def _require_toolchain() -> None:
    require_tools("cmake", "g++")
    header = Path("/usr/include/doctest/doctest.h")
    if not header.is_file() and not list(Path("/usr/local/include").glob("doctest/doctest.h")):
        pytest.fail("doctest not installed (apt-get install doctest-dev; .ci/run installs it)", pytrace=False)


def _configure_and_build(name: str, sanitize: str, targets: list[str], extra_flags: str = "") -> Path:
    _require_toolchain()
    build = BUILD_ROOT / name
    cmd = ["cmake", "-S", REPO, "-B", build, "-DFLAPWATCH_TESTS=ON", f"-DFLAPWATCH_SANITIZE={sanitize}",
           "-DCMAKE_BUILD_TYPE=Debug", "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g", f"-DCMAKE_CXX_FLAGS={extra_flags}"]
    if not (build / "CMakeCache.txt").exists():  # generator and compiler are fixed at the first configure
        cmd += ["-DCMAKE_CXX_COMPILER=g++"]
        if shutil.which("ninja"):
            cmd += ["-G", "Ninja"]
    _check(_run(cmd, timeout=180), f"cmake configure ({name})")
    _check(_run(["cmake", "--build", build, "-j", JOBS, "--target", *targets], timeout=900),
           f"cmake build ({name})")
    return build


def _launcher(binary: Path) -> list[str]:
    """[] when the sanitized binary starts normally, else the setarch prefix that makes it.

    With too many mmap random bits TSan's runtime either says "unexpected memory
    mapping" or just dies of SIGSEGV before main (both seen here with
    vm.mmap_rnd_bits=32), so any failure of the probe is retried with ASLR off."""
    setarch = [shutil.which("setarch") or "setarch", platform.machine(), "-R"]
    if os.environ.get("FLAPWATCH_SANITIZE_SETARCH") == "1":
        return setarch
    probe = _run([binary, "--list-test-cases"], timeout=60)
    if probe.returncode == 0:
        return []
    out = probe.stdout + probe.stderr
    if shutil.which("setarch") is None:
        pytest.fail(f"{binary.name} cannot start (exit {probe.returncode}) and setarch is missing:\n{out[-3000:]}",
                    pytrace=False)
    retry = _run(setarch + [binary, "--list-test-cases"], timeout=60)
    if retry.returncode != 0:
        pytest.fail(f"{binary.name} cannot start (exit {probe.returncode}), not even with ASLR off (setarch -R); "
                    f"if the sanitizer runtime is the cause, lower vm.mmap_rnd_bits (sysctl -w "
                    f"vm.mmap_rnd_bits=28):\n{out[-3000:]}\nwith setarch (exit {retry.returncode}):\n"
                    f"{(retry.stdout + retry.stderr)[-3000:]}", pytrace=False)
    why = "; ".join(m.group(0) for m in [STARTUP.search(out)] if m) or f"exit {probe.returncode}"
    print(f"{binary.name} does not start with ASLR on ({why}; vm.mmap_rnd_bits="
          f"{_read('/proc/sys/vm/mmap_rnd_bits')}): running ctest under {' '.join(setarch)}")
    return setarch


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return "?"


CANARIES = {
    "address": ("#include <cstdlib>\nint main(int argc, char**) { int* p = static_cast<int*>(std::malloc(4 * sizeof(int)));"
                " int v = p[argc + 3]; std::free(p); return v == 12345; }\n",
                "heap-buffer-overflow"),
    "leak": ("#include <cstdlib>\nvoid* volatile keep;\nint main() { keep = std::malloc(77); keep = nullptr; return 0; }\n",
             "LeakSanitizer: detected memory leaks"),
    "undefined": ("#include <climits>\nint main(int argc, char**) { int x = INT_MAX - 1 + argc; volatile int y = x + 1;"
                  " return y == 0; }\n",
                  "runtime error: signed integer overflow"),
    "thread": ("#include <thread>\nint shared;\nint main() { std::thread t([] { shared++; }); shared++; t.join();"
               " return 0; }\n",
               "WARNING: ThreadSanitizer: data race"),
}


def _canary(build: Path, kind: str, flags: list[str], launcher: list[str]) -> None:
    """A planted bug the sanitizer must report here (else a clean run proves nothing)."""
    source, expect = CANARIES[kind]
    src = build / f"canary_{kind}.cpp"
    exe = build / f"canary_{kind}"
    src.write_text(source)
    _check(_run(["g++", "-std=c++20", "-O1", "-g", "-pthread", *flags, src, "-o", exe], timeout=120),
           f"compiling the {kind} canary")
    proc = _run(launcher + [exe], timeout=60)
    out = proc.stdout + proc.stderr
    if proc.returncode == 0 or expect not in out:
        pytest.fail(f"the {kind} sanitizer did not catch its planted bug (exit {proc.returncode}; expected "
                    f"{expect!r}):\n{out[-3000:]}", pytrace=False)


def _ctest(build: Path, regex: str | None, launcher: list[str]) -> str:
    cmd = launcher + ["ctest", "--test-dir", build, "--output-on-failure", "--timeout", "300"]
    if regex:
        cmd += ["-R", regex]
    proc = _run(cmd, timeout=900)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0 or REPORT.search(out):
        pytest.fail(f"ctest in {build.name} failed (exit {proc.returncode}):\n{out[-30000:]}", pytrace=False)
    if "No tests were found" in out or not re.search(r"100% tests passed(, 0 tests failed)? out of [1-9]", out):
        pytest.fail(f"ctest in {build.name} ran no tests:\n{out}", pytrace=False)
    return out


def _cpp_tests() -> list[str]:
    """The C++ test executables, in the order tests/cpp/CMakeLists.txt registers them."""
    text = (REPO / "tests" / "cpp" / "CMakeLists.txt").read_text()
    m = re.search(r"foreach\(name ([^)]*)\)", text)
    names = m.group(1).split() if m else []
    assert names, "no foreach(name ...) list of tests in tests/cpp/CMakeLists.txt"
    return names


def _linked_runtime(binary: Path, lib: str) -> bool:
    return lib.encode() in binary.read_bytes()


def test_cpp_tests_under_asan_ubsan():
    t0 = time.monotonic()
    # _GLIBCXX_ASSERTIONS adds bounds checks to std::vector/array/string operator[] too.
    names = _cpp_tests()
    build = _configure_and_build("sanitize-asan", "address,undefined", names, extra_flags="-D_GLIBCXX_ASSERTIONS")
    t_build = time.monotonic() - t0
    tests = build / "tests" / "cpp"
    for name in names:
        assert _linked_runtime(tests / name, "libasan.so"), f"{name} is not built with ASan"
        assert _linked_runtime(tests / name, "libubsan.so"), f"{name} is not built with UBSan"
    launcher = _launcher(tests / "test_spsc_ring")
    _canary(build, "address", ["-fsanitize=address"], launcher)
    _canary(build, "leak", ["-fsanitize=address"], launcher)
    _canary(build, "undefined", ["-fsanitize=undefined", "-fno-sanitize-recover=all"], launcher)
    t1 = time.monotonic()
    out = _ctest(build, None, launcher)
    print(f"\nASan+UBSan: build {t_build:.1f} s, ctest {time.monotonic() - t1:.1f} s\n{out}")


def test_ring_and_pipeline_under_tsan():
    t0 = time.monotonic()
    build = _configure_and_build("sanitize-tsan", "thread", ["test_spsc_ring", "test_pipeline"])
    t_build = time.monotonic() - t0
    tests = build / "tests" / "cpp"
    for name in ("test_spsc_ring", "test_pipeline"):
        assert _linked_runtime(tests / name, "libtsan.so"), f"{name} is not built with TSan"
    launcher = _launcher(tests / "test_spsc_ring")
    _canary(build, "thread", ["-fsanitize=thread"], launcher)
    t1 = time.monotonic()
    out = _ctest(build, "^(test_spsc_ring|test_pipeline)$", launcher)
    print(f"\nTSan: build {t_build:.1f} s, ctest {time.monotonic() - t1:.1f} s\n{out}")
