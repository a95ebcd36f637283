"""The shipped baseline (usual care) against the UK calibration targets (``make
calibration-check``): the logic of ``experiments/calibration_check.py``, a Hydra app on
``configs/analysis/calibration_check.yaml``.

Prints a markdown table per population: target, UK figure, simulated mean and the range
over replicates, source. The formal fit (an optimiser over the hazards) is
``experiments/calibrate.py``; this only reports how close the baseline comes.
"""

from __future__ import annotations

import pandas as pd

from sim.config import CONFIG_DIR, load_config
from sim.simulate import simulate


def check_settings(c: dict) -> dict:
    """``populations`` (names in configs/population/), ``n``, ``replicates`` (positive
    integers) and ``seed`` (an integer), checked: one-line ValueError before any run."""
    known = sorted(p.stem for p in (CONFIG_DIR / "population").glob("*.yaml"))
    pops = c["populations"]
    if not isinstance(pops, list) or not pops or not all(isinstance(p, str) for p in pops):
        raise ValueError(f"populations: got {pops!r}, expected a list of populations")
    for p in pops:
        if p not in known:
            raise ValueError(f"populations: unknown population {p!r}; choose from: "
                             f"{', '.join(known)}")
    for key in ("n", "replicates"):
        v = c[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{key}: got {v!r}, expected a positive integer")
    if isinstance(c["seed"], bool) or not isinstance(c["seed"], int):
        raise ValueError(f"seed: got {c['seed']!r}, expected an integer")
    return c


def model_config(c: dict, population: str) -> dict:
    """The usual-care model config of one population (checked by sim.config)."""
    return load_config([f"population={population}", f"population.n={c['n']}",
                        f"replicates={c['replicates']}", f"seed={c['seed']}"])


def calibration_markdown(cal: pd.DataFrame, title: str) -> str:
    """One population's calibration table (``Results.calibration``) as markdown."""
    lines = [f"\n{title}\n", "| target | UK figure | simulated (range over replicates) | source |",
             "|---|---|---|---|"]
    lines += [f"| {r.target} | {r.target_value:.3g} | {r.simulated:.3g} "
              f"({r.sim_low:.3g}-{r.sim_high:.3g}) | {r.source} |" for r in cal.itertuples()]
    return "\n".join(lines)


def run_check(c: dict) -> list[str]:
    """Every population's table (all configs checked before the first run)."""
    configs = {p: model_config(c, p) for p in c["populations"]}
    return [calibration_markdown(
        simulate(cfg).calibration,
        f"{p} ({c['replicates']} x {c['n']:,} people, {cfg['horizon_weeks']} weeks)")
        for p, cfg in configs.items()]
