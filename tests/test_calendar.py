"""The thinning calendar of people in work (sim.engine.calendar) gives the same distribution
as a draw every week: the reviewer's question about the session-15 stream change."""

import numpy as np
import pytest

from sim.engine.calendar import NEVER, WorkCalendar, sorted_unique
from sim.engine.categories import ABSENT, RETIRED, STATES, UNEMPLOYED, WORKING
from sim.engine.model import RTWModel
from sim.engine.rng import Streams


def _weekly_events(n, weeks, low, high, p_low, p_high, seed=1):
    """People who stay in work for ever, with bottom and top event probabilities ``p_low``
    and ``p_high`` under the bounds ``low`` and ``high``: events counted each week."""
    cal = WorkCalendar(n, weeks, Streams(seed, [n]))
    everyone = np.arange(n)
    lo, hi = np.full(n, low), np.full(n, high)
    cal.schedule(-1, everyone, lo, hi, 0, "start")
    bottom, top, candidates = [], [], []
    for t in range(weeks):
        due = cal.due(t)
        u = cal.draws(t, due)
        bottom.append(int((u < p_low).sum()))
        top.append(int((u >= 1.0 - p_high).sum()))
        candidates.append(due.size)
        cal.schedule(t, due, lo[due], hi[due], t, "gap")  # everyone stays in work
    return np.array(bottom), np.array(top), np.array(candidates)


def test_thinned_weekly_events_are_binomial_with_the_hazard_probabilities():
    """Each week's events are Binomial(n, p): totals within 4 SD of n T p, and the weekly
    counts no more dispersed than a binomial's (a biased or correlated schedule fails)."""
    n, weeks, p_low, p_high = 200_000, 60, 0.006, 0.002
    bottom, top, candidates = _weekly_events(n, weeks, 0.02, 0.01, p_low, p_high)
    for counts, p in ((bottom, p_low), (top, p_high), (candidates, 0.03)):
        mean, var = n * p, n * p * (1 - p)
        z = (counts.sum() - weeks * mean) / np.sqrt(weeks * var)
        assert abs(z) < 4, (p, z)
        chi2 = ((counts - mean) ** 2 / var).sum()  # ~ chi-square with `weeks` d.f.
        assert chi2 < weeks + 5 * np.sqrt(2 * weeks), (p, chi2)


def test_window_bound_until_the_switch_then_the_tight_one():
    """People inside the relapse window until week 8: candidates at rate q_in (looser
    bottom bound) until then, q_out after, with no reschedule at the switch; the events
    under each bound are binomial with that week's probabilities."""
    n, weeks, switch = 100_000, 20, 8
    low_in, low_out, high, p_in, p_out = 0.05, 0.01, 0.01, 0.03, 0.006
    cal = WorkCalendar(n, weeks, Streams(5, [n]))
    everyone = np.arange(n)
    window = (everyone, np.full(n, switch), np.full(n, low_in))
    cal.schedule(-1, everyone, np.full(n, low_out), np.full(n, high), 0, "start", window)
    events, candidates = np.zeros(weeks), np.zeros(weeks)
    for t in range(weeks):
        due = cal.due(t)
        p = p_in if t < switch else p_out
        events[t] = (cal.draws(t, due) < p).sum()
        candidates[t] = due.size
        inside = t + 1 < switch  # rescheduled after week t: the window bound until the switch
        cal.schedule(t, due, np.full(due.size, low_out), np.full(due.size, high), t, "gap",
                     (np.arange(due.size), np.full(due.size, switch),
                      np.full(due.size, low_in)) if inside else None)
    for sl, p, q in ((slice(0, switch), p_in, low_in + high),
                     (slice(switch, weeks), p_out, low_out + high)):
        for counts, prob in ((events[sl], p), (candidates[sl], q)):
            k = counts.size
            z = (counts.sum() - k * n * prob) / np.sqrt(k * n * prob * (1 - prob))
            assert abs(z) < 4, (sl, prob, z)


def test_candidate_draws_are_uniform_on_the_candidate_region():
    n, low, high = 100_000, 0.02, 0.01
    cal = WorkCalendar(n, 10, Streams(3, [n]))
    idx = np.arange(n)
    cal.schedule(-1, idx, np.full(n, low), np.full(n, high), 0, "start")
    u = np.concatenate([cal.draws(t, cal.due(t)) for t in range(10)])
    bottom, top = u[u < 0.5], u[u >= 0.5]
    assert bottom.max() < np.float32(low) and top.min() >= 1 - np.float32(high)
    assert abs(bottom.size / u.size - low / (low + high)) < 4 * np.sqrt(2 / 9 / u.size)
    # uniform within each band: deciles of the rescaled draws hold a tenth each
    for band in (bottom / np.float32(low), (top - (1 - np.float32(high))) / np.float32(high)):
        share = np.bincount(np.minimum((band * 10).astype(int), 9), minlength=10) / band.size
        assert np.abs(share - 0.1).max() < 4 * np.sqrt(0.09 / band.size)


def test_no_hazard_is_never_a_candidate_and_certain_hazard_is_every_week():
    cal = WorkCalendar(4, 20, Streams(1, [4]))
    cal.schedule(-1, np.arange(4), np.array([0.0, 0.0, 0.7, 0.5]),
                 np.array([0.0, 1e-9, 0.4, 0.5]), 0, "start")
    assert cal.next[0] == 20  # no candidate before the end
    for t in range(3):
        due = cal.due(t)
        assert {2, 3} <= set(due.tolist())  # q >= 1: decided every week
        cal.schedule(t, due, cal.low[due], cal.high[due], t, "gap")
    cal.drop(np.array([2]))
    assert cal.next[2] == NEVER and 2 not in cal.due(3)


def test_candidate_weeks_fit_the_calendar_int16():
    """Weeks are int16 (the weekly scan reads 2 bytes a person): the longest configurable
    run (520 warm-up + 520 observed weeks) schedules to its end; one past int16 is refused."""
    cal = WorkCalendar(3, 1040, Streams(1, [3]))
    cal.schedule(1000, np.arange(3), np.zeros(3), np.zeros(3), 1000, "start")
    assert (cal.next == 1040).all() and cal.next.dtype == np.int16
    with pytest.raises(ValueError, match="below"):
        WorkCalendar(3, NEVER, Streams(1, [3]))


def test_sorted_unique_is_np_unique():
    a = np.random.default_rng(0).integers(0, 50, 300)
    np.testing.assert_array_equal(sorted_unique(a), np.unique(a))


def _brute_force_work_draws(model):
    """Replace the calendar by a fresh draw every week for every working person."""
    def week_draws(t):
        working = np.flatnonzero(model.columns["state"] == WORKING)
        model.work_due = working
        model.work_draws = model.streams.uniform_at(t, "brute_force", working)

    model._week_draws = week_draws
    model._reschedule_after = lambda *args: None


def _per_person(model):
    """Per person: spells, relapses, separations, retirement and weeks in each state."""
    col = model.columns
    out = {"spells": col["spells"], "relapses": col["relapses"],
           "separations": col["separation_week"] >= 0, "retired": col["state"] == RETIRED}
    for k in (WORKING, ABSENT, UNEMPLOYED):
        out[STATES[k]] = col["weeks_by_state"][k]
    return {key: np.asarray(v, dtype=np.float64) for key, v in out.items()}


def _assert_same_distribution(thinned, brute):
    a, b = _per_person(thinned), _per_person(brute)
    for key in a:
        assert a[key].sum() > 100, key  # enough events to detect a bias
        se = np.sqrt(a[key].var() / a[key].size + b[key].var() / b[key].size)
        z = (a[key].mean() - b[key].mean()) / se
        assert abs(z) < 4.5, (key, z, a[key].mean(), b[key].mean())


@pytest.mark.parametrize("population", ["workforce", "fit_note_cohort"])
def test_calendar_matches_a_draw_every_week(make_config, population):
    """Whole runs, calendar against a per-week draw for every worker (independent draws for
    work; people are independent): the per-person means of spells, relapses (inside the
    relapse window, whose bound is looser), separations, retirements and weeks by state
    agree within sampling error (two-sample z < 4.5). A bound that failed to hold (missed
    moves) or a biased mapping shifts them by far more (a low bound 20% too small: z = -12).
    ~2-4 s: two runs of 40,000 people for power."""
    cfg = make_config(f"population={population}", "population.n=20000", "horizon_weeks=52",
                      "replicates=2", "seed=4")
    thinned, brute = RTWModel(cfg), RTWModel(cfg)
    _brute_force_work_draws(brute)
    thinned.run()
    brute.run()
    _assert_same_distribution(thinned, brute)


def test_effects_above_the_bounds_keep_the_distribution(make_config):
    """Onset (x1.6 for half the people) and relapse (x2) multipliers above the calendar's
    bounds: those people decide every week (fill draws outside candidate weeks), and the
    runs still match a draw every week. ~2 s: two runs of 40,000 people."""
    cfg = make_config("population=workforce", "population.n=20000", "horizon_weeks=52",
                      "replicates=2", "seed=6")
    models = []
    for brute in (False, True):
        model = RTWModel(cfg)
        rng = np.random.default_rng(0)
        model.effects.arrays["onset"] = np.where(rng.random(model.people.n) < 0.5, 1.6, 1.0)
        model.effects.arrays["relapse"] = np.full(model.people.n, 2.0)
        if brute:
            _brute_force_work_draws(model)
        model.run()
        models.append(model)
    _assert_same_distribution(*models)
