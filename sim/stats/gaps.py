"""Gaps between two groups, with intervals: :func:`wilson_interval`, :func:`proportion_gap`
(Newcombe hybrid score difference, Katz log ratio), :func:`mean_gap` (Welch difference,
delta-method log ratio) and :func:`group_gaps` (every group against a reference group)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from sim.stats.core import (
    Estimate,
    Gap,
    _check_level,
    _log_interval,
    _scalar,
    _t_ppf,
    _vector,
    _z,
)


def wilson_interval(x: float, n: float, level: float = 0.95) -> Estimate:
    """Proportion ``x/n`` with the Wilson score interval (no continuity correction).

    Counts may be non-integer (weighted counts). Example: ``wilson_interval(81, 263)``
    gives 0.308 (0.255 to 0.366).
    """
    level = _check_level(level)
    x, n = _scalar("x", x), _scalar("n", n)
    if n <= 0:
        raise ValueError(f"n: must be positive, got {n}")
    if not 0 <= x <= n:
        raise ValueError(f"x: must be between 0 and n={n}, got {x}")
    z = _z(level)
    p = x / n
    centre = (x + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * np.sqrt(x * (n - x) / n + z * z / 4)
    low = 0.0 if x == 0 else max(0.0, centre - half)  # exact ends: no 1e-17 rounding
    high = 1.0 if x == n else min(1.0, centre + half)
    return Estimate(p, float(low), float(high))


def proportion_gap(x1: float, n1: float, x0: float, n0: float, level: float = 0.95) -> Gap:
    """Gap between two proportions, group ``x1/n1`` versus reference ``x0/n0``.

    * Absolute: ``p1 - p0`` with Newcombe's hybrid score interval (method 10 of Newcombe
      1998, built from the two Wilson intervals). Well behaved at 0 and 1: never NaN.
    * Relative: ``p1 / p0`` with the Katz log interval,
      ``SE(log RR) = sqrt(1/x1 - 1/n1 + 1/x0 - 1/n0)``.
      When either count is 0 the ratio and its interval use the Haldane-Anscombe
      correction (0.5 added to every cell of the 2x2 table: ``x + 0.5`` over ``n + 1``)
      and ``ratio_corrected`` is True; with both counts 0 the corrected ratio is
      ``(n0 + 1)/(n1 + 1)`` with a very wide interval (no information, but no crash).

    Example: ``proportion_gap(56, 70, 48, 80).absolute`` is 0.200 (0.052 to 0.334).
    """
    level = _check_level(level)
    g1, g0 = wilson_interval(x1, n1, level), wilson_interval(x0, n0, level)
    x1, n1, x0, n0 = float(x1), float(n1), float(x0), float(n0)
    p1, l1, u1 = g1.estimate, g1.low, g1.high
    p0, l0, u0 = g0.estimate, g0.low, g0.high
    d = p1 - p0
    low = d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    absolute = Estimate(d, float(max(-1.0, low)), float(min(1.0, high)))

    corrected = x1 == 0 or x0 == 0
    a, m1, b, m0 = (x1 + 0.5, n1 + 1, x0 + 0.5, n0 + 1) if corrected else (x1, n1, x0, n0)
    ratio = (a / m1) / (b / m0)
    se_log = np.sqrt(max(0.0, 1 / a - 1 / m1 + 1 / b - 1 / m0))
    relative = _log_interval(float(ratio), float(se_log), _z(level))
    return Gap(p1, p0, absolute, relative, bool(corrected))


def mean_gap(values1, values0, level: float = 0.95) -> Gap:
    """Gap between two means, group ``values1`` versus reference ``values0``.

    * Absolute: ``mean1 - mean0`` with the Welch interval (unequal variances,
      Welch-Satterthwaite df, t quantile).
    * Relative: ``mean1 / mean0`` with a delta-method interval on the log scale,
      ``Var(log R) = s1^2/(n1 m1^2) + s0^2/(n0 m0^2)`` and a normal quantile; NaN interval
      unless both means are positive.

    A group with a single value has no variance estimate: intervals are then NaN.
    Example: ``mean_gap(days_absent[imd == 1], days_absent[imd == 5]).absolute.estimate``.
    """
    level = _check_level(level)
    y1, y0 = _vector("values1", values1), _vector("values0", values0)
    n1, n0 = len(y1), len(y0)
    m1, m0 = float(y1.mean()), float(y0.mean())
    d = m1 - m0
    ratio = m1 / m0 if m0 != 0 else np.nan
    if n1 < 2 or n0 < 2:
        return Gap(m1, m0, Estimate(d, np.nan, np.nan), Estimate(ratio, np.nan, np.nan))
    v1, v0 = float(y1.var(ddof=1)) / n1, float(y0.var(ddof=1)) / n0
    se = np.sqrt(v1 + v0)
    if se == 0:
        absolute = Estimate(d, d, d)
    else:
        df = (v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1))
        q = float(_t_ppf(0.5 + level / 2, df))
        absolute = Estimate(d, float(d - q * se), float(d + q * se))
    if m1 > 0 and m0 > 0:
        relative = _log_interval(ratio, float(np.sqrt(v1 / m1**2 + v0 / m0**2)), _z(level))
    else:
        relative = Estimate(ratio, np.nan, np.nan)
    return Gap(m1, m0, absolute, relative)


def group_gaps(
    df: pd.DataFrame,
    group_col: str,
    reference,
    outcome_col: str,
    kind: Literal["proportion", "mean"] = "proportion",
    level: float = 0.95,
) -> pd.DataFrame:
    """Each group of ``group_col`` against the ``reference`` group, one row per group.

    ``kind="proportion"``: the outcome is 0/1 (or bool) and :func:`proportion_gap` is used;
    ``kind="mean"``: :func:`mean_gap`. Rows with a missing outcome or group are dropped.
    Columns: group, reference, n, n_reference, value, reference_value, difference,
    difference_low, difference_high, ratio, ratio_low, ratio_high, ratio_corrected.
    Groups come in category order (categorical column) or sorted order.

    Example: ``group_gaps(people, "imd_quintile", 5, "rtw_13w")`` (quintiles 1-4 vs 5).
    """
    level = _check_level(level)
    if kind not in ("proportion", "mean"):
        raise ValueError(f"kind: must be 'proportion' or 'mean', got {kind!r}")
    for name, col in (("group_col", group_col), ("outcome_col", outcome_col)):
        if col not in df.columns:
            raise ValueError(f"{name}: column {col!r} is not in the DataFrame")
    data = df[[group_col, outcome_col]].dropna()
    outcome = pd.to_numeric(data[outcome_col].astype(float), errors="raise")
    if kind == "proportion" and not outcome.isin([0.0, 1.0]).all():
        raise ValueError(f"outcome_col: {outcome_col!r} must be 0/1 for kind='proportion'")
    groups = {key: outcome[sub.index].to_numpy() for key, sub in
              data.groupby(group_col, sort=True, observed=True)}
    if reference not in groups:
        raise ValueError(f"reference: {reference!r} is not a group of {group_col!r} with data")
    ref = groups[reference]
    rows = []
    for key, y in groups.items():
        if key == reference:
            continue
        if kind == "proportion":
            gap = proportion_gap(y.sum(), len(y), ref.sum(), len(ref), level)
        else:
            gap = mean_gap(y, ref, level)
        rows.append({
            "group": key, "reference": reference, "n": len(y), "n_reference": len(ref),
            "value": gap.value, "reference_value": gap.reference_value,
            "difference": gap.absolute.estimate, "difference_low": gap.absolute.low,
            "difference_high": gap.absolute.high, "ratio": gap.relative.estimate,
            "ratio_low": gap.relative.low, "ratio_high": gap.relative.high,
            "ratio_corrected": gap.ratio_corrected,
        })
    columns = ["group", "reference", "n", "n_reference", "value", "reference_value",
               "difference", "difference_low", "difference_high", "ratio", "ratio_low",
               "ratio_high", "ratio_corrected"]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------------------
# 2. Slope and relative index of inequality
# --------------------------------------------------------------------------------------
