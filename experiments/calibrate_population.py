"""Fit a population preset's onset multiplier to its absence-rate source (issue 20).

    .venv/bin/python experiments/calibrate_population.py                 # nhs_workforce
    .venv/bin/python experiments/calibrate_population.py population=nhs_workforce n=50000

One parameter, one target: ``population.onset_multiplier`` (a multiplier on every
background onset hazard of the preset, on top of the calibrated pathways) is searched so
that the model's absence rate (share of contracted working time lost to sickness absence,
phased weeks counting their lost hours; ``sim.results.calibration.per_replicate``) equals
the registry value named by ``target``. The absence rate rises monotonically with the
multiplier, so a bracketing root-finder (``scipy.optimize.brentq`` on the log multiplier,
between ``low`` and ``high``) finds the one multiplier that hits the target; every
evaluation runs the same seed (common random numbers), so the function is deterministic.

Prints the fitted multiplier (to paste into the preset, with the date, n, replicates and
seed in its source note) and the absence rate it gives on held-out replicates (another
seed). Nothing is written: the preset file is edited by hand from the printed line, so a
run never overwrites a config.
"""

from __future__ import annotations

import math
import sys

import numpy as np
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException
from scipy.optimize import brentq

from sim.config import load_config
from sim.errors import ConfigError, one_line
from sim.evidence.registry import load_registry
from sim.results.calibration import simulated_targets

DEFAULTS = {"population": "nhs_workforce", "target": "nhs_sickness_absence_rate_2022_2024",
            "n": "50000", "replicates": "2", "horizon_weeks": "104", "seed": "11",
            "holdout_seed": "2024", "low": "0.5", "high": "6.0"}


def _config(settings: dict, multiplier: float, seed: str) -> dict:
    return load_config([f"population={settings['population']}",
                       f"population.n={settings['n']}", f"replicates={settings['replicates']}",
                       f"horizon_weeks={settings['horizon_weeks']}", f"seed={seed}",
                       f"population.onset_multiplier={multiplier!r}"])


def absence_rate(settings: dict, multiplier: float, seed: str) -> float:
    table = simulated_targets(_config(settings, multiplier, seed))
    return float(table.loc[table["target"] == "absence_rate", "simulated"].mean())


def main(argv: list[str]) -> int:
    settings = dict(DEFAULTS)
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep or key not in DEFAULTS:
            print(f"error: unknown argument {arg!r}; expected key=value with key one of "
                  f"{', '.join(DEFAULTS)}", file=sys.stderr)
            return 2
        settings[key] = value
    entry = load_registry().get(settings["target"])
    if entry is None or entry.value is None:
        print(f"error: no registry value {settings['target']!r}", file=sys.stderr)
        return 2
    target = float(entry.value)
    try:  # every input checked before any run: one line, exit 2
        low, high = float(settings["low"]), float(settings["high"])
        if not 0 < low < high:
            raise ConfigError(f"low={settings['low']}, high={settings['high']}: expected "
                              "0 < low < high")
        for seed in (settings["seed"], settings["holdout_seed"]):
            _config(settings, low, seed)
    except (ConfigError, ValueError, HydraException, OmegaConfBaseException) as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2
    trace = []

    def gap(log_m: float) -> float:
        rate = absence_rate(settings, math.exp(log_m), settings["seed"])
        trace.append((math.exp(log_m), rate))
        print(f"  multiplier {math.exp(log_m):.4f}: absence rate {rate:.5f}", flush=True)
        return rate - target

    try:
        log_m = brentq(gap, math.log(low), math.log(high), xtol=1e-3)
    except ValueError:  # same sign at both ends
        print(f"error: the absence rate does not cross {target:.4f} between multipliers "
              f"{low} and {high}; widen low= / high=", file=sys.stderr)
        return 2
    fitted = float(np.round(math.exp(log_m), 3))
    held = absence_rate(settings, fitted, settings["holdout_seed"])
    print(f"target {settings['target']} = {target:.4f} (interval {entry.ci})")
    print(f"fitted onset_multiplier {fitted} after {len(trace)} runs "
          f"(n={settings['n']} x {settings['replicates']} replicates, "
          f"{settings['horizon_weeks']} weeks, seed {settings['seed']})")
    print(f"held-out absence rate (seed {settings['holdout_seed']}): {held:.5f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
