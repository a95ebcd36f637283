"""The programme sets each week's multipliers only for people whose multipliers may have
changed (sim.programme.interventions.Programme._set_effects); everyone's must still be what
a computation from scratch over every participant gives, every week."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.model import RTWModel
from sim.programme.persistence import NEGLIGIBLE
from sim.vocabulary import EFFECT_TO_HAZARD, REEMPLOY_INACTIVE, WEEKLY_EFFECTS


def _from_scratch(programme, t, key):
    """Every person's multiplier of effect ``key`` in week ``t``, from the enrolment
    history: all members of every component (enrolled past the lag, former participants
    with their share), combined by the design's rule."""
    members, shares = [], []
    for k, c in enumerate(programme.components):
        e = programme.enrolled[k]
        on = e[(t - programme.status_week[k, e]) >= c.effect_lag_weeks]
        f = programme.former[k]
        g = c.persistence.share(t - programme.status_week[k, f] + 1)
        if c.persistence.lasting == 0:
            f, g = f[g >= NEGLIGIBLE], g[g >= NEGLIGIBLE]
        members.append(np.concatenate([on, f]))
        shares.append(np.concatenate([np.ones(on.size), g]) if f.size else None)
    expected = np.ones(programme.status.shape[1])
    everyone = np.unique(np.concatenate(members))
    if everyone.size:
        expected[everyone] = programme._combined(key, members, everyone, shares)
    return expected


@pytest.mark.parametrize("overrides", [
    # fading CBT effect next to a lasting coordinator effect, the multi-domain term on
    ("programme.combine.multidomain_hr=1.2",),
    # an effect that fades to nothing (former participants leave), the lower-bound rule
    ("programme.components.work_focused_cbt.persistence.lasting=0",
     "programme.components.work_focused_cbt.persistence.half_life_weeks=2",
     "programme.combine.rule=strongest"),
])
def test_weekly_multipliers_equal_a_computation_from_scratch(make_config, overrides):
    # (~1-2 CPU-s each: 40 weeks with a check of every multiplier every week)
    cfg = make_config("programme=multicomponent", "population.n=800", "horizon_weeks=40",
                      *overrides)
    model = RTWModel(cfg)
    programme = model.programme
    checked = 0
    for _ in range(model.warmup + model.horizon):
        model.step()
        t = model.engine_week - 1
        for key in WEEKLY_EFFECTS:
            arr = model.effects.arrays[EFFECT_TO_HAZARD[key]]
            if arr is not None:
                assert np.array_equal(arr, _from_scratch(programme, t, key)), (key, t)
                checked += 1
    assert checked > 40
    assert sum(f.size for f in programme.former) > 20  # former participants were in play
    assert model.effects.arrays[REEMPLOY_INACTIVE] is None  # (no out-of-work service)
