"""Inequality and comparison metrics: pure functions, arrays or DataFrames in, numbers out.

This module gathers the public names; the code is in :mod:`sim.stats.gaps`,
:mod:`sim.stats.equity`, :mod:`sim.stats.survival` and :mod:`sim.stats.paired` (shared types
and checks: :mod:`sim.stats.core`).

Everything here is deterministic (the one Monte Carlo method takes a seed) and vectorised over
individuals; the only Python loops are over a handful of groups or causes.

Contents

* Gaps between two groups, with intervals: :func:`wilson_interval`, :func:`proportion_gap`
  (Newcombe hybrid score difference, Katz log ratio), :func:`mean_gap` (Welch difference,
  delta-method log ratio) and :func:`group_gaps` (every group against a reference group).
* Gradients across deprivation quintiles: :func:`slope_index` (SII and RII, Fingertips
  convention) and :func:`sii_relative_to_mean`.
* :func:`concentration_index` (standard, Erreygers or Wagstaff) with a delta-method SE.
* Distributional cost-effectiveness: :func:`atkinson_ede` and :func:`kolm_ede`.
* Competing risks: :func:`aalen_johansen` (cumulative incidence with tied integer weeks).
* Common-random-number comparisons: :func:`paired_difference` and :func:`paired_ratio`.

Input errors raise ``ValueError`` with a one-line message that names the argument.
"""

from sim.stats.core import (  # noqa: F401 - _z: the lazy normal quantile (tests/test_startup.py)
    EDE,
    ConcentrationIndex,
    Estimate,
    Gap,
    PairedResult,
    SlopeIndex,
    _z,
)
from sim.stats.equity import (
    atkinson_ede,
    concentration_index,
    kolm_ede,
    sii_relative_to_mean,
    slope_index,
)
from sim.stats.gaps import group_gaps, mean_gap, proportion_gap, wilson_interval
from sim.stats.paired import paired_difference, paired_ratio
from sim.stats.survival import aalen_johansen

__all__ = [
    "EDE",
    "ConcentrationIndex",
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
