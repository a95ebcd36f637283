"""Population synthesis: marginals match the config, joint structure has the right sign."""

import numpy as np
import pytest

from sim.engine.categories import CONDITIONS, ETHNICITIES
from sim.engine.population import synthesise


@pytest.fixture(scope="module")
def cohort():
    from sim.config import load_config

    cfg = load_config(["population.n=200000"])
    return cfg["population"], synthesise(cfg["population"], seed=4)


def _share(mask):
    return float(np.mean(mask))


def test_marginals_match_config(cohort):
    pop, people = cohort
    n = people.n
    tol = 4 * np.sqrt(0.25 / n)  # 4 standard errors of a proportion at worst
    for k, name in enumerate(ETHNICITIES):
        assert _share(people.ethnicity == k) == pytest.approx(pop["ethnicity_shares"][name],
                                                              abs=tol)
    assert _share(people.sex == 0) == pytest.approx(pop["female_share"], abs=tol)
    # OH access is rescaled to hit the configured overall share
    assert _share(people.oh_access) == pytest.approx(pop["oh_access"]["share"], abs=tol)
    # conditional distributions: condition | IMD quintile
    for q in (1, 5):
        in_q = people.imd_quintile == q
        for c, name in enumerate(CONDITIONS):
            expected = pop["condition_by_imd"][name][q - 1]
            assert _share(people.condition[in_q] == c) == pytest.approx(expected, abs=0.012)


def test_joint_structure_has_the_evidence_direction(cohort):
    _, people = cohort
    q1, q5 = people.imd_quintile == 1, people.imd_quintile == 5
    cmd, smi = CONDITIONS.index("cmd"), CONDITIONS.index("smi")
    assert _share(people.condition[q1] == cmd) > _share(people.condition[q5] == cmd) + 0.05
    assert _share(people.condition[q1] == smi) > _share(people.condition[q5] == smi)
    assert _share(people.occupation[q1] == 1) > _share(people.occupation[q5] == 1)
    assert _share(people.oh_access[q1]) < _share(people.oh_access[q5])
    assert _share(people.oh_access[people.employer_size == 1]) < _share(
        people.oh_access[people.employer_size == 0])
    pak = people.ethnicity == ETHNICITIES.index("pakistani")
    wb = people.ethnicity == ETHNICITIES.index("white_british")
    assert _share(people.imd_quintile[pak] == 1) > 2 * _share(people.imd_quintile[wb] == 1)


def test_codes_in_range_and_reproducible(cohort):
    pop, people = cohort
    assert people.imd_quintile.min() == 1 and people.imd_quintile.max() == 5
    assert people.condition.max() == len(CONDITIONS) - 1
    again = synthesise(pop, seed=4)
    np.testing.assert_array_equal(again.condition, people.condition)
    other = synthesise(pop, seed=5)
    assert not np.array_equal(other.condition, people.condition)


def test_replicates_are_stacked_independent_populations(make_config):
    cfg = make_config("population.n=1000")
    people = synthesise(cfg["population"], seed=1, replicates=3)
    assert people.n == 3000
    assert np.bincount(people.replicate).tolist() == [1000, 1000, 1000]
    assert people.person_id[1000] == 0
    assert not np.array_equal(people.condition[:1000], people.condition[1000:2000])


def test_presets_start_in_the_right_state(make_config):
    from sim.engine.categories import ABSENT, WORKING
    from sim.engine.model import RTWModel

    cohort = RTWModel(make_config("population.n=500"))
    assert (cohort.columns["state"] == ABSENT).all()
    assert (cohort.columns["first_onset"] == 0).all()
    workforce = RTWModel(make_config("population=workforce", "population.n=500"))
    assert (workforce.columns["state"] == WORKING).all()
    assert workforce.warmup == 52


def _categorical_matrix(rng, probs, rows, n):
    """The per-person x per-category comparison matrix form (the oracle)."""
    u = rng.random(n)
    cum = np.cumsum(np.atleast_2d(probs), axis=1)
    cum = cum[rows] if rows is not None else np.broadcast_to(cum[0], (n, cum.shape[1]))
    return np.minimum((u[:, None] >= cum).sum(axis=1), cum.shape[1] - 1).astype(np.int8)


@pytest.mark.parametrize("shape", [(1, 7), (6, 9), (3, 1), (4, 2)])
def test_categorical_counts_each_share_at_or_below_the_draw(shape):
    """_categorical gives the matrix form's codes, also where the shares do not sum to one
    (the last category takes the rest), a share is 0 and a draw equals a cumulative share."""
    from sim.engine.population import _categorical

    r = np.random.default_rng(3)
    probs = r.random(shape)
    if shape[1] > 2:
        probs[:, 0] = 0.0  # an empty first category
    probs /= probs.sum(axis=1, keepdims=True) * 1.02  # short of one: the last takes the rest
    n = 20_000
    rows = r.integers(0, shape[0], n).astype(np.int8) if shape[0] > 1 else None
    got = _categorical(np.random.default_rng(11), probs, rows, n)
    want = _categorical_matrix(np.random.default_rng(11), probs, rows, n)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.int8
    assert np.bincount(got, minlength=shape[1]).sum() == n
    if shape[1] < 2:
        return
    # a draw exactly on a cumulative share falls in the next category
    class Fixed:
        def random(self, k):
            return np.full(k, np.cumsum(probs[0])[1])
    edge = _categorical(Fixed(), probs[:1], None, 3)
    assert (edge == min(2, shape[1] - 1)).all()


def test_a_kept_population_is_the_one_drawn_and_the_callers_own(make_config, monkeypatch):
    """Synthesised again, a kept population (sweep cells repeat a few) equals one drawn from
    scratch, each caller gets its own arrays, and what is kept stays within its bound."""
    from dataclasses import fields

    from sim.engine import population

    monkeypatch.setattr(population, "_MADE", population.OrderedDict())
    monkeypatch.setattr(population, "KEEP_PEOPLE", 2_500)
    pop = make_config("population.n=1000")["population"]
    first = synthesise(pop, seed=3, replicates=2)
    first.condition[:] = 0  # a caller changing its own copy
    again = synthesise(pop, seed=3, replicates=2)
    monkeypatch.setattr(population, "KEEP_PEOPLE", 0)
    fresh = synthesise(pop, seed=3, replicates=2)
    for f in fields(fresh):
        np.testing.assert_array_equal(getattr(again, f.name), getattr(fresh, f.name))
    assert again.condition.any()
    monkeypatch.setattr(population, "KEEP_PEOPLE", 2_500)
    assert not np.array_equal(synthesise(pop, seed=4, replicates=2).condition, fresh.condition)
    other = make_config("population.n=1000", "population.female_share=0.9")["population"]
    assert synthesise(other, seed=3, replicates=2).sex.mean() < fresh.sex.mean()  # 1 = male
    assert sum(size for size, _ in population._MADE.values()) <= 2_500


def test_a_model_of_a_kept_population_runs_as_one_built_from_scratch(make_config,
                                                                      monkeypatch):
    """The ages and age-band moves kept with a population (RTWModel._init_ages) are the ones
    computed from scratch: the same columns at the start and after a run, for a second
    model of the same population after a first one has run."""
    from sim.engine import model as model_module
    from sim.engine import population

    monkeypatch.setattr(population, "_MADE", population.OrderedDict())
    monkeypatch.setattr(model_module, "_AGES", population.OrderedDict())
    cfg = make_config("population=workforce", "population.n=600", "replicates=2",
                      "horizon_weeks=40")

    def run():
        m = model_module.RTWModel(cfg)
        start = {k: v.copy() for k, v in m.columns.items()}
        m.run()
        return start, m.columns, m.age0

    first = run()  # kept now, and changed by its run
    assert len(model_module._AGES) == 1
    kept_run = run()
    monkeypatch.setattr(population, "KEEP_PEOPLE", 0)
    fresh = run()
    for got, want in ((kept_run[0], fresh[0]), (kept_run[1], fresh[1]), (first[1], fresh[1])):
        assert got.keys() == want.keys()
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    np.testing.assert_array_equal(kept_run[2], fresh[2])


def test_a_population_config_that_is_not_plain_data_is_not_kept(make_config):
    """Only configs that are plain JSON data key a kept population: the text of a numpy
    array can be abridged, and two configs must never share a key."""
    from sim.engine.population import population_key

    pop = make_config("population.n=1000")["population"]
    assert population_key(pop, 1, 2) is not None
    assert population_key(pop, 1, 2) != population_key(pop, 2, 2)
    odd = {**pop, "female_share": np.float64(0.5), "extra": np.zeros(2000)}
    assert population_key(odd, 1, 2) is None


def _probabilities_over_everyone(share, rel):
    """The bisection as it ran before session 27: each step's mean over every person."""
    k = share / rel.mean()
    if (k * rel).max() <= 1.0 or share >= 1.0:
        return np.minimum(1.0, k * rel)
    lo, hi = k, 1.0 / rel[rel > 0].min()
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.minimum(1.0, mid * rel).mean() < share else (lo, mid)
    return np.minimum(1.0, hi * rel)


@pytest.mark.parametrize("share", [0.05, 0.3, 0.6, 0.9, 0.97])
def test_scaled_probabilities_keep_the_share_where_some_reach_one(share):
    """_probabilities bisects over the distinct relative odds with their shares of the
    people: the probabilities of the bisection over everyone, their mean the share even
    where the largest are capped at 1 (or, above the share of people with odds above 0,
    everyone of them at 1), none above 1, and the odds' order kept."""
    from sim.engine.population import _probabilities

    r = np.random.default_rng(5)
    # a product of categorical factors, as the callers make it, with some zero odds
    rel = (np.array([0.0, 0.6, 1.0, 1.4, 3.0])[r.integers(0, 5, 50_000)]
           * np.array([1.0, 2.5])[r.integers(0, 2, 50_000)])
    got = _probabilities(share, rel)
    np.testing.assert_allclose(got, _probabilities_over_everyone(share, rel), rtol=1e-12)
    assert got.max() <= 1.0
    assert got.mean() == pytest.approx(min(share, np.mean(rel > 0)), rel=1e-9)
    order = np.argsort(rel, kind="stable")
    assert (np.diff(got[order]) >= 0).all()
    if share >= 0.3:  # the bisection's branch: the largest odds are capped
        assert (got == 1.0).any()
