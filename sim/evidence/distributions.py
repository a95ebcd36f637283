"""Distributions matching a reported 95% interval, for probabilistic sensitivity analysis.

Split from :mod:`sim.evidence.conversions` (which re-exports every name here).
Errors are ``ValueError`` with a one-line message.
"""

from __future__ import annotations

import math

# scipy is imported inside z_for_level, and only for a level other than 95%: scipy.stats at
# module level cost about 0.4 s of every run's start-up, and scipy.special alone 0.3-0.5 s
# (issue 19: every run validates the evidence registry, whose intervals are all 95%).
# Z95 is scipy.stats.norm.ppf(0.975) written out (tests/test_startup.py checks it is
# exactly that value, and exactly what z_for_level gave through scipy).
Z95 = 1.959963984540054


def z_for_level(level: float = 0.95) -> float:
    """Standard normal quantile for a two-sided interval of coverage ``level``."""
    if not 0 < level < 1:
        raise ValueError(f"interval level must be between 0 and 1, got {level}")
    if level == 0.95:
        return Z95
    from scipy.special import ndtri  # = scipy.stats.norm.ppf, without importing scipy.stats

    return float(ndtri(0.5 + level / 2))


def _check_interval(est, low, high):
    if not all(math.isfinite(float(x)) for x in (est, low, high)):
        raise ValueError(f"non-finite estimate or interval: {est} ({low} to {high})")
    if low > high:
        raise ValueError(f"interval low {low} is above high {high}")
    if not low <= est <= high:
        raise ValueError(f"estimate {est} is outside its interval ({low} to {high})")


def lognormal_from_ci(est: float, low: float, high: float,
                      level: float = 0.95) -> tuple[float, float]:
    """(mu, sigma) of a lognormal for a ratio ``est`` with interval (``low``, ``high``).

    mu = log(est), sigma = (log(high) - log(low)) / (2 z), z = 1.959964 for 95%.
    """
    if min(est, low, high) <= 0:
        raise ValueError(f"a ratio and its interval must be > 0, got {est} ({low} to {high})")
    _check_interval(est, low, high)
    return math.log(est), (math.log(high) - math.log(low)) / (2 * z_for_level(level))


def normal_from_ci(est: float, low: float, high: float,
                   level: float = 0.95) -> tuple[float, float]:
    """(mean, sd) of a normal for a difference ``est`` with interval (``low``, ``high``).

    mean = est, sd = (high - low) / (2 z).
    """
    _check_interval(est, low, high)
    return float(est), (high - low) / (2 * z_for_level(level))


def beta_from_ci(est: float, low: float, high: float,
                 level: float = 0.95) -> tuple[float, float]:
    """(alpha, beta) of a beta with mean ``est`` and sd (high - low) / (2 z) (moments)."""
    _check_interval(est, low, high)
    if not 0 < est < 1:
        raise ValueError(f"a beta needs a proportion strictly between 0 and 1, got {est}")
    sd = (high - low) / (2 * z_for_level(level))
    var = sd * sd
    if not 0 < var < est * (1 - est):
        raise ValueError(f"interval ({low} to {high}) is too wide or empty for a beta "
                         f"with mean {est}")
    k = est * (1 - est) / var - 1
    return est * k, (1 - est) * k


def gamma_from_ci(est: float, low: float, high: float,
                  level: float = 0.95) -> tuple[float, float]:
    """(shape, scale) of a gamma with mean ``est`` and sd (high - low) / (2 z) (moments)."""
    _check_interval(est, low, high)
    if est <= 0:
        raise ValueError(f"a gamma needs a positive mean, got {est}")
    sd = (high - low) / (2 * z_for_level(level))
    if sd <= 0:
        raise ValueError(f"interval ({low} to {high}) is empty")
    return (est / sd) ** 2, sd * sd / est


__all__ = ["Z95", "z_for_level", "lognormal_from_ci", "normal_from_ci", "beta_from_ci",
           "gamma_from_ci"]
