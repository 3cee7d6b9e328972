"""flapwatch: link-flap, PFC storm and LLDP neighbor-change detection for AI cluster NICs."""

from flapwatch.errors import CaptureError, CaptureWarning

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~5 ms of every command's start)
if TYPE_CHECKING:
    from flapwatch.detect.analysis import Analysis, analyze
    from flapwatch.sources.capture import Capture, Table, iter_capture, read_capture
    from flapwatch.config import Config, DampeningPolicy, WindowPolicy
    from flapwatch.live.agent import Agent, Detection
    from flapwatch import sim as simulate  # flapwatch.simulate.simulate writes one scenario
    from flapwatch.assess.risk import RiskModel, score_analysis
    from flapwatch.assess.episodes import Episodes, SignatureConfig
    from flapwatch.assess.signatures import classify

# Loaded on first use (PEP 562 module __getattr__): the command line imports this package
# first, and `flapwatch inspect` needs none of them (not even numpy: tests/layout holds it).
_LAZY = {
    "Analysis": ("detect.analysis", "Analysis"),
    "analyze": ("detect.analysis", "analyze"),
    "Capture": ("sources.capture", "Capture"),
    "Table": ("sources.capture", "Table"),
    "iter_capture": ("sources.capture", "iter_capture"),
    "read_capture": ("sources.capture", "read_capture"),
    "Config": ("config", "Config"),
    "DampeningPolicy": ("config", "DampeningPolicy"),
    "WindowPolicy": ("config", "WindowPolicy"),
    "Agent": ("live.agent", "Agent"),
    "Detection": ("live.agent", "Detection"),
    "RiskModel": ("assess.risk", "RiskModel"),
    "score_analysis": ("assess.risk", "score_analysis"),
    "Episodes": ("assess.episodes", "Episodes"),
    "SignatureConfig": ("assess.episodes", "SignatureConfig"),
    "classify": ("assess.signatures", "classify"),
    "simulate": ("sim", None),  # the package: flapwatch.simulate.simulate writes one scenario
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'flapwatch' has no attribute {name!r}")
    import importlib

    module_name, attr = _LAZY[name]
    module = importlib.import_module(f".{module_name}", __name__)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"
__all__ = [
    "Agent",
    "Analysis",
    "Detection",
    "Episodes",
    "RiskModel",
    "SignatureConfig",
    "Capture",
    "CaptureError",
    "CaptureWarning",
    "Config",
    "DampeningPolicy",
    "Table",
    "WindowPolicy",
    "__version__",
    "analyze",
    "classify",
    "score_analysis",
    "simulate",
    "iter_capture",
    "read_capture",
]
