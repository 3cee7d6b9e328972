"""Config: the Python dataclass mirrors the C++ core's defaults and presets (defined once,
in cpp/include/flapwatch/track/config.hpp), loads TOML, and refuses what it cannot mean."""

from __future__ import annotations

import dataclasses

import pytest

import flapwatch
from flapwatch import _core
from flapwatch.assess.risk import RiskConfig
from flapwatch.config import DAMPENING_PRESETS, STORM_RULES, WINDOW_PRESETS, Config


def _as_python(value):
    if dataclasses.is_dataclass(value):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [_as_python(v) for v in value]
    return value


def test_python_defaults_are_the_cores():
    core = _core.default_config()
    py = {f.name: _as_python(getattr(Config(), f.name)) for f in dataclasses.fields(Config)}
    assert list(core) == list(py)  # the same fields, in the same order
    assert py == core


def test_the_cores_defaults_are_what_to_core_gives():
    """A replay the launcher starts before it loads the Config runs on the core's defaults
    in to_core()'s shape (detect/prestart.py); taken only when the command's call is it."""
    assert Config().to_core() == _core.engine_defaults()
    assert Config(default_speed="400G").to_core() != _core.engine_defaults()


def test_presets_and_field_order_are_the_cores():
    core = _core.presets()
    assert {k: _as_python(v) for k, v in WINDOW_PRESETS.items()} == core["window_policies"]
    assert {k: _as_python(v) for k, v in DAMPENING_PRESETS.items()} == core["dampening_policies"]
    assert STORM_RULES == core["storm_rules"]
    for kind, cls in (("window_policies", flapwatch.WindowPolicy), ("dampening_policies", flapwatch.DampeningPolicy)):
        for preset in core[kind].values():
            assert list(preset) == [f.name for f in dataclasses.fields(cls)]


def test_toml_round_trip(tmp_path):
    path = tmp_path / "flapwatch.toml"
    path.write_text('job_budget_s = 3.5\nmicro_flap_ms = 25\nwindow_policies = ["10-in-5s", {name = "mine", count = 3, '
                    'window_s = 2.0}]\ndefault_speed = "400G"\n[port_speeds]\n"swp*" = "200G"\n')
    cfg = Config.coerce(path)
    assert cfg.job_budget_s == 3.5 and cfg.micro_flap_ms == 25
    assert [w.name for w in cfg.window_policies] == ["10-in-5s", "mine"]
    core = cfg.to_core()
    assert core["job_budget_ns"] == 3_500_000_000 and core["micro_flap_ns"] == 25_000_000
    assert core["windows"] == [("10-in-5s", 10, 5_000_000_000), ("mine", 3, 2_000_000_000)]
    assert core["default_speed_bps"] == 400 * 10**9 and core["port_speeds"] == [("swp*", 200 * 10**9)]


@pytest.mark.parametrize("data, message", [
    ({"no_such_key": 1}, "unknown config keys"),
    ({"window_policies": ["7-in-3s"]}, "unknown window policy"),
    ({"dampening_policies": ["cisco-ish"]}, "unknown dampening policy"),
    ({"storm_rule": "sometimes"}, "storm_rule"),
    ({"ring_capacity": 1000}, "power of two"),
    ({"default_speed": "fast"}, "not a link speed"),
    ({"own_macs": ["ens1"]}, "own_macs is a table"),
    ({"own_macs": {"ens1": "02:fa:00:00:00"}}, "must be a MAC"),
    ({"own_macs": {"ens1": "00:00:00:00:00:00"}}, "must be a MAC"),
])
def test_bad_configuration_is_named(data, message):
    with pytest.raises(ValueError, match=message):
        Config.from_dict(data).to_core()


def test_own_macs_reach_the_core_as_48_bit_integers(tmp_path):
    path = tmp_path / "flapwatch.toml"
    path.write_text('[own_macs]\n"ens1f0np0" = "02:FA:00:00:00:01"\n"leaf1:swp1" = "02:fa:00:00:00:02"\n')
    core = Config.coerce(path).to_core()
    assert core["own_macs"] == [("ens1f0np0", 0x02FA00000001), ("leaf1:swp1", 0x02FA00000002)]
    bad = Config().to_core()
    bad["own_macs"] = [("ens1", 1 << 48)]
    with pytest.raises((ValueError, RuntimeError), match="lldp.own_macs"):
        _core.analyze([], bad, False, 1 << 10, None)


def test_the_core_validates_for_embedders_too():
    core = Config().to_core()
    core["job_budget_ns"] = -1
    with pytest.raises((ValueError, RuntimeError), match="job_budget"):
        _core.analyze([], core, False, 1 << 10, None)


def test_the_risk_model_takes_the_configured_micro_flap_threshold():
    """The live agent and replay score with the engine's threshold (it was 10 ms live always)."""
    assert RiskConfig.for_config(Config(micro_flap_ms=50)).micro_flap_ms == 50
    assert RiskConfig().micro_flap_ms == Config().micro_flap_ms
