"""Fit the usual-care (baseline) hazards to the UK targets with a standard optimiser.

    .venv/bin/python experiments/calibrate.py [key=value ...]   # configs/analysis/calibrate.yaml
    .venv/bin/python experiments/calibrate.py fit.n=20000 write_config=/tmp/calibrated.yaml

Parameters: multipliers on numbers of the baseline pathways (``scale`` factors of
:mod:`sim.uncertainty.factors`; nominal 1 = hand-tuned). Objective (sim/results/calibration.py)::

    J = sum over fitted targets t of weight_t * ((simulated_t - UK_t) / h_t)^2

with ``h_t`` the half-width of the target's assumed 95% interval in the evidence registry
(configs/evidence/uk_targets.yaml). Every evaluation runs the populations the targets need
with one fixed seed (common random numbers: J is deterministic); ``scipy.optimize.minimize``
(Nelder-Mead by default) searches log multipliers within bounds from 1. The baseline and the
fit are then rerun on held-out, larger replicates with another seed for the reported means
and 95% intervals.

Writes under ``out`` (staged, renamed into place at the end): ``parameters.csv`` (factor,
bounds, fitted multiplier, near-best range, every number it changes before and after),
``trace.csv`` (every evaluation), ``targets.csv`` (UK value and interval, baseline and
calibrated mean and 95% interval, z-scores), ``calibration.png``, ``summary.md``,
``calibrated.yaml`` and ``analysis_config.yaml``; then replaces ``write_config``
(default configs/pathways/calibrated.yaml, usable as ``pathways=calibrated``) atomically,
after validating it with the model's schema.

The logic is :mod:`sim.uncertainty.calibrate_analysis` (settings, fit, validation, tables),
:mod:`sim.uncertainty.calibrate_config` (the written YAML) and
:mod:`sim.uncertainty.calibrate_report` (files, figure, summary); this is its Hydra entry
point. Progress goes through logging (Hydra sends it to stdout).
"""

from __future__ import annotations

import logging
import time

from sim.cli.apps import analysis, launch
from sim.config import CONFIG_DIR, load_config
from sim.uncertainty.calibrate_analysis import resolve, run_calibration, settings
from sim.uncertainty.calibrate_report import console_lines, write_calibration

log = logging.getLogger("calibrate")


def task(cfg) -> int:
    c, r = analysis(cfg, settings, lambda c, _: run_calibration(c),
                    lambda folder, c, r: write_calibration(folder, c, r,
                                                           resolve(c["write_config"])),
                    designs=lambda c: None)  # the calibration builds its own model configs
    target_path = resolve(c["write_config"])
    if target_path.parent.resolve() == (CONFIG_DIR / "pathways").resolve():
        load_config([f"pathways={target_path.stem}"])  # loads by name, as users will
    for line in console_lines(r):
        log.info(line)
    log.info("wrote %s and %s (%.0f s)", c["out"], c["write_config"],
             time.perf_counter() - r["t_start"])
    return 0


if __name__ == "__main__":
    launch("calibrate", task)
