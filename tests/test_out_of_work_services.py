"""A service for people out of work (IPS) helps its participants into work whatever state
out of work they are in: a participant who moves from unemployment to inactivity keeps the
effect on moves into work (the source trials count a job found by everyone randomised)."""

import numpy as np

from sim.engine.categories import INACTIVE, INACTIVE_BENEFIT, UNEMPLOYED
from sim.engine.model import RTWModel
from sim.evidence import trials
from sim.vocabulary import ENROLLED


def test_ips_acts_on_moves_into_work_from_inactivity_too():
    _, treated, refer, _ = trials.trial_config("ips_smi", "ips", 4000, 3, 40)
    model = RTWModel(treated)
    programme = model.programme
    original = programme.before_decisions
    seen = {"inactive": 0, "unemployed": 0}

    def check(m, t):  # the multipliers this week's decisions will read
        original(m, t)
        eff = m.effects.arrays
        assert eff["reemploy_inactive"] is not None  # installed for an out-of-work service
        enrolled = np.flatnonzero(programme.status[0] == ENROLLED)
        state = m.columns["state"][enrolled]
        inactive = enrolled[np.isin(state, (INACTIVE, INACTIVE_BENEFIT))]
        unemployed = enrolled[state == UNEMPLOYED]
        assert np.all(eff["reemploy_inactive"][inactive] > 1.5)
        assert np.all(eff["reemploy"][unemployed] > 1.5)
        assert np.array_equal(eff["reemploy_inactive"][enrolled], eff["reemploy"][enrolled])
        seen["inactive"] += inactive.size
        seen["unemployed"] += unemployed.size

    programme.before_decisions = check
    model.run()
    assert seen["inactive"] > 0 and seen["unemployed"] > 0
