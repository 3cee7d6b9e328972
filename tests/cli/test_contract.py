"""The CLI contract (README, "Exit codes"): each failure an SRE can meet, with its exit
code and the one line it prints on stderr. 0 ok, 1 --fail-on matched, 2 usage or
configuration (naming the file and line), 3 a capture that cannot be read, 4 the agent
cannot start (with a hint), 141 stdout closed (quietly), 70 a bug."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import flapwatch
from conftest import CAPTURES, require_tools

LAB = CAPTURES / "lab.pcapng"


@dataclass
class Case:
    name: str
    argv: list[str]
    code: int
    stderr: str = ""  # a regex the stderr must match ("" : stderr must be empty)
    stdout: str | None = None  # a regex stdout must match
    files: dict = field(default_factory=dict)  # name -> bytes or str, made in tmp_path; "{tmp}" in argv


def _truncated_gz() -> bytes:
    data = gzip.compress(LAB.read_bytes())
    return data[: len(data) * 2 // 3]


def _truncated_pcapng() -> bytes:
    data = LAB.read_bytes()
    return data[: len(data) - 37]


CASES = [
    Case("no arguments", [], 2, r"(?s)^usage: flapwatch .*error: the following arguments are required: command"),
    Case("version", ["--version"], 0, "", stdout=rf"^flapwatch {re.escape(flapwatch.__version__)}\n$"),
    Case("unknown subcommand", ["frobnicate"], 2, r"invalid choice: 'frobnicate'"),
    Case("inspect: missing file", ["inspect", "{tmp}/none.pcap"], 3, r"^flapwatch: error: No such file or directory: .*none\.pcap$"),
    Case("inspect: not a capture", ["inspect", "{tmp}/notes.txt"], 3, r"^flapwatch: error: .*notes\.txt: offset 0: .*",
         files={"notes.txt": "just some text, not a capture\n" * 4}),
    Case("inspect: empty file", ["inspect", "{tmp}/empty.pcap"], 3, r"empty\.pcap: offset 0: empty file",
         files={"empty.pcap": b""}),
    Case("inspect: truncated warns on stderr", ["inspect", "{tmp}/cut.pcapng"], 0, r"^flapwatch: warning: .*cut\.pcapng: offset \d+: .*past the end of the file \(\d+ left\); read stops here",
         stdout=r"^files: ", files={"cut.pcapng": _truncated_pcapng()}),
    Case("inspect --json: truncated warns on stderr", ["inspect", "--json", "{tmp}/cut.pcapng"], 0,
         r"^flapwatch: warning: .*cut\.pcapng: offset \d+: .*past the end of the file \(\d+ left\); read stops here", stdout=r'"warnings":\["', files={"cut.pcapng": _truncated_pcapng()}),
    Case("inspect --strict: truncated is an error", ["inspect", "--strict", "{tmp}/cut.pcapng"], 3,
         r"^flapwatch: error: .*cut\.pcapng: offset \d+: .*past the end of the file", files={"cut.pcapng": _truncated_pcapng()}),
    Case("replay: missing file", ["replay", "-q", "{tmp}/none.pcapng"], 3, r"^flapwatch: error: No such file or directory: .*none\.pcapng$"),
    Case("replay: empty directory", ["replay", "-q", "{tmp}/"], 3, r"^flapwatch: error: .*no captures"),
    Case("replay: glob matching nothing", ["replay", "-q", "{tmp}/*.pcapng"], 3, r"no capture matches"),
    Case("replay: parquet needs -o", ["replay", "-q", "--format", "parquet", str(LAB)], 2,
         r"^flapwatch: error: --format parquet needs -o"),
    Case("replay: unknown format", ["replay", "--format", "xml", str(LAB)], 2, r"invalid choice: 'xml'"),
    Case("replay: unknown table", ["replay", "--table", "nope", str(LAB)], 2, r"invalid choice: 'nope'"),
    Case("replay: --port matching nothing", ["replay", "-q", "--port", "nope*", str(LAB)], 2,
         r"^flapwatch: error: --port 'nope\*' matches no port"),
    Case("replay: bad --since", ["replay", "--since", "yesterday", str(LAB)], 2, r"not a time: 'yesterday'"),
    Case("replay: bad --fail-on", ["replay", "--fail-on", "explosions", str(LAB)], 2, r"--fail-on takes"),
    Case("replay: --fail-on matched", ["replay", "-q", "--fail-on", "flap", str(LAB)], 1,
         r"^flapwatch: --fail-on matched: flap$"),
    Case("replay: --fail-on not matched", ["replay", "-q", "--fail-on", "storm", str(CAPTURES / "lab-netlink.pcap")], 0, ""),
    Case("replay: missing config", ["replay", "-q", "--config", "{tmp}/none.toml", str(LAB)], 2,
         r"^flapwatch: error: .*none\.toml: configuration file not found$"),
    Case("replay: config not TOML", ["replay", "-q", "--config", "{tmp}/bad.toml", str(LAB)], 2,
         r"^flapwatch: error: .*bad\.toml:2: not valid TOML", files={"bad.toml": "job_budget_s = 7\nmicro_flap_ms = = 3\n"}),
    Case("replay: unknown config key", ["replay", "-q", "--config", "{tmp}/typo.toml", str(LAB)], 2,
         r"typo\.toml: unknown config keys: \['job_budget'\]", files={"typo.toml": "job_budget = 7\n"}),
    Case("replay: config value of the wrong kind, said once", ["replay", "-q", "--config", "{tmp}/abc.toml", str(LAB)], 2,
         r"^flapwatch: error: .*abc\.toml: job_budget_s must be a non-negative number of seconds, not 'abc'\n$",
         files={"abc.toml": 'job_budget_s = "abc"\n'}),
    Case("replay: bad custom policy", ["replay", "-q", "--config", "{tmp}/pol.toml", str(LAB)], 2,
         r"pol\.toml: window policy 'mine' needs window_s",
         files={"pol.toml": 'window_policies = [{name = "mine", count = 3}]\n'}),
    Case("replay: bad --speed", ["replay", "-q", "--speed", "warp9", str(LAB)], 2, r"not a link speed: 'warp9'"),
    Case("replay: cut .gz to csv warns", ["replay", "-q", "--format", "csv", "{tmp}/cut.pcapng.gz"], 0,
         r"^flapwatch: warning: ", stdout=r"^port,flaps,", files={"cut.pcapng.gz": _truncated_gz()}),
    Case("replay: cut .gz to jsonl warns", ["replay", "-q", "--format", "jsonl", "{tmp}/cut.pcapng.gz"], 0,
         r"^flapwatch: warning: ", files={"cut.pcapng.gz": _truncated_gz()}),
    Case("replay: cut .gz as a table warns on stderr only", ["replay", "-q", "{tmp}/cut.pcapng.gz"], 0,
         r"^flapwatch: warning: ", stdout=r"\A(?![\s\S]*warning)", files={"cut.pcapng.gz": _truncated_gz()}),
    Case("replay --strict: cut .gz is an error", ["replay", "-q", "--strict", "{tmp}/cut.pcapng.gz"], 3,
         r"^flapwatch: error: .*cut\.pcapng\.gz", files={"cut.pcapng.gz": _truncated_gz()}),
    Case("replay --follow: a directory", ["replay", "--follow", "{tmp}/"], 2, r"--follow takes capture files"),
    Case("simulate: unknown scenario", ["simulate", "nope", "-o", "{tmp}/x.pcapng"], 2, r"unknown scenario 'nope'"),
    Case("simulate: no output", ["simulate", "oscillation"], 2, r"SCENARIO and -o are required"),
    Case("agent: missing interface", ["agent", "-i", "nosuch0", "--duration", "0.1"], 4,
         r"^flapwatch: error: interface nosuch0 does not exist here \(have: .*lo.*\); `ip link`"),
    Case("agent: pattern matching nothing", ["agent", "-i", "nos*", "--duration", "0.1"], 4,
         r"^flapwatch: error: no interface matches 'nos\*' here"),
    Case("agent: bad metrics port", ["agent", "-i", "lo", "--metrics", "127.0.0.1:99999"], 2,
         r"^flapwatch: error: --metrics takes HOST:PORT with a port from 1 to 65535, not '127\.0\.0\.1:99999'"),
    Case("agent: metrics without a port", ["agent", "-i", "lo", "--metrics", "localhost"], 2, r"--metrics takes HOST:PORT"),
    Case("agent: missing config", ["agent", "-i", "lo", "--config", "{tmp}/none.toml"], 2, r"none\.toml: configuration file not found"),
    Case("agent: no -i", ["agent"], 2, r"the following arguments are required: -i/--interface"),
]


def _run(case: Case, tmp_path: Path, prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    for name, data in case.files.items():
        path = tmp_path / name
        path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in case.argv]
    return subprocess.run((prefix or []) + [sys.executable, "-m", "flapwatch", *argv], capture_output=True, text=True,
                          timeout=60)


def _check(case: Case, proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == case.code, f"{case.name}: exit {proc.returncode}\n{proc.stderr}"
    if case.stderr:
        assert re.search(case.stderr, proc.stderr, re.M), f"{case.name}: stderr {proc.stderr!r}"
    else:
        assert proc.stderr == "", f"{case.name}: stderr {proc.stderr!r}"
    assert "Traceback" not in proc.stderr
    if case.stdout is not None:
        assert re.search(case.stdout, proc.stdout, re.M), f"{case.name}: stdout {proc.stdout[:300]!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_contract(case, tmp_path):
    _check(case, _run(case, tmp_path))


def test_at_least_thirty_cases():
    assert len(CASES) + len(ROOT_CASES) + 2 >= 30


def test_closed_pipe_exits_quietly(tmp_path):
    """`| head -1`: no '[Errno 32] Broken pipe', no traceback; 141 as other Unix tools."""
    big = tmp_path / "big.pcapng"
    flapwatch.simulate.simulate("degrading", big, seed=3)
    script = f"{sys.executable} -m flapwatch replay -q --format jsonl {big} | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}"
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "141" and proc.stderr == "", proc


def test_a_bug_is_one_line_with_a_hint(capsys):
    """An unexpected exception: exit 70 and one line; --debug shows the traceback."""
    from flapwatch import cli

    assert cli._exit_code(KeyError("surprise")) == 70
    err = capsys.readouterr().err
    assert err == "flapwatch: error: internal error: KeyError: 'surprise' (a bug: --debug shows the traceback)\n"


ROOT_CASES = [
    Case("agent: metrics address in use", ["agent", "-i", "lo", "--metrics", "127.0.0.1:{port}", "--duration", "1"], 4,
         r"^flapwatch: error: cannot serve metrics on 127\.0\.0\.1:\d+: Address already in use"),
    Case("agent: unknown metrics host", ["agent", "-i", "lo", "--metrics", "nohost.invalid:9477", "--duration", "1"], 4,
         r"^flapwatch: error: cannot serve metrics on nohost\.invalid:9477"),
    Case("agent: without CAP_NET_RAW", ["agent", "-i", "lo", "--duration", "1"], 4,
         r"^flapwatch: error: cannot start: .*not permitted; run as root, or grant CAP_NET_RAW"),
]


@pytest.mark.root
@pytest.mark.tools
@pytest.mark.parametrize("case", ROOT_CASES, ids=[c.name for c in ROOT_CASES])
def test_agent_start_up_as_root(case, tmp_path):
    import socket

    require_tools("setpriv")
    prefix = None
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        case = Case(case.name, [a.replace("{port}", str(busy.getsockname()[1])) for a in case.argv], case.code,
                    case.stderr)
        if "CAP_NET_RAW" in case.name:  # root without the two capabilities, as a locked-down unit would be
            prefix = ["setpriv", "--bounding-set", "-net_raw,-net_admin", "--inh-caps", "-net_raw,-net_admin", "--"]
        _check(case, _run(case, tmp_path, prefix))


@pytest.mark.root
def test_agent_says_what_it_listens_on(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "flapwatch", "agent", "-i", "lo", "--duration", "0.5", "--events",
                           str(tmp_path / "ev.jsonl")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first == f"flapwatch agent: watching lo and netlink link messages; events to {tmp_path / 'ev.jsonl'}"
