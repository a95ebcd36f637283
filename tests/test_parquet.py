"""sim.results.parquet.write_parquet writes the bytes DataFrame.to_parquet(index=False)
writes, for every table a run writes as parquet, and read_parquet reads the frame
pd.read_parquet reads (issue 19: the same files and frames, cheaper)."""

import pandas as pd

from sim.config import load_config
from sim.results.parquet import read_parquet, write_parquet
from sim.simulate import simulate


def test_write_parquet_is_to_parquet_byte_for_byte(tmp_path):
    r = simulate(load_config(["population.n=300", "horizon_weeks=30", "replicates=2"]))
    tables = {"summary": r.summary, "weekly": r.weekly, "economics": r.economics,
              "rtw_curves": r.rtw_curves, "cif": r.cif, "quality": r.quality,
              "strings": pd.DataFrame({"a": ["x", None, "y"], "b": [1.0, float("nan"), 2]}),
              "empty": r.summary.iloc[:0]}
    with_attrs = r.summary.copy()
    with_attrs.attrs["horizon"] = 30  # pandas' own path, as to_parquet
    tables["attrs"] = with_attrs
    tables["numbered"] = pd.DataFrame({0: [1, 2], "b": [3, 4]})  # non-text column name
    for name, df in tables.items():
        assert len(df.columns), name
        write_parquet(df, tmp_path / f"{name}.new.parquet")
        df.to_parquet(tmp_path / f"{name}.old.parquet", index=False)
        assert (tmp_path / f"{name}.new.parquet").read_bytes() == \
            (tmp_path / f"{name}.old.parquet").read_bytes(), name
        # read back on this thread: pandas' own frame (dtypes, strings, NaN, attrs)
        pd.testing.assert_frame_equal(read_parquet(tmp_path / f"{name}.new.parquet"),
                                      pd.read_parquet(tmp_path / f"{name}.old.parquet"),
                                      check_exact=True)
    assert len(r.summary) > 100  # a table pyarrow would convert on a thread pool
