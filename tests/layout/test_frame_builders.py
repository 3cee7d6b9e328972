"""One home for the frame builders and one pcapng writer (issue 18).

Frame bytes are built by flapwatch.wire, one module per decoder in
cpp/include/flapwatch/decode/ (ethernet, mac_control, lldp, netlink), for the simulator, the
tests, the benchmark generator, the fuzz seeds and the capture script alike. pcapng is written
by flapwatch.sources.pcapng.PcapngWriter (the core's writer); tests/support/capture_writers.py
keeps only the byte-level container crafting that bad-input tests need (PcapngBuilder)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "python" / "flapwatch"
WIRE = PACKAGE / "wire"
SCANNED = [PACKAGE, REPO / "tests", REPO / "captures", REPO / "bench", REPO / "fuzz"]
WIRE_MODULES = ("ethernet", "mac_control", "lldp", "netlink")  # as cpp/include/flapwatch/decode/*.hpp
# Names the two old copies used (wire/frames.py, tests/capture_writers.py) that are gone.
RETIRED = {"ethernet", "netlink_cooked", "mac_control", "_nlmsg", "_rta", "_tlv", "_org", "PcapngWriter"}


def _python_files():
    for root in SCANNED:
        for path in sorted(root.rglob("*.py")):
            if "build" not in path.relative_to(REPO).parts[:1]:
                yield path


def _definitions(path: Path):
    """Functions and classes defined in a file, at any depth, methods aside."""
    tree = ast.parse(path.read_text(), str(path))
    methods = {id(item) for node in ast.walk(tree) if isinstance(node, ast.ClassDef) for item in node.body}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and id(node) not in methods:
            yield node.name, node.lineno


def _all_definitions() -> dict[str, list[str]]:
    where = defaultdict(list)
    for path in _python_files():
        for name, line in _definitions(path):
            where[name].append(f"{path.relative_to(REPO)}:{line}")
    return where


def test_wire_has_one_module_per_decoder():
    decoders = {p.stem for p in (REPO / "cpp" / "include" / "flapwatch" / "decode").glob("*.hpp")}
    assert set(WIRE_MODULES) <= decoders
    assert sorted(p.stem for p in WIRE.glob("*.py")) == sorted(("__init__", *WIRE_MODULES))


def test_each_frame_builder_is_defined_once():
    where = _all_definitions()
    builders = {name for m in WIRE_MODULES for name, _ in _definitions(WIRE / f"{m}.py") if not name.startswith("_")}
    assert len(builders) >= 39  # every TLV, tag, header and message
    copies = {name: where[name] for name in sorted(builders) if len(where[name]) != 1}
    assert copies == {}, f"frame builders defined more than once: {copies}"


def test_old_copies_are_gone():
    where = _all_definitions()
    assert [w.split(":")[0] for w in where["PcapngWriter"]] == ["python/flapwatch/sources/pcapng.py"]
    left = {name: where[name] for name in sorted(RETIRED - {"PcapngWriter"}) if where.get(name)}
    assert left == {}, f"old builder names defined again: {left}"
    assert not (WIRE / "frames.py").exists()


def _packs_pcapng_section_header(path: Path) -> bool:
    """A struct.pack(...) call with the section header's byte-order magic: it writes blocks."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "pack":
            if any(isinstance(a, ast.Constant) and a.value == 0x1A2B3C4D for a in node.args):
                return True
    return False


def test_pcapng_blocks_are_written_in_one_place():
    """The core writes pcapng for flapwatch (simulate, --record, make_captures.py); in Python
    only the test crafting of odd files builds blocks byte by byte."""
    writers = sorted(str(p.relative_to(REPO)) for p in _python_files() if _packs_pcapng_section_header(p))
    assert writers == ["tests/support/capture_writers.py"]


def _flapwatch_imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("flapwatch"):
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("flapwatch"))
    return out


def test_wire_needs_no_compiled_extension():
    """wire/ imports only itself and nlrecord (stdlib-only, the cooked header's home), and
    nlrecord nothing of wire: it runs by path, alone."""
    imported = set().union(*(_flapwatch_imports(p) for p in WIRE.glob("*.py")))
    assert {m for m in imported if not m.startswith("flapwatch.wire")} == {"flapwatch.sources.nlrecord"}
    assert _flapwatch_imports(PACKAGE / "sources" / "nlrecord.py") == set()
    script = (
        "import sys\n"
        "sys.modules['flapwatch._core'] = None  # as if the extension were not built\n"
        "from flapwatch import wire\n"
        "frames = [wire.pfc_frame('02:00:00:00:00:01', 8, [0, 0, 0, 65535, 0, 0, 0, 0], [wire.vlan_tag(100, pcp=3)]),\n"
        "          wire.pause_frame(b'\\x02' * 6, 1),\n"
        "          wire.lldpd_frame(b'\\x02' * 6, chassis_mac=b'\\x02' * 6, port_id='swp1', ttl=120),\n"
        "          wire.nlmon_frame(wire.link_msg(2, 0x11043, carrier=1) + wire.done_msg())]\n"
        "print(*map(len, frames))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["60", "60", "60", str(16 + 48 + 20)]  # cooked header, link message (ifinfomsg, MTU, carrier), done

