"""Scenario discovery: which assumptions make a design fail to narrow the deprivation gap?

    .venv/bin/python experiments/scenario_discovery.py [key=value ...]
        # config: configs/analysis/scenario_discovery.yaml
    .venv/bin/python experiments/scenario_discovery.py samples_from=outputs/gsa/<run>/samples.csv

Samples the factors (Latin hypercube, or reuses the points of a GSA run), runs the design and
usual care at each point with common random numbers, marks the points where the design fails
(by default: its IMD slope index of inequality is not lower than usual care's), and runs PRIM
(EMA Workbench) to find the ranges of factors where failures concentrate.

The logic is :mod:`sim.uncertainty.discovery_analysis`; this is its Hydra entry point.
Writes under ``out`` (staged): ``samples.csv`` (factors, outputs, failed), ``trajectory.csv``
(PRIM peeling: coverage, density, mass, restricted dimensions), ``box.csv`` (the chosen box's
limits with quasi-p-values), ``tradeoff.png`` (coverage vs density, chosen box marked),
``box.png`` (failures on the two most restricted factors with the box), ``summary.md``,
``analysis_config.yaml``.
"""

from __future__ import annotations

from sim.cli.apps import analysis, launch
from sim.compare.report_words import discovery_line
from sim.uncertainty.discovery_analysis import check_settings, run_discovery, write_discovery


def task(cfg) -> int:
    # points reused from samples_from need no model configs
    c, r = analysis(cfg, check_settings, run_discovery, write_discovery,
                    designs=lambda c: None if c["samples_from"] else [c["design"]])
    fails, box = r["fails"], r["box"]
    firm = 0 if box is None else int((box.limits["qp_value"] <= 0.05).sum())  # significant
    what = None if box is None else box.describe()  # a box is a finding only if significant
    print(f"{discovery_line(int(fails.sum()), len(fails), what, firm)} -> {c['out']}")
    return 0


if __name__ == "__main__":
    launch("scenario_discovery", task)
