"""A synthetic world of linked Swedish registers, calibrated to published figures, with its ground truth.

For demos, tests and benchmarks: no real person is in it (numbers are generated at run time and never committed).
"""

from linkage.synth.calibration import Calibration, Figure
from linkage.synth.world import LAYOUT, generate_world

__all__ = ["LAYOUT", "Calibration", "Figure", "generate_world"]
