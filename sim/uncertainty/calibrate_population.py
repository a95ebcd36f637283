"""Fit a population preset's onset multiplier to its absence-rate source (issue 20).

The logic of ``experiments/calibrate_population.py`` (a Hydra app on
``configs/analysis/calibrate_population.yaml``). One parameter, one target:
``population.onset_multiplier`` (a multiplier on every background onset hazard of the
preset, on top of the calibrated pathways) is searched so that the model's absence rate
(share of contracted working time lost to sickness absence, phased weeks counting their
lost hours; ``sim.results.calibration.per_replicate``) equals the registry value named by
``target``. The absence rate rises monotonically with the multiplier, so a bracketing
root-finder (``scipy.optimize.brentq`` on the log multiplier, between ``low`` and ``high``)
finds the one multiplier that hits the target; every evaluation runs the same seed (common
random numbers), so the function is deterministic. Nothing is written: the preset file is
edited by hand from the printed line, so a run never overwrites a config.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from sim.config import load_config
from sim.evidence.registry import load_registry
from sim.results.calibration import simulated_targets

log = logging.getLogger("calibrate_population")


def _config(c: dict, multiplier: float, seed: int) -> dict:
    return load_config([f"population={c['population']}", f"population.n={c['n']}",
                        f"replicates={c['replicates']}",
                        f"horizon_weeks={c['horizon_weeks']}", f"seed={seed}",
                        f"population.onset_multiplier={multiplier!r}"])


def absence_rate(c: dict, multiplier: float, seed: int) -> float:
    """The model's absence rate (mean over replicates) at ``multiplier`` and ``seed``."""
    table = simulated_targets(_config(c, multiplier, seed))
    return float(table.loc[table["target"] == "absence_rate", "simulated"].mean())


def check_settings(c: dict) -> dict:
    """Every input checked before the first run (one-line ValueError): the target has a
    registry value, 0 < low < high, and the model configs at both seeds are valid."""
    entry = load_registry().get(c["target"])
    if entry is None or entry.value is None:
        raise ValueError(f"no registry value {c['target']!r}")
    for key in ("low", "high"):
        if isinstance(c[key], bool) or not isinstance(c[key], int | float):
            raise ValueError(f"{key}: got {c[key]!r}, expected a number")
    if not 0 < c["low"] < c["high"]:
        raise ValueError(f"low={c['low']}, high={c['high']}: expected 0 < low < high")
    for seed in (c["seed"], c["holdout_seed"]):
        _config(c, c["low"], seed)
    return {**c, "target_value": float(entry.value), "target_ci": entry.ci}


def fit(c: dict) -> dict:
    """The fitted multiplier (3 decimals), the runs it took and its held-out absence rate.
    ValueError (one line) when the rate does not cross the target between low and high."""
    trace = []

    def gap(log_m: float) -> float:
        rate = absence_rate(c, math.exp(log_m), c["seed"])
        trace.append((math.exp(log_m), rate))
        log.info("  multiplier %.4f: absence rate %.5f", math.exp(log_m), rate)
        return rate - c["target_value"]

    from scipy.optimize import brentq  # ~0.7 s: not before the settings are checked

    try:
        log_m = brentq(gap, math.log(c["low"]), math.log(c["high"]), xtol=1e-3)
    except ValueError:  # same sign at both ends
        raise ValueError(f"the absence rate does not cross {c['target_value']:.4f} between "
                         f"multipliers {c['low']} and {c['high']}; widen low= / high=") from None
    fitted = float(np.round(math.exp(log_m), 3))
    return {"fitted": fitted, "runs": len(trace),
            "held_out": absence_rate(c, fitted, c["holdout_seed"])}


def summary_lines(c: dict, r: dict) -> list[str]:
    """What to paste into the preset's source note."""
    return [f"target {c['target']} = {c['target_value']:.4f} (interval {c['target_ci']})",
            f"fitted onset_multiplier {r['fitted']} after {r['runs']} runs "
            f"(n={c['n']} x {c['replicates']} replicates, {c['horizon_weeks']} weeks, "
            f"seed {c['seed']})",
            f"held-out absence rate (seed {c['holdout_seed']}): {r['held_out']:.5f}"]
