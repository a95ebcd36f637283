"""Common-random-number comparisons across replicates: :func:`paired_difference` and
:func:`paired_ratio` (paired t intervals)."""

from __future__ import annotations

import numpy as np

from sim.stats.core import PairedResult, _check_level, _same_length, _t_ppf, _vector


def _paired_t(d: np.ndarray, level: float, scale: str) -> PairedResult:
    n = len(d)
    est = float(d.mean())
    if n < 2:
        return PairedResult(est, np.nan, np.nan, np.nan, n, 0, False, scale)
    se = float(d.std(ddof=1) / np.sqrt(n))
    q = float(_t_ppf(0.5 + level / 2, n - 1))
    return PairedResult(est, est - q * se, est + q * se, se, n, n - 1, True, scale)


def _paired_inputs(design_values, baseline_values) -> tuple[np.ndarray, np.ndarray]:
    x = _vector("design_values", design_values)
    y = _vector("baseline_values", baseline_values)
    _same_length(design_values=x, baseline_values=y)
    return x, y


def paired_difference(design_values, baseline_values, level: float = 0.95) -> PairedResult:
    """Mean of per-replicate differences ``design - baseline`` with a paired t interval.

    Element i of both arrays must come from the same replicate seed (common random
    numbers), so shared noise cancels. t quantile with n - 1 df; with one replicate the
    interval is NaN and ``has_interval`` is False. Example:
    ``paired_difference(rtw_design_by_rep, rtw_usual_care_by_rep).estimate``.
    """
    level = _check_level(level)
    x, y = _paired_inputs(design_values, baseline_values)
    return _paired_t(x - y, level, "difference")


def paired_ratio(design_values, baseline_values, level: float = 0.95) -> PairedResult:
    """Geometric mean of per-replicate ratios ``design/baseline``, paired t on the log scale.

    ``estimate``, ``low`` and ``high`` are back-transformed (ratios); ``se`` is the SE of the
    mean log ratio. Values must be positive. Example:
    ``paired_ratio(days_absent_design, days_absent_usual_care).estimate``.
    """
    level = _check_level(level)
    x, y = _paired_inputs(design_values, baseline_values)
    if np.any(x <= 0):
        raise ValueError("design_values: must be positive for a ratio")
    if np.any(y <= 0):
        raise ValueError("baseline_values: must be positive for a ratio")
    r = _paired_t(np.log(x) - np.log(y), level, "ratio")
    return PairedResult(float(np.exp(r.estimate)), float(np.exp(r.low)), float(np.exp(r.high)),
                        r.se, r.n, r.df, r.has_interval, "ratio")
