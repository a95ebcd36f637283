"""``sim.metrics``: a stable import path; the code lives in :mod:`sim.stats.metrics`.

Written by scripts/relayout.py (relayout shim); users' scripts keep importing
``from sim.metrics import ...``. New code imports from sim.stats.metrics.
"""

from sim.stats.metrics import (  # noqa: F401
    EDE,
    ConcentrationIndex,
    Estimate,
    Gap,
    PairedResult,
    SlopeIndex,
    aalen_johansen,
    atkinson_ede,
    concentration_index,
    group_gaps,
    kolm_ede,
    mean_gap,
    paired_difference,
    paired_ratio,
    proportion_gap,
    sii_relative_to_mean,
    slope_index,
    wilson_interval,
)

__all__ = [
    "ConcentrationIndex",
    "EDE",
    "Estimate",
    "Gap",
    "PairedResult",
    "SlopeIndex",
    "aalen_johansen",
    "atkinson_ede",
    "concentration_index",
    "group_gaps",
    "kolm_ede",
    "mean_gap",
    "paired_difference",
    "paired_ratio",
    "proportion_gap",
    "sii_relative_to_mean",
    "slope_index",
    "wilson_interval",
]
