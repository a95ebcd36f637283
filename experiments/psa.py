"""Probabilistic sensitivity analysis with value of information (see :mod:`sim.uncertainty.psa`).

    .venv/bin/python experiments/psa.py [key=value ...]     # config: configs/analysis/psa.yaml
    .venv/bin/python experiments/psa.py draws=200 'designs=[multicomponent,ips_smi]'

Draws every evidence entry the designs use (correlated within a shared source), runs every
design on each draw with common random numbers, and writes under ``out``:
``draws.csv`` (the evidence values), ``results.csv`` (draw x design outcomes),
``clamped_draws.csv`` (draws clamped to what the baseline can reproduce),
``summary.csv`` / ``summary.md`` (intervals, probability best on the commissioner's net
benefit, on RTW and on the NICE reference-case net health benefit in QALYs at the lowest
``economics.qaly_thresholds``, probability of narrowing the IMD gradient vs usual care),
``ceac.csv`` / ``ceac.png``, ``voi.csv`` (EVPI, EVPPI per entry), ``analysis_config.yaml``.
Written to a staging folder and renamed, so a killed run leaves nothing.

The logic is :mod:`sim.uncertainty.psa_analysis`; this is its Hydra entry point.
"""

from __future__ import annotations

import logging

from sim.cli.apps import analysis, launch
from sim.uncertainty.psa_analysis import check_settings, run_psa, write_psa

log = logging.getLogger("psa")


def task(cfg) -> int:
    c, r = analysis(cfg, check_settings, run_psa, write_psa, designs=lambda c: c["designs"])
    log.info("PSA: %d draws (%d clamped) x %d designs in %.0f s -> %s", c["draws"],
             r["infeasible"]["draw"].nunique(), len(r["designs"]), r["elapsed"], c["out"])
    return 0


if __name__ == "__main__":
    launch("psa", task)
