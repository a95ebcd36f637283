"""The in-silico trials as an analysis (``make trials``): settings, run, files, verdict.

The logic of ``experiments/trials.py`` (a Hydra app on ``configs/analysis/trials.yaml``),
in the shape of the other analyses (:func:`sim.cli.apps.analysis`): :func:`check_settings`
(one-line ValueError before any work), :func:`run` (every trial, :mod:`sim.evidence.trials`),
:func:`write` (``trials.csv``, ``trials.md`` and, with IPS, ``control_checks.md``, into the
staged ``out``) and
:func:`verdict` (the table and a summary on stdout, each primary estimate outside the
source's interval on stderr; exit status 1 if there is one).
"""

from __future__ import annotations

import sys
import time

from sim.evidence.control_checks import control_checks_markdown, run_control_checks
from sim.evidence.registry import load_registry
from sim.evidence.trials import all_designs, run_trials, trials_markdown, trials_table


def check_settings(c: dict) -> dict:
    """The trials settings, checked: ``designs`` (null: every design) as a list, ``n`` at
    least 1,000 people, ``seed`` an integer, ``cross_checks`` true or false."""
    known, designs = all_designs(), c["designs"]
    if designs is None:
        designs = known
    elif isinstance(designs, str):
        designs = [d for d in designs.split(",") if d.strip()]
    if not isinstance(designs, list) or not all(isinstance(d, str) for d in designs):
        raise ValueError(f"designs: got {c['designs']!r}, expected null (every design) or a "
                         "list of designs")
    for d in designs:
        if d.strip() not in known:
            raise ValueError(f"designs: unknown design {d!r}, expected one of "
                             f"{', '.join(known)}")
    n = c["n"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1000:
        raise ValueError(f"n: got {n!r}, expected at least 1000 people")
    if isinstance(c["seed"], bool) or not isinstance(c["seed"], int):
        raise ValueError(f"seed: got {c['seed']!r}, expected an integer")
    if not isinstance(c["cross_checks"], bool):
        raise ValueError(f"cross_checks: got {c['cross_checks']!r}, expected true or false")
    return {**c, "designs": [d.strip() for d in designs]}


def run(c: dict, _configs=None) -> dict:
    """Every trial of the designs (and the cross-checks): the table, its markdown, the
    time taken. EvidenceError, ConfigError and EffectError are ValueErrors: one line."""
    t0 = time.perf_counter()
    registry = load_registry()
    results = run_trials(c["designs"], n=c["n"], seed=c["seed"], registry=registry,
                         cross_checks=c["cross_checks"])
    # held-out checks of usual care against UK trials' control arms (SWAN for IPS); they
    # do not set the exit status
    checks = (run_control_checks(n=c["n"], seed=c["seed"], registry=registry)
              if "ips_smi" in c["designs"] else [])
    df = trials_table(results)
    return {"table": df, "markdown": trials_markdown(df),
            "checks": control_checks_markdown(checks) if checks else "",
            "elapsed": time.perf_counter() - t0}


def write(folder, c: dict, r: dict) -> None:
    """``trials.csv`` and ``trials.md`` (with a header line: cohort size, seed, time)."""
    r["table"].to_csv(folder / "trials.csv", index=False)
    header = (f"In-silico trials: {c['n']:,} people per cohort, seed {c['seed']}, "
              f"{r['elapsed']:.0f} s\n\n")
    (folder / "trials.md").write_text(header + r["markdown"] + "\n")
    if r["checks"]:
        (folder / "control_checks.md").write_text(r["checks"] + "\n")


def verdict(c: dict, r: dict) -> int:
    """Print the table and the summary; 1 if a primary trial does not reproduce its
    source (its estimate outside the source's interval), else 0. Cross-checks do not gate.

    Primary trials gate on reproducing what is carried from the source (the implied trial
    HR of an anchored risk ratio; :attr:`sim.evidence.trials.TrialResult.reproduced`)."""
    df = r["table"]
    print(r["markdown"])
    if r["checks"]:
        print("\nUsual care against UK trials' control arms (held out):\n")
        print(r["checks"])
    outside = df[(df["reproduced"] == "no") & (df["role"] == "primary")]
    missed = df[(df["reproduced"] == "no") & (df["role"] != "primary")]
    print(f"\n{len(df)} trials ({(df['role'] == 'primary').sum()} primary), {len(outside)} "
          f"primary and {len(missed)} cross-checks not reproduced; "
          f"written to {c['out']} in {r['elapsed']:.1f} s")
    for x in outside.itertuples():
        print(f"not reproduced: {x.component} ({x.evidence_id}): {x.estimate:.3f} "
              f"(source {x.source_low:g} to {x.source_high:g}; trial HR "
              f"{x.model_trial_hr:.3f}, source {x.source_trial_hr_low:g} to "
              f"{x.source_trial_hr_high:g})", file=sys.stderr)
    return 1 if len(outside) else 0
