"""Compare programme designs with usual care and write the decision report.

Runs each design on the same population (same seed and replicates, so every comparison is
paired person by person) in this process, writes each run's results atomically, then
builds the HTML report (:mod:`sim.report`).

    python experiments/compare_designs.py [--n 20000] [--replicates 10]
        [--designs usual_care,multicomponent,...] [--population fit_note_cohort] [--out DIR]
        [--psa DIR | --psa-draws 30] [-- extra overrides ...]

Writes ``outputs/compare/<time>/cells/<design>/results`` and
``outputs/compare/<time>/report/report.html``. Unless ``--psa DIR`` reuses a finished PSA
run (``make psa``) or ``--psa-draws 0`` turns it off, a small probabilistic sensitivity
analysis of the same designs (``--psa-draws`` evidence draws, ``--psa-n`` people x 2
replicates; a few minutes) runs first into ``outputs/compare/<time>/psa``, so the report's
"how sure" line reflects evidence uncertainty, not only simulation noise.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEFAULT_DESIGNS = ("usual_care", "rtw_coordinator", "work_focused_cbt", "multicomponent",
                   "multidisciplinary_bps", "culturally_adapted_mdt", "ips_smi", "wave_vsw",
                   "targeted_deprived")


def main(argv=None) -> int:
    from sim.config import ConfigError, load_config
    from sim.output import write_results
    from sim.report import ReportError, load_psa, write_report
    from sim.simulate import simulate

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20_000, help="people per replicate")
    ap.add_argument("--replicates", type=int, default=10, help="paired replicates")
    ap.add_argument("--designs", default=",".join(DEFAULT_DESIGNS))
    ap.add_argument("--population", default="fit_note_cohort")
    ap.add_argument("--out", default=None)
    ap.add_argument("--psa", default=None,
                    help="a finished PSA run (make psa) to reuse in the report")
    ap.add_argument("--psa-draws", type=int, default=30,
                    help="evidence draws of the PSA run by default (0: no PSA)")
    ap.add_argument("--psa-n", type=int, default=5000,
                    help="people per replicate in the default PSA (2 replicates)")
    ap.add_argument("overrides", nargs="*", help="extra config overrides (key=value)")
    args = ap.parse_args(argv)
    if args.psa_draws == 1 or args.psa_draws < 0:
        print(f"config error: --psa-draws: got {args.psa_draws}, expected 0 (no PSA) or at "
              "least 2", file=sys.stderr)
        return 2
    if args.psa_n < 100:
        print(f"config error: --psa-n: got {args.psa_n}, expected at least 100",
              file=sys.stderr)
        return 2
    designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    if "usual_care" not in designs:
        designs.insert(0, "usual_care")
    base = [f"population={args.population}", f"population.n={args.n}",
            f"replicates={args.replicates}", "output.plots=false",
            "output.write_agents=false", *args.overrides]
    try:  # every config is checked before any work starts
        configs = {d: load_config([f"programme={d}", *base]) for d in designs}
        if args.psa:
            load_psa(args.psa)
    except (ConfigError, ReportError) as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else REPO / "outputs" / "compare" / time.strftime(
        "%Y-%m-%d_%H-%M-%S")
    start = time.perf_counter()
    for k, (design, cfg) in enumerate(configs.items(), start=1):
        t = time.perf_counter()
        write_results(simulate(cfg), out / "cells" / design / "results")
        print(f"[{k}/{len(configs)}] {design} done in {time.perf_counter() - t:.1f} s",
              flush=True)
    psa_dir = args.psa
    if psa_dir is None and args.psa_draws and len(designs) > 1:
        psa_dir = _run_psa(out / "psa", designs, args)
    report = write_report([out / "cells"], out / "report", psa_dir)
    print(f"report: {report} ({time.perf_counter() - start:.0f} s in all)")
    return 0


def _run_psa(folder: Path, designs: list[str], args) -> Path | None:
    """A small PSA of ``designs`` (experiments/psa.py in a child process) into ``folder``;
    None (and one line saying so) if it fails, so the report still builds."""
    import subprocess

    others = [d for d in designs if d != "usual_care"]
    cmd = [sys.executable, str(REPO / "experiments" / "psa.py"), f"draws={args.psa_draws}",
           f"designs=[{','.join(others)}]", f"population={args.population}",
           f"n={args.psa_n}", "replicates=2", f"out={folder}"]
    if args.overrides:
        cmd.append("model_overrides=[" + ",".join(f"'{o}'" for o in args.overrides) + "]")
    t = time.perf_counter()
    print(f"PSA: {args.psa_draws} evidence draws x {len(designs)} designs "
          f"({args.psa_n:,} people x 2 replicates) for the 'how sure' line ...", flush=True)
    done = subprocess.run(cmd, cwd=REPO)  # its progress and any error show as they come
    if done.returncode != 0 or not (folder / "summary.csv").is_file():
        print(f"PSA failed (exit status {done.returncode}); the report shows replicate noise "
              "only", flush=True)
        return None
    print(f"PSA done in {time.perf_counter() - t:.0f} s -> {folder}", flush=True)
    return folder


if __name__ == "__main__":
    sys.exit(main())
