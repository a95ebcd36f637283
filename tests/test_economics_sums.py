"""The economics table's kernels (sim/results/economics_sums.py, issue 19) against the plain
numpy expressions they replace, to the bit (bytes compared: ``-0.0 == 0.0`` would hide a
sign), and the whole per-person costing and table sums against the code before them."""

import numpy as np
import pytest

from sim.results import economics_sums as sums
from sim.results.binning import add_in_order, after_cells
from sim.results.costing import add_perspectives


def _same_bits(a, b) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def _weeks(rng, shape, density):
    """Weeks with exact zeros, some ``-0.0``, tiny negatives (as ``absent - ssp_weeks``)
    and fractional values."""
    w = rng.integers(0, 53, shape).astype(float) * (rng.random(shape) < density)
    w[rng.random(shape) < 0.05] = -0.0
    w[rng.random(shape) < 0.02] = -1e-13
    w[rng.random(shape) < 0.1] *= 0.37
    return w


def _naive_weighted(weeks, coefficients, kind):
    out = []
    for j in range(coefficients.shape[1]):
        acc = np.zeros(weeks[0].shape)
        for b, wk in enumerate(weeks):
            acc += wk * coefficients[b, j][kind]
        out.append(acc)
    return np.array(out)


@pytest.mark.parametrize("sparse_below", [0, 8, 10 ** 9])  # always, sometimes, never sparse
@pytest.mark.parametrize("shape", [(5, 301), (2, 1), (1, 64), (3, 0)])
def test_weighted_weeks_is_the_plain_sum_to_the_bit(monkeypatch, sparse_below, shape):
    monkeypatch.setattr(sums, "SPARSE_BELOW", sparse_below)
    rng = np.random.default_rng(sparse_below % 97 + shape[1])
    weeks = [_weeks(rng, shape, d) for d in (1.0, 0.5, 0.03, 0.0, 0.2, 1.0)]
    coefficients = rng.standard_normal((6, 4, 2)) * 10.0 ** rng.integers(-3, 4, (6, 4, 2))
    coefficients[0, 1] = 0.0  # a term that adds nothing to one measure
    coefficients[1, 2] = [-0.0, 0.0]
    coefficients[2, 0] = [-3.5, -3.5]  # the same for both kinds, negative (w=0 -> -0.0)
    coefficients[4, 3] = [2.25, 2.25]
    kind = rng.integers(0, 2, shape[1])
    got = sums.weighted_weeks(weeks, coefficients, kind)
    assert _same_bits(got, _naive_weighted(weeks, coefficients, kind))
    # the order of the terms matters for these values (so the check above means something)
    if shape == (5, 301):
        assert not _same_bits(got, _naive_weighted(weeks[::-1], coefficients[::-1], kind))


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply")
def test_weighted_weeks_keeps_non_finite_coefficients_dense():
    """With an infinite coefficient a zero week gives NaN (0 x inf) in the plain sum: no
    term is skipped then."""
    weeks = [np.array([[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])]
    coefficients = np.array([[[np.inf, 1.0]]])
    kind = np.zeros(9, dtype=np.intp)
    got = sums.weighted_weeks(weeks, coefficients, kind)
    assert _same_bits(got, _naive_weighted(weeks, coefficients, kind))
    assert np.isnan(got[0, 0, 0])
    with pytest.raises(ValueError, match="2 week arrays for 1 terms"):
        sums.weighted_weeks(weeks * 2, coefficients, kind)
    with pytest.raises(ValueError, match="each person's kind is needed"):
        sums.weighted_weeks(weeks, np.array([[[1.0, 2.0]]]))


def test_state_sums_and_discounted_are_the_plain_expressions():
    rng = np.random.default_rng(3)
    states = ("a", "b", "c", "d")
    weeks = {s: _weeks(rng, (4, 77), d) for s, d in zip(states, (1.0, 0.02, 0.0, 0.4),
                                                          strict=True)}
    weights = [{"a": 10.0, "b": 0.0, "c": 3.0, "d": -2.5}, {"a": 0.9, "b": 0.6, "c": 0.5,
                                                          "d": -0.1}]
    got = sums.state_sums(weeks, weights, states)
    for w, g in zip(weights, got, strict=True):
        assert _same_bits(g, sum(weeks[s] * w[s] for s in states))
    disc = (1.0 / 1.035 ** np.arange(4))[:, None]
    x = got[1] / 52.0
    expected = (x * disc).sum(axis=0)
    assert _same_bits(sums.discounted(x, disc), expected)


@pytest.mark.parametrize("n", [0, 1, 500])
def test_stacked_cells_count_equals_weighted_bincounts(n):
    """StackedCells.count (the people's code worked out once for every dimension) gives
    each dimension's people, followed and returned per cell side by side, as float64: the
    values of np.bincount(cell, weights=x); nobody, one person, and groups left empty."""
    rng = np.random.default_rng(n + 1)
    n_rep, ks = 2, (1, 5, 9)
    sizes = [n_rep * k for k in ks]
    rep = np.sort(rng.integers(0, n_rep, n))
    cells = [rep * k + rng.integers(0, max(k - 1, 1), n) for k in ks]
    followed = rng.random(n) < 0.6
    returned = followed & (rng.random(n) < 0.5)
    got = sums.StackedCells(cells, sizes).count(followed, returned)
    for g, x in zip(got, (np.ones(n, dtype=bool), followed, returned), strict=True):
        assert g.dtype == float
        expected = [np.bincount(c, weights=x, minlength=size)
                    for c, size in zip(cells, sizes, strict=True)]
        assert _same_bits(g, np.concatenate(expected))


@pytest.mark.parametrize("sparse_below", [0, 2, 10 ** 9])  # always, sometimes, never sparse
def test_stacked_cells_add_is_the_person_by_person_sum_to_the_bit(monkeypatch, sparse_below):
    """Chunks of 1, 0, 50 and 400 people, three dimensions (one with an empty group), two
    replicates, values with many zeros (and -0.0): the running sums equal the sums over
    everyone added one person at a time, in order, which differ from adding each chunk's
    own sum."""
    monkeypatch.setattr(sums, "SPARSE_SUMS_BELOW", sparse_below)
    rng = np.random.default_rng(11)
    n_rep, ks = 2, (1, 5, 9)
    sizes = [n_rep * k for k in ks]
    totals = np.zeros(sum(sizes))
    at = [np.zeros(s) for s in sizes]
    by_chunk = [np.zeros(s) for s in sizes]
    for m in (1, 0, 50, 400):
        rep = np.sort(rng.integers(0, n_rep, m))
        cells = [rep * k + rng.integers(0, max(k - 1, 1), m) for k in ks]
        values = rng.standard_normal(m) * 10.0 ** rng.integers(-8, 9, m)
        values[rng.random(m) < 0.7] = 0.0
        values[rng.random(m) < 0.1] = -0.0
        totals = sums.StackedCells(cells, sizes).add(totals, values)
        for d, cell in enumerate(cells):
            for c, v in zip(cell, values, strict=True):  # one person at a time, in order
                at[d][c] += v
            by_chunk[d] += np.bincount(cell, weights=values, minlength=sizes[d])
    assert _same_bits(totals, np.concatenate(at))
    assert not _same_bits(totals, np.concatenate(by_chunk))
    with pytest.raises(ValueError, match="3 values for 1 cells and 2 people"):
        sums.StackedCells([np.zeros(2, dtype=np.int64)], [1]).add(np.zeros(1), np.zeros(3))


# The per-person costing and the table's sums as they were before the kernels (session 18),
# the oracle for the rewrite: every column must be the same to the bit.

def _reference_person_costs(agents, econ, hours):
    from sim.engine.categories import ABSENT, INACTIVE, INACTIVE_BENEFIT, STATES, UNEMPLOYED
    from sim.results import economics as e

    tax = econ["tax"]
    weeks = e._weeks_by_year(agents)
    n_years = weeks["working"].shape[0]
    disc = e.discount_factors(n_years, econ["discount_rate"])[:, None]
    kind = agents.is_category("occupation", "manual").astype(np.intp)
    wage = np.where([False, True], econ["weekly_wage"]["manual"],
                    econ["weekly_wage"]["non_manual"])
    osp = econ["occupational_sick_pay"]
    osp_share = np.where(agents.is_category("employer_size", "sme"), osp["sme"], osp["large"])
    ssp = float(econ["ssp_weekly"])
    labour = wage + e.employer_ni(wage, tax)
    value = econ["output_per_labour_cost"] * labour
    absent = weeks["absent"]
    total_absent = absent.sum(axis=0)
    spells = np.maximum(agents["spells"], 1)
    share_by_year = np.divide(absent, total_absent, out=np.zeros_like(absent),
                              where=total_absent > 0)
    ssp_weeks = np.minimum(total_absent, econ["ssp_max_weeks"] * spells) * share_by_year
    osp_weeks = np.minimum(np.minimum(total_absent, econ["occupational_sick_pay_weeks"]
                                      * spells) * share_by_year, ssp_weeks)
    full_pay_weeks = osp_share * osp_weeks
    benefit = {s: e.weekly_benefit(s, econ) for s in (ABSENT, UNEMPLOYED, INACTIVE,
                                                       INACTIVE_BENEFIT)}
    buckets = [
        (weeks["phased"], hours * wage, 0.0, (1.0 - hours) * value, False),
        (full_pay_weeks, wage, 0.0, value, True),
        (ssp_weeks - full_pay_weeks, np.full_like(wage, ssp), 0.0, value, True),
        (absent - ssp_weeks, np.zeros_like(wage), benefit[ABSENT], value, False),
        (weeks["unemployed"], np.zeros_like(wage), benefit[UNEMPLOYED], labour, False),
        (weeks["inactive"], np.zeros_like(wage), benefit[INACTIVE], labour, False),
        (weeks["inactive_benefit"], np.zeros_like(wage), benefit[INACTIVE_BENEFIT], labour,
         False),
    ]
    sick_pay, net_prod, benefits, lost_tax, lost_income, lost_output = (
        np.zeros_like(absent) for _ in range(6))
    net_w = e.net_pay(wage, tax)
    tax_w = e.income_tax(wage, tax) + e.employee_ni(wage, tax) + e.employer_ni(wage, tax)
    for wk, pay, ben, lost, is_sick_pay in buckets:
        outlay = pay + e.employer_ni(pay, tax)
        if is_sick_pay:
            sick_pay += wk * outlay[kind]
            net_prod += wk * (lost - labour)[kind]
        else:
            net_prod += wk * (lost - (labour - outlay))[kind]
        benefits += wk * ben
        lost_tax += wk * (tax_w - e.income_tax(pay, tax) - e.employee_ni(pay, tax)
                          - e.employer_ni(pay, tax))[kind]
        lost_income += wk * (net_w - e.net_pay(pay, tax))[kind]
        lost_output += wk * lost[kind]
    job_loss_week = agents["job_loss_week"]
    recruitment = np.zeros_like(absent)
    lost = job_loss_week >= 0
    year_of_loss = np.minimum(np.maximum(job_loss_week - 1, 0) // 52, n_years - 1)
    recruitment[year_of_loss[lost], np.flatnonzero(lost)] = econ[
        "recruitment_cost_per_job_loss"]
    start = agents["programme_start_week"]
    start_year = np.minimum(np.maximum(start, 0) // 52, n_years - 1)
    programme = agents["programme_cost"] * disc[start_year, 0]
    utility = e.state_utilities(econ)
    nhs = sum(weeks[s] * float(econ["nhs_cost_weekly"][s]) for s in STATES)
    qaly = sum(weeks[s] * utility[s] for s in STATES) / 52.0

    def d(x):
        return (x * disc).sum(axis=0)

    out = {"cost_programme": programme, "cost_nhs": d(nhs),
           "cost_employer_sick_pay": d(sick_pay), "cost_employer_net_productivity": d(net_prod),
           "cost_employer_recruitment": d(recruitment), "cost_exchequer_benefits": d(benefits),
           "cost_exchequer_lost_tax": d(lost_tax), "cost_individual_lost_income": d(lost_income),
           "cost_lost_output": d(lost_output), "qaly_disc": d(qaly),
           "weeks_in_work_disc": d(weeks["working"] + weeks["phased"]),
           "weeks_absent_disc": d(absent)}
    return add_perspectives(out)  # the totals of the parts, shared with the code


@pytest.fixture(scope="module")
def run():
    from sim.config import load_config
    from sim.simulate import simulate

    # 2 x 400 people, 120 weeks (three accounting years, the last part-year)
    return simulate(load_config(["population.n=400", "replicates=2", "horizon_weeks=120",
                                 "programme=multicomponent", "output.plots=false"]))


@pytest.mark.parametrize("change", [{}, {"output_per_labour_cost": 1.3},
                                    {"benefit_weekly": {"absent_after_sick_pay": 0.0,
                                                        "unemployed": 95.5,
                                                        "inactive_benefit": 0.0}}])
def test_person_costs_equal_the_code_before_the_kernels_to_the_bit(run, change):
    """Including a team-production share (the sick-pay weeks' net productivity loss is not
    zero) and benefits of zero (terms skipped)."""
    from sim.results import economics
    from sim.results.columns import TableColumns

    econ = economics.resolve_economics(run.config["economics"])
    econ.update(change)
    hours = run.config["pathways"]["phased_return"]["hours_fraction"]
    table = TableColumns(run.agents)
    for lo, hi in ((0, len(run.agents)), (0, 1), (5, 260)):
        got = economics._person_costs(table.rows(lo, hi), econ, hours)
        expected = _reference_person_costs(table.rows(lo, hi), econ, hours)
        for name, column in expected.items():
            assert _same_bits(got[name], column), (name, lo, hi)


@pytest.mark.parametrize("chunk, rows, n_rep", [(1, slice(370, 430), 2), (97, slice(None), 2),
                                                (1 << 15, slice(None), 2),
                                                (50, slice(0, 200), 2), (50, slice(0, 200), 1)])
def test_economics_sums_equal_per_dimension_running_sums_to_the_bit(monkeypatch, run, chunk,
                                                                    rows, n_rep):
    """The table's sums (np.add.at per dimension, counts as integers) equal the session-18
    path: one running bincount per dimension and measure. Chunks of one person (60 people
    across the two replicates), of 97, one chunk, and people of the first replicate only,
    with the second replicate's cells empty or with one replicate."""
    from sim.results import economics
    from sim.results.columns import TableColumns

    monkeypatch.setattr(economics, "PERSON_COSTS_CHUNK", chunk)
    cfg, agents = run.config, run.agents.iloc[rows].reset_index(drop=True)
    fixed = np.array([1.25, 0.0])[:n_rep]
    got = economics._economics_sums(agents, cfg, 52, n_rep, fixed)
    econ = economics.resolve_economics(cfg["economics"])
    hours = cfg["pathways"]["phased_return"]["hours_fraction"]
    costs = _reference_person_costs(TableColumns(agents), econ, hours)
    table = TableColumns(agents)
    replicate = table["replicate"].astype(np.int64)
    onset = table["first_onset"]
    followed = (onset >= 0) & (onset + 52 <= 120)
    values = {"returned": followed & economics._returned(agents, 52), "followed": followed}
    for c in (*economics.COST_COLUMNS, "qaly_disc", "weeks_in_work_disc", "weeks_absent_disc"):
        values[c] = costs[c]
        if c in ("cost_programme", "cost_nhs_pss", "cost_societal"):
            values[c] = costs[c] + fixed[replicate]
    assert list(got) == list(economics.ECONOMICS_DIMENSIONS)
    for dim, (labels, totals) in got.items():
        codes, expected_labels = economics._economics_codes(table, dim)
        assert labels == expected_labels
        k = len(labels)
        assert list(totals) == ["n", *values]
        cell = replicate * k + codes
        assert _same_bits(totals["n"], np.bincount(cell, minlength=n_rep * k))
        for name, v in values.items():
            expected = np.zeros(n_rep * k)
            for lo in range(0, len(agents), chunk):  # the old running sums, chunk by chunk
                expected = add_in_order(expected, after_cells(cell[lo:lo + chunk], n_rep * k),
                                        v[lo:lo + chunk])
            assert _same_bits(totals[name], expected), (dim, name)


@pytest.mark.parametrize("rows", [(3, 0, 2), (0, 0), (1,)])
def test_economics_frames_joined_as_pd_concat(rows):
    """The economics table built as one frame has pd.concat's values and dtypes (strings,
    integers, floats), also with no rows at all (where pd.concat's dtypes differ)."""
    import pandas as pd

    from sim.results.economics import _joined

    rng = np.random.default_rng(len(rows))
    frames = [{"replicate": np.arange(r, dtype=np.intp), "dimension": f"dim{i}",
               "group": [f"{j}|x" if i else str(j) for j in range(r)],
               "n": np.arange(r, dtype=np.int64) + 1, "rtw_window_weeks": 52,
               "cost": rng.standard_normal(r)} for i, r in enumerate(rows)]
    expected = pd.concat([pd.DataFrame(f) for f in frames], ignore_index=True)
    got = _joined(frames)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got.dtypes) == list(expected.dtypes)
