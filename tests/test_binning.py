"""Indicators counted 8 to a byte (sim.results.binning, issue 19) against one weighted
bincount per indicator: the same float64 counts, to the bit."""

import numpy as np
import pytest

from sim.results.binning import pack, packed_counts


@pytest.mark.parametrize("n_indicators", [1, 8, 9, 19])
def test_packed_counts_equal_one_bincount_per_indicator(n_indicators):
    rng = np.random.default_rng(n_indicators)
    n, cells = 5000, 37
    cell = rng.integers(0, cells - 2, n)  # the last two cells stay empty
    # different densities, an all-true and an all-false one, and a strided (non-contiguous) one
    indicators = [rng.random(n) < p for p in np.linspace(0.01, 0.99, n_indicators)]
    indicators[0] = np.ones(n, dtype=bool)
    if n_indicators > 1:
        indicators[-1] = np.zeros(n, dtype=bool)
    if n_indicators > 2:
        indicators[1] = (rng.random(2 * n) < 0.5)[::2]
    got = packed_counts(cell, cells, pack(indicators), n_indicators)
    assert got.shape == (n_indicators, cells) and got.dtype == np.float64
    for i, a in enumerate(indicators):
        expected = np.bincount(cell, weights=a, minlength=cells)
        assert np.array_equal(got[i], expected), i


def test_pack_keeps_each_indicator_in_its_own_bit():
    a = np.array([True, False, True, False])
    b = np.array([False, False, True, True])
    (byte,) = pack([a, b])
    assert byte.tolist() == [1, 0, 3, 2]


def test_grouped_means_equal_a_bincount_per_metric():
    """The group summary's sums (indicators packed, fractions one bincount per dimension)
    equal the plain loop: one bincount per dimension and metric, to the bit."""
    import pandas as pd

    from sim.results.outcomes import SUMMARY_DIMENSIONS, _group_codes, grouped_means

    rng = np.random.default_rng(3)
    n = 3000
    agents = pd.DataFrame({"replicate": rng.integers(0, 3, n),
                           "imd_quintile": rng.integers(1, 6, n),
                           "oh_access": rng.random(n) < 0.4})
    for dim in SUMMARY_DIMENSIONS:
        if dim not in agents and dim != "all":
            agents[dim] = pd.Categorical.from_codes(rng.integers(0, 4, n), list("abcd"))
    everyone = np.ones(n, dtype=bool)
    some = rng.random(n) < 0.3
    metrics = {f"flag{i}": (rng.random(n) < 0.5, some if i % 2 else everyone)
               for i in range(11)}
    metrics["days"] = (rng.random(n) * 7.3, everyone)
    metrics["cost"] = (rng.random(n) * 100.0, some)
    numerators = {m: (v & e) if v.dtype == bool else np.where(e, v, 0.0)
                  for m, (v, e) in metrics.items()}
    cols = grouped_means(agents, metrics, numerators)
    values, ns = np.concatenate(cols["value"]), np.concatenate(cols["n"])
    replicate = agents["replicate"].to_numpy()
    expected_v, expected_n = [], []
    for dim in SUMMARY_DIMENSIONS:
        codes, labels = _group_codes(agents, dim)
        cell = replicate * len(labels) + codes
        for m, (_, e) in metrics.items():
            count = np.bincount(cell, weights=e, minlength=3 * len(labels))
            total = np.bincount(cell, weights=numerators[m], minlength=3 * len(labels))
            keep = count > 0
            expected_v.append(total[keep] / count[keep])
            expected_n.append(count[keep].astype(np.int64))
    assert np.array_equal(values, np.concatenate(expected_v))
    assert np.array_equal(ns, np.concatenate(expected_n))


def test_add_in_order_is_np_add_at_to_the_bit():
    """The economics table's running sums (issue 19: bincount instead of np.add.at), over
    chunks of values whose sum depends on the order they are added in."""
    from sim.results.binning import add_in_order as _add_in_order
    from sim.results.binning import after_cells as _after_cells

    rng = np.random.default_rng(5)
    cells = 7
    totals_at = np.zeros(cells)
    totals = np.zeros(cells)
    by_chunk = np.zeros(cells)  # each chunk summed on its own, then added: another order
    for _ in range(4):
        cell = rng.integers(0, cells, 500)
        values = rng.standard_normal(500) * 10.0 ** rng.integers(-8, 9, 500)
        np.add.at(totals_at, cell, values)
        totals = _add_in_order(totals, _after_cells(cell, cells), values)
        by_chunk += np.bincount(cell, weights=values, minlength=cells)
    assert np.array_equal(totals, totals_at)
    # the order matters for these values (so the check above means something)
    assert not np.array_equal(by_chunk, totals_at)


def test_person_columns_costed_with_the_table_equal_a_second_costing(monkeypatch):
    """agents.parquet's cost columns, filled while the economics table is costed (chunk by
    chunk), equal a separate costing of the same people."""
    from sim.config import load_config
    from sim.results import economics
    from sim.simulate import simulate

    monkeypatch.setattr(economics, "PERSON_COSTS_CHUNK", 256)
    r = simulate(load_config(["population.n=1000", "horizon_weeks=110", "replicates=2",
                              "programme=multicomponent", "output.plots=false"]))
    assert set(r.person_economics) == set(economics.AGENT_COLUMNS)
    again = economics.person_cost_columns(r.agents, r.config)
    for col, src in economics.AGENT_COLUMNS.items():
        assert np.array_equal(r.person_economics[col], again[src]), col
    table = economics.with_person_economics(r.agents, r.config, r.person_economics)
    assert np.array_equal(table["qaly_disc"], again["qaly_disc"])


def test_quality_table_a_chunk_at_a_time_is_the_whole_table_to_the_bit(monkeypatch):
    """quality_table sums its metrics a chunk of people at a time (issue 19: memory); with
    chunks of 700 people (2 replicates, sums carried across chunks) the table equals the
    one-chunk table exactly, and the group summary's sums carried over chunks equal its
    sums in one pass."""
    import pandas as pd

    from sim.config import load_config
    from sim.results import outcomes, quality
    from sim.simulate import simulate

    r = simulate(load_config(["population.n=1500", "horizon_weeks=110", "replicates=2",
                              "programme=multicomponent", "output.plots=false"]),
                 core_only=True)
    whole = quality.quality_table(r.agents, r.config)
    monkeypatch.setattr(quality, "QUALITY_CHUNK", 700)
    chunked = quality.quality_table(r.agents, r.config)
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    cfg, agents = r.config, r.agents
    o = cfg["outcomes"]
    n_rep = outcomes.replicates(agents)
    sums = None
    for lo in range(0, len(agents), 1100):
        part = agents.iloc[lo:lo + 1100]
        m = outcomes._metrics(part, cfg["horizon_weeks"], o["rtw_weeks"], o["snapshot_weeks"],
                              o["sustained_weeks"])
        sums = outcomes.grouped_sums(part, m, {k: outcomes._numerator(a, e)
                                               for k, (a, e) in m.items()}, n_rep, sums)
    got = pd.DataFrame({k: [x for p in v for x in p]
                        for k, v in outcomes.mean_columns(agents, sums, n_rep).items()})
    expected = outcomes.group_summary(agents, cfg)
    assert np.array_equal(got["value"].to_numpy(), expected["value"].to_numpy())
    assert np.array_equal(got["n"].to_numpy(), expected["n"].to_numpy())


def test_first_exit_cause_by_cause_equals_the_stacked_argmin():
    """first_exit (no [causes x people] temporaries, issue 19) against the stacked form:
    earliest event on or after the onset, ties to the earlier cause, censored otherwise."""
    import pandas as pd

    from sim.results.outcomes import first_exit

    rng = np.random.default_rng(1)
    n = 20_000  # weeks from a narrow range: many ties between causes
    df = pd.DataFrame({c: rng.integers(-1, 30, n).astype(np.int16) for c in
                       ("first_onset", "first_rtw", "job_loss_week", "inactive_week")})
    time, cause, mask = first_exit(df, 52)
    onset = df["first_onset"].to_numpy().astype(np.int64)
    assert np.array_equal(mask, onset >= 0)
    onset = onset[mask]
    big = np.iinfo(np.int64).max
    stacked = np.stack([np.where(w >= onset, w - onset, big) for w in (
        df[c].to_numpy().astype(np.int64)[mask]
        for c in ("first_rtw", "job_loss_week", "inactive_week"))])
    first = stacked.min(axis=0)
    expected_cause = np.where(first < big, stacked.argmin(axis=0) + 1, 0)
    assert np.array_equal(cause, expected_cause)
    assert np.array_equal(time, np.where(expected_cause > 0, first, 52 - onset))
    assert set(np.unique(cause)) == {0, 1, 2, 3}


@pytest.mark.parametrize("n_rep,bits", [(1, 6), (3, 6), (1, 8), (2, 3)])
def test_dimension_counts_equal_one_bincount_per_dimension_and_indicator(n_rep, bits):
    """Several dimensions counted in one joint pass (issue 19) give each dimension's counts
    exactly: against one weighted bincount per (dimension, indicator), with a one-group
    dimension, a dimension too large to share a pass, empty groups and (n_rep=3) an empty
    replicate."""
    from sim.results.binning import dimension_counts, joint_groups

    rng = np.random.default_rng(7 + n_rep)
    n, sizes = 4000, [1, 8, 3, 300, 5, 2]
    replicate = rng.integers(0, max(n_rep - 1, 1), n)  # the last of 3 replicates is empty
    codes = [rng.integers(0, max(k - 1, 1), n) for k in sizes]  # each last group empty
    codes[1][::7] = 7  # ... except in dimension 1
    groups = joint_groups(sizes, n_rep, n, bits)
    assert sorted(d for g in groups for d in g) == list(range(len(sizes)))
    assert len(groups) > 1 and max(len(g) for g in groups) > 1  # both kinds of pass
    indicators = [rng.random(n) < p for p in np.linspace(0.0, 1.0, 11)]
    indicators.append((rng.random(2 * n) < 0.5)[::2])  # strided
    got = dimension_counts(replicate, n_rep, codes, sizes, pack(indicators, bits),
                           len(indicators), bits)
    for d, k in enumerate(sizes):
        cell = replicate * k + codes[d]
        assert got[d].shape == (len(indicators), n_rep * k) and got[d].dtype == np.float64
        for i, a in enumerate(indicators):
            expected = np.bincount(cell, weights=a, minlength=n_rep * k)
            assert np.array_equal(got[d][i], expected), (d, i)


def test_dimension_counts_of_nobody_are_empty():
    from sim.results.binning import dimension_counts

    empty = np.zeros(0, dtype=np.int64)
    got = dimension_counts(empty, 0, [empty, empty], [1, 4], pack([empty.astype(bool)]), 1)
    assert [g.shape for g in got] == [(1, 0), (1, 0)]


def test_bit_counts_count_each_bit_of_every_pattern():
    from sim.results.binning import bit_counts

    rng = np.random.default_rng(2)
    for bits, widths in ((8, (1, 4, 5, 8)), (6, (3, 4, 6)), (3, (1, 2, 3)), (1, (1,))):
        counts = rng.integers(0, 1000, (5, 1 << bits))
        for width in widths:
            expected = np.array([[sum(counts[r, p] for p in range(1 << bits) if p >> b & 1)
                                  for b in range(width)] for r in range(5)])
            assert np.array_equal(bit_counts(counts, width), expected), (bits, width)


@pytest.mark.parametrize("density", [0.0, 0.05, 0.5, 1.0])
def test_ordered_sums_of_the_nonzero_values_are_the_bincount_to_the_bit(density):
    """OrderedSums (only the people with a non-zero value; running sums from buffers, issue
    19) equal the bincount over everyone and add_in_order, to the bit, dimension after
    dimension: values whose sums depend on their order, with -0.0 and NaN among them."""
    from sim.results.binning import OrderedSums, add_in_order, after_cells, nonzero_weights

    rng = np.random.default_rng(int(density * 100))
    n = 3000
    arrays = {}
    for key in range(3):
        values = rng.standard_normal(n) * 10.0 ** rng.integers(-8, 9, n)
        values[rng.random(n) >= (density if key else 1.0)] = 0.0  # array 0 dense
        values[rng.random(n) < 0.01] = -0.0
        arrays[key] = values
    if density == 0.5:
        arrays[1][7] = np.nan
    assert (nonzero_weights(arrays[1])[0] is None) == (density == 1.0)
    plain, running = OrderedSums(arrays, 40, False), OrderedSums(arrays, 40, True)
    for cells in (11, 40, 3, 11):  # dimensions of different sizes (the last cell empty)
        cell = rng.integers(0, cells - 1, n)
        for key, values in arrays.items():
            expected = np.bincount(cell, weights=values, minlength=cells)
            np.testing.assert_array_equal(plain.sums(key, cell, cells), expected)
            totals = rng.standard_normal(cells) * 1e3
            expected = add_in_order(totals, after_cells(cell, cells), values)
            np.testing.assert_array_equal(running.sums(key, cell, cells, totals), expected)
    if 0 < density < 0.5:  # the order matters for these values
        values = arrays[1]
        assert not np.array_equal(np.bincount(cell[::-1], weights=values[::-1],
                                              minlength=cells),
                                  np.bincount(cell, weights=values, minlength=cells))


def test_joint_sums_of_exactly_summable_values_equal_one_bincount_per_dimension():
    """Whole weeks and half weeks (issue 19) are summed several dimensions at once; their
    sums equal one bincount per dimension, to the bit; values that are not whole multiples
    of 2^-20, or too large, are not taken as exactly summable."""
    from sim.results.binning import exact_sums, joint_sums

    rng = np.random.default_rng(17)
    n, n_rep, sizes = 6000, 2, [1, 8, 3, 300, 2]
    replicate = rng.integers(0, n_rep, n)
    codes = [rng.integers(0, max(k - 1, 1), n) for k in sizes]
    arrays = [rng.integers(0, 260, n).astype(float), rng.integers(0, 9, n) * 0.5,
              rng.integers(-5, 5, n) * 0.25]
    assert all(exact_sums(a) for a in arrays)
    assert not exact_sums(np.array([0.1, 1.0])) and not exact_sums(np.array([2.0**40]))
    got = joint_sums(replicate, n_rep, codes, sizes, arrays)
    for d, k in enumerate(sizes):
        for i, a in enumerate(arrays):
            expected = np.bincount(replicate * k + codes[d], weights=a, minlength=n_rep * k)
            assert got[d][i].tobytes() == expected.tobytes(), (d, i)
    assert joint_sums(replicate, n_rep, codes, sizes, []) == [[] for _ in sizes]


def test_joint_groups_pack_the_summary_dimensions_within_the_budget():
    """Largest first, first fit (issue 19): the summary's 12 dimensions at 10 x 10,000
    people in 4 runs (5 when taken in table order), each within the budget, each
    dimension in exactly one run, each run in table order; a dimension too large for the
    budget gets a run of its own."""
    from sim.results.binning import joint_groups

    sizes = [1, 8, 3, 8, 5, 4, 2, 2, 2, 2, 2, 2]
    for n_rep, people, runs in [(10, 100_000, 4), (1, 200_000, 2), (1, 1_000_000, 2)]:
        groups = joint_groups(sizes, n_rep, people)
        assert len(groups) == runs
        assert sorted(d for g in groups for d in g) == list(range(len(sizes)))
        for g in groups:
            assert g == sorted(g)
            joint = int(np.prod([sizes[d] for d in g]))
            assert len(g) == 1 or (n_rep * joint) << 6 <= max(people // 4, 1 << 12)
    assert [3] in joint_groups([1, 8, 3, 300, 5, 2], 1, 4000, 6)
    assert joint_groups([], 1, 10) == []
