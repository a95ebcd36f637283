"""Command line: ``python -m sim [overrides]`` (a Hydra app).

Examples::

    python -m sim                                     # default: fit-note cohort, usual care
    python -m sim population=workforce horizon_weeks=52 seed=3
    python -m sim population.n=50000 replicates=5
    python -m sim -m programme=usual_care,ips_smi population=fit_note_cohort,workforce
    python -m sim -m experiment=designs_x_populations     # a sweep preset (configs/experiment/)

In a multirun each job is one scenario cell (its replicates run vectorised inside it); see
:mod:`sim.compare.sweep` for resume, failures, progress and aggregation.

The CLI only wires Hydra to :func:`sim.simulate.simulate` and :mod:`sim.results.output`.
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

from sim.cli.preflight import prepare
from sim.cli.resources import check_memory
from sim.config import CONFIG_DIR, ConfigError, to_plain, validate
from sim.io import OutputError, describe_os_error

# The run directory :func:`sim.cli.preflight.prepare` created for this invocation (None when
# Hydra was started another way). Only that directory may be removed on failure: a
# directory the user named and already had is never removed, whatever happens.
CREATED_RUN_DIR: Path | None = None
HYDRA_FILES = (".hydra", "rtw_sim.log")  # what Hydra itself writes into a run directory
def _discard_run_dir(run_dir: Path) -> None:
    """Remove what this invocation wrote into ``run_dir`` and nothing else."""
    if CREATED_RUN_DIR is not None and run_dir.resolve() == CREATED_RUN_DIR.resolve():
        shutil.rmtree(run_dir, ignore_errors=True)  # created by this invocation
        return
    # a directory the user gave (empty before the run): only Hydra's own files go
    for name in HYDRA_FILES:
        path = run_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file():
            path.unlink(missing_ok=True)
def fail(message: str, run_dir: Path, code: int) -> None:
    print(message, file=sys.stderr)
    _discard_run_dir(run_dir)
    sys.exit(code)


def _start_helper(checked: dict):
    """A helper process for a large run (:mod:`sim.results.helper`): the gap
    decomposition's runs start there at once, beside this run's. (None, None) if not used."""
    from sim.results import helper as helpers
    from sim.uncertainty.decomposition import decomposition_size

    if not helpers.wanted(checked):
        return None, None
    helper = helpers.Helper()
    ticket = None
    if decomposition_size(checked) > 0:
        ticket = helper.submit("sim.uncertainty.decomposition:counterfactual_gaps", checked,
                               writes=False)
    if checked["output"]["plots"]:  # matplotlib, while this process runs the model
        helper.submit("sim.results.helper:preload", "sim.results.plots", writes=False)
    return helper, ticket


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode == RunMode.MULTIRUN:  # one sweep cell: a failure must not stop the others
        from sim.compare.sweep import run_cell  # lazy: a single run does not need the sweep code

        run_cell(cfg, Path(hydra_cfg.sweep.dir), list(hydra_cfg.overrides.task),
                 dict(hydra_cfg.runtime.choices))
        return

    run_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        plain = to_plain(cfg)
        checked = validate(plain)
        check_memory(checked)  # ResourceError is a ConfigError: one line, before any work
    except ConfigError as err:
        fail(f"config error: {err}", run_dir, 2)
    except Exception as err:  # interpolation errors and the like, still one line
        fail(f"config error: {type(err).__name__}: {str(err).splitlines()[0]}", run_dir, 2)

    # lazy on purpose: the engine and its tables (mesa, scipy, pandas, matplotlib: ~1.3 s
    # idle) load only once the config has passed, so a bad config is answered at once
    from sim.results import helper as helpers
    from sim.results.helper import HelperError
    from sim.results.output import ResultsWriter, point_latest
    from sim.simulate import simulate

    dest = run_dir / "results"
    helper, done = None, False
    try:
        helper, ticket = _start_helper(checked)
        # agents.parquet is written (in a thread) while the other tables are computed
        with ResultsWriter(dest, helper, ticket) as writer:
            results = simulate(checked, validated=True, agents_ready=writer.agents_ready,
                               overlap=helpers.overlap_tables(checked))
            dest = writer.write(results)
        done = True
    except HelperError as err:
        fail(f"error: {err}; nothing was kept", run_dir, 1)
    except MemoryError:
        fail("error: out of memory while running; use fewer people (population.n) or "
             "replicates, or split the work into several runs", run_dir, 1)
    except OSError as err:
        fail(f"error: could not write the results to {dest}: {describe_os_error(err)}; "
             "nothing was kept", run_dir, 1)
    finally:
        if helper is not None:
            helper.close(kill=not done)
    if checked["output"]["latest_link"]:
        outputs_root = Path("outputs")
        try:
            outputs_root.mkdir(exist_ok=True)
            warning = point_latest(dest, outputs_root)
        except OSError as err:
            warning = f"could not point outputs/latest at the results: {describe_os_error(err)}"
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    overall = results.summary.query("dimension == 'all'").groupby("metric")["value"].mean()
    rtw52 = overall.get("rtw_52w")
    line = f"RTW within 52 weeks {100 * rtw52:.1f}%; " if rtw52 is not None else ""
    print(f"{line}days absent per person {overall['days_absent']:.1f}")
    print(f"results: {dest}")
    print(f"summary: {dest / 'summary.md'}")


if __name__ == "__main__":
    from sim.cli.compose_cache import install as cache_config_files

    cache_config_files()  # the pre-flight, Hydra and the launcher read each file once
    try:
        from sim.results.helper import check_setting

        check_setting()  # the environment's helper switch, before any work
        argv, CREATED_RUN_DIR = prepare(sys.argv[1:], task_function=main)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        sys.exit(2)
    except OutputError as err:
        print(f"output error: {err}", file=sys.stderr)
        sys.exit(2)
    sys.argv = [sys.argv[0], *argv]
    main()
    # every file is written and closed: the collector's passes at exit over what is left
    # (a sweep's tables and configs) are skipped, ~0.2 s of the 100-cell benchmark's end
    import gc

    gc.freeze()
