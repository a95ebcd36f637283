"""Global sensitivity analysis of one design: Sobol, Morris and a tornado (SALib).

    .venv/bin/python experiments/gsa.py [key=value ...]      # config: configs/analysis/gsa.yaml
    .venv/bin/python experiments/gsa.py design=culturally_adapted_mdt sobol_n=128

The factors (evidence effect sizes from their 95% intervals; access, gradient and baseline
assumptions from ranges stated in the config) are varied uniformly. Every point runs the
design and usual care with the model's own seed (common random numbers across points and
designs) and ``replicates`` populations averaged, so the indices describe the factors and not
Monte Carlo noise; a noise check reruns the nominal point with other seeds and reports the
share of each output's variance that noise could explain.

The logic is :mod:`sim.uncertainty.gsa_analysis`; this is its Hydra entry point. Writes
under ``out`` (staged, renamed into place at the end): ``sobol.csv`` (S1, ST and 95%
intervals per output and factor), ``morris.csv`` (mu*, its interval, sigma), ``tornado.csv``
(output at each factor's low and high, others nominal), ``noise.csv``, ``samples.csv`` (every
point's factors and outputs: reusable by scenario discovery), ``sobol.png``, ``morris.png``,
``tornado.png``, ``summary.md`` and ``analysis_config.yaml``.
"""

from __future__ import annotations

from sim.cli.apps import analysis, launch
from sim.compare.report_words import noise_warning
from sim.uncertainty.gsa_analysis import check_settings, run_gsa, write_gsa


def task(cfg) -> int:
    c, result = analysis(cfg, check_settings, run_gsa, write_gsa)
    print(f"GSA: {result['total']} points x {len(result['configs'])} designs in "
          f"{result['elapsed']:.0f} s -> {c['out']}")
    for row in result["noise"].itertuples():  # an index that noise dominates is no finding
        if noise_warning(row.noise_share_of_variance):
            print(f"GSA {row.output}: {noise_warning(row.noise_share_of_variance)}")
    return 0


if __name__ == "__main__":
    launch("gsa", task)
