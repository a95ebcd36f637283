"""The comparison's per-replicate pivot (sim.compare.report_measures._pivot) is the frame
``pivot_table(..., aggfunc="sum")`` gives, in the cases a run's group summary can hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.compare.report_measures import _metric, _pivot


def _summary(rng, n_rep=3, groups=("1", "2", "3", "4", "5"), drop=(), nan=()):
    rows = [{"replicate": r, "dimension": "imd_quintile", "group": g, "metric": "rtw_52w",
             "value": float(rng.random()), "n": int(rng.integers(0, 50))}
            for r in range(n_rep) for g in groups if (r, g) not in drop]
    df = pd.DataFrame(rows)
    for r, g in nan:
        df.loc[(df["replicate"] == r) & (df["group"] == g), "value"] = np.nan
    return df.sample(frac=1.0, random_state=1)  # rows in no particular order


@pytest.mark.parametrize("case", [
    {},  # every replicate and group
    {"drop": [(1, "3")]},  # a group missing in one replicate: NaN there
    {"drop": [(0, "5"), (1, "5"), (2, "5")]},  # a group nobody is in: no column
    {"nan": [(2, "1")]},  # a missing value: sums to 0, as pivot_table's sum does
    {"nan": [(0, "4"), (1, "4"), (2, "4")]},  # all missing: a column of zeros
    {"n_rep": 1, "groups": ("white_british", "indian", "black")},  # unsorted names
])
@pytest.mark.parametrize("column", ["value", "n"])
def test_pivot_is_pivot_table(case, column):
    sub = _summary(np.random.default_rng(7), **case)
    expected = sub.pivot_table(index="replicate", columns="group", values=column,
                               aggfunc="sum")
    pd.testing.assert_frame_equal(_pivot(sub, column), expected, check_exact=True)


def test_metric_selects_one_dimension_and_metric():
    rng = np.random.default_rng(3)
    a = _summary(rng)
    b = a.assign(metric="days_absent", value=a["value"] + 10)
    c = a.assign(dimension="ethnicity")
    values, counts = _metric(pd.concat([a, b, c]), "imd_quintile", "rtw_52w")
    pd.testing.assert_frame_equal(values, a.pivot_table(
        index="replicate", columns="group", values="value", aggfunc="sum"), check_exact=True)
    assert counts.to_numpy().sum() == a["n"].sum()
    assert _metric(a, "imd_quintile", "rtw_52w", counts=False)[1] is None
    empty, _ = _metric(a, "all", "rtw_52w")
    assert "all" not in empty and empty.empty


def test_metrics_of_several_keys_at_once_are_each_keys_metric():
    """_metrics (one groupby for a cell's measures, issue 19) gives every key the frames
    _metric gives, bit for bit (counts as float), with a group of another dimension and a
    missing value, and an empty frame for a key with no rows."""
    from sim.compare.report_measures import _metrics

    rng = np.random.default_rng(5)
    imd = _summary(rng, drop=[(1, "3")], nan=[(2, "1")])
    eth = _summary(rng, groups=("white_british", "indian", "black")).assign(
        dimension="ethnicity")
    overall = _summary(rng, groups=("all",)).assign(dimension="all")
    other = overall.assign(metric="days_absent", value=overall["value"] * 3)
    table = pd.concat([imd, eth, overall, other]).sample(frac=1.0, random_state=2)
    keys = [("imd_quintile", "rtw_52w"), ("ethnicity", "rtw_52w"), ("all", "rtw_52w"),
            ("all", "days_absent"), ("all", "job_loss")]
    got = _metrics(table, keys)
    for key in keys[:-1]:
        values, counts = _metric(table, *key)
        pd.testing.assert_frame_equal(got[key][0], values, check_exact=True)
        pd.testing.assert_frame_equal(got[key][1], counts.astype(float), check_exact=True,
                                      check_column_type=False, check_index_type=False)
    missing = _metric(table, "all", "job_loss")[0]  # no rows: empty, as _metric's
    assert missing.empty and got[("all", "job_loss")][0].empty
    assert list(got[("all", "job_loss")][0].columns) == list(missing.columns) == []


def test_metrics_placed_only_where_one_row_per_cell():
    """The numpy placement (issue 19) applies to a group summary (one row per replicate and
    group of a key); duplicated rows or categorical groups go through the groupby, whose
    sum of several rows it does not imitate. Both give the frames _metric gives."""
    from sim.compare.report_measures import _metrics, _metrics_grouped, _metrics_placed

    rng = np.random.default_rng(11)
    table = _summary(rng, n_rep=4, drop=[(2, "4")], nan=[(1, "2")])
    table.loc[table.index[0], "value"] = -0.0  # pandas' sum gives 0.0
    keys = [("imd_quintile", "rtw_52w"), ("all", "rtw_52w")]
    placed = _metrics_placed(table, keys)
    assert placed is not None
    for key, frames in _metrics_grouped(table, keys).items():
        for got, want in zip(placed[key], frames, strict=True):
            pd.testing.assert_frame_equal(got, want, check_exact=True,
                                          check_dtype=not want.empty)
            assert got.to_numpy().tobytes() == want.to_numpy(dtype=float).tobytes()
    doubled = pd.concat([table, table.iloc[:1]])
    assert _metrics_placed(doubled, keys) is None
    values, _ = _metrics(doubled, keys)[keys[0]]
    pd.testing.assert_frame_equal(values, _metric(doubled, *keys[0])[0], check_exact=True)
    assert _metrics_placed(table.astype({"group": "category"}), keys) is None


def _rows_oracle(measures: dict) -> pd.DataFrame:
    """The long per-replicate table as compare_cells built it before issue 19: one dict
    per value, from each column's items."""
    rows = []
    for design, m in measures.items():
        for col in m.columns:
            rows += [{"design": design, "seed": s, "replicate": r, "measure": col, "value": v}
                     for (s, r), v in m[col].items()]
    return pd.DataFrame(rows)


def _arm(seeds, reps, **columns) -> pd.DataFrame:
    index = pd.MultiIndex.from_arrays([seeds, reps], names=["seed", "replicate"])
    return pd.DataFrame(columns, index=index)


@pytest.mark.parametrize("measures", [
    {"usual_care": _arm([7, 7, 9], [0, 1, 0], rtw_52w=[0.5, np.nan, 0.25], people=[10, 11, 12]),
     "ips [x]": _arm([7, 9], [1, 0], rtw_52w=[-0.0, 1e-300], people=[3, 4])},
    {"a": _arm([1, 1], [0, 1], people=[10, 11], returned=[2, 3])},  # integers only
    {"a": _arm([], [], rtw_52w=[]), "b": _arm([1], [0], rtw_52w=[0.1])},  # an empty arm
    {"a": _arm([], [], rtw_52w=[])},  # nothing at all
])
def test_per_replicate_table_is_the_one_a_dict_per_value_gave(measures):
    from sim.compare.report_measures import _per_replicate

    pd.testing.assert_frame_equal(_per_replicate(measures), _rows_oracle(measures),
                                  check_exact=True)
