"""sim.compare.sweep_summary.with_factors: the joined frame with the cells' name and factor columns
equals inserting them into each cell's frame before joining (the aggregate's table stays
byte-identical, issue 19), for text, whole, fractional, mixed and missing values."""

import io

import pandas as pd
import pytest

from sim.compare.sweep_summary import column as _column
from sim.compare.sweep_summary import with_factors as _with_factors


def _by_insert(frames, cells, factors, key):
    out = []
    for i, (df, c) in enumerate(zip(frames, cells, strict=True)):
        df = df.copy()
        if key:
            df.insert(0, key, c["key"])
        for name in factors:
            values = _column([x["factors"].get(name) for x in cells])
            df.insert((1 if key else 0) + factors.index(name), name, values[i])
        out.append(df)
    return pd.concat(out, ignore_index=True)


@pytest.mark.parametrize("key", ["cell", None])
def test_with_factors_equals_inserting_per_cell(key):
    frames = [pd.DataFrame({"replicate": [0, 1, 0], "metric": ["a", "b", "a"],
                            "value": [0.5, 0.25, 1.0]}),
              pd.DataFrame({"replicate": [], "metric": [], "value": []}).astype(
                  {"replicate": "int64", "metric": "str", "value": "float64"}),
              pd.DataFrame({"replicate": [3], "metric": ["c"], "value": [2.0]})]
    cells = [{"key": "x=1", "factors": {"programme": "ips", "hr": 1, "w": 0.5, "v": None}},
             {"key": "x=2", "factors": {"programme": "cbt", "hr": 2, "w": 1, "v": "a"}},
             {"key": "x=3", "factors": {"programme": "ips", "hr": 3, "w": 0.25}}]
    factors = ["programme", "hr", "v", "w"]
    got = _with_factors(frames, cells, factors, key)
    want = _by_insert(frames, cells, factors, key)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert str(got["hr"].dtype) == "int64" and str(got["w"].dtype) == "float64"
    a, b = io.BytesIO(), io.BytesIO()
    got.to_parquet(a, index=False)
    want.to_parquet(b, index=False)
    assert a.getvalue() == b.getvalue()
