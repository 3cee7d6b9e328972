"""The package's shape (docs/DESIGN.md, "Layout"): no import cycles, `flapwatch inspect`
loads nothing of the assessment, the simulator or the live agent, and each rule and
constant is defined once."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import flapwatch
from conftest import REPO

PACKAGE = Path(flapwatch.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """flapwatch modules this file imports, at module level or inside functions."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name.startswith("flapwatch") and name in modules:
                out.add(name)
    return out


def _module_level_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    out = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` imports are for type checkers only
            continue
        for sub in ast.walk(node):
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                break
            if isinstance(sub, ast.ImportFrom) and sub.module and sub.level == 0 and sub.module.startswith("flapwatch"):
                for name in [sub.module] + [f"{sub.module}.{a.name}" for a in sub.names]:
                    if name in modules:
                        out.add(name)
            elif isinstance(sub, ast.Import):
                out.update(a.name for a in sub.names if a.name in modules)
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def _package_graph(level) -> dict[str, set[str]]:
    """Sub-package -> sub-packages it imports (a package's __init__ and its modules as one)."""
    modules = _modules()

    def group(name):
        parts = name.split(".")
        return ".".join(parts[:2])

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if name == "flapwatch":  # the public API re-exports everything; it is the top
            continue
        deps = {group(d) for d in level(path, modules)} - {group(name), "flapwatch"}
        graph.setdefault(group(name), set()).update(deps)
    return graph


def test_no_import_cycle_between_modules():
    modules = _modules()
    graph = {name: _module_level_imports(path, modules) - {name} for name, path in modules.items()}
    # a package's __init__ importing its own modules is not a cycle of the flow
    assert _cycles(graph) == []


def test_sub_packages_form_layers():
    """Sub-packages import each other in one direction only (every import, lazy ones too)."""
    cycles = _cycles(_package_graph(_imports))
    assert cycles == [], f"sub-package cycles: {cycles}"


def test_inspect_loads_no_assessment_simulator_or_agent(tmp_path):
    script = (
        "import sys\n"
        "from flapwatch.cli import main\n"
        f"main(['inspect', '--json', {str(REPO / 'captures' / 'lab.pcapng')!r}])\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('flapwatch.') or m == 'numpy')\n"
        "print('LOADED', ' '.join(loaded), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = proc.stderr.split("LOADED", 1)[1].split()
    assert '"lldp_neighbors"' in proc.stdout and "flapwatch._core" in loaded  # it ran, in the core
    banned = [m for m in loaded if m == "numpy" or m.split(".")[1] in ("assess", "sim", "live", "fleet")]
    assert banned == []  # --json builds no rows: not even numpy


def test_cli_import_loads_only_the_parser():
    """`import flapwatch.cli` is every command's start-up: it loads no module a command
    imports when it runs (numpy alone costs ~80 ms; issue 16 allows 20 ms over it), nor the
    other subcommands' modules when the command line names one (nor `typing`)."""
    script = "import sys, flapwatch.cli\nprint(' '.join(sorted(sys.modules)))\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = set(proc.stdout.split())
    assert "flapwatch.cli.inspect_cmd" in loaded and "flapwatch.cli.replay_cmd" not in loaded
    baseline = set(subprocess.run([sys.executable, "-c", "import sys\nprint(' '.join(sorted(sys.modules)))\n"],
                                  capture_output=True, text=True, check=True).stdout.split())
    assert "typing" not in loaded - baseline  # (a site .pth may import it before any of ours)
    parsed = ("import sys\nfrom flapwatch.cli import build_parser, _command_named\n"
              "build_parser(_command_named(['--debug', 'inspect', 'x.pcap']))\nprint(' '.join(sorted(sys.modules)))\n")
    only = set(subprocess.run([sys.executable, "-c", parsed], capture_output=True, text=True, check=True).stdout.split())
    assert sorted(m for m in only if m.startswith("flapwatch.cli.")) == [
        "flapwatch.cli.exits", "flapwatch.cli.formatting", "flapwatch.cli.inspect_cmd"]
    assert "threading" not in only - baseline  # the agent's
    assert "shutil" not in only - baseline  # argparse's way of sizing help (cli/formatting.py)
    not_yet = ["numpy", "tomllib", "flapwatch._core", "flapwatch.config", "flapwatch.tables.schema",
               "flapwatch.sources.capture", "flapwatch.sources.devices", "flapwatch.detect.analysis",
               "flapwatch.present.summary"]
    assert sorted(loaded & set(not_yet)) == []


def test_the_launcher_starts_the_core_before_the_parser():
    """launch.console() starts a plain replay's core run (detect/prestart.py) having loaded
    neither argparse, dataclasses (the configuration's) nor numpy: the ~25 ms they take run
    beside the core (issue 16)."""
    script = ("import sys, flapwatch.launch\nfrom flapwatch.detect.prestart import start\n"
              f"run = start(['replay', '-q', {str(REPO / 'captures' / 'lab.pcapng')!r}])\n"
              "print(type(run).__name__, ' '.join(sorted(sys.modules)))\nrun.take(*run.args)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "StartedRun"
    assert sorted(set(out[1:]) & {"argparse", "dataclasses", "numpy", "flapwatch.cli", "flapwatch.config"}) == []


def test_resolving_inputs_needs_no_numpy():
    """Everything before the core's run (detect.analysis, sources.devices, the config) imports
    no numpy, so the replay imports it on another thread meanwhile (cli/replay_cmd.py)."""
    lab = Path(__file__).resolve().parents[2] / "captures" / "lab.pcapng"
    script = ("import sys, flapwatch.detect.analysis as a\n"
              f"r = a.resolve_captures([{str(lab)!r}])\n"
              "print('numpy' in sys.modules, len(r.paths))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "1"]


def test_replay_imports_nothing_after_the_core_run():
    """What replay's results need is imported on another thread while the core reads
    (cli/replay_cmd.py); an import after the run is the process's own serial time (pathlib
    there was ~4 ms of a 0.16 s replay: bench/README.md, issue 16)."""
    lab = REPO / "captures" / "lab.pcapng"
    script = (  # -S, with this sys.path: what a site .pth imports (pathlib, here) would hide it
        f"import sys\nsys.path[:] = {sys.path!r}\n"
        "import threading\n"
        "import flapwatch.cli.replay_cmd as rc\n"
        "from flapwatch.cli import main\n"
        "finish = rc._finish\n"
        "def measured(args, analysis):\n"
        "    for t in threading.enumerate():\n"
        "        if t.name == 'flapwatch-imports': t.join()\n"
        "    before = set(sys.modules)\n"
        "    code = finish(args, analysis)\n"
        "    print('AFTER', ' '.join(sorted(set(sys.modules) - before)), file=sys.stderr)\n"
        "    return code\n"
        "rc._finish = measured\n"
        f"main(['replay', '--format', 'json', '-q', {str(lab)!r}])\n"
    )
    proc = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True, check=True)
    assert '"flaps"' in proc.stdout  # it ran and wrote its JSON
    assert proc.stderr.split("AFTER", 1)[1].split() == []


def _definitions(pattern: str) -> list[str]:
    rx = re.compile(pattern, re.M)
    return sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if rx.search(p.read_text()))


def test_ns_per_second_is_defined_once():
    # nlrecord is stdlib-only by design (it runs by path on hosts without flapwatch)
    assert _definitions(r"^\s*\w+\s*=\s*(1_000_000_000|10\s*\*\*\s*9|1e9)\b") == ["tables/units.py"]


def test_detection_table_lists_come_from_the_schema():
    """No module spells out its own list of detection tables (they drifted: lldp_rx)."""
    listing = r"\(\s*\"flaps\",\s*\"policy_events\",\s*\"pfc_storms\""
    assert _definitions(listing) == []


def test_nlrecord_runs_by_path_and_as_a_module():
    """It is stdlib-only and runs where flapwatch is not installed: by path, its folder
    comes first on sys.path, and nothing there may shadow the standard library."""
    path = PACKAGE / "sources" / "nlrecord.py"
    for argv in ([sys.executable, str(path), "--help"], [sys.executable, "-m", "flapwatch.sources.nlrecord", "--help"]):
        proc = subprocess.run(argv, capture_output=True, text=True)
        assert proc.returncode == 0 and "usage" in proc.stdout, proc.stderr
    stdlib = set(sys.stdlib_module_names)
    shadowing = [p.name for p in PACKAGE.rglob("*.py") if p.stem in stdlib]
    assert shadowing == []
    imports = _imports(path, _modules())
    assert imports == set()  # no flapwatch module: it must run alone


def test_design_document_names_folders_that_exist():
    """docs/DESIGN.md's "Where a new piece goes" points at one real place per kind."""
    repo = REPO  # the checkout (the package may be installed elsewhere)
    text = (repo / "docs" / "DESIGN.md").read_text()
    section = text.split("## Where a new piece goes", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) >= 8
    kinds = {kind.strip(): where for kind, where in rows}
    for needed in ("counter source (ethtool, SONiC)", "signature label", "output format"):
        assert needed in kinds
    for kind, where in kinds.items():
        for path in re.findall(r"`([^`]+)`", where):
            path = path.replace("<name>", "replay")  # a pattern: one instance must exist
            assert (repo / path).exists() or (repo / "python" / "flapwatch" / path).exists(), (kind, path)
