"""Global sensitivity analysis helpers: Sobol and Morris indices via SALib 1.6.

Pure functions: they take a vectorised model ``f(X) -> y`` (X is ``n x k``) and return tidy
tables. Stochastic models should pass a ``f`` that averages replicates with common random
numbers (or include the seed as a factor); these helpers do not add noise handling themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample


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


def sobol_indices(f: Callable[[np.ndarray], np.ndarray], problem: dict, n: int,
                  seed: int = 0) -> pd.DataFrame:
    """First-order and total Sobol indices with bootstrap 95% CIs (Saltelli/Jansen, SALib)."""
    if n < 2 or n & (n - 1):
        raise ValueError(f"gsa: sobol n = {n}, expected a power of two >= 2")
    x = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)
    y = np.asarray(f(x), dtype=float)
    res = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=seed)
    return pd.DataFrame({"parameter": problem["names"], "S1": res["S1"], "S1_conf": res["S1_conf"],
                         "ST": res["ST"], "ST_conf": res["ST_conf"]})


def morris_indices(f: Callable[[np.ndarray], np.ndarray], problem: dict, trajectories: int,
                   levels: int = 4, seed: int = 0) -> pd.DataFrame:
    """Morris elementary effects: mu*, its CI, and sigma per parameter."""
    x = morris_sample.sample(problem, trajectories, num_levels=levels, seed=seed)
    y = np.asarray(f(x), dtype=float)
    res = morris_analyze.analyze(problem, x, y, num_levels=levels, seed=seed)
    return pd.DataFrame({"parameter": problem["names"], "mu_star": res["mu_star"],
                         "mu_star_conf": res["mu_star_conf"], "sigma": res["sigma"]})
