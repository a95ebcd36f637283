"""In-silico trials: does the model reproduce the evidence it was given?

    python experiments/trials.py [--n 200000] [--seed 7] [--designs a,b] [--out outputs/trials]

For every component of every design (``configs/programme/``) whose effect comes from a
numerically sourced evidence entry (not an assumption), run a trial-like cohort under usual
care and under the component with common random numbers, randomise 1:1, and estimate the
effect in the source's own measure (see :mod:`sim.evidence.trials`). Writes
``<out>/<timestamp>/trials.csv`` and ``trials.md`` (written under a temporary name, then
renamed into place) and prints the markdown table. Cross-checks
(``sim.evidence.trials.CROSS_CHECKS``:
other outcomes the same reviews report, e.g. Vogel's mean difference in days for the
coordinator set from Vogel's HR) are run and reported too, and so are the held-out checks of
the model's usual care against UK trials' control arms (``sim.evidence.control_checks``:
SWAN for IPS; written to ``control_checks.md``; they do not set the exit code). Exit code 1 if
the estimate of an entry that sets an effect falls outside the source's 95% interval, 2 on
bad input.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sim.config import ConfigError  # noqa: E402
from sim.evidence.control_checks import control_checks_markdown, run_control_checks  # noqa: E402
from sim.evidence.registry import EvidenceError, load_registry  # noqa: E402
from sim.evidence.trials import all_designs, run_trials, trials_markdown, trials_table  # noqa: E402
from sim.io import write_atomic  # noqa: E402
from sim.programme.effects import EffectError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200_000, help="cohort size per trial")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--designs", default=None, help="comma-separated designs (default: all)")
    ap.add_argument("--out", default="outputs/trials", help="parent output directory")
    ap.add_argument("--no-cross-checks", action="store_true",
                    help="only the trials of the entries that set effects")
    args = ap.parse_args(argv)
    known = all_designs()
    designs = known if args.designs is None else [d for d in args.designs.split(",") if d]
    for d in designs:
        if d not in known:
            print(f"error: --designs: unknown design {d!r}, expected one of "
                  f"{', '.join(known)}", file=sys.stderr)
            return 2
    if args.n < 1000:
        print(f"error: --n: got {args.n}, expected at least 1000 people", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        registry = load_registry()
        results = run_trials(designs, n=args.n, seed=args.seed, registry=registry,
                             cross_checks=not args.no_cross_checks)
        checks = (run_control_checks(n=args.n, seed=args.seed, registry=registry)
                  if "ips_smi" in designs else [])
    except (EvidenceError, ConfigError, EffectError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    df = trials_table(results)
    md = trials_markdown(df)
    stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
    parent = Path(args.out)
    parent.mkdir(parents=True, exist_ok=True)
    staging = parent / f".{stamp}.partial"
    staging.mkdir()
    write_atomic(staging / "trials.csv", df.to_csv(index=False))
    header = (f"In-silico trials: {args.n:,} people per cohort, seed {args.seed}, "
              f"{time.perf_counter() - t0:.0f} s\n\n")
    write_atomic(staging / "trials.md", header + md + "\n")
    checks_md = control_checks_markdown(checks) if checks else ""
    if checks:
        write_atomic(staging / "control_checks.md", checks_md + "\n")
    dest = parent / stamp
    staging.rename(dest)
    print(md)
    if checks:
        print("\nUsual care against UK trials' control arms (held out):\n")
        print(checks_md)
    # primary trials gate on reproducing what is carried from the source (the implied
    # trial HR of an anchored risk ratio; sim.evidence.trials.TrialResult.reproduced)
    outside = df[(df["reproduced"] == "no") & (df["role"] == "primary")]
    missed = df[(df["reproduced"] == "no") & (df["role"] != "primary")]
    print(f"\n{len(df)} trials ({(df['role'] == 'primary').sum()} primary), {len(outside)} "
          f"primary and {len(missed)} cross-checks not reproduced; "
          f"written to {dest} in {time.perf_counter() - t0:.1f} s")
    if len(outside):
        for r in outside.itertuples():
            print(f"not reproduced: {r.component} ({r.evidence_id}): {r.estimate:.3f} "
                  f"(source {r.source_low:g} to {r.source_high:g}; trial HR "
                  f"{r.model_trial_hr:.3f}, source {r.source_trial_hr_low:g} to "
                  f"{r.source_trial_hr_high:g})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
