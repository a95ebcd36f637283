"""Compare programme designs with usual care and write the decision report.

Runs each design on the same population (same seed and replicates, so every comparison is
paired person by person) in this process, writes each run's results atomically, then
builds the HTML report (:mod:`sim.report`).

    python experiments/compare_designs.py [--n 20000] [--replicates 10]
        [--designs usual_care,multicomponent,...] [--population fit_note_cohort] [--out DIR]
        [-- extra overrides ...]

Writes ``outputs/compare/<time>/cells/<design>/results`` and
``outputs/compare/<time>/report/report.html``.
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
                    help="a finished PSA run (make psa) to show in the report")
    ap.add_argument("overrides", nargs="*", help="extra config overrides (key=value)")
    args = ap.parse_args(argv)
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
    report = write_report([out / "cells"], out / "report", args.psa)
    print(f"report: {report} ({time.perf_counter() - start:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
