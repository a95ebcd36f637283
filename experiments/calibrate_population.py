"""Fit a population preset's onset multiplier to its absence-rate source (issue 20).

    .venv/bin/python experiments/calibrate_population.py                 # nhs_workforce
    .venv/bin/python experiments/calibrate_population.py population=nhs_workforce n=50000

Config: ``configs/analysis/calibrate_population.yaml``. A bracketing root search
(``brentq`` on the log multiplier between ``low`` and ``high``, common random numbers) for
the ``population.onset_multiplier`` whose absence rate equals the registry's ``target``.
Prints the fitted multiplier (to paste into the preset, with the date, n, replicates and
seed in its source note) and the absence rate it gives on held-out replicates (another
seed). Nothing is written. Every input is checked before the first run: one line, exit 2.

The logic is :mod:`sim.uncertainty.calibrate_population`; this is its Hydra entry point.
"""

from __future__ import annotations

import logging

from sim.cli.apps import launch, plain
from sim.uncertainty.calibrate_population import check_settings, fit, summary_lines

log = logging.getLogger("calibrate_population")


def task(cfg) -> int:
    c = check_settings(plain(cfg))
    for line in summary_lines(c, fit(c)):
        log.info(line)
    return 0


if __name__ == "__main__":
    launch("calibrate_population", task)
