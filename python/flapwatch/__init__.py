"""flapwatch: link-flap, PFC storm and LLDP neighbor-change detection for AI cluster NICs."""

from .agent import Agent, Detection
from .analysis import Analysis, analyze
from .capture import Capture, Table, iter_capture, read_capture
from .config import Config, DampeningPolicy, WindowPolicy
from .errors import CaptureError, CaptureWarning
from .risk import RiskModel, score_analysis
from .signatures import Episodes, SignatureConfig, classify
from . import simulate  # the module (flapwatch.simulate.simulate writes one scenario)

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
