"""The tables the run's figures are drawn from, without matplotlib (issue 19: the main
process computes them and a helper process draws, :mod:`sim.results.helper`)."""

from __future__ import annotations

import pandas as pd

from sim.results.outcomes import rtw_curve

PANELS = ("imd_quintile", "ethnicity")  # the panels of rtw_curves.png, left to right


def rtw_curves_data(agents: pd.DataFrame, horizon: int) -> list[pd.DataFrame]:
    """Each panel's RTW curves (:func:`sim.results.outcomes.rtw_curve`, first 52 weeks)."""
    weeks = min(52, horizon)
    return [rtw_curve(agents, by, weeks) for by in PANELS]
