"""Scenario discovery: which combinations of assumptions lead to an outcome of concern.

PRIM (the patient rule induction method, Friedman & Fisher 1999) as implemented in the EMA
Workbench 3.0: starting from the whole sampled space, it peels off thin slices of one factor
at a time, keeping the slice whose removal most raises the share of cases of concern in
what is left. The *peeling trajectory* trades **coverage** (share of all cases of concern
inside the box) against **density** (share of cases in the box that are of concern).
:func:`find_box` picks the densest box whose coverage is at least ``min_coverage`` and that
restricts at most ``max_restricted`` factors (Bryant & Lempert 2010 judge a box by coverage,
density and how few factors it needs), and reports each restricted factor's limits with
PRIM's quasi-p-value (a one-sided binomial test that the restriction raises density; above
0.05 the restriction is weak).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Discovery:
    trajectory: pd.DataFrame  # per peeling step: coverage, density, mass, n, res_dim
    chosen: int  # index into the trajectory
    limits: pd.DataFrame  # restricted factors: low, high, full_low, full_high, qp_value
    coverage: float
    density: float
    mass: float
    base_rate: float  # share of cases of concern in the whole sample

    def describe(self) -> str:
        """The box in words, e.g. ``access_imd_gradient >= 1.9 and rtw_imd_gradient <= 0.6``."""
        parts = []
        for r in self.limits.itertuples():
            lo = r.low > r.full_low
            hi = r.high < r.full_high
            if lo and hi:
                parts.append(f"{r.low:.3g} <= {r.factor} <= {r.high:.3g}")
            elif lo:
                parts.append(f"{r.factor} >= {r.low:.3g}")
            elif hi:
                parts.append(f"{r.factor} <= {r.high:.3g}")
        return " and ".join(parts) if parts else "(no restriction)"


def find_box(x: pd.DataFrame, y, min_coverage: float = 0.6, peel_alpha: float = 0.05,
             mass_min: float = 0.05, max_restricted: int = 3) -> Discovery:
    """PRIM box for cases ``y`` (bool per row of ``x``); one-line ValueError on bad input."""
    y = np.asarray(y, dtype=bool)
    if len(y) != len(x):
        raise ValueError(f"prim: {len(y)} outcomes for {len(x)} rows")
    if not 0 < min_coverage <= 1:
        raise ValueError(f"prim.min_coverage: got {min_coverage}, expected a value in (0, 1]")
    if isinstance(max_restricted, bool) or not isinstance(max_restricted, int) or \
            max_restricted < 1:
        raise ValueError(f"prim.max_restricted: got {max_restricted!r}, expected an integer "
                         ">= 1")
    if not 0 < peel_alpha < 0.5 or not 0 < mass_min < 1:
        raise ValueError("prim: peel_alpha must be in (0, 0.5) and mass_min in (0, 1)")
    if y.all() or not y.any():
        raise ValueError(f"prim: {int(y.sum())} of {len(y)} cases are of concern; PRIM needs "
                         "both kinds")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        # the workbench logs each peeling step at INFO; analyses print their own summary
        logging.getLogger("EMA").setLevel(logging.WARNING)

        p = prim.Prim(x.reset_index(drop=True).astype(float), y, peel_alpha=peel_alpha,
                      mass_min=mass_min)
        box = p.find_box()
        traj = box.peeling_trajectory.copy()
        ok = traj[(traj["coverage"] >= min_coverage) & (traj["res_dim"] <= max_restricted)]
        chosen = int(ok.sort_values(["density", "coverage"], ascending=False).index[0])
        stats, table = box.inspect(chosen, style="data")[0]
        lims = box.box_lims[chosen]
        full = box.box_lims[0]
    qp = table.iloc[:, 2:].max(axis=1, skipna=True) if table.shape[1] > 2 else pd.Series(
        dtype=float)
    rows = []
    for f in table.index:
        rows.append({"factor": f, "low": float(lims.at[0, f]), "high": float(lims.at[1, f]),
                     "full_low": float(full.at[0, f]), "full_high": float(full.at[1, f]),
                     "qp_value": float(qp.get(f, np.nan))})
    limits = pd.DataFrame(rows, columns=["factor", "low", "high", "full_low", "full_high",
                                         "qp_value"])
    return Discovery(traj, chosen, limits, float(stats["coverage"]), float(stats["density"]),
                     float(stats["mass"]), float(y.mean()))
