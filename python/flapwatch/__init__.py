"""flapwatch: link-flap, PFC storm and LLDP neighbor-change detection for AI cluster NICs."""

from .agent import Agent, Detection
from .analysis import Analysis, analyze
from .capture import Capture, Table, iter_capture, read_capture
from .config import Config, DampeningPolicy, WindowPolicy
from .errors import CaptureError, CaptureWarning

__version__ = "0.1.0"
__all__ = [
    "Agent",
    "Analysis",
    "Detection",
    "Capture",
    "CaptureError",
    "CaptureWarning",
    "Config",
    "DampeningPolicy",
    "Table",
    "WindowPolicy",
    "__version__",
    "analyze",
    "iter_capture",
    "read_capture",
]
