"""flapwatch: link-flap, PFC storm and LLDP neighbor-change detection for AI cluster NICs."""

from .agent import Agent, Detection
from .analysis import Analysis, analyze
from .capture import Capture, Table, iter_capture, read_capture
from .config import Config, DampeningPolicy, WindowPolicy
from .errors import CaptureError, CaptureWarning
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import simulate  # the module (flapwatch.simulate.simulate writes one scenario)
    from .risk import RiskModel, score_analysis
    from .signatures import Episodes, SignatureConfig, classify

# Loaded on first use: the CLI's inspect and the agent never need them, and they cost
# most of `import flapwatch` (PEP 562 module __getattr__).
_LAZY = {
    "RiskModel": "risk",
    "score_analysis": "risk",
    "Episodes": "signatures",
    "SignatureConfig": "signatures",
    "classify": "signatures",
    "simulate": None,  # the module itself
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'flapwatch' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f".{_LAZY[name] or name}", __name__)
    value = module if _LAZY[name] is None else getattr(module, name)
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
