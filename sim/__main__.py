"""Command line: ``python -m sim [overrides]`` (a Hydra app).

Examples::

    python -m sim                                     # default: fit-note cohort, usual care
    python -m sim population=workforce horizon_weeks=52 seed=3
    python -m sim population.n=50000 replicates=5
    python -m sim -m programme=usual_care,ips_smi population=fit_note_cohort,workforce
    python -m sim -m experiment=designs_x_populations     # a sweep preset (configs/experiment/)

In a multirun each job is one scenario cell (its replicates run vectorised inside it); see
:mod:`sim.sweep` for resume, failures, progress and aggregation.

The CLI only wires Hydra to :func:`sim.simulate.simulate` and :mod:`sim.output`.
Configuration problems are reported in one line, exit code 2, and leave no output behind.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from sim.config import CONFIG_DIR, ConfigError, to_plain, validate
from sim.resources import check_memory


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode == RunMode.MULTIRUN:  # one sweep cell: a failure must not stop the others
        from sim.sweep import run_cell

        run_cell(cfg, Path(hydra_cfg.sweep.dir), list(hydra_cfg.overrides.task),
                 dict(hydra_cfg.runtime.choices))
        return

    run_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        plain = to_plain(cfg)
        checked = validate(plain)
        check_memory(checked)  # ResourceError is a ConfigError: one line, before any work
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        shutil.rmtree(run_dir, ignore_errors=True)  # nothing of this run is kept
        sys.exit(2)
    except Exception as err:  # interpolation errors and the like, still one line
        print(f"config error: {type(err).__name__}: {str(err).splitlines()[0]}",
              file=sys.stderr)
        shutil.rmtree(run_dir, ignore_errors=True)
        sys.exit(2)

    from sim.output import point_latest, write_results
    from sim.simulate import simulate

    results = simulate(checked)
    dest = write_results(results, run_dir / "results")
    if checked["output"]["latest_link"]:
        outputs_root = Path("outputs")
        outputs_root.mkdir(exist_ok=True)
        point_latest(dest, outputs_root)
    overall = results.summary.query("dimension == 'all'").groupby("metric")["value"].mean()
    rtw52 = overall.get("rtw_52w")
    line = f"RTW within 52 weeks {100 * rtw52:.1f}%; " if rtw52 is not None else ""
    print(f"{line}days absent per person {overall['days_absent']:.1f}")
    print(f"results: {dest}")
    print(f"summary: {dest / 'summary.md'}")


if __name__ == "__main__":
    from sim.preflight import check

    problem = check(sys.argv[1:])
    if problem:
        print(f"config error: {problem}", file=sys.stderr)
        sys.exit(2)
    main()
