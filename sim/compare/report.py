"""The decision report: compare programme designs with usual care, for commissioners.

Input: the ``results/`` directories of runs ("cells") of one or more designs, at least one
of them ``usual_care``, on the same population, replicates and horizon. Replicate r of a
design and of usual care with the same seed hold the same people with the same luck
(common random numbers). Only cell-level tables are read (``group_summary``,
``economics``, ``rtw_curves``, manifest), so the report also works for sweeps that did not
keep per-person tables. Every run given is used, or listed with the reason it was not
(:func:`select_runs`: other settings, no usual-care run of its seed, a repeat), on stderr,
in the page ("Runs not used") and in ``runs_not_used.csv``. Runs of one design with
different seeds are pooled as further paired replicates; runs of one design with other
programme settings or evidence values are separate rows labelled with what differs.

    python -m sim.compare.report outputs/compare/<time>/cells [more dirs ...] [--out DIR]

``--out`` must be a new or empty folder (anything else is refused: nothing is
overwritten); without it the report goes to ``<first path>/report``, or ``report-2``,
``-3`` ... if that is taken. The page is ``sim/templates/report.html.j2``, autoescaped:
no name or description from a config can inject markup. A bad manifest or table is one
line naming the file, exit code 2, nothing written.

What it computes, per design and replicate, then as paired differences with usual care
(mean over replicates and a paired t interval, :func:`sim.stats.metrics.paired_difference`):

* RTW within 52 weeks (or, for runs without it, e.g. a horizon under 52 weeks, at the
  latest RTW week they have: :func:`rtw_week`), days absent, job loss;
* the deprivation gap: IMD quintile 1 minus quintile 5 (absolute, percentage points, and
  relative, ratio), and the slope index of inequality across the five quintiles
  (Fingertips convention, :func:`sim.stats.metrics.slope_index`; SII > 0 means the least deprived
  do better);
* the ethnic gap: the population-weighted mean of each minority group's shortfall in RTW
  against White British;
* costs per person by perspective (discounted), programme cost per extra person back at
  work, net monetary benefit per person at the configured willingness to pay.

"How sure": replicate intervals reflect simulation noise only (the evidence is held at its
point values); the probabilistic sensitivity analysis varies the evidence.

The code: :mod:`sim.compare.report_cells` (loading, which runs are compared),
:mod:`sim.compare.report_measures` (measures, :func:`compare_cells`),
:mod:`sim.compare.report_figures`, :mod:`sim.compare.report_html` (answers, tables, PSA,
the page) and this module (writing the report folder, the command line). Every name other
modules and tests import from ``sim.compare.report`` is re-exported here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import pandas as pd

from sim.compare import report_dcea
from sim.compare.report_cells import (  # noqa: F401 - re-exported: the report's import path
    REFERENCE,
    Cell,
    _flat,
    _group_config,
    _show,
    load_cells,
    select_runs,
)
from sim.compare.report_figures import _league_value, _names, figures  # noqa: F401
from sim.compare.report_html import (  # noqa: F401 - re-exported
    _TEMPLATES,
    SECTIONS,
    _answers,
    _ci,
    _groups_html,
    _table,
    load_psa,
    render_html,
)
from sim.compare.report_measures import (  # noqa: F401 - re-exported
    Comparison,
    compare_cells,
    replicate_measures,
    rtw_week,
)
from sim.errors import ReportError
from sim.io import new_staging

# ---- writing ----------------------------------------------------------------------


def _usable_out(out_dir: Path) -> bool:
    """True if ``out_dir`` can take the report without touching anything already there."""
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        return False
    return not out_dir.exists() or not any(out_dir.iterdir())


def check_out(out_dir, flag: str = "--out") -> None:
    """ReportError (one line) if ``out_dir`` exists and is not an empty folder, or cannot
    be made (a file on its path, a folder we may not write in)."""
    out_dir = Path(out_dir)
    if not _usable_out(out_dir):
        kind = "folder is not empty" if out_dir.is_dir() and not out_dir.is_symlink() else \
            "path exists and is not a folder"
        raise ReportError(f"{flag} {out_dir}: the {kind}; nothing is overwritten: give a new "
                          "or empty folder")
    _check_parent(out_dir, flag)


def _check_parent(out_dir: Path, flag: str) -> None:
    parent = out_dir.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ReportError(f"{flag} {out_dir}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ReportError(f"{flag} {out_dir}: no permission to write in {parent}")


def _free_out(out_dir: Path) -> Path:
    """``out_dir``, or the first of ``<out_dir>-2``, ``-3`` ... that is free."""
    k = 1
    candidate = out_dir
    while not _usable_out(candidate):
        k += 1
        candidate = out_dir.with_name(f"{out_dir.name}-{k}")
    return candidate


def _print_left_out(comp: Comparison) -> None:
    if not comp.left_out:
        return
    print(f"report: {len(comp.left_out)} of {comp.runs_given} runs not used (listed in the "
          "report under 'Runs not used'):", file=sys.stderr)
    for r in comp.left_out:
        print(f"  not used: {r['path']}: {r['reason']}", file=sys.stderr)


def write_report(paths, out_dir, psa_dir=None, if_exists: str = "next",
                 comparison: Comparison | None = None, draw_figures: bool = True) -> Path:
    """Build the report from results under ``paths`` into ``out_dir`` (atomically);
    ``psa_dir``: a finished PSA run (``experiments/psa.py``) to show how sure the ranking is.

    Nothing that exists is deleted or overwritten. ``out_dir`` must be new or an empty
    folder; if it is not: ``if_exists="next"`` writes to the first free ``<out_dir>-2``,
    ``-3``, ... (a sweep's re-aggregation keeps its earlier report), ``"refuse"`` raises a
    ReportError before any work. The files are written into a new hidden folder beside
    ``out_dir`` and renamed into place in one step. Runs given but not compared are
    listed on stderr and in the report (:func:`select_runs`). ``comparison``: the
    :func:`compare_cells` of the runs under ``paths`` if the caller already has it (a
    sweep's report), so it is not computed twice. ``draw_figures=False`` leaves the charts
    out (a sweep's per-setting reports: the page says so and how to draw them)."""
    out_dir = Path(out_dir)
    if if_exists == "refuse":
        check_out(out_dir)
    elif if_exists == "next":
        _check_parent(out_dir, "output folder")
    else:
        raise ValueError(f"if_exists: {if_exists!r}")
    psa = load_psa(psa_dir) if psa_dir is not None else None
    comp = comparison if comparison is not None else compare_cells(load_cells(paths))
    _print_left_out(comp)
    page = render_html(comp, figures(comp) if draw_figures else {}, psa)
    if if_exists == "next":
        out_dir = _free_out(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = new_staging(out_dir)  # cleared by remove_stale_staging if we are killed
    try:
        (staging / "report.html").write_text(page, encoding="utf-8")
        comp.league.to_csv(staging / "league.csv", index=False)
        comp.per_replicate.to_csv(staging / "per_replicate.csv", index=False)
        comp.costs.to_csv(staging / "costs.csv", index=False)
        comp.groups.to_csv(staging / "groups.csv", index=False)
        pd.DataFrame(comp.left_out, columns=["design", "path", "reason"]).to_csv(
            staging / "runs_not_used.csv", index=False)
        for name, table in report_dcea.tables(comp).items():  # reference case, DCEA
            table.to_csv(staging / f"{name}.csv", index=False)
        try:  # replaces only a missing or empty folder; never one with files in it
            os.rename(staging, out_dir)
        except OSError as err:
            raise ReportError(f"{out_dir}: cannot be written ({err.strerror}); nothing "
                              "there was changed") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # ours: made by new_staging above
        raise
    return out_dir / "report.html"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build the design comparison report.")
    ap.add_argument("paths", nargs="+", help="results dirs, run dirs or a sweep dir")
    ap.add_argument("--out", default=None,
                    help="output folder, new or empty (default: <first path>/report, or "
                         "report-2, -3 ... if that exists)")
    ap.add_argument("--psa", default=None, help="a PSA run folder (make psa) to include")
    args = ap.parse_args(argv)
    try:
        if args.out:
            path = write_report(args.paths, Path(args.out), args.psa, if_exists="refuse")
        else:
            path = write_report(args.paths, Path(args.paths[0]) / "report", args.psa)
    except ReportError as err:
        print(f"report error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # disk full, permissions ...: one line
        print(f"report error: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return 2
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
