"""Issue 19's faster table paths give what the plain versions gave, to the bit: the weekly
counts from flat indices, the competing-risks arrays, the agents table's columns as arrays,
and a run whose model's copied columns are freed."""

import numpy as np
import pandas as pd
from pandas.testing import assert_frame_equal

from sim.engine.categories import CONDITIONS, ETHNICITIES, STATES
from sim.results.columns import TableColumns
from sim.results.outcomes import weekly_table
from sim.stats.survival import aalen_johansen, aalen_johansen_arrays


class _Counts:
    def __init__(self, counts):
        self.weekly_counts = counts


def test_weekly_table_is_the_nonzero_cells_in_order():
    rng = np.random.default_rng(3)
    groups = 2 * 5 * len(ETHNICITIES) * len(CONDITIONS)
    counts = (rng.random((9, groups, len(STATES))) < 0.2) * rng.integers(1, 50, (9, groups,
                                                                                len(STATES)))
    counts = counts.astype(np.int32)
    table = weekly_table(_Counts(counts))
    week, group, state = np.nonzero(counts)  # the plain 3-D version
    assert len(table) == len(week) > 0
    np.testing.assert_array_equal(table["week"], week)
    np.testing.assert_array_equal(table["count"], counts[week, group, state])
    np.testing.assert_array_equal(table["state"].cat.codes, state)
    np.testing.assert_array_equal(table["condition"].cat.codes, group % len(CONDITIONS))
    rest = group // len(CONDITIONS)
    np.testing.assert_array_equal(table["ethnicity"].cat.codes, rest % len(ETHNICITIES))
    np.testing.assert_array_equal(table["imd_quintile"], rest // len(ETHNICITIES) % 5 + 1)
    np.testing.assert_array_equal(table["replicate"], rest // len(ETHNICITIES) // 5)
    assert table["week"].dtype == np.int16 and table["count"].dtype == np.int32


def test_aalen_johansen_arrays_are_the_table():
    rng = np.random.default_rng(5)
    time = rng.integers(0, 30, 400)
    event = rng.integers(0, 4, 400)
    weights = rng.integers(1, 5, 400)
    table = aalen_johansen(time, event, causes=[1, 2, 3], weights=weights)
    times, survival, by_cause = aalen_johansen_arrays(time, event, causes=[1, 2, 3],
                                                      weights=weights)
    for k, cols in by_cause.items():
        rows = table[table["cause"] == k]
        np.testing.assert_array_equal(rows["time"], times)
        for name, values in {**cols, **survival}.items():
            np.testing.assert_array_equal(rows[name], values, err_msg=name)


def test_table_columns_read_codes_labels_and_slices():
    agents = pd.DataFrame({
        "occupation": pd.Categorical(["manual", "non_manual", "manual", "manual"],
                                     categories=["non_manual", "manual"]),
        "size": ["sme", "large", "sme", "large"],  # plain labels (a hand-made table)
        "weeks": np.array([3, 0, 7, 1], dtype=np.int16),
    })
    cols = TableColumns(agents)
    np.testing.assert_array_equal(cols.is_category("occupation", "manual"),
                                  agents["occupation"] == "manual")
    np.testing.assert_array_equal(cols.is_category("size", "sme"), agents["size"] == "sme")
    assert not cols.is_category("occupation", "no_such_label").any()
    part = cols.rows(1, 3)
    assert len(part) == 2
    np.testing.assert_array_equal(part["weeks"], [0, 7])
    assert part["weeks"].dtype == np.int16
    np.testing.assert_array_equal(part.is_category("occupation", "manual"), [False, True])
    assert cols.rows(2, 10)["weeks"].tolist() == [7, 1]
    # labels and names are read once and shared by the chunks; categories() is a new list
    labels = part.categories("occupation")
    assert labels == ["non_manual", "manual"] == cols.categories("occupation")
    labels.append("changed")
    assert cols.categories("occupation") == ["non_manual", "manual"]
    assert part.names == ("occupation", "size", "weeks") == cols.names
    assert not part.is_category("size", "no_such_label").any()


def test_group_codes_index_their_labels():
    """Each person's group code points at the label of their own value (the labels come
    from _group_labels, read without the codes), in a table and in an empty slice of it."""
    from sim.results.outcomes import SUMMARY_DIMENSIONS, _group_codes, _group_labels

    agents = pd.DataFrame({
        "imd_quintile": np.array([2, 5], dtype=np.int8),
        "oh_access": np.array([True, False]),
        **{dim: pd.Categorical(["b", "a"], categories=["a", "b", "c"])
           for dim in SUMMARY_DIMENSIONS if dim not in ("all", "imd_quintile", "oh_access")},
    })
    for dim in SUMMARY_DIMENSIONS:
        for narrow in (False, True):
            codes, labels = _group_codes(agents, dim, narrow=narrow)
            values = ["all", "all"] if dim == "all" else agents[dim].tolist()
            assert [labels[c] for c in codes] == values, dim
        assert _group_labels(agents.iloc[:0], dim) == labels, dim


def test_a_run_that_frees_its_models_copies_gives_the_same_tables(make_config):
    """simulate(cfg) frees the finished model's per-year marks and columns the agents table
    copied; simulate(cfg, model=...) (a model someone else holds) keeps them: both give the
    same tables, and the held model still has what it had."""
    from sim.engine.model import RTWModel
    from sim.simulate import simulate

    # three small runs (~2 s CPU; 105 weeks: three observed years, two year-end marks)
    cfg = make_config("population.n=400", "horizon_weeks=105", "replicates=2",
                      "outcomes.decomposition_n=0")
    own = simulate(cfg)
    model = RTWModel(own.config)
    held = simulate(cfg, model=model)
    for name in ("agents", "summary", "economics", "quality", "cif", "weekly"):
        assert_frame_equal(getattr(own, name), getattr(held, name), check_exact=True)
    assert "weeks_working_y3" in own.agents  # three observed years, per-year columns
    assert len(model.weeks_by_state_at_year_end) == 2
    assert "weeks_by_state" in model.columns
    # a caller may let simulate free its model's copies (the bench does, as the CLI would)
    freed = RTWModel(own.config)
    assert_frame_equal(simulate(cfg, model=freed, free_model=True).agents, own.agents,
                       check_exact=True)
    assert freed.weeks_by_state_at_year_end == [] and "weeks_by_state" not in freed.columns


def test_indicators_true_or_false_for_everyone_are_counted_once():
    """grouped_sums counts each array that is all True (or all False) once and gives
    every such array those counts: the same sums as counting each array."""
    from sim.results.binning import counted_indicators
    from sim.results.outcomes import grouped_sums

    rng = np.random.default_rng(5)
    n = 300
    agents = pd.DataFrame({
        "replicate": np.repeat([0, 1], n // 2),
        "imd_quintile": rng.integers(1, 6, n).astype(np.int8),
        "oh_access": rng.random(n) < 0.5,
        **{dim: pd.Categorical.from_codes(rng.integers(0, 3, n), categories=["a", "b", "c"])
           for dim in ("condition", "severity", "ethnicity", "age_band", "sex", "occupation",
                       "employer_size", "disability", "employment")},
    })
    yes, yes2, no, no2 = (np.ones(n, bool), np.ones(n, bool), np.zeros(n, bool),
                          np.zeros(n, bool))
    some = rng.random(n) < 0.3
    value = rng.random(n)
    metrics = {"a": (some, yes), "b": (some & yes2, yes2), "c": (no, some), "d": (no2, yes),
               "e": (value, yes2)}
    numerators = {"a": some, "b": some & yes2, "c": no, "d": no2, "e": value}
    arrays = {id(a): a for m, (_, e) in metrics.items() for a in (e, numerators[m])}
    counted, counted_as = counted_indicators(arrays)
    assert len(counted) == 4 and set(counted_as) == {k for k, a in arrays.items()
                                                     if a.dtype == bool}
    assert counted_as[id(yes)] == counted_as[id(yes2)] != counted_as[id(no)]
    assert counted_as[id(no)] == counted_as[id(no2)]
    got = grouped_sums(agents, metrics, numerators, 2)
    for (dim, metric), (count, total) in got.items():
        codes = agents[dim].cat.codes.to_numpy() if dim not in (
            "all", "imd_quintile", "oh_access") else (
            np.zeros(n, int) if dim == "all" else agents[dim].to_numpy().astype(int) - (
                dim == "imd_quintile"))
        k = {"all": 1, "imd_quintile": 5, "oh_access": 2}.get(dim, 3)
        cell = agents["replicate"].to_numpy() * k + codes
        _, eligible = metrics[metric]
        assert np.array_equal(count, np.bincount(cell, weights=eligible, minlength=2 * k))
        expected = np.bincount(cell, weights=numerators[metric], minlength=2 * k)
        assert np.array_equal(total.view(np.uint64), expected.view(np.uint64))
    assert len(counted_indicators({1: np.zeros(0, bool), 2: np.zeros(0, bool)})[0]) == 1
