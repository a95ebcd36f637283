"""In-silico trials: does the model reproduce the evidence it was given? (``make trials``)

    .venv/bin/python experiments/trials.py [key=value ...]   # config: configs/analysis/trials.yaml
    .venv/bin/python experiments/trials.py 'designs=[stepped_care_msk]' n=50000 seed=3
    .venv/bin/python experiments/trials.py cross_checks=false

For every component of every design (``configs/programme/``) whose effect comes from a
numerically sourced evidence entry (not an assumption), run a trial-like cohort under usual
care and under the component with common random numbers, randomise 1:1, and estimate the
effect in the source's own measure (see :mod:`sim.evidence.trials`). Cross-checks
(``sim.evidence.trials.CROSS_CHECKS``: other outcomes the same reviews report, e.g. Vogel's
mean difference in days for the coordinator set from Vogel's HR) are run and reported too,
and so are the held-out checks of the model's usual care against UK trials' control arms
(``sim.evidence.control_checks``: SWAN for IPS; ``control_checks.md``; they do not set the
exit status). Writes ``trials.csv`` and ``trials.md`` under ``out`` (staged, renamed into
place) and prints the markdown table. Exit status 1 if the estimate of an entry that sets an effect
falls outside the source's 95% interval, 2 on bad input.

The logic is :mod:`sim.evidence.trials_analysis`; this is its Hydra entry point.
"""

from __future__ import annotations

from sim.cli.apps import analysis, launch
from sim.evidence.trials_analysis import check_settings, run, verdict, write


def task(cfg) -> int:
    c, r = analysis(cfg, check_settings, run, write, designs=lambda c: None)
    return verdict(c, r)


if __name__ == "__main__":
    launch("trials", task)
