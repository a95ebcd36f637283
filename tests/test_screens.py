"""The vectorised engine's screens (sim.engine.screens) keep every person who can move: the
screened decisions equal the decisions made for everyone."""

import numpy as np
import pytest

from sim.engine.categories import INACTIVE_BENEFIT
from sim.engine.model import RTWModel
from sim.engine.pathways import RELAPSE, RETURN, competing_probabilities, two_way_outcome
from sim.engine.rosters import Rosters


def test_rosters_reject_overlapping_groups():
    with pytest.raises(ValueError, match="overlaps"):
        Rosters(np.zeros(3, np.int8), {"a": (3,), "b": (3, 4)}, n_states=7)


@pytest.mark.parametrize("population", ["out_of_work", "fit_note_cohort"])
def test_screened_decisions_equal_the_unscreened(make_config, population):
    """Strong effects (up to 4x) on the hazards of people phased back, unemployed or
    inactive: the screens must widen with them, or movers would be missed."""
    # 39 weeks: under the session-15 streams 26 gave the cohort only 3 inactive moves
    cfg = make_config(f"population={population}", "population.n=2000", "horizon_weeks=39",
                      "seed=9")
    model = RTWModel(cfg)
    rng = np.random.default_rng(1)
    for key in ("reemploy", "reemploy_inactive", "onset", "relapse"):
        model.effects.arrays[key] = rng.uniform(0.5, 4.0, model.people.n)
    pw, col = model.pathways, model.columns
    checked = {"unemployed": 0, "inactive": 0, "phased": 0}

    def full(name, t, idx):
        u, eff = model.transition_draws(t, idx), model.effects
        if name == "phased":
            p_full, p_rel = competing_probabilities(pw.full_return_hazard,
                                                    model._work_spell_hazard(t, idx))
            return model._moving(idx, two_way_outcome(u, p_full, p_rel, RETURN, RELAPSE))
        if name == "unemployed":
            out = pw.unemployed_decision(u, idx, t - col["state_since"][idx],
                                         eff.get("reemploy", idx))
        else:
            out = pw.inactive_decision(u, idx, col["state"][idx] == INACTIVE_BENEFIT,
                                       t - col["state_since"][idx],
                                       eff.get("reemploy_inactive", idx))
        return model._moving(idx, out)

    for name in checked:
        screened = getattr(model, f"_decide_{name}")

        def check(t, u, name=name, screened=screened):
            roster = model._rosters[name]  # in no particular order
            # the week's draws come from one call over every roster: the same values
            np.testing.assert_array_equal(u, model.transition_draws(t, roster))
            want = full(name, t, np.sort(roster))
            got = screened(t, u)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
            checked[name] += want[0].size
            return got

        setattr(model, f"_decide_{name}", check)
    model.run()
    assert min(checked.values()) > 5, checked  # moves of each kind were compared
