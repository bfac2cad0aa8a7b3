"""Policy what-if: a period of complaints simulated (SimPy) through the engine's own policy tables
and working-day calendar, under several policies side by side.

    python -m starter simulate [FILE] [--seed N] [--replications R] [--json] [--chart FILE.svg]
"""

from __future__ import annotations

from simulation.inputs import SAMPLE, InputError, Inputs, load

__all__ = ["SAMPLE", "InputError", "Inputs", "load"]
