"""Hydra sweeps: one job per scenario cell, resume, failures, progress and aggregation.

A multirun (``python -m sim -m programme=a,b population=c,d`` or ``experiment=<name>``)
runs one Hydra job per cell; each job runs all its replicates vectorised in one process.
Cells share ``seed`` and ``replicates`` unless swept, so replicate r of every design meets
the same people with the same luck (paired comparisons).

Layout of a sweep directory::

    <sweep_dir>/
      sweep.json                 total cells and start time of the latest launch (progress)
      progress.jsonl             one line per finished job (done / skipped / failed)
      jobs/<num>/                Hydra's own per-job files (.hydra/, rtw_sim.log)
      cells/<key>__<hash>/       one per cell: key = its overrides, hash = its resolved config
        cell.json                factors (overrides), hash, overrides
        results/                 complete results (written atomically by sim.results.output)
        FAILED.json              one-line error if the cell failed (no results/)
      aggregate/summary.parquet  every complete cell's group_summary + factor columns
      aggregate/comparison.csv   paired differences of each design vs usual care in every
                                 setting: outcomes, gaps, SII/RII, costs, QALYs, NMB, NHB
                                 (sim.compare.sweep_compare)
      aggregate/cells.csv, failures.csv
      report/                    index.html naming every setting + one report per setting
                                 (sim.compare.report_sweep; one setting: report.html)

Resume: a cell whose ``results/`` exists for the same config hash is skipped. The hash
leaves out settings that do not change results (``output.*``, Hydra, launcher).

Command line (also works by hand on any sweep directory)::

    python -m sim.compare.sweep aggregate <sweep_dir>
    python -m sim.compare.sweep status <sweep_dir>

Nothing here keeps module-level mutable state: launcher workers are reused between jobs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from sim.cli.resources import guard_sweep
from sim.compare import sweep_tables
from sim.compare.sweep_compare import cell_measures, comparison_table
from sim.compare.sweep_grid import grid, parse_overrides  # noqa: F401 - the sweep's API
from sim.compare.sweep_progress import PROGRESS_FILE, SWEEP_FILE, append_line  # noqa: F401
from sim.compare.sweep_progress import progress_line as _progress
from sim.config import to_plain, validate
from sim.errors import typed_line as one_line  # Type: message
from sim.io import describe_os_error, remove_stale_staging, write_atomic
from sim.results.manifest import config_hash
from sim.results.output import write_results
from sim.simulate import simulate

CELLS = "cells"
RESULTS = "results"
CELL_FILE = "cell.json"
FAILED_FILE = "FAILED.json"
AGGREGATE = "aggregate"
HASH_EXCLUDED = ("output",)  # settings that do not change any result table
FACTOR_EXCLUDED = ("experiment", "output")  # overrides that are not scenario factors
REFERENCE_PROGRAMME = "usual_care"
# per-cell outputs a sweep does not need by default: (section, key) -> value in a sweep;
# the gap decomposition re-runs the cell three times (sim.uncertainty.decomposition)
SWEEP_OFF = {("output", "plots"): False, ("output", "write_agents"): False,
             ("outcomes", "decomposition_n"): 0}
# per-cell files a sweep does not write: nothing reads them (the aggregate and the reports
# read group_summary.parquet, economics, rtw_curves and the manifest), and writing them was
# about 60% of each cell's writing (summary.md alone ~80 ms, weekly_counts.parquet ~70 ms,
# the csv copy of group_summary ~35 ms per 10 x 10k cell); a single run writes them all
CELL_LEAVE_OUT = ("summary.md", "group_summary.csv", "weekly_counts.parquet")
FAIL_ENV = "RTW_SIM_FAIL_CELL"  # test hook: cells whose overrides contain this string raise
TIMINGS_ENV = "RTW_SIM_SWEEP_TIMINGS"  # bench hook: file to which phases append their CPU time
MAX_KEY_CHARS = 120


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


def record_timing(phase: str, **extra) -> None:
    """For experiments/sweep_bench.py: append this process's CPU time at ``phase`` to the
    file named by ``$RTW_SIM_SWEEP_TIMINGS`` (nothing when it is not set)."""
    path = os.environ.get(TIMINGS_ENV)
    if not path:
        return
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    try:
        append_line(Path(path), {"phase": phase, "pid": os.getpid(), "time": time.time(),
                                 "cpu": usage.ru_utime + usage.ru_stime, **extra})
    except OSError:
        pass  # a measurement aid: never a reason to stop a sweep


def cell_hash(cfg: dict) -> str:
    """Hash of a resolved, validated config without the settings that leave results alone."""
    kept = {k: v for k, v in cfg.items() if k not in HASH_EXCLUDED}
    if isinstance(kept.get("outcomes"), dict):  # the gap decomposition adds a table only
        kept["outcomes"] = {k: v for k, v in kept["outcomes"].items() if k != "decomposition_n"}
    return config_hash(kept)


def _factor_key(key: str) -> str:
    return key.lstrip("+~")


def cell_key(factors: dict) -> str:
    """A readable, file-name-safe name for a cell from its factors (sorted by name)."""
    if not factors:
        return "base"
    text = ",".join(f"{k}={_scalar_text(v)}" for k, v in sorted(factors.items()))
    text = re.sub(r"[^A-Za-z0-9._=,+-]", "_", text)
    if len(text) > MAX_KEY_CHARS:  # keep names unique when cut short
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        text = f"{text[:MAX_KEY_CHARS - 9]}~{digest}"
    return text


def _scalar_text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


# --------------------------------------------------------------------------------------
# One job = one cell
# --------------------------------------------------------------------------------------


def job_factors(task_overrides: list[str], choices: dict, cfg) -> dict:
    """Scenario factors of a job: each task override (group choice or value), by key."""
    from omegaconf import OmegaConf

    from sim.cli.launchers import parse_override_lines

    factors = {}
    for ov in parse_override_lines(task_overrides):
        key = _factor_key(ov.get_key_element())
        if key.split(".")[0].split("/")[0] in FACTOR_EXCLUDED or ov.is_delete():
            continue
        if key in choices:
            factors[key] = choices[key]
        else:
            value = OmegaConf.select(cfg, key, default=None)
            if OmegaConf.is_config(value):
                value = OmegaConf.to_container(value, resolve=True)
            factors[key] = value
    return factors


def sweep_output_defaults(cfg: dict, task_overrides: list[str], choices: dict) -> dict:
    """In a sweep, per-cell figures, per-person tables and the gap decomposition are off
    unless asked for.

    They cost more than the simulation for small cells and the aggregate does not use
    them (the decomposition re-runs the cell three times; ``outcomes.decomposition_n=20000``
    on the command line turns it on). ``output.plots=true`` / ``output.write_agents=true``
    on the command line, or an experiment preset's own values, are kept. ``outputs/latest``
    is never re-pointed.
    """
    explicit = {_factor_key(o.split("=", 1)[0]) for o in task_overrides}
    out = {**cfg, "output": dict(cfg["output"], latest_link=False),
           "outcomes": dict(cfg["outcomes"])}
    if choices.get("experiment") is None:
        for (section, key), value in SWEEP_OFF.items():
            if not explicit & {f"{section}.{key}", section}:
                out[section][key] = value
    return out


def task_config(cfg) -> dict:
    """The job's config as a resolved plain dict, without Hydra's node (which
    :func:`sim.cli.launchers.run_job_lean` leaves in: it does not copy the config)."""
    from omegaconf import DictConfig, OmegaConf

    if isinstance(cfg, DictConfig) and "hydra" in cfg:
        return {k: OmegaConf.to_container(cfg[k], resolve=True) if OmegaConf.is_config(cfg[k])
                else cfg[k] for k in cfg if k != "hydra"}
    return to_plain(cfg)


def is_complete(cell_dir: Path) -> bool:
    """True if ``cell_dir`` holds results written to completion (atomic rename + manifest)."""
    return (cell_dir / CELL_FILE).is_file() and (cell_dir / RESULTS / "manifest.json").is_file()


def run_cell(cfg, sweep_dir: Path, task_overrides: list[str], choices: dict) -> str:
    """Run one cell of a sweep (``cfg``: the job's Hydra config) unless it is complete.

    Returns "done", "skipped" or "failed"; never raises for a failing cell. A failure is
    recorded in ``FAILED.json`` (written atomically) and listed by :func:`aggregate`; the
    other cells go on.
    """
    t0, cpu0 = time.perf_counter(), time.process_time()
    sweep_dir = Path(sweep_dir)
    try:
        factors = job_factors(task_overrides, choices, cfg)
    except Exception:  # noqa: BLE001 - unresolvable value: name the cell by its overrides
        factors = {_factor_key(o.split("=", 1)[0]): o.split("=", 1)[-1]
                   for o in task_overrides}
    checked, problem = None, None
    try:
        from sim.cli.launchers import prevalidated_config

        pre = prevalidated_config(task_overrides)
        checked = sweep_output_defaults(validate(task_config(cfg)) if pre is None else pre,
                                        task_overrides, choices)
        digest = cell_hash(checked)
    except Exception as err:  # noqa: BLE001 - recorded as this cell's failure below
        problem = err
        digest = config_hash({"invalid": sorted(task_overrides)})
    key = cell_key(factors)
    cells = sweep_dir / CELLS
    done_elsewhere = [d for d in cells.glob(f"*__{digest}") if is_complete(d)]
    if done_elsewhere:
        os.utime(done_elsewhere[0] / CELL_FILE)  # the latest attempt at this cell's name
        print(_progress(sweep_dir, key, "skipped", 0.0), flush=True)
        return "skipped"
    cell_dir = cells / f"{key}__{digest}"
    status, in_simulate = "done", 0.0
    try:
        cell_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(cell_dir)
        write_atomic(cell_dir / CELL_FILE, json.dumps(
            {"key": key, "hash": digest, "factors": factors, "overrides": list(task_overrides)},
            indent=2, sort_keys=True, default=str))
        if problem is not None:
            raise problem
        hook = os.environ.get(FAIL_ENV)
        if hook and any(hook in ov for ov in task_overrides):
            raise RuntimeError(f"failure injected for testing ({FAIL_ENV}={hook})")
        cpu1 = time.process_time()
        results = simulate(checked, validated=True, leave_out=CELL_LEAVE_OUT)
        in_simulate = time.process_time() - cpu1
        write_results(results, cell_dir / RESULTS, leave_out=CELL_LEAVE_OUT)
        (cell_dir / FAILED_FILE).unlink(missing_ok=True)
        # for the sweep's parent, if this job's launcher sends them back (sweep_tables)
        sweep_tables.post(cell_dir / RESULTS, results.summary, results.economics,
                          (cell_dir / RESULTS / "economics.parquet").is_file())
    except Exception as err:  # noqa: BLE001 - a failed cell must not stop the sweep
        if is_complete(cell_dir):  # the same cell twice in one sweep: the other one won
            return "skipped"
        status = "failed"
        message = (describe_os_error(err) if isinstance(err, OSError) else one_line(err))
        last = traceback.extract_tb(err.__traceback__)[-1:]
        where = f"{Path(last[0].filename).name}:{last[0].lineno}" if last else ""
        try:  # recording the failure may itself fail (a full disk): the sweep goes on
            write_atomic(cell_dir / FAILED_FILE, json.dumps(
                {"key": key, "hash": digest, "error": message, "where": where},
                indent=2, sort_keys=True))
        except OSError as record_err:
            message += f" (and the failure could not be recorded: " \
                       f"{describe_os_error(record_err)})"
        print(f"cell {key} failed: {message}", file=sys.stderr, flush=True)
    try:
        line = _progress(sweep_dir, key, status, time.perf_counter() - t0,
                         time.process_time() - cpu0, in_simulate)
    except OSError:  # progress is a convenience: never a reason to stop the sweep
        line = f"[cell] {key} {status}"
    print(line, flush=True)
    return status


# --------------------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------------------


def scan(sweep_dir: Path) -> list[dict]:
    """Every cell of a sweep directory with its status: complete, failed or incomplete."""
    rows = []
    for cell_dir in sorted(d for d in Path(sweep_dir, CELLS).glob("*") if d.is_dir()):
        cell_file = cell_dir / CELL_FILE
        if not cell_file.exists():  # killed between making the folder and writing cell.json
            key, _, digest = cell_dir.name.rpartition("__")
            rows.append({"key": key or digest, "hash": digest if key else "", "factors": {},
                         "dir": cell_dir, "status": "incomplete",
                         "error": f"no results (killed before it wrote {CELL_FILE})"})
            continue
        try:
            info = json.loads(cell_file.read_text())
        except (OSError, ValueError) as err:
            rows.append({"key": cell_dir.name, "hash": "", "factors": {}, "dir": cell_dir,
                         "status": "failed", "error": f"unreadable cell.json: {one_line(err)}"})
            continue
        row = {"key": info["key"], "hash": info["hash"], "factors": info["factors"],
               "dir": cell_dir, "error": ""}
        if is_complete(cell_dir):
            row["status"] = "complete"
        elif (cell_dir / FAILED_FILE).is_file():
            row["status"] = "failed"
            try:
                row["error"] = json.loads((cell_dir / FAILED_FILE).read_text())["error"]
            except (OSError, ValueError, KeyError) as err:
                row["error"] = f"unreadable {FAILED_FILE}: {one_line(err)}"
        else:
            row["status"] = "incomplete"
            row["error"] = "no results (killed, or still running)"
        rows.append(row)
    return rows


def _mtime_ns(path: Path) -> int:
    """A file's modification time, or 0 if it is missing or unreadable (never the latest)."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _factor_columns(cells: list[dict]) -> list[str]:
    first = ["population", "programme"]
    names = {k for c in cells for k in c["factors"]}
    return [n for n in first if n in names] + sorted(names - set(first))


def _measures_of(results: Path, df, econ, manifest, memo: dict):
    """A cell's measures: those the parent took while the jobs ran, else taken now."""
    taken = sweep_tables.measures(results)
    return taken if taken is not None else cell_measures(results, df, econ, manifest,
                                                         memo=memo)


def _save_parquet(df, path: Path) -> None:
    write_atomic(path, df.to_parquet(index=False))


def _save_csv(df, path: Path) -> None:
    write_atomic(path, df.to_csv(index=False, lineterminator="\n"))


def aggregate(sweep_dir: Path, report: bool = True, quiet: bool = False,
              figures: bool = False, setting_reports: bool = False) -> dict:
    """Join every complete cell into ``aggregate/summary.parquet`` and build the report.

    The table is sorted and holds no paths, times or host names, so it is byte-identical
    whichever launcher and however many workers produced the cells. Returns counts and
    paths; failed and incomplete cells are listed in ``aggregate/failures.csv``.
    ``figures``: draw the charts of every setting's report (off by default: see
    :func:`sim.compare.report_sweep.write_sweep_report`); ``setting_reports``: write the
    full report of every setting, not only the index page with each setting's headline
    (off by default: about 60% of the report's CPU; one setting always gets its report).
    """
    sweep_dir = Path(sweep_dir)
    cells = scan(sweep_dir)
    # one cell per name: if the configs changed between runs of the same sweep (same
    # overrides, another hash), the latest attempt counts; the older are "superseded"
    latest: dict = {}
    for c in cells:
        stamp = _mtime_ns(c["dir"] / CELL_FILE)
        if c["key"] not in latest or stamp > latest[c["key"]][0]:
            latest[c["key"]] = (stamp, c)
    for c in cells:
        if latest[c["key"]][1] is not c:
            c["status"] = "superseded"
    complete = [c for c in cells if c["status"] == "complete"]
    factors = _factor_columns(complete)
    paths = [c["dir"] / RESULTS for c in complete]
    # the index page in a worker process while this one builds the tables (issue 19)
    from sim.compare import report_aside

    job = None
    if report and complete and not setting_reports and report_aside.worth_it(complete):
        job = report_aside.ReportJob(paths, sweep_dir / "report", quiet, figures,
                                     sweep_tables.preloaded(paths))
    try:
        return _aggregate(sweep_dir, cells, complete, factors, paths, job, report, quiet,
                          figures, setting_reports)
    finally:
        sweep_tables.clear()
        if job is not None:
            job.close()


def _aggregate(sweep_dir: Path, cells: list, complete: list, factors: list, paths: list,
               job, report: bool, quiet: bool, figures: bool, setting_reports: bool) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    import pandas as pd

    from sim.compare.sweep_summary import sorted_frames
    from sim.compare.sweep_summary import with_factors as _with_factors

    frames, loaded, memo, taken = [], {}, sweep_tables.measure_memo(), 0
    for c in complete:
        results = c["dir"] / RESULTS
        sent, (manifest, df, econ) = sweep_tables.cell_tables(results)
        taken += sent
        if econ is not None and job is None:  # a report here takes the tables as they are
            loaded[results.resolve()] = (manifest, df.copy(), econ)
        frames.append((c, results, manifest, df, econ))
    cells_done = [f[0] for f in frames]
    out_dir = sweep_dir / AGGREGATE
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = (_with_factors(*sorted_frames([f[3] for f in frames], cells_done), factors,
                             "cell") if frames else
               pd.DataFrame(columns=["cell", *factors, "replicate", "dimension", "group",
                                     "metric", "value", "n"]))
    for col in ("cell", "dimension", "group", "metric"):
        summary[col] = summary[col].astype(str)
    # the summary's parquet (encoding mostly without the GIL) while the measures are taken
    with ThreadPoolExecutor(1) as pool:
        written = pool.submit(_save_parquet, summary, out_dir / "summary.parquet")
        measures = [_measures_of(results, df, econ, manifest, memo)
                    for _, results, manifest, df, econ in frames]
        measures = (_with_factors(measures, cells_done, factors) if frames else
                    pd.DataFrame(columns=[*factors, "replicate", "dimension", "group",
                                          "metric", "value"]))
        comparison = comparison_table(measures, factors)  # every design x setting
        written.result()
    _save_csv(comparison, out_dir / "comparison.csv")
    listing = pd.DataFrame([{"cell": c["key"], "hash": c["hash"], "status": c["status"],
                             **{f: _scalar_text(c["factors"].get(f, "")) for f in factors}}
                            for c in cells], columns=["cell", "hash", "status", *factors])
    _save_csv(listing, out_dir / "cells.csv")
    failed = [c for c in cells if c["status"] in ("failed", "incomplete")]
    failures = pd.DataFrame([{"cell": c["key"], "hash": c["hash"], "status": c["status"],
                              "error": c["error"]} for c in failed],
                            columns=["cell", "hash", "status", "error"])
    _save_csv(failures, out_dir / "failures.csv")
    record_timing("tables", cells_sent=taken)
    from sim.compare import report_aside

    report_dir = None
    if job is not None:
        report_dir = job.result()
        record_timing("report")
    elif report and complete:
        report_dir = report_aside.write_report(paths, sweep_dir / "report", quiet, figures,
                                               setting_reports, loaded)
        record_timing("report")
    outcome = {"cells": len(cells), "complete": len(complete), "failed": len(failures),
               "summary": out_dir / "summary.parquet", "comparison": out_dir / "comparison.csv",
               "failures": out_dir / "failures.csv", "report": report_dir}
    if not quiet:
        print(f"aggregate: {len(complete)} complete cell(s), {len(failures)} failed or "
              f"incomplete -> {out_dir / 'summary.parquet'}")
        for c in failed:
            print(f"  {c['status'].upper()}: {c['key']}: {c['error']}")
    return outcome


# --------------------------------------------------------------------------------------
# Hydra callback (configured in configs/config.yaml: hydra.callbacks.sweep)
# --------------------------------------------------------------------------------------


try:
    from hydra.experimental.callback import Callback as _HydraCallback
except ImportError:  # pragma: no cover - Hydra is a dependency
    _HydraCallback = object


class SweepCallback(_HydraCallback):
    """Writes the cell count before a multirun (for progress) and aggregates after it."""

    def __init__(self, aggregate: bool = True, report: bool = True, figures: bool = False,
                 setting_reports: bool = False):
        self.aggregate = aggregate
        self.report = report
        self.figures = figures
        self.setting_reports = setting_reports

    def on_multirun_start(self, config, **kwargs: Any) -> None:
        from omegaconf import OmegaConf

        record_timing("start")
        # tables an earlier multirun's jobs sent back in this process; measure the new ones
        sweep_tables.clear(measure=self.aggregate)
        guard_sweep(config)  # launcher settings, memory of the cells run at once: exit 2
        sweep_dir = Path(str(config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        params = OmegaConf.select(config, "hydra.sweeper.params", default=None) or {}
        if OmegaConf.is_config(params):
            params = OmegaConf.to_container(params, resolve=True)
        try:
            total = len(grid(list(config.hydra.overrides.task), params))
        except Exception:  # noqa: BLE001 - another sweeper: no total, progress still counts
            return
        write_atomic(sweep_dir / SWEEP_FILE, json.dumps(
            {"total": total, "started": time.time()}, indent=2))
        print(f"sweep: {total} cell(s) -> {sweep_dir}", flush=True)

    def on_multirun_end(self, config, **kwargs: Any) -> None:
        import gc

        from sim.cli.launchers import release_workers

        # the aggregate's full collections (one or two, ~0.04-0.1 s each, after the last
        # cell) skip what the sweep made before it, which they are given back afterwards
        # (freezing only keeps objects out of the collector's scans; thawed, they are
        # collectable again, as is what CPython itself freezes at start-up)
        gc.freeze()
        try:
            self._end(config)
        finally:  # nothing more for the sweep's workers: no teardown to wait for at exit
            gc.unfreeze()
            release_workers()

    def _end(self, config) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        failed = 0
        record_timing("jobs")
        if self.aggregate:
            try:
                failed = aggregate(sweep_dir, report=self.report, figures=self.figures,
                                   setting_reports=self.setting_reports
                                   or self.figures)["failed"]
            except OSError as err:  # e.g. a full disk: say so in one line; cells are kept
                print(f"sweep: could not write the aggregate of {sweep_dir}: "
                      f"{describe_os_error(err)}; run `python -m sim.compare.sweep aggregate "
                      f"{sweep_dir}` when that is fixed", file=sys.stderr)
                sys.exit(1)
        print(f"to resume or extend this sweep, run it again with hydra.sweep.dir={sweep_dir}")
        if failed:  # scripts and CI see it; the other cells' results are all written
            print(f"sweep: {failed} cell(s) failed (see {sweep_dir / AGGREGATE / 'failures.csv'})",
                  file=sys.stderr)
            sys.exit(1)


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def status(sweep_dir: Path) -> dict:
    cells = scan(sweep_dir)
    counts: dict = {}
    for c in cells:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.compare.sweep", description=__doc__.split(
        "\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    agg = sub.add_parser("aggregate", help="join a sweep's cells into one table and report")
    agg.add_argument("sweep_dir", type=Path)
    agg.add_argument("--no-report", action="store_true", help="tables only")
    agg.add_argument("--figures", action="store_true",
                     help="draw the charts of every setting's report (off by default)")
    agg.add_argument("--setting-reports", action="store_true",
                     help="write the full report of every setting (by default only the "
                          "index page with each setting's headline)")
    st = sub.add_parser("status", help="count complete / failed / incomplete cells")
    st.add_argument("sweep_dir", type=Path)
    args = parser.parse_args(argv)
    if not (args.sweep_dir / CELLS).is_dir():
        print(f"sweep_dir: {args.sweep_dir} has no '{CELLS}/' directory; expected the "
              "hydra.sweep.dir of a multirun of python -m sim", file=sys.stderr)
        return 2
    if args.command == "status":
        counts = status(args.sweep_dir)
        text = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "no cells"
        try:
            total = json.loads((args.sweep_dir / SWEEP_FILE).read_text())["total"]
            text += f" (latest launch: {total} cells)"
        except (OSError, ValueError, KeyError):
            pass
        print(text)
        return 0
    aggregate(args.sweep_dir, report=not args.no_report, figures=args.figures,
              setting_reports=args.setting_reports or args.figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
