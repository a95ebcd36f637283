"""Compare programme designs with usual care and write the decision report.

Runs each design on the same population (same seed and replicates, so every comparison is
paired person by person) in this process, writes each run's results atomically, then
builds the HTML report (:mod:`sim.compare.report`).

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
import difflib
import subprocess
import sys
import time
from pathlib import Path

from sim.compare.report import ReportError, load_psa, write_report
from sim.config import CONFIG_DIR, ConfigError, load_config
from sim.errors import one_line
from sim.programme.catalogue import tagged
from sim.results.output import write_results
from sim.simulate import simulate

REPO = CONFIG_DIR.parent

# usual care, then the designs whose YAML has `tags: [compare]` (configs/programme/, name order)
DEFAULT_DESIGNS = ("usual_care", *(d for d in tagged("compare") if d != "usual_care"))


def _choices(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def _unknown_key_hint(override: str, design: str) -> str:
    """For ``a.b.c=v`` whose key is not in ``design``'s config: where the key path stops
    and what is there (with the closest name)."""
    if "=" not in override or override.startswith(("+", "~")):
        return ""
    key = override.split("=", 1)[0]
    node, path = load_config([f"programme={design}"]), []
    for part in key.split("."):
        if not isinstance(node, dict):
            return ""
        if part not in node:
            here = ".".join(path) or "the top level"
            close = difflib.get_close_matches(part, list(node), n=1)
            hint = f"; did you mean {'.'.join([*path, close[0]])}?" if close else ""
            have = ", ".join(sorted(map(str, node))) or "nothing"
            return f"{here} has no key {part!r} (it has: {have}){hint}"
        node, path = node[part], [*path, part]
    return ""


def check_arguments(args) -> tuple[list[str], str | None]:
    """The designs to run, or a one-line problem (nothing has been written yet)."""
    designs_known, populations = _choices("programme"), _choices("population")
    designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    if not designs:
        return [], (f"--designs {args.designs!r}: no design given; choose one or more of: "
                    f"{', '.join(designs_known)}")
    unknown = [d for d in designs if d not in designs_known]
    if unknown:
        return [], (f"--designs: unknown design {unknown[0]!r}; choose from: "
                    f"{', '.join(designs_known)}")
    if args.population not in populations:
        return [], (f"--population: unknown population {args.population!r}; choose from: "
                    f"{', '.join(populations)}")
    out = Path(args.out) if args.out else None
    if out is not None and (out.is_symlink() or (out.exists() and (
            not out.is_dir() or any(out.iterdir())))):
        return [], (f"--out {out}: exists and is not an empty folder; nothing is "
                    "overwritten: give a new or empty folder")
    designs = list(dict.fromkeys(designs))  # once each, in the order given
    if "usual_care" not in designs:
        designs.insert(0, "usual_care")
    return designs, None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20_000, help="people per replicate")
    ap.add_argument("--replicates", type=int, default=10, help="paired replicates")
    ap.add_argument("--designs", default=",".join(DEFAULT_DESIGNS),
                    help="comma-separated names from configs/programme/ (usual_care is added); "
                         "default: the designs tagged compare in their YAML")
    ap.add_argument("--population", default="fit_note_cohort",
                    help="a name from configs/population/")
    ap.add_argument("--out", default=None, help="a new or empty folder")
    ap.add_argument("--psa", default=None,
                    help="a finished PSA run (make psa) to reuse in the report")
    ap.add_argument("--psa-draws", type=int, default=30,
                    help="evidence draws of the PSA run by default (0: no PSA)")
    ap.add_argument("--psa-n", type=int, default=5000,
                    help="people per replicate in the default PSA (2 replicates)")
    ap.add_argument("overrides", nargs="*", help="extra config overrides (key=value)")
    args = ap.parse_args(argv)
    designs, problem = check_arguments(args)
    if problem is None and (args.psa_draws == 1 or args.psa_draws < 0):
        problem = f"--psa-draws: got {args.psa_draws}, expected 0 (no PSA) or at least 2"
    if problem is None and args.psa_n < 100:
        problem = f"--psa-n: got {args.psa_n}, expected at least 100"
    if problem:
        print(f"config error: {problem}", file=sys.stderr)
        return 2
    base = [f"population={args.population}", f"population.n={args.n}",
            f"replicates={args.replicates}", "output.plots=false",
            "output.write_agents=false", *args.overrides]
    configs, design = {}, None
    try:  # every config is checked before any work starts
        for design in designs:
            configs[design] = load_config([f"programme={design}", *base])
        if args.psa:
            load_psa(args.psa)
    except (ConfigError, ReportError) as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - Hydra: a key that does not exist, bad syntax
        for ov in args.overrides:
            try:
                hint = _unknown_key_hint(ov, design)
            except Exception:  # noqa: BLE001 - no hint then: Hydra's own message
                hint = ""
            if hint:
                print(f"config error: override {ov} (design {design}): {hint}",
                      file=sys.stderr)
                return 2
        print(f"config error: {one_line(err)} (design {design})", file=sys.stderr)
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
    report = write_report([out / "cells"], out / "report", psa_dir, if_exists="refuse")
    print(f"report: {report} ({time.perf_counter() - start:.0f} s in all)")
    return 0


def _run_psa(folder: Path, designs: list[str], args) -> Path | None:
    """A small PSA of ``designs`` (experiments/psa.py in a child process) into ``folder``;
    None (and one line saying so) if it fails, so the report still builds."""
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
