"""Baseline (usual care) against the UK calibration targets, for both presets.

    python experiments/calibration_check.py [--n 100000] [--replicates 5] [--seed 1]

Prints a markdown table per preset: target, UK figure, simulated mean and the range over
replicates. The formal fit (an optimiser over the hazards) is a separate experiment; this
script only reports how close the shipped baseline comes.
"""

from __future__ import annotations

import argparse

from sim.config import load_config  # noqa: E402
from sim.simulate import simulate  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--replicates", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    for population in ("fit_note_cohort", "workforce"):
        cfg = load_config([f"population={population}", f"population.n={args.n}",
                           f"replicates={args.replicates}", f"seed={args.seed}"])
        cal = simulate(cfg).calibration
        print(f"\n{population} ({args.replicates} x {args.n:,} people, 104 weeks)\n")
        print("| target | UK figure | simulated (range over replicates) | source |")
        print("|---|---|---|---|")
        for r in cal.itertuples():
            print(f"| {r.target} | {r.target_value:.3g} | {r.simulated:.3g} "
                  f"({r.sim_low:.3g}-{r.sim_high:.3g}) | {r.source} |")


if __name__ == "__main__":
    main()
