"""Rates and units: working days per week, weekly hazards from shares, ratios to a
reference group.

Split from :mod:`sim.evidence.conversions` (which re-exports every name here).
"""

from __future__ import annotations

import numpy as np


def working_days_per_week(working_days_per_year: float) -> float:
    """Working days lost per week of full absence, from working days in a year.

    ONS counts days lost per worker against about 219 working days a year (net of leave and
    bank holidays; registry ``ons_working_days_per_year``), so a week off is 219 / 52 = 4.21
    working days, not 5.

    >>> round(working_days_per_week(219), 3)
    4.212
    """
    if not working_days_per_year > 0:
        raise ValueError(f"working_days_per_year must be > 0, got {working_days_per_year}")
    return float(working_days_per_year) / 52.0


def weekly_hazard_from_share(share: float, weeks: float) -> float:
    """Constant weekly hazard under which ``share`` of people have the event within ``weeks``.

    ``h = -ln(1 - share) / weeks``: e.g. 26% back in work 12-18 months after an ESA claim
    (DWP RR774) over about 65 weeks is 0.0046 a week.

    >>> round(weekly_hazard_from_share(0.26, 65), 5)
    0.00463
    """
    if not 0 <= share < 1:
        raise ValueError(f"share must be in [0, 1), got {share}")
    if not weeks > 0:
        raise ValueError(f"weeks must be > 0, got {weeks}")
    return float(-np.log1p(-share) / weeks)


def ratios_to_reference(values, reference: int) -> list[float]:
    """Each value divided by ``values[reference]`` (rates by group as ratios to a reference).

    >>> ratios_to_reference([2.7, 3.4, 4.3, 6.1], 2)
    [0.628, 0.791, 1.0, 1.419]
    """
    arr = np.asarray(values, dtype=float)
    if arr[reference] <= 0:
        raise ValueError("the reference value must be > 0")
    return [round(float(v), 3) for v in arr / arr[reference]]


__all__ = ["working_days_per_week", "weekly_hazard_from_share", "ratios_to_reference"]
