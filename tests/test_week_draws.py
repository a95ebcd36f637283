"""The week's draws made in one pass (``_week_draws``: candidates, raised workers and the
out-of-work transition draws in one ``uniform_many``) are each stream's own values: what
separate calls give (issue 18/19: fewer numpy calls a week, the same tables)."""

import numpy as np

from sim.engine.calendar import find_sorted
from sim.engine.model import RTWModel


def test_batched_week_draws_equal_separate_draws(make_config):
    model = RTWModel(make_config("population.n=2000", "horizon_weeks=16", "seed=5"))
    # an onset multiplier above the calendar's bounds: workers outside their candidate
    # week decide too, with fill draws (the third stream of the batch)
    model.effects.arrays["onset"] = np.full(model.people.n, 1.5)
    advance = model._advance_vectorised
    seen = {"weeks": 0, "fill": 0, "out_of_work": 0}

    def checked(t):
        ahead = model._transition_ahead
        if ahead is not None:
            week, drawn_for, draws = ahead
            groups = model._transition_groups()
            assert week == t and len(drawn_for) == len(groups)
            for a, g in zip(drawn_for, groups, strict=True):
                np.testing.assert_array_equal(a, g)
            for g, u in zip(groups, draws, strict=True):
                np.testing.assert_array_equal(u, model.transition_draws(t, g))
                seen["out_of_work"] += g.size
            due, work_due = model._work_candidates, model.work_due
            pos, found = find_sorted(due, work_due)
            np.testing.assert_array_equal(model.work_draws[found],
                                          model._calendar.draws(t, due))
            rest = work_due[~found]
            np.testing.assert_array_equal(model.work_draws[~found],
                                          model._fill_draws(t, rest))
            seen["weeks"] += 1
            seen["fill"] += rest.size
        advance(t)

    model._advance_vectorised = checked
    model.run()
    assert seen["weeks"] >= 10 and seen["fill"] > 0 and seen["out_of_work"] > 0
