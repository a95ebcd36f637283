"""In-silico trials: the estimators, the trial design, and the model run as each source
trial (issue 15: effects anchored on the source, so the trials test the evidence on the
model; the control arm's figure is shown beside the model's usual care)."""

import math

import numpy as np
import pytest
from scipy import stats

from sim.config import CONFIG_DIR
from sim.engine.categories import CONDITIONS
from sim.evidence import trials
from sim.evidence.registry import load_registry

Z = stats.norm.ppf(0.975)


# ---- estimators -----------------------------------------------------------------------------

def test_cox_one_event_time_has_a_closed_form():
    """All events at one time with everyone at risk: the Breslow score gives
    exp(b) = (d1 / n1) / (d0 / n0) and information d n1 n0 e^b / (n1 e^b + n0)^2."""
    n1, n0, d1, d0 = 400, 600, 120, 90
    treated = np.r_[np.ones(n1, bool), np.zeros(n0, bool)]
    event = np.r_[np.arange(n1) < d1, np.arange(n0) < d0]
    time = np.where(event, 1, 5)
    hr, low, high = trials.cox_hr_binary(time, event, treated)
    e = (d1 / n1) / (d0 / n0)
    assert hr == pytest.approx(e, rel=1e-9)
    se = 1 / math.sqrt((d1 + d0) * n1 * n0 * e / (n1 * e + n0) ** 2)
    assert low == pytest.approx(e * math.exp(-Z * se), rel=1e-9)
    assert high == pytest.approx(e * math.exp(Z * se), rel=1e-9)


def test_cox_matches_statsmodels_with_ties():
    from statsmodels.duration.hazard_regression import PHReg

    rng = np.random.default_rng(1)
    n = 3000
    treated = rng.random(n) < 0.5
    time = np.minimum(rng.geometric(np.where(treated, 0.09, 0.06)), 30)
    event = (time < 30) & (rng.random(n) < 0.9)
    hr, low, high = trials.cox_hr_binary(time, event, treated)
    fit = PHReg(time, treated.astype(float)[:, None], status=event.astype(int),
                ties="breslow").fit()
    assert hr == pytest.approx(math.exp(fit.params[0]), rel=1e-6)
    assert math.log(high / low) / (2 * Z) == pytest.approx(fit.bse[0], rel=1e-4)


def test_risk_ratio_katz_interval():
    rr, low, high = trials.risk_ratio(30, 100, 20, 100)
    se = math.sqrt(1 / 30 - 1 / 100 + 1 / 20 - 1 / 100)
    assert rr == pytest.approx(1.5)
    assert low == pytest.approx(1.5 * math.exp(-Z * se))
    assert high == pytest.approx(1.5 * math.exp(Z * se))


def test_mean_difference_welch_interval():
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0])
    diff, low, high = trials.mean_difference(a, b)
    se = math.sqrt(np.var(a, ddof=1) / 4 + np.var(b, ddof=1) / 3)
    assert diff == pytest.approx(-1.5)
    assert (low, high) == pytest.approx((-1.5 - Z * se, -1.5 + Z * se))


# ---- trial design ---------------------------------------------------------------------------

def test_ips_trial_is_a_cohort_of_unemployed_people_with_smi():
    control, treated, refer, horizon = trials.trial_config("ips_smi", "ips", 2000, 1, 104)
    assert treated["population"]["mode"] == "jobseekers"
    shares = treated["population"]["condition_by_imd"]
    assert all(sum(shares[c]) == 0 for c in CONDITIONS if c != "smi")
    assert horizon == refer + 104
    assert control["programme"]["components"] == {}
    access = treated["programme"]["components"]["ips"]["access"]
    assert access["referral"] == access["uptake"] == 1.0
    assert set(access["uptake_imd_rr"]) == {1.0}


def test_every_trial_entry_says_where_and_when_its_source_enrolled():
    """Issue 15: each in-silico trial enrols its source trial's population. Every entry a
    trial uses (setting an effect of a component, or cross-checking one) gives the
    source's setting, the week of sick leave or unemployment at which it enrolled people,
    and where that comes from (trial_config enrols there: the tests below)."""
    from sim.evidence.review_table import component_spec
    from sim.evidence.trials import CROSS_CHECKS, TRIAL_MEASURES

    registry = load_registry()
    used = {ref for ids in CROSS_CHECKS.values() for ref in ids}
    for path in (CONFIG_DIR / "component").glob("*.yaml"):
        for ref in component_spec(path.stem)["effects"].values():
            if isinstance(ref, str) and ref in registry:
                e = registry[ref]
                if e.measure in TRIAL_MEASURES and not e.assumption:
                    used.add(ref)
    assert {"ips_modini2016_rr", "coordination_vogel2017_hr", "stepped_care_hr",
            "mdt_tingulstad2022_rr", "cancer_mdt_deboer2024_rr"} <= used
    for ref in used:
        pop = registry[ref].population
        assert pop.get("setting") in ("sick_leave", "out_of_work"), ref
        assert isinstance(pop.get("weeks_off_at_entry"), int), ref
        assert pop.get("enrolment_source", "").strip(), ref


def test_ips_trial_enrols_people_out_of_work_for_a_year():
    """EQOLISE (pooled by Modini 2016) enrolled people continuously unemployed for at
    least a year; the trial enrols the model's people with SMI still out of work since
    their job ended at week 52, not people who lost their job a month ago."""
    entry = load_registry()["ips_modini2016_rr"]
    assert entry.population["setting"] == "out_of_work"
    _, treated, refer, _ = trials.trial_config("ips_smi", "ips", 1000, 1,
                                               entry.followup_weeks, entry.population)
    assert refer == 52 and treated["population"]["mode"] == "jobseekers"
    assert treated["programme"]["components"]["ips"]["eligibility"]["refer_at_week"] == 52


def test_trial_refuses_a_source_from_another_setting():
    with pytest.raises(ValueError, match="enrolled people employed and off sick, but the "
                                         "component serves people unemployed"):
        trials.trial_config("ips_smi", "ips", 1000, 1, 52,
                            {"text": "x", "setting": "sick_leave"})
    with pytest.raises(ValueError, match="enrolled people out of work"):
        trials.trial_config("rtw_coordinator", "rtw_coordinator", 1000, 1, 52,
                            {"text": "x", "setting": "out_of_work"})


def test_trials_cover_the_numerically_sourced_components():
    registry = load_registry()
    found = {(k, e.id, e.measure) for _, k, _, e, _ in
             trials.unique_trials(trials.all_designs(), registry)}
    assert ("ips", "ips_modini2016_rr", "rr_employment") in found
    assert ("rtw_coordinator", "coordination_vogel2017_hr", "hr_time_to_rtw") in found
    assert ("work_focused_cbt", "work_focused_cbt_hr", "hr_time_to_rtw") not in found  # assumed
    assert ("cancer_rehab", "cancer_mdt_deboer2024_rr", "rr_rtw_at_followup") in found
    # assumptions are not "reproduced": they have no source to reproduce
    assert not any(registry[i].assumption for _, i, _ in found)


# ---- the model reproduces the evidence ---------------------------------------------------

@pytest.fixture(scope="module")
def trial_table():
    return trials.trials_table(trials.run_trials(n=100_000, seed=11))


def test_every_primary_trial_reproduces_its_source(trial_table):
    """Each primary trial (the entry that sets the effect, converted on the source trial's
    own terms, not re-solved on the model's baseline) lands inside the source's interval in
    the source's measure, and its Cox HR inside the trial-level HR the source carries."""
    df = trial_table
    assert len(df) >= 5
    assert set(df["follow_up"]) == {"fitted"}
    # a published HR does not depend on the control arm: the model trial's is inside its
    # interval. A risk ratio does (the model's usual care for the trial population is not
    # the source's control arm; columns source_control / model_control), so the gate for
    # it is the trial-level HR it implies at the source's control risk ("reproduced")
    hrs = df[df["measure"] == "hr_time_to_rtw"]
    assert len(hrs) >= 2 and (hrs["inside"] == "yes").all(), hrs.to_string()
    assert (df["reproduced"] == "yes").all(), df[df["reproduced"] == "no"].to_string()
    # close to the carried HR: within 12% on the HR scale. The coordinator is the furthest
    # (about 9% low): a Cox HR over people whose own RTW hazards differ is smaller than the
    # HR each person has (non-collapsibility), and the anchored conversion cannot know the
    # source trial's heterogeneity. A conversion that ignored the persistence of effects or
    # the control arm's risk would miss by far more (cancer: enrolled HR 3.3 instead of 1.7).
    gap = np.abs(np.log(df["model_trial_hr"] / df["source_trial_hr"]))
    assert (gap < math.log(1.12)).all(), df.assign(gap=gap).to_string()
    # trials.csv's model_hr is the enrolled-period HR a run of the component uses (the same
    # as docs/EVIDENCE.md's evidence review gives for it)
    from sim.evidence.review_table import component_spec
    from sim.programme.effects import anchored_hr

    registry = load_registry()
    for r in df.itertuples():
        e = registry[r.evidence_id]
        expected = anchored_hr(e, e.value, component_spec(r.component))
        assert r.model_hr == pytest.approx(expected, abs=1e-4), r


def test_trials_show_the_control_arm_beside_the_models_usual_care(trial_table):
    """The baseline mismatch is shown, not absorbed into the HR: every anchored entry has
    the source's control-arm risk beside the model's usual care for the trial population,
    and the trial enrols at the source's time off work."""
    df = trial_table.set_index("evidence_id")
    anchored = df[df["measure"].isin(["rr_rtw_at_followup", "rr_employment", "rr_at_work"])]
    assert len(anchored) >= 3
    assert anchored["source_control"].between(0, 1).all()
    assert df["model_control"].between(0, 1).all()
    assert df.loc["coordination_vogel2017_hr", "enrol_week"] == 4  # "off >= 4 weeks"
    # IPS: the model's people with SMI out of work find fewer jobs under usual care than the
    # trials' controls, so the same trial HR gives a larger risk ratio
    ips = df.loc["ips_modini2016_rr"]
    assert ips["model_control"] < ips["source_control"] and ips["estimate"] > 2.4


def test_trials_markdown_lists_every_trial(trial_table):
    md = trials.trials_markdown(trial_table)
    lines = md.splitlines()
    assert len(lines) == len(trial_table) + 2
    assert "coordination_vogel2017_hr" in md and "| yes |" in md
    assert "control arm: source / model" in md


def _experiment():
    import importlib.util

    from sim.config import CONFIG_DIR

    path = CONFIG_DIR.parent / "experiments" / "trials.py"
    spec = importlib.util.spec_from_file_location("trials_experiment", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _settings(out, **over):
    """configs/analysis/trials.yaml as the app sees it, ``out`` given."""
    import yaml
    from omegaconf import OmegaConf

    from sim.config import CONFIG_DIR

    base = yaml.safe_load((CONFIG_DIR / "analysis" / "trials.yaml").read_text())
    base = {k: v for k, v in base.items() if k not in ("defaults", "hydra")}
    return OmegaConf.create({**base, "out": str(out), **over})


def test_experiment_exits_1_when_a_primary_estimate_is_outside(tmp_path, monkeypatch):
    from sim.evidence import trials_analysis

    module = _experiment()
    outside = trials.TrialResult("d", "c", "rtw_hr", "x", "hr_time_to_rtw", 26, 1.3, 1.1,
                                 1.5, 1.02, 0.98, 1.06, 500, 500, 1.4)
    inside = trials.TrialResult("d", "c", "rtw_hr", "y", "hr_time_to_rtw", 26, 1.3, 1.1,
                                1.5, 1.31, 1.2, 1.4, 500, 500, 1.4)
    monkeypatch.setattr(trials_analysis, "run_trials",
                        lambda *a, **k: [(inside, [], "primary"), (outside, [], "cross-check")])
    assert module.task(_settings(tmp_path / "a")) == 0  # a cross-check does not gate
    monkeypatch.setattr(trials_analysis, "run_trials",
                        lambda *a, **k: [(outside, [], "primary")])
    assert module.task(_settings(tmp_path / "b")) == 1
    assert "| no |" in (tmp_path / "b" / "trials.md").read_text()  # written all the same


def test_experiment_writes_csv_and_markdown(tmp_path):
    module = _experiment()
    out = tmp_path / "run"
    assert module.task(_settings(out, n=20000, designs=["stepped_care_msk"])) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # staged, renamed into place
    assert sorted(p.name for p in out.iterdir()) == ["analysis_config.yaml", "trials.csv",
                                                     "trials.md"]
    assert "stepped_care_hr" in (out / "trials.md").read_text()
    assert "20,000 people per cohort, seed 7" in (out / "trials.md").read_text()


@pytest.mark.parametrize("over, expected", [
    ({"designs": ["nope"]}, "designs: unknown design 'nope', expected one of"),
    ({"designs": "seed"}, "unknown design 'seed'"),
    ({"n": 999}, "n: got 999, expected at least 1000 people"),
    ({"seed": 1.5}, "seed: got 1.5, expected an integer"),
    ({"cross_checks": "no"}, "cross_checks: got 'no', expected true or false"),
])
def test_experiment_bad_settings_are_one_line_before_any_work(tmp_path, over, expected):
    module = _experiment()
    with pytest.raises(ValueError) as info:
        module.task(_settings(tmp_path / "run", **over))
    assert expected in str(info.value) and "\n" not in str(info.value)
    assert not any(tmp_path.iterdir())


def test_cross_check_other_outcomes_of_the_same_review():
    """The coordinator is set from Vogel 2017's HR; the same trial, analysed as Vogel's
    mean difference in days absent per year, lands inside that interval too."""
    registry = load_registry()
    checks = trials.cross_check_trials(["rtw_coordinator"], registry)
    assert {e.id for _, _, _, e, _ in checks} == set(trials.CROSS_CHECKS["rtw_coordinator"])
    e = registry["coordination_vogel2017_md_days"]
    r = trials.run_trial("rtw_coordinator", "rtw_coordinator", "rtw_hr", e, e.value, *e.ci,
                         n=60_000, seed=11)
    assert r.inside and r.estimate < -6  # about -9.6 days, Vogel -16.2 (-32.4 to 0.1)
    assert r.model_hr == pytest.approx(1.32, rel=0.02)  # lasting effect: about Vogel's HR


def test_trial_reproduces_the_source_under_effect_modification():
    """With the coordinator's effect modified by condition and severity, the conversion
    scales the base HR by the mean exponent over the source's population (here about 1),
    so the pooled trial gives about the same HR as without modification."""
    e = load_registry()["coordination_vogel2017_hr"]
    mod = "programme.components.rtw_coordinator.effect_modification"
    r = trials.run_trial("rtw_coordinator", "rtw_coordinator", "rtw_hr", e, e.value, *e.ci,
                         n=60_000, seed=11,
                         overrides=[f"{mod}.condition.msk=2.0", f"{mod}.condition.cmd=0.5",
                                    f"{mod}.severity.severe=0.3"])
    plain = trials.run_trial("rtw_coordinator", "rtw_coordinator", "rtw_hr", e, e.value,
                             *e.ci, n=60_000, seed=11)
    # within 8%: a Cox HR pooled over strata with different HRs is not exp(mean log HR)
    assert abs(math.log(r.estimate / plain.estimate)) < math.log(1.08)
    # the modification is in force: MSK people get the square of the base HR
    assert r.model_hr != plain.model_hr


def test_experiment_writes_the_control_arm_checks_with_ips(tmp_path, monkeypatch, capsys):
    """With IPS among the designs the app also writes and prints the held-out check of
    usual care against the UK control arm (control_checks.md); without IPS it does not."""
    from sim.evidence import trials_analysis

    module = _experiment()
    one = trials.TrialResult("ips_smi", "ips", "rtw_hr", "x", "hr_time_to_rtw", 26, 1.3, 1.1,
                             1.5, 1.31, 1.2, 1.4, 500, 500, 1.4)
    monkeypatch.setattr(trials_analysis, "run_trials", lambda *a, **k: [(one, [], "primary")])
    seen = []
    monkeypatch.setattr(trials_analysis, "run_control_checks",
                        lambda **k: seen.append(k) or ["a check"])
    monkeypatch.setattr(trials_analysis, "control_checks_markdown",
                        lambda checks: "| SWAN control arm |")
    assert module.task(_settings(tmp_path / "ips", designs=["ips_smi"], n=5000)) == 0
    assert seen and seen[0]["n"] == 5000
    assert (tmp_path / "ips" / "control_checks.md").read_text() == "| SWAN control arm |\n"
    assert "control arms (held out)" in capsys.readouterr().out
    seen.clear()
    assert module.task(_settings(tmp_path / "msk", designs=["stepped_care_msk"])) == 0
    assert not seen and not (tmp_path / "msk" / "control_checks.md").exists()
