"""Invariants under random valid configs and seeds (hypothesis)."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engine.categories import STATES
from sim.engine.model import RTWModel
from sim.simulate import simulate

SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

configs = st.fixed_dictionaries({
    "population": st.sampled_from(["fit_note_cohort", "workforce"]),
    "n": st.integers(50, 1500),
    "horizon": st.integers(1, 60),
    "replicates": st.integers(1, 3),
    "seed": st.integers(0, 2**31),
    "rtw_scale": st.floats(0.3, 3.0),
    "job_loss": st.floats(0.0, 0.05),
    "relapse": st.floats(0.0, 0.2),
    "sustained": st.integers(1, 12),
})


def _overrides(c):
    return [f"population={c['population']}", f"population.n={c['n']}",
            f"horizon_weeks={c['horizon']}", f"replicates={c['replicates']}",
            f"seed={c['seed']}", f"pathways.rtw.scale_weeks.cmd={6.0 * c['rtw_scale']}",
            f"pathways.rtw.scale_weeks.other={0.55 * c['rtw_scale']}",
            f"pathways.job_loss.weekly_hazard={c['job_loss']}",
            f"pathways.new_spell.relapse_excess_weekly={c['relapse']}",
            # sustained_weeks beyond the horizon is a config error (issue 12)
            f"outcomes.sustained_weeks={min(c['sustained'], c['horizon'])}",
            "output.plots=false"]


@SETTINGS
@given(c=configs)
def test_invariants_hold_for_random_configs(make_config, c):
    cfg = make_config(*_overrides(c))
    r = simulate(cfg)
    n, h, reps = c["n"], c["horizon"], c["replicates"]
    # every person is in exactly one state every week
    per_week = r.weekly.groupby(["week", "replicate"])["count"].sum()
    assert (per_week == n).all() and len(per_week) == (h + 1) * reps
    assert (r.state_totals[list(STATES)].sum(axis=1) == n * reps).all()
    a = r.agents
    weeks = a[[f"weeks_{s}" for s in STATES]]
    assert (weeks.sum(axis=1) == h).all() and (weeks >= 0).all().all()
    assert (a["weeks_absent"] <= h).all()
    assert not a.isna().any().any()
    assert not r.summary["value"].isna().any()
    # group summaries add up to the total
    s = r.summary[r.summary["metric"] == "days_absent"]
    for rep in range(reps):
        sr = s[s["replicate"] == rep]
        total = sr[sr["dimension"] == "all"]["n"].sum()
        for dim in ("imd_quintile", "ethnicity", "condition"):
            assert sr[sr["dimension"] == dim]["n"].sum() == total


@SETTINGS
@given(c=configs)
def test_engines_agree_for_random_configs(make_config, c):
    c = dict(c, n=min(c["n"], 400), horizon=min(c["horizon"], 30))
    cfg = make_config(*_overrides(c))
    fast, slow = RTWModel(cfg), RTWModel(dict(cfg, engine="agents"))
    fast.run()
    slow.run()
    for name in fast.columns:
        np.testing.assert_array_equal(fast.columns[name], slow.columns[name], err_msg=name)
    np.testing.assert_array_equal(fast.weekly_counts, slow.weekly_counts)


@SETTINGS
@given(c=configs)
def test_zero_effect_design_equals_usual_care(make_config, c):
    cfg = make_config(*_overrides(c))
    design = make_config(*_overrides(c), "programme=rtw_coordinator",
                         "programme.components.rtw_coordinator.effects.rtw_hr=1.0",
                         "programme.components.rtw_coordinator.cost.per_participant_gbp=500",
                         # referral must fall within the horizon (a config error otherwise)
                         "programme.components.rtw_coordinator.eligibility.refer_at_week="
                         f"{min(4, c['horizon'] - 1)}")
    base, same = RTWModel(cfg), RTWModel(design)
    base.run()
    same.run()
    for name in base.columns:
        np.testing.assert_array_equal(base.columns[name], same.columns[name], err_msg=name)
