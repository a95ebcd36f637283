"""Global sensitivity analysis helpers: Sobol and Morris indices via SALib 1.6.

Pure functions: they take a vectorised model ``f(X) -> y`` (X is ``n x k``) and return tidy
tables. Stochastic models should pass a ``f`` that averages replicates with common random
numbers (or include the seed as a factor); these helpers do not add noise handling themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd


def make_problem(names: Sequence[str], bounds: Sequence[Sequence[float]]) -> dict:
    """SALib problem dict; one-line ValueError on a malformed range."""
    if len(names) != len(bounds) or not names:
        raise ValueError(f"gsa: names ({len(names)}) and bounds ({len(bounds)}) must match, >= 1")
    for name, b in zip(names, bounds, strict=True):
        if len(b) != 2 or not float(b[0]) < float(b[1]):
            raise ValueError(
                f"gsa: bounds for {name!r} = {list(b)}, expected [low, high], low < high")
    return {"num_vars": len(names), "names": list(names),
            "bounds": [[float(b[0]), float(b[1])] for b in bounds]}


def sobol_design(problem: dict, n: int, seed: int = 0) -> np.ndarray:
    """Saltelli/Sobol sample without second order: ``n * (k + 2)`` rows."""
    if n < 2 or n & (n - 1):
        raise ValueError(f"gsa: sobol n = {n}, expected a power of two >= 2")
    from SALib.sample import sobol as sobol_sample  # SALib loads scipy.stats: ~1 s

    return sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)


def sobol_table(problem: dict, y: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """First-order and total Sobol indices with bootstrap 95% CIs for outputs ``y`` of
    :func:`sobol_design` rows (Saltelli 2010 / Jansen estimators, SALib)."""
    from SALib.analyze import sobol as sobol_analyze

    res = sobol_analyze.analyze(problem, np.asarray(y, dtype=float), calc_second_order=False,
                                seed=seed)
    return pd.DataFrame({"parameter": problem["names"], "S1": res["S1"], "S1_conf": res["S1_conf"],
                         "ST": res["ST"], "ST_conf": res["ST_conf"]})


def sobol_indices(f: Callable[[np.ndarray], np.ndarray], problem: dict, n: int,
                  seed: int = 0) -> pd.DataFrame:
    """First-order and total Sobol indices with bootstrap 95% CIs (Saltelli/Jansen, SALib)."""
    x = sobol_design(problem, n, seed)
    return sobol_table(problem, f(x), seed)


def morris_design(problem: dict, trajectories: int, levels: int = 4,
                  seed: int = 0) -> np.ndarray:
    """Morris one-at-a-time trajectories: ``trajectories * (k + 1)`` rows."""
    if trajectories < 2:
        raise ValueError(f"gsa: morris trajectories = {trajectories}, expected >= 2")
    from SALib.sample import morris as morris_sample

    return morris_sample.sample(problem, trajectories, num_levels=levels, seed=seed)


def morris_table(problem: dict, x: np.ndarray, y: np.ndarray, levels: int = 4,
                 seed: int = 0) -> pd.DataFrame:
    """Morris elementary effects of outputs ``y`` at :func:`morris_design` rows ``x``."""
    from SALib.analyze import morris as morris_analyze

    res = morris_analyze.analyze(problem, x, np.asarray(y, dtype=float), num_levels=levels,
                                 seed=seed)
    return pd.DataFrame({"parameter": problem["names"], "mu_star": res["mu_star"],
                         "mu_star_conf": res["mu_star_conf"], "sigma": res["sigma"]})


def morris_indices(f: Callable[[np.ndarray], np.ndarray], problem: dict, trajectories: int,
                   levels: int = 4, seed: int = 0) -> pd.DataFrame:
    """Morris elementary effects: mu*, its CI, and sigma per parameter."""
    x = morris_design(problem, trajectories, levels, seed)
    return morris_table(problem, x, f(x), levels, seed)


def one_at_a_time(nominal: Sequence[float], bounds: Sequence[Sequence[float]]) -> np.ndarray:
    """Rows for a tornado plot: the nominal point, then each factor at its low and high
    with the others nominal (``1 + 2k`` rows)."""
    base = np.asarray(nominal, dtype=float)
    rows = [base]
    for i, (lo, hi) in enumerate(bounds):
        for end in (lo, hi):
            r = base.copy()
            r[i] = end
            rows.append(r)
    return np.vstack(rows)


def tornado_table(names: Sequence[str], y: np.ndarray) -> pd.DataFrame:
    """Swings from :func:`one_at_a_time` outputs, largest first: output at each factor's
    low and high, change from the nominal output, and the swing ``|high - low|``."""
    y = np.asarray(y, dtype=float)
    base = y[0]
    lo, hi = y[1::2], y[2::2]
    out = pd.DataFrame({"parameter": list(names), "at_low": lo, "at_high": hi,
                        "change_low": lo - base, "change_high": hi - base,
                        "swing": np.abs(hi - lo), "nominal_output": base})
    return out.sort_values("swing", ascending=False).reset_index(drop=True)
