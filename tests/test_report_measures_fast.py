"""A cell's per-replicate measures placed with numpy (sim.compare.report_measures.
_measures_placed, issue 19) are the frame of the straightforward path
(_measures_reference), bit for bit, and tables it does not cover take that path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.compare.report_cells import PERSPECTIVES, Cell
from sim.compare.report_measures import (
    _measures_placed,
    _measures_reference,
    compare_cells,
    replicate_measures,
)
from sim.engine.categories import ETHNICITIES
from sim.errors import ReportError

RTW = "rtw_52w"


def _cell(n_rep=4, seed=0, eth=ETHNICITIES[:4], all_metrics=(RTW, "days_absent", "job_loss",
                                                               "programme_cost"), design="x"):
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(n_rep):
        rows += [(r, "all", "all", m, float(rng.random() * 10), 1000) for m in all_metrics]
        rows += [(r, "imd_quintile", str(q), RTW, float(rng.random()),
                  int(rng.integers(50, 300))) for q in range(1, 6)]
        rows += [(r, "ethnicity", g, RTW, float(rng.random()), int(rng.integers(1, 300)))
                 for g in eth]
        rows += [(r, "condition", "msk", RTW, 0.5, 10), (r, "imd_quintile", "1", "job_loss",
                                                         0.1, 20)]
    summary = pd.DataFrame(rows, columns=["replicate", "dimension", "group", "metric",
                                          "value", "n"])
    econ = []
    for r in range(n_rep):
        for dim in ("all", "imd_quintile"):
            econ.append({"replicate": r, "dimension": dim, "n": 1000,
                         "returned": int(rng.integers(0, 1000)), "rtw_window_weeks": 52,
                         "weeks_in_work_disc": float(rng.random() * 80),
                         **{col: float(rng.random() * 1e4) for col, _ in PERSPECTIVES}})
    manifest = {"config": {"programme": {"name": design}, "seed": 1, "population": {},
                           "economics": {"willingness_to_pay_per_week_in_work": 500}}}
    return Cell(Path(f"/nowhere/{design}"), manifest, summary.sample(frac=1.0, random_state=3),
                pd.DataFrame(econ), pd.DataFrame())


def _set(summary, mask, column, value):
    summary = summary.copy()
    summary.loc[mask(summary), column] = value
    return summary


def _imd(q):
    return lambda s: (s["dimension"] == "imd_quintile") & (s["group"] == q) & (
        s["metric"] == RTW)


PLACED = {  # tables the numpy path takes
    "usual": lambda c: c,
    "one replicate": lambda c: _cell(n_rep=1),
    "no days_absent or programme_cost": lambda c: _cell(all_metrics=(RTW, "job_loss")),
    "a missing value (sums to 0)": lambda c: _with(c, summary=_set(c.summary, _imd("2"),
                                                                  "value", np.nan)),
    "a zero most-deprived value (gap ratio inf)": lambda c: _with(c, summary=_set(
        c.summary, _imd("1"), "value", 0.0)),
    "-0.0 (a sum gives 0.0)": lambda c: _with(c, summary=_set(c.summary, _imd("3"),
                                                              "value", -0.0)),
    "no ethnicity rows": lambda c: _cell(eth=()),
    "White British only": lambda c: _cell(eth=ETHNICITIES[:1]),
    "no White British": lambda c: _cell(eth=ETHNICITIES[1:3]),
    "an ethnic group missing in one replicate": lambda c: _with(c, summary=c.summary[~(
        (c.summary["dimension"] == "ethnicity") & (c.summary["group"] == ETHNICITIES[2])
        & (c.summary["replicate"] == 1))]),
    "object columns, not arrow strings": lambda c: _with(c, summary=c.summary.astype(
        {"dimension": object, "metric": object, "group": object})),
    "a missing group outside the measures": lambda c: _with(c, summary=_set(
        c.summary, lambda s: s["dimension"] == "condition", "group", None)),
}
REFERENCE = {  # tables left to the reference path
    "a missing group of a measure": lambda c: _with(c, summary=_set(
        c.summary, lambda s: (s["dimension"] == "ethnicity") & (s.index == s.index[
            (s["dimension"] == "ethnicity").to_numpy().argmax()]), "group", None)),
    "a missing economics dimension": lambda c: _with(c, economics=_set(
        c.economics, lambda e: e.index == 3, "dimension", None)),
    "economics in another order": lambda c: _with(c, economics=c.economics.iloc[::-1]),
    "two rows of one (replicate, group)": lambda c: _with(c, summary=pd.concat(
        [c.summary, c.summary[_imd("4")(c.summary)]])),
    "categorical groups": lambda c: _with(c, summary=c.summary.astype({"group": "category"})),
    "days_absent of other replicates": lambda c: _with(c, summary=c.summary[~(
        (c.summary["metric"] == "days_absent") & (c.summary["replicate"] == 2))]),
    "an integer-with-missing economics column": lambda c: _with(
        c, economics=c.economics.astype({"returned": "Int64"})),
    "a missing dimension": lambda c: _with(c, summary=_set(
        c.summary, lambda s: s.index == s.index[0], "dimension", None)),
}


def _with(cell, **tables):
    return Cell(cell.path, cell.manifest, tables.get("summary", cell.summary),
                tables.get("economics", cell.economics), cell.rtw_curves)


@pytest.mark.parametrize("case", list(PLACED) + list(REFERENCE))
def test_placed_measures_are_the_reference_frame(case):
    cell = (PLACED.get(case) or REFERENCE[case])(_cell())
    assert (_measures_placed(cell, 52) is None) == (case in REFERENCE)
    got, expected = replicate_measures(cell, 52), _measures_reference(cell, 52)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got.dtypes) == list(expected.dtypes)
    assert np.array_equal(np.signbit(got.to_numpy(float)), np.signbit(expected.to_numpy(float)))


@pytest.mark.parametrize("drop", [
    lambda s: (s["dimension"] == "all") & (s["metric"] == RTW),  # no overall RTW
    _imd("5"),  # an IMD quintile missing
])
def test_tables_the_reference_refuses_are_refused_alike(drop):
    cell = _cell()
    cell = _with(cell, summary=cell.summary[~drop(cell.summary)])
    assert _measures_placed(cell, 52) is None
    with pytest.raises(ReportError) as placed:
        replicate_measures(cell, 52)
    with pytest.raises(ReportError) as reference:
        _measures_reference(cell, 52)
    assert str(placed.value) == str(reference.value)


def test_comparison_of_rows_with_other_replicates_than_usual_care():
    """A design whose rows are not usual care's (fewer replicates) is paired by label, as
    before the columns of usual care were taken once (issue 19)."""
    ref, full = _cell(design="usual_care"), _cell(seed=1, design="full")
    short = _cell(n_rep=3, seed=2, design="short")
    comp = compare_cells([ref, full, short], detail=False)
    lg = comp.league.set_index(["design", "measure"])
    assert lg.loc[("short", RTW), "n_replicates"] == 3
    assert lg.loc[("full", RTW), "n_replicates"] == 4
    m_ref, m_short = replicate_measures(ref, 52), replicate_measures(short, 52)
    diff = m_short[RTW].to_numpy() - m_ref[RTW].to_numpy()[:3]
    assert lg.loc[("short", RTW), "estimate"] == pytest.approx(diff.mean(), rel=1e-12)


def test_sii_of_a_replicate_is_slope_indexs():
    """_sii's own fit (issue 19) gives slope_index's SII bit for bit, and slope_index's
    answer or error for inputs it does not take (a group of no one, counts not floats)."""
    from sim.compare.report_measures import _sii
    from sim.stats.metrics import slope_index

    rng = np.random.default_rng(11)
    for k in range(300):
        m = int(rng.integers(2, 7))
        v = rng.random(m) * (-1) ** k * 10.0 ** int(rng.integers(-3, 4))
        n = rng.integers(1, 1000, m).astype(float)
        got, want = _sii(v, n), slope_index(v, n, ci="none").sii
        assert type(got) is type(want) and np.array_equal(got, want)
        assert np.signbit(got) == np.signbit(want)
    v, n = np.full(5, 0.4), np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert _sii(v, n) == slope_index(v, n, ci="none").sii  # flat: 0.0 either way
    assert _sii(v, n.astype(int)) == slope_index(v, n.astype(int), ci="none").sii
    assert np.isnan(_sii(np.array([0.1, np.nan, 0.3]), np.ones(3)))
    with pytest.raises(ValueError, match="positive population"):
        _sii(v, np.array([1.0, 0.0, 3.0, 4.0, 5.0]))


def test_cells_without_curves_have_an_empty_curves_table_each():
    from sim.compare.report_cells import CURVE_COLUMNS, _no_curves

    a, b = _no_curves(), _no_curves()
    expected = pd.DataFrame(columns=list(CURVE_COLUMNS))
    pd.testing.assert_frame_equal(a, expected, check_exact=True)
    assert a is not b and list(a.dtypes) == list(expected.dtypes)
    a["extra"] = 1  # a table of its own: the next cell's is unchanged
    pd.testing.assert_frame_equal(_no_curves(), expected, check_exact=True)


@pytest.mark.parametrize("extra", [{}, {"o": ["x"] * 4}, {"f32": np.ones(4, np.float32)}])
def test_columns_are_the_frames_columns(extra):
    """_columns (a design's measures as arrays, issue 19) gives each column's own array:
    the same dtype and bytes (-0.0, NaN, inf kept), contiguous, in the frame's order."""
    from sim.compare.report_measures import _columns

    m = pd.DataFrame({"a": [-0.0, np.nan, np.inf, 1.5], "n": np.arange(4),
                      "b": [0.1, 0.2, -0.3, 1e300], **extra})
    m.index = pd.MultiIndex.from_arrays([[3] * 4, range(4)], names=["seed", "replicate"])
    got = _columns(m)
    assert list(got) == list(m.columns)
    for c in m.columns:
        want = m[c].to_numpy()
        assert got[c].dtype == want.dtype and got[c].flags.c_contiguous
        if want.dtype.kind == "O":
            assert list(got[c]) == list(want)
        else:
            assert got[c].tobytes() == want.tobytes()


def _pivot_best(measures, rtw):
    """The shares by pivot and idxmax (the path before issue 19)."""
    from sim.compare.report_measures import _per_replicate

    per_rep = _per_replicate(measures)
    wide = per_rep[per_rep["measure"] == rtw].pivot(index=["seed", "replicate"],
                                                    columns="design", values="value").dropna()
    return wide.idxmax(axis=1).value_counts(normalize=True).to_dict(), len(wide)


@pytest.mark.parametrize("case", ["usual", "ties", "nan rows", "all nan", "one replicate",
                                  "other rows", "integer rtw"])
def test_p_best_is_pivot_idxmax(case):
    """The share of replicates in which each row is best (numpy for rows of the same
    replicates, issue 19) is what pivot + idxmax gave: ties to the first name, NaN rows
    left out, a row never best absent; rows of other replicates take the pivot."""
    from sim.compare.report_measures import _columns, _p_best, _per_replicate

    rng = np.random.default_rng(4)
    n = 1 if case == "one replicate" else 6
    index = pd.MultiIndex.from_arrays([[1] * n, range(n)], names=["seed", "replicate"])
    rtw = {d: rng.random(n) for d in ("zeta", "usual_care", "alpha", "mid")}
    rtw["mid"] = rtw["mid"] * 0.01  # never best
    if case == "ties":
        rtw["zeta"] = rtw["alpha"].copy()
        rtw["usual_care"][:2] = rtw["alpha"][:2] = 5.0
    if case == "nan rows":
        rtw["alpha"][[1, 4]] = np.nan
    if case == "all nan":
        rtw["zeta"][:] = np.nan
    measures = {d: pd.DataFrame({RTW: v, "people": np.arange(n)}, index=index)
                for d, v in rtw.items()}
    if case == "other rows":
        measures["alpha"] = measures["alpha"].iloc[1:]
    if case == "integer rtw":
        measures = {d: m.astype({RTW: np.int64}) * 0 + 1 for d, m in measures.items()}
    columns = {d: _columns(m) for d, m in measures.items()}
    best, counted = _p_best(_per_replicate(measures), RTW, measures, columns)
    want, want_n = _pivot_best(measures, RTW)
    assert counted == want_n and set(best) == set(want)
    for d in want:
        assert type(float(best[d])) is float and float(best[d]) == float(want[d])


def test_rows_of_one_seed_share_one_index():
    """The (seed, replicate) index is made once for rows of the same replicates (issue 19),
    equal to from_arrays' for each."""
    from sim.compare.report_measures import _seed_index

    made: dict = {}
    reps = pd.Index(np.arange(5), name="replicate")
    a, b = _seed_index(7, reps, made), _seed_index(7, reps.copy(), made)
    assert a is b
    expected = pd.MultiIndex.from_arrays([[7] * 5, reps], names=["seed", "replicate"])
    assert a.equals(expected) and a.names == expected.names
    assert a.dtypes.tolist() == expected.dtypes.tolist()
    assert _seed_index(8, reps, made) is not a
    assert _seed_index(7, pd.Index(np.arange(4), name="replicate"), made) is not a
    floats = pd.Index([0.0, 1.0], name="replicate")
    assert _seed_index(7, floats, made).equals(
        pd.MultiIndex.from_arrays([[7] * 2, floats], names=["seed", "replicate"]))
