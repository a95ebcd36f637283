"""Compare programme designs with usual care and write the decision report (``make compare``).

    .venv/bin/python experiments/compare_designs.py [key=value ...]  # analysis/compare.yaml
    .venv/bin/python experiments/compare_designs.py 'designs=[ips_smi]' n=50000 replicates=5
    .venv/bin/python experiments/compare_designs.py psa=outputs/psa/<time>   # reuse a PSA run
    .venv/bin/python experiments/compare_designs.py psa_draws=0 'model_overrides=[seed=3]'

Runs each design on the same population (paired person by person), writes each run's
results atomically to ``<out>/cells/<design>/results``, a small PSA (``psa_draws`` evidence
draws; ``psa=DIR`` reuses a finished one, ``psa_draws=0`` turns it off) into ``<out>/psa``,
then the HTML report ``<out>/report/report.html``. Every input is checked before any work:
a bad one is one line on stderr and exit status 2.

The logic is :mod:`sim.compare.designs`; this is its Hydra entry point.
"""

from __future__ import annotations

from sim.cli.apps import launch, plain
from sim.compare.designs import check_settings, model_configs, run_compare


def task(cfg) -> int:
    c = check_settings(plain(cfg))
    run_compare(c, model_configs(c))
    return 0


if __name__ == "__main__":
    launch("compare", task)
