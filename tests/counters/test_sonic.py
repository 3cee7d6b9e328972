"""The SONiC switch source (issue 13 acceptance): a real redis-server, loaded with the
published COUNTERS_DB / APPL_DB / STATE_DB mock tables (sonic-utilities' tests/mock_tables,
read from ../shared/counters-public, not copied), driven by this test as syncd and orchagent
would drive it: pause durations growing on Ethernet4 priority 3 for the whole of syncd's
read interval (a storm) and at half of it on priority 4 (no storm), oper_status going down
and up with flap_count += 2 on Ethernet16 (a flap), flap_count += 2 with no state seen on
Ethernet36 (a flap between two polls). `flapwatch agent --sonic` must report exactly those."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from conftest import REPO, require_tools

pytestmark = pytest.mark.tools

PUBLIC = REPO.parent / "shared" / "counters-public"
S = 1_000_000_000
DBS = {"sonic-appl_db.json": 0, "sonic-counters_db.json": 2, "sonic-state_db.json": 6}


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server on a unix socket in tmp_path (no TCP, no persistence), killed at the end."""
    require_tools("redis-server")
    import redis

    sock = tmp_path / "redis.sock"
    proc = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
                             "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if sock.exists() and redis.Redis(unix_socket_path=str(sock)).ping():
                    break
            except redis.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("redis-server did not start")
            time.sleep(0.02)
        yield str(sock)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _load(sock: str) -> dict[int, dict]:
    """The published mock tables into their databases: each key a hash."""
    import redis

    tables = {}
    for name, db in DBS.items():
        data = json.loads((PUBLIC / name).read_text())
        r = redis.Redis(unix_socket_path=sock, db=db, decode_responses=True)
        pipe = r.pipeline()
        for key, value in data.items():
            assert isinstance(value, dict), (name, key)
            if value:
                pipe.hset(key, mapping={k: str(v) for k, v in value.items()})
        pipe.execute()
        tables[db] = data
    return tables


def test_database_numbers_from_the_published_config():
    from flapwatch.counters.sonic import db_numbers

    assert db_numbers(PUBLIC / "sonic-database_config.json") == {"APPL_DB": 0, "COUNTERS_DB": 2, "STATE_DB": 6}


def test_addresses():
    from flapwatch.counters.sonic import connection_kwargs
    from flapwatch.errors import ConfigError

    assert connection_kwargs(None) == {"unix_socket_path": "/var/run/redis/redis.sock"}
    assert connection_kwargs("unix:///tmp/r.sock") == {"unix_socket_path": "/tmp/r.sock"}
    assert connection_kwargs("127.0.0.1:6379") == {"host": "127.0.0.1", "port": 6379}
    assert connection_kwargs("[::1]:6380") == {"host": "::1", "port": 6380}
    with pytest.raises(ConfigError):
        connection_kwargs("switch1")


def test_the_mock_tables_read_as_samples_and_baselines(redis_server):
    """One poll of the published tables: every COUNTERS_PORT_NAME_MAP port gives a sample
    of its SAI PFC counters (the mock has frame counts, no durations: absent, not 0), every
    APPL_DB port with an oper_status a baseline link event carrying flap_count."""
    from flapwatch.counters.sonic import SonicSource

    tables = _load(redis_server)

    class Sink:
        def __init__(self):
            self.samples, self.links = [], []

        def push_counters(self, s):
            self.samples.append(s)
            return True

        def push_link(self, ts, iface, up, **kw):
            self.links.append((iface, up, kw))
            return True

    sink = Sink()
    src = SonicSource(redis_server).connect()
    src.poll_once(sink)
    assert sorted(s[2] for s in sink.samples) == ["Ethernet0", "Ethernet4", "Ethernet8"]
    eth0 = next(s for s in sink.samples if s[2] == "Ethernet0")
    port = tables[2]["COUNTERS:" + tables[2]["COUNTERS_PORT_NAME_MAP"]["Ethernet0"]]
    # (meaning pfc_frames = 0, rx = 1, priority 3): the mock's 203
    assert (0, 1, 3, 0, 64, int(port["SAI_PORT_STAT_PFC_3_RX_PKTS"])) in eth0[5]
    assert not any(v[0] == 2 for v in eth0[5])  # no SAI_..._PAUSE_DURATION_US in the mock
    links = {iface: (up, kw) for iface, up, kw in sink.links}
    appl = {k.split(":", 1)[1]: v for k, v in tables[0].items() if k.startswith("PORT_TABLE:")}
    assert set(links) == {p for p, v in appl.items() if v.get("oper_status") in ("up", "down")}
    assert links["Ethernet0"] == (False, {"carrier_changes": 3, "baseline": True})
    assert links["Ethernet24"] == (True, {"carrier_changes": -1, "baseline": True})  # no flap_count: unknown


class _Switch:
    """The test as syncd (a PFC_WD counter read every 100 ms: the counters and
    COUNTERS:TIME_STAMP in one transaction) and orchagent (APPL_DB PORT_TABLE)."""

    def __init__(self, sock: str, tables: dict[int, dict]):
        import redis

        self.counters = redis.Redis(unix_socket_path=sock, db=2, decode_responses=True)
        self.appl = redis.Redis(unix_socket_path=sock, db=0, decode_responses=True)
        self.oid = tables[2]["COUNTERS_PORT_NAME_MAP"]["Ethernet4"]
        self.key = f"COUNTERS:{self.oid}"
        self.duty = {3: 0.0, 4: 0.0}  # the paused fraction of each read interval
        self.pause_us = {3: 0, 4: 0}
        self.frames = {p: int(tables[2][self.key][f"SAI_PORT_STAT_PFC_{p}_RX_PKTS"]) for p in (3, 4)}
        self.stop = threading.Event()
        self.last = time.monotonic_ns()
        self.write(self.last)

    def write(self, stamp: int) -> None:
        pipe = self.counters.pipeline(transaction=True)
        fields = {}
        for p in (3, 4):
            fields[f"SAI_PORT_STAT_PFC_{p}_RX_PAUSE_DURATION_US"] = str(self.pause_us[p])
            fields[f"SAI_PORT_STAT_PFC_{p}_RX_PKTS"] = str(self.frames[p])
        pipe.hset(self.key, mapping=fields)
        pipe.hset("COUNTERS:TIME_STAMP", "PFC_WD_Port_Counter_time_stamp", str(stamp))
        pipe.execute()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            now = time.monotonic_ns()
            dt_us = (now - self.last) // 1000
            for p, duty in self.duty.items():
                self.pause_us[p] += int(dt_us * duty)
                self.frames[p] += int(dt_us * duty / 300)  # a frame every ~300 µs of pause
            self.last = now
            self.write(now)

    def oper(self, port: str, *statuses: str) -> None:
        """orchagent's writes for each transition, in one transaction (several: a flap that
        came and went between two of the agent's polls)."""
        key = f"PORT_TABLE:{port}"
        pipe = self.appl.pipeline(transaction=True)
        for status in statuses:
            pipe.hset(key, "oper_status", status)
            pipe.hincrby(key, "flap_count", 1)
            pipe.hset(key, f"last_{status}_time", time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime()))
        pipe.execute()


def test_agent_sonic_reports_the_storm_and_flaps_driven_and_nothing_else(redis_server, tmp_path):
    tables = _load(redis_server)
    switch = _Switch(redis_server, tables)
    events = tmp_path / "events.jsonl"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "flapwatch", "agent", "--sonic", redis_server, "--events", str(events),
                             "--duration", "8"], stderr=subprocess.PIPE, text=True, env=env)
    syncd = threading.Thread(target=switch.run, daemon=True)
    try:
        line = proc.stderr.readline()
        assert "reading SONiC" in line, line + proc.stderr.read()
        syncd.start()
        time.sleep(1.0)  # baselines: the mock tables as they are make nothing
        storm_start = time.time_ns()
        switch.duty.update({3: 1.0, 4: 0.5})  # p3 paused all the time, p4 half of it
        time.sleep(2.0)
        storm_end = time.time_ns()
        switch.duty.update({3: 0.0, 4: 0.0})
        time.sleep(0.8)
        down = time.time_ns()
        switch.oper("Ethernet16", "down")
        time.sleep(0.6)
        up = time.time_ns()
        switch.oper("Ethernet16", "up")
        time.sleep(0.6)
        hidden = time.time_ns()
        switch.oper("Ethernet36", "down", "up")  # down and up between two of the agent's polls
        err = proc.communicate(timeout=30)[1]
    finally:
        switch.stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    rows = [json.loads(line) for line in events.read_text().splitlines()]
    kinds = {}
    for r in rows:
        kinds.setdefault(r["type"], []).append(r)
    storms = kinds.pop("pfc_storm", [])
    assert [(s["port"], s["priority"]) for s in storms] == [("Ethernet4", 3)], rows
    # detected from syncd's reads: started within a read interval (and the agent's poll) of the drive
    assert storm_start - S // 4 <= storms[0]["start_ns"] <= storm_start + S // 4
    assert storm_end - S // 4 <= storms[0]["end_ns"] <= storm_end + S // 4
    flaps = sorted(kinds.pop("flap", []), key=lambda f: f["down_ns"])
    assert [(f["port"], bool(f["hidden"])) for f in flaps] == [("Ethernet16", False), ("Ethernet36", True)], flaps
    assert down <= flaps[0]["down_ns"] <= down + S // 2 and up <= flaps[0]["up_ns"] <= up + S // 2
    assert flaps[1]["source"] == "carrier counters" and hidden - S // 2 <= flaps[1]["down_ns"] <= hidden <= flaps[1]["up_ns"] <= hidden + S // 2
    assert [d["port"] for d in kinds.pop("link_down", [])] == ["Ethernet16"]
    policies = kinds.pop("policy_event", [])
    assert [(p["port"], p["policy"], p["event"]) for p in policies if p["policy"].startswith("pfc")] == \
        [("Ethernet4", "pfc-storm:p3", "trip"), ("Ethernet4", "pfc-storm:p3", "clear")]
    # flap policies may count the driven flaps, on the flapped ports only
    assert {p["port"] for p in policies if not p["policy"].startswith("pfc")} <= {"Ethernet16", "Ethernet36"}
    kinds.pop("pause_stat", None)  # statistics of the paused time, not findings of their own
    assert kinds == {}, kinds
