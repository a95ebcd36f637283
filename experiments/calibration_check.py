"""The shipped baseline (usual care) against the UK calibration targets, per population.

    .venv/bin/python experiments/calibration_check.py [key=value ...]
    .venv/bin/python experiments/calibration_check.py n=20000 replicates=2 'populations=[workforce]'

Config: ``configs/analysis/calibration_check.yaml``. Prints a markdown table per population:
target, UK figure, simulated mean and the range over replicates, source. The formal fit is
``experiments/calibrate.py``; this only reports how close the baseline comes.

The logic is :mod:`sim.results.calibration_check`; this is its Hydra entry point.
"""

from __future__ import annotations

from sim.cli.apps import launch, plain
from sim.results.calibration_check import check_settings, run_check


def task(cfg) -> int:
    for table in run_check(check_settings(plain(cfg))):
        print(table)
    return 0


if __name__ == "__main__":
    launch("calibration_check", task)
