"""flapwatch: link-flap, PFC storm and LLDP neighbor-change detection for AI cluster NICs."""

from .capture import Capture, Table, iter_capture, read_capture
from .errors import CaptureError, CaptureWarning

__version__ = "0.1.0"
__all__ = ["Capture", "CaptureError", "CaptureWarning", "Table", "iter_capture", "read_capture", "__version__"]
