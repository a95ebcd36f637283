"""sim.results.parquet.write_parquet writes what DataFrame.to_parquet(index=False) writes
(the same frame, schema and metadata; floating point columns without a dictionary, no
column statistics), for
every table a run writes as parquet, and read_parquet reads the frame pd.read_parquet reads
(issue 19: the same frames, cheaper)."""

import pandas as pd
import pyarrow.parquet as pq

from sim.config import load_config
from sim.results.parquet import read_parquet, write_parquet
from sim.simulate import simulate


def _encodings(path) -> dict:
    meta = pq.ParquetFile(path).metadata
    return {meta.schema.column(i).name: "PLAIN_DICTIONARY" in meta.row_group(0).column(i).encodings
            or "RLE_DICTIONARY" in meta.row_group(0).column(i).encodings
            for i in range(meta.num_columns)} if meta.num_row_groups else {}


def test_write_parquet_is_to_parquet_without_float_dictionaries(tmp_path):
    r = simulate(load_config(["population.n=300", "horizon_weeks=30", "replicates=2"]))
    tables = {"summary": r.summary, "weekly": r.weekly, "economics": r.economics,
              "rtw_curves": r.rtw_curves, "cif": r.cif, "quality": r.quality,
              "strings": pd.DataFrame({"a": ["x", None, "y"], "b": [1.0, float("nan"), 2]}),
              "empty": r.summary.iloc[:0]}
    with_attrs = r.summary.copy()
    with_attrs.attrs["horizon"] = 30  # kept in the file as pandas keeps them
    tables["attrs"] = with_attrs
    tables["numbered"] = pd.DataFrame({0: [1, 2], "b": [3, 4]})  # non-text column name
    for name, df in tables.items():
        assert len(df.columns), name
        write_parquet(df, tmp_path / f"{name}.new.parquet")
        df.to_parquet(tmp_path / f"{name}.old.parquet", index=False)
        new, old = (pq.ParquetFile(tmp_path / f"{name}.{v}.parquet") for v in ("new", "old"))
        assert new.schema_arrow == old.schema_arrow, name  # pandas metadata included
        assert new.metadata.num_rows == old.metadata.num_rows, name
        dictionary = _encodings(tmp_path / f"{name}.new.parquet")
        if name == "attrs":  # kept as pandas keeps them
            assert new.schema_arrow.metadata[b"PANDAS_ATTRS"] == \
                old.schema_arrow.metadata[b"PANDAS_ATTRS"]
        if name == "numbered":  # pandas' own path, as it was
            assert dictionary == _encodings(tmp_path / f"{name}.old.parquet"), name
        else:  # floats without a dictionary, and no column statistics
            assert dictionary == {c: df[c].dtype.kind != "f" for c in df.columns} or (
                len(df) == 0), name
            meta = new.metadata
            assert not any(meta.row_group(g).column(i).is_stats_set
                           for g in range(meta.num_row_groups)
                           for i in range(meta.num_columns)), name
        # read back on this thread: pandas' own frame (dtypes, strings, NaN, attrs)
        pd.testing.assert_frame_equal(read_parquet(tmp_path / f"{name}.new.parquet"),
                                      pd.read_parquet(tmp_path / f"{name}.old.parquet"),
                                      check_exact=True)
    assert len(r.summary) > 100  # a table pyarrow would convert on a thread pool


def test_agents_file_in_row_groups_with_statistics_reads_back_the_same(tmp_path, monkeypatch):
    """agents.parquet in row groups of AGENT_ROW_GROUP rows (the writer holds one group's
    encoded columns, not a million rows': issue 19's peak memory), each column's min/max
    kept for readers that filter, and the frame read back the same as pandas' own file."""
    from sim.results import output
    from sim.results.economics import with_person_economics

    cfg = load_config(["population.n=300", "horizon_weeks=30", "replicates=2"])
    r = simulate(cfg)
    monkeypatch.setattr(output, "AGENT_ROW_GROUP", 250)
    output._write_agents(r.agents, cfg, r.person_economics, tmp_path / "agents.parquet")
    meta = pq.ParquetFile(tmp_path / "agents.parquet").metadata
    assert [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == [250, 250, 100]
    assert all(meta.row_group(g).column(i).is_stats_set
               for g in range(meta.num_row_groups) for i in range(meta.num_columns))
    dictionary = _encodings(tmp_path / "agents.parquet")  # none for values that never repeat
    assert not dictionary["person_id"] and not dictionary["qaly_disc"]
    assert dictionary["weeks_working"] and dictionary["condition"]
    expected = with_person_economics(r.agents, cfg, r.person_economics)
    expected.to_parquet(tmp_path / "pandas.parquet", index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "agents.parquet"),
                                  pd.read_parquet(tmp_path / "pandas.parquet"), check_exact=True)
    assert pq.ParquetFile(tmp_path / "agents.parquet").schema_arrow == \
        pq.ParquetFile(tmp_path / "pandas.parquet").schema_arrow


def test_a_file_written_in_parts_is_the_file_written_whole(tmp_path):
    """write_parquet_parts (agents.parquet a row group at a time, as the costs come) gives
    write_parquet's bytes with the same row groups: schema, pandas metadata and attrs,
    dictionaries and statistics alike."""
    from sim.results.parquet import write_parquet_parts

    n = 2_500
    df = pd.DataFrame({
        "person_id": range(n),
        "weeks": (pd.Series(range(n)) % 53).astype("int16"),
        "group": pd.Categorical((pd.Series(range(n)) % 3).map({0: "a", 1: "b", 2: "c"}),
                                categories=["a", "b", "c", "d"]),
        "cost": pd.Series(range(n)) * 0.37,
    })
    df.attrs = {"horizon": 30}
    options = {"statistics": True, "plain": ("person_id",)}
    write_parquet(df, tmp_path / "whole.parquet", row_group_size=1_000, **options)
    parts = []
    for lo in range(0, n, 1_000):
        part = df.iloc[lo:lo + 1_000]
        part.attrs = dict(df.attrs)
        parts.append(part)
    write_parquet_parts(iter(parts), tmp_path / "parts.parquet", 1_000, **options)
    assert pq.ParquetFile(tmp_path / "parts.parquet").metadata.num_row_groups == 3
    assert (tmp_path / "parts.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
