"""Issue 19 (session 19): the run tables built in fewer passes equal plain per-group
versions of them, to the bit, on random tables with empty groups."""

import numpy as np
import pandas as pd

from sim.engine.categories import CONDITIONS, ETHNICITIES


def _curve_agents(rng, n):
    """A per-person table with what the curve tables read; the last condition and
    ethnic group have nobody, and weeks come from a narrow range (ties)."""
    onset = rng.integers(-1, 20, n)
    def week():
        return np.where(rng.random(n) < 0.6, onset + rng.integers(-2, 30, n), -1)
    return pd.DataFrame({
        "replicate": np.sort(rng.integers(0, 2, n)),
        "first_onset": onset.astype(np.int16),
        "first_rtw": week().astype(np.int16),
        "job_loss_week": week().astype(np.int16),
        "inactive_week": week().astype(np.int16),
        "weeks_to_rtw": np.full(n, -1, dtype=np.int16),
        "imd_quintile": rng.integers(1, 6, n).astype(np.int8),
        "ethnicity": pd.Categorical.from_codes(rng.integers(0, len(ETHNICITIES) - 1, n),
                                               categories=list(ETHNICITIES)),
        "condition": pd.Categorical.from_codes(rng.integers(0, len(CONDITIONS) - 1, n),
                                               categories=list(CONDITIONS)),
    })


def _employed_weeks(rng, n: int, bands: list, dtype, ethnicity: list | None = None):
    """A random table of people's employed weeks by age band, sex and IMD quintile (and
    ethnicity, with ``ethnicity``'s categories), the columns the absence rates read."""
    cols = {
        "age_band": pd.Categorical.from_codes(rng.integers(0, 4, n), categories=bands),
        "sex": pd.Categorical.from_codes(rng.integers(0, 2, n), ["male", "female"]),
        "imd_quintile": rng.integers(1, 6, n).astype(np.int8)}
    if ethnicity is not None:
        cols["ethnicity"] = pd.Categorical.from_codes(rng.integers(0, len(ethnicity), n),
                                                      ethnicity)
    cols["weeks_absent"] = rng.integers(0, 8, n).astype(dtype)
    cols["weeks_phased"] = rng.integers(0, 3, n).astype(dtype)
    cols["weeks_working"] = rng.integers(0, 52, n).astype(dtype)
    return pd.DataFrame(cols)


def test_competing_risks_table_is_the_per_person_estimate_of_each_group():
    rng = np.random.default_rng(11)
    agents = _curve_agents(rng, 3000)
    _check_competing_risks(agents, 40)
    # everyone with an onset (a fit-note cohort: no selection of people, session 21)
    agents["first_onset"] = np.maximum(agents["first_onset"].to_numpy(), 0)
    _check_competing_risks(agents, 40)
    # nobody with an onset: an empty table with the columns
    agents["first_onset"] = np.int16(-1)
    from sim.results.outcomes import competing_risks_table
    table = competing_risks_table(agents, {"horizon_weeks": 40})
    assert table.empty and list(table.columns) == ["dimension", "group", "cause", "week",
                                                   "cif", "low", "high", "n_risk", "n"]


def _check_competing_risks(agents, horizon):
    from sim.results.outcomes import (
        CAUSES,
        CURVE_DIMENSIONS,
        _group_codes,
        competing_risks_table,
        first_exit,
    )
    from sim.stats.survival import aalen_johansen

    table = competing_risks_table(agents, {"horizon_weeks": horizon})
    time, cause, mask = first_exit(agents, horizon)
    weeks = np.arange(horizon + 1)
    parts = []
    for dim in CURVE_DIMENSIONS:
        codes, labels = _group_codes(agents, dim)
        for j, label in enumerate(labels):
            sel = codes[mask] == j
            if not sel.any():
                continue
            est = aalen_johansen(time[sel], cause[sel], causes=[1, 2, 3])  # one row a person
            for k, name in enumerate(CAUSES, start=1):
                rows = est[est["cause"] == k]
                t = rows["time"].to_numpy()
                pos = np.searchsorted(t, weeks, side="right") - 1
                nxt = np.searchsorted(t, weeks, side="left")
                part = {"dimension": dim, "group": str(label), "cause": name, "week": weeks}
                for col in ("cif", "low", "high"):
                    part[col] = np.where(pos >= 0, rows[col].to_numpy()[np.maximum(pos, 0)], 0)
                risk = rows["n_risk"].to_numpy()
                part["n_risk"] = np.where(nxt < len(t), risk[np.minimum(nxt, len(t) - 1)],
                                          0).astype(np.int64)
                part["n"] = int(sel.sum())
                parts.append(pd.DataFrame(part))
    expected = pd.concat(parts, ignore_index=True)
    assert set(expected["group"]) < {str(x) for d in CURVE_DIMENSIONS
                                     for x in _group_codes(agents, d)[1]}  # empty groups
    pd.testing.assert_frame_equal(table, expected, check_exact=True)


def test_value_counts_equal_one_bincount_per_dimension():
    from sim.results.binning import joint_groups, value_counts

    rng = np.random.default_rng(4)
    n, n_rep, sizes, n_values = 5000, 3, [1, 5, 8, 8, 300], 54
    replicate = rng.integers(0, n_rep - 1, n)  # the last replicate is empty
    codes = [rng.integers(0, max(k - 1, 1), n) for k in sizes]  # so is each last group
    values = rng.integers(0, n_values - 1, n)
    groups = joint_groups(sizes, n_rep, n, 6)
    assert len(groups) > 1 and max(len(g) for g in groups) > 1  # both kinds of pass
    got = value_counts(replicate, n_rep, codes, sizes, values, n_values)
    for d, k in enumerate(sizes):
        expected = np.bincount((replicate * k + codes[d]) * n_values + values,
                               minlength=n_rep * k * n_values).reshape(n_rep * k, n_values)
        assert got[d].dtype == np.int64
        np.testing.assert_array_equal(got[d], expected)


def test_rtw_curve_table_is_one_bincount_per_dimension():
    """The RTW curves (counted in joint passes, issue 19) against the plain per-dimension
    counts: people followed 52 weeks per group, returned by each week."""
    from sim.results.outcomes import CURVE_DIMENSIONS, _group_codes, rtw_curve_table

    rng = np.random.default_rng(8)
    agents = _curve_agents(rng, 4000)
    rtw = np.where(rng.random(len(agents)) < 0.7, rng.integers(0, 70, len(agents)), -1)
    agents["weeks_to_rtw"] = rtw.astype(np.int16)
    horizon = 80
    table = rtw_curve_table(agents, {"horizon_weeks": horizon})
    onset = agents["first_onset"].to_numpy()
    followed = (onset >= 0) & (onset + 52 <= horizon)
    replicate = agents["replicate"].to_numpy()[followed].astype(np.int64)
    r = rtw[followed]
    frames = []
    for dim in CURVE_DIMENSIONS:
        codes, labels = _group_codes(agents, dim)
        k = len(labels)
        cell = replicate * k + codes[followed]
        n = np.bincount(cell, minlength=2 * k)
        hit = (r >= 0) & (r <= 52)
        hist = np.bincount(cell[hit] * 53 + r[hit], minlength=2 * k * 53).reshape(2 * k, 53)
        keep = np.flatnonzero(n > 0)
        frames.append(pd.DataFrame({
            "replicate": np.repeat(keep // k, 53), "dimension": dim,
            "group": np.repeat([str(labels[j]) for j in keep % k], 53),
            "week": np.tile(np.arange(53), len(keep)),
            "returned": np.cumsum(hist, axis=1)[keep].ravel(),
            "n": np.repeat(n[keep], 53)}))
    expected = pd.concat(frames, ignore_index=True)
    assert len(expected) < 53 * 2 * (1 + 5 + len(ETHNICITIES) + len(CONDITIONS))  # empty
    pd.testing.assert_frame_equal(table, expected, check_exact=True)


def test_replicate_rows_are_each_replicates_rows_in_order():
    """per_replicate reads each replicate's rows as slices of columns read once (issue 19),
    or, when the table is not sorted by replicate, from groupby: either way the rows, in
    order, of ``agents[agents.replicate == r]``, category columns as codes and labels."""
    from sim.results.calibration_stats import replicate_rows

    rng = np.random.default_rng(2)
    n = 500
    for replicate in (np.sort(rng.integers(0, 4, n)), rng.integers(0, 4, n)):
        replicate[replicate == 2] = 3  # replicate 2 has nobody
        agents = pd.DataFrame({
            "replicate": replicate.astype(np.int16),
            "weeks": rng.integers(0, 50, n).astype(np.int16),
            "sex": pd.Categorical.from_codes(rng.integers(0, 2, n), ["male", "female"]),
        })
        seen = []
        for rep, rows in replicate_rows(agents):
            part = agents[agents["replicate"] == rep]
            seen.append(rep)
            assert type(rep) is int and len(rows) == len(part)
            np.testing.assert_array_equal(rows["weeks"], part["weeks"].to_numpy())
            np.testing.assert_array_equal(rows["sex"], part["sex"].cat.codes.to_numpy())
            np.testing.assert_array_equal(rows.values("sex"), part["sex"].to_numpy())
            np.testing.assert_array_equal(rows.is_label("sex", "female"),
                                          (part["sex"] == "female").to_numpy())
            assert not rows.is_label("sex", "other").any()
        assert seen == [0, 1, 3]


def test_standardised_rates_from_bincount_sums_are_pandas_grouped_sums(monkeypatch):
    """With exactly summable absence weeks (hours 0.5; issue 19) the rates come from
    bincount sums; they equal pandas' grouped (Kahan) sums to the bit, index included:
    grouped by an integer and by a category, a group with no employed weeks, strata
    missing from a group; with hours 0.37 the sums are not exact and pandas' path is used."""
    from sim.results import calibration_stats

    a = _employed_weeks(np.random.default_rng(21), 4000, ["50-64", "16-24", "35-49", "25-34"],
                        np.int16, ethnicity=["c", "a", "b"])
    a.loc[a["imd_quintile"] == 4, ["weeks_absent", "weeks_phased", "weeks_working"]] = 0
    a.loc[(a["ethnicity"] == "b") & (a["sex"] == "male"), "weeks_working"] = 0
    cases = [(0.5, "imd_quintile"), (0.5, "ethnicity"), (0.37, "ethnicity")]
    got = [calibration_stats.standardised_absence_rates(a, h, by) for h, by in cases]
    assert calibration_stats.exact_sums(np.array([0.5, 3.0, 1.5]))
    assert not calibration_stats.exact_sums(np.array([0.63, 3.0]))
    monkeypatch.setattr(calibration_stats, "exact_sums", lambda values: False)
    for (hours, by), rates in zip(cases, got, strict=True):
        want = calibration_stats.standardised_absence_rates(a, hours, by)
        assert rates.index.equals(want.index)
        assert rates.to_numpy().tobytes() == want.to_numpy().tobytes(), (hours, by)
    assert np.isnan(got[0][4])  # IMD 4: no employed weeks


def test_aalen_johansen_grid_is_each_samples_estimate_at_its_times():
    """Many samples on a week grid at once (issue 19) equal aalen_johansen_arrays of each
    sample at its distinct times, to the bit, and carry those values over the weeks with
    no one observed (n_risk from the next observed week); both interval types, a sample
    in which everyone has an event at one week (S = 0), and an empty sample."""
    from sim.stats.survival import aalen_johansen_arrays, aalen_johansen_grid

    rng = np.random.default_rng(13)
    span = 30
    counts = rng.integers(0, 4, (4, span, 4)) * (rng.random((4, span, 1)) < 0.4)
    counts[1] = 0
    counts[1, 3, 2] = 5  # everyone has a cause-2 event at week 3
    counts[2] = 0  # nobody
    for conf_type in ("log-log", "linear"):
        survival, by_cause = aalen_johansen_grid(counts, conf_type=conf_type)
        assert by_cause[1]["cif"].shape == (4, span)
        for g in (0, 1, 3):
            t, e = np.nonzero(counts[g])
            times, surv, causes = aalen_johansen_arrays(t, e, causes=[1, 2, 3],
                                                        weights=counts[g][t, e],
                                                        conf_type=conf_type)
            last = np.searchsorted(times, np.arange(span), side="right") - 1
            nxt = np.searchsorted(times, np.arange(span), side="left")
            for k in (1, 2, 3):
                for col in ("cif", "se", "low", "high"):
                    want = np.where(last >= 0, causes[k][col][np.maximum(last, 0)], 0.0)
                    assert by_cause[k][col][g].tobytes() == want.tobytes(), (g, k, col)
                want = np.where(nxt < len(times), causes[k]["n_risk"][np.minimum(
                    nxt, len(times) - 1)], 0.0)
                np.testing.assert_array_equal(by_cause[k]["n_risk"][g], want)
            assert survival["survival"][g][times].tobytes() == surv["survival"].tobytes()
        assert not by_cause[1]["cif"][2].any()


def test_programme_table_counts_are_the_per_replicate_masks():
    """The programme table's counts, waits and costs per replicate (one bincount per
    component, issue 19) against the plain masks per replicate; a replicate nobody in
    which started."""
    from types import SimpleNamespace

    from sim.results.outcomes import programme_table
    from sim.vocabulary import DECLINED, DROPPED, FINISHED, LEFT_LIST, NEVER, STARTED

    rng = np.random.default_rng(6)
    n, reps = 900, 3
    replicate = np.sort(rng.integers(0, reps, n)).astype(np.int16)
    status = rng.integers(0, 7, (2, n)).astype(np.int8)
    status[0, replicate == 2] = NEVER
    comps = [SimpleNamespace(key=f"c{k}", label=f"C {k}", domain="health",
                             cost_per_participant=123.4 + k, cost_per_week=17.3,
                             cost_fixed_per_week=50.0) for k in range(2)]
    prog = SimpleNamespace(components=comps, status=status,
                           wait_weeks=rng.integers(0, 30, (2, n)).astype(np.int16),
                           weeks_enrolled=rng.integers(0, 12, (2, n)).astype(np.int16))
    model = SimpleNamespace(programme=prog, replicates=reps, horizon=52,
                            people=SimpleNamespace(replicate=replicate),
                            cfg={"programme": {"components": {}}}, resolved_effects={})
    table = programme_table(model)
    assert len(table) == 2 * reps
    for k in range(2):
        started = np.isin(status[k], STARTED)
        for rep in range(reps):
            row = table[(table["component"] == f"c{k}") & (table["replicate"] == rep)].iloc[0]
            m = replicate == rep
            assert row["referred_or_waiting"] == (status[k][m] != NEVER).sum()
            assert row["started"] == started[m].sum()
            for col, code in (("completed", FINISHED), ("dropped", DROPPED),
                              ("left_waiting_list", LEFT_LIST), ("declined", DECLINED)):
                assert row[col] == (status[k][m] == code).sum(), col
            wait = (float(prog.wait_weeks[k][m & started].mean()) if (m & started).any()
                    else 0.0)
            assert row["mean_wait_weeks"] == wait
            assert row["participant_weeks"] == int(prog.weeks_enrolled[k][m].sum())
            assert row["variable_cost_gbp"] == float(
                comps[k].cost_per_participant * started[m].sum()
                + comps[k].cost_per_week * prog.weeks_enrolled[k][m].sum())
    assert table["mean_wait_weeks"].iloc[2] == 0.0  # component 0, replicate 2


def test_mean_table_is_the_frame_of_the_mean_columns():
    """The group summary's and quality table's frame with text columns taken from their
    few values (issue 19) equals the frame pandas builds from the columns' strings:
    values, dtypes and the parquet bytes; groups with nobody eligible left out."""
    import io

    from sim.results.outcomes import (
        SUMMARY_DIMENSIONS,
        grouped_sums,
        mean_columns,
        mean_table,
    )

    rng = np.random.default_rng(9)
    n = 2000
    agents = pd.DataFrame({"replicate": np.sort(rng.integers(0, 3, n)),
                           "imd_quintile": rng.integers(1, 6, n),
                           "oh_access": rng.random(n) < 0.4})
    for dim in SUMMARY_DIMENSIONS:
        if dim not in agents and dim != "all":
            agents[dim] = pd.Categorical.from_codes(rng.integers(0, 3, n), list("abcd"))
    some = rng.random(n) < 0.2
    metrics = {"flag": (rng.random(n) < 0.5, some), "days": (rng.random(n) * 7.3, some)}
    numerators = {m: (v & e) if v.dtype == bool else np.where(e, v, 0.0)
                  for m, (v, e) in metrics.items()}
    sums = grouped_sums(agents, metrics, numerators, 3)
    table = mean_table(agents, sums)
    expected = pd.DataFrame({k: np.concatenate(v)
                             for k, v in mean_columns(agents, sums, 3).items()})
    assert "d" not in set(table["group"])  # nobody in the last group
    pd.testing.assert_frame_equal(table, expected, check_exact=True)
    assert table.dtypes.equals(expected.dtypes)
    got, want = io.BytesIO(), io.BytesIO()
    table.to_parquet(got)
    expected.to_parquet(want)
    assert got.getvalue() == want.getvalue()


def test_calibration_helpers_equal_their_plain_versions():
    """Session 21 (issue 19): split_sums (one bincount) equals the two boolean selections'
    sums, whole numbers or not, with an empty side; share_of equals the selection's mean;
    _sorted_codes equals np.unique with its inverse for small whole numbers with gaps, one
    value, sparse ones, text, none."""
    from sim.results.calibration_stats import _sorted_codes, share_of, split_sums

    rng = np.random.default_rng(5)
    n = 700
    for values in (rng.integers(0, 104, n).astype(np.int32),
                   rng.integers(-3, 9, n).astype(np.int16), rng.random(n) * 7.3,
                   rng.integers(0, 2**50, n)):  # sums past 2^53: the selections
        for mask in (rng.random(n) < 0.4, np.zeros(n, dtype=bool), np.ones(n, dtype=bool)):
            got = split_sums(values, mask)
            want = (values[mask].sum(), values[~mask].sum())
            for g, w in zip(got, want, strict=True):
                assert type(g) is type(w) and g.tobytes() == w.tobytes()
    for n_rows in (1, 3, 700, 10_001):  # share_of: the selection's mean, to the bit
        for p in (0.003, 0.3, 0.97):
            values, mask = rng.random(n_rows) < p, rng.random(n_rows) < 0.6
            mask[0] = True
            assert share_of(values, mask) == float(values[mask].mean())
            assert np.float64(share_of(values, mask)).tobytes() == values[mask].mean().tobytes()
    for values in (rng.choice(np.array([1, 2, 5], dtype=np.int8), n),
                   np.full(n, 3, dtype=np.int8), np.array([7, 10**6, 7, -4], dtype=np.int64),
                   rng.integers(0, 5, n).astype(np.uint8), np.zeros(0, dtype=np.int8),
                   np.array(["b", "a", "b"], dtype=object)):
        groups, code = _sorted_codes(values)
        want_groups, want_code = np.unique(values, return_inverse=True)
        assert groups.dtype == want_groups.dtype
        np.testing.assert_array_equal(groups, want_groups)
        np.testing.assert_array_equal(code, want_code)


def test_calibration_table_groups_each_target_as_pandas_did(monkeypatch):
    """The calibration table's means are pandas' grouped means in TARGETS order, as the
    text grouping and sort gave them (session 21): values with a NaN and one replicate."""
    from sim.results import calibration

    per = pd.DataFrame({
        "replicate": [0, 0, 0, 1, 1, 2],
        "target": ["spells_1_week", "absence_rate", "absence_rate_imd1_to_imd5",
                   "spells_1_week", "absence_rate", "absence_rate"],
        "simulated": [0.1, 0.0231, np.nan, 0.30000000000000004, 0.0217, 0.0199]})
    g = per.groupby("target")["simulated"]
    want = pd.DataFrame({"simulated": g.mean(), "sim_low": g.min(), "sim_high": g.max()})
    want["target_value"] = [calibration.TARGETS[t][0] for t in want.index]
    want["difference"] = want["simulated"] - want["target_value"]
    want["source"] = [calibration.TARGETS[t][1] for t in want.index]
    order = {name: i for i, name in enumerate(calibration.TARGETS)}
    want = want.reset_index().sort_values("target", key=lambda s: s.map(order))
    want = want.reset_index(drop=True)[["target", "target_value", "simulated", "sim_low",
                                        "sim_high", "difference", "source"]]
    monkeypatch.setattr(calibration, "per_replicate", lambda agents, spells, cfg: per)
    got = calibration.calibration_table(None, None, {})
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_imd_ratio_is_the_ratio_of_the_standardised_rates():
    """imd_absence_ratio reads the rates as a dict (session 21): the ratio of the Series'
    quintile 1 and 5 rates, by bincount sums (hours 0.5) and pandas' (0.37); NaN without
    quintile 5."""
    from sim.results.calibration_stats import imd_absence_ratio, standardised_absence_rates

    a = _employed_weeks(np.random.default_rng(8), 3000, ["16-24", "25-34", "35-49", "50-64"],
                        np.int32)
    for hours in (0.5, 0.37):
        rates = standardised_absence_rates(a, hours)
        assert imd_absence_ratio(a, hours) == float(rates[1] / rates[5])
    assert np.isnan(imd_absence_ratio(a[a["imd_quintile"] < 5], 0.5))
