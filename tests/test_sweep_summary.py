"""sim.compare.sweep_summary.sorted_frames: the cells' group summaries joined in its order are
the joined frames sorted by cell name, replicate, dimension, group and metric (stable), as
the aggregate sorted them before (issue 19)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.compare.sweep_summary import repeated, sorted_frames, with_factors

SORT = ["cell", "replicate", "dimension", "group", "metric"]


def _layout(rng, n_rows: int, ties: bool):
    dims = np.array(["all", "condition", "ethnicity", "imd_quintile"])
    groups = np.array(["all", "1", "5", "msk", "white", "black"])
    metrics = np.array(["rtw_13w", "rtw_52w", "days_absent", "job_loss"])
    rows = {"replicate": rng.integers(0, 3, n_rows),
            "dimension": dims[rng.integers(0, dims.size, n_rows)],
            "group": groups[rng.integers(0, groups.size, n_rows)],
            "metric": metrics[rng.integers(0, metrics.size, n_rows)]}
    if ties:  # repeated keys: the stable sort keeps their order
        for k in rows:
            rows[k][n_rows // 2:] = rows[k][:n_rows - n_rows // 2]
    return rows


def _frame(layout: dict, rng, arrow: bool = True, nan_group: bool = False) -> pd.DataFrame:
    n_rows = layout["replicate"].size
    text = "str" if arrow else object
    df = pd.DataFrame({"replicate": layout["replicate"].astype(np.int64),
                       "dimension": pd.array(layout["dimension"], dtype=text),
                       "group": pd.array(layout["group"], dtype=text),
                       "metric": pd.array(layout["metric"], dtype=text),
                       "value": rng.random(n_rows), "n": rng.integers(0, 99, n_rows)})
    if nan_group:
        df.loc[::7, "group"] = None
    return df


def _old(frames, cells, factors):
    joined = with_factors(frames, cells, factors, "cell")
    return joined.sort_values(SORT, kind="mergesort").reset_index(drop=True)


@pytest.mark.parametrize("seed", range(4))
def test_joined_in_order_is_the_stable_sort(seed):
    rng = np.random.default_rng(seed)
    layouts = [_layout(rng, 60, ties=bool(i % 2)) for i in range(3)]
    frames, cells = [], []
    for i in range(12):  # shared layouts, other values; names in no particular order
        frames.append(_frame(layouts[rng.integers(0, 3)], rng, arrow=i != 5,
                             nan_group=i == 7))
        cells.append({"key": f"cell_{rng.permutation(100)[0]:02d}_{i}",
                      "factors": {"programme": f"p{i % 3}", "population.n": 100 + i}})
    frames.append(_frame(_layout(rng, 35, ties=True), rng))  # a layout of its own
    cells.append({"key": "a_first", "factors": {"programme": "usual_care",
                                                "population.n": 5}})
    frames[3] = frames[3].set_index(np.arange(60) * 3)  # an index that is not 0..n-1
    factors = ["programme", "population.n"]
    got = with_factors(*sorted_frames(frames, cells), factors, "cell")
    pd.testing.assert_frame_equal(got, _old(frames, cells, factors), check_exact=True)


def test_layouts_are_reused_not_shared_values():
    """Two cells with one layout take the same order but keep their own values."""
    rng = np.random.default_rng(9)
    layout = _layout(rng, 40, ties=False)
    a, b = _frame(layout, rng), _frame(layout, rng)
    cells = [{"key": "b", "factors": {}}, {"key": "a", "factors": {}}]
    out, order = sorted_frames([a, b], cells)
    assert [c["key"] for c in order] == ["a", "b"]
    for frame, source in zip(out, [b, a], strict=True):
        expected = source.sort_values(["replicate", "dimension", "group", "metric"],
                                      kind="mergesort").reset_index(drop=True)
        pd.testing.assert_frame_equal(frame, expected, check_exact=True)


def test_frames_without_the_keys_are_kept_as_they_are():
    frames = [pd.DataFrame({"x": [3, 1, 2]}), pd.DataFrame({"x": [9]})]
    cells = [{"key": "z", "factors": {}}, {"key": "y", "factors": {}}]
    out, order = sorted_frames(frames, cells)
    assert [c["key"] for c in order] == ["y", "z"]
    assert out[1]["x"].tolist() == [3, 1, 2]


@pytest.mark.parametrize("values, sizes", [
    (["usual_care", "ips_smi", "", "é → ü"], [3, 0, 2, 4]),  # empty text, no rows, UTF-8
    (["a"], [1_000]),
    ([0.8, 0.9], [2, 3]),  # numbers: pandas' own repeat
    (["a", None], [1, 2]),  # a missing value: pandas' own repeat
    ([], []),
])
def test_repeated_is_pandas_repeat(values, sizes):
    """The factor columns laid out as Arrow offsets and bytes are pandas' repeat: the same
    values, dtype and index (the summary's parquet depends on all three)."""
    expected = pd.Series(values).repeat(sizes).reset_index(drop=True)
    got = repeated(values, sizes)
    pd.testing.assert_series_equal(got, expected, check_exact=True)
    if len(values) and isinstance(values[0], str):
        import pyarrow as pa

        assert pa.array(got.array).type == pa.array(expected.array).type
