"""Issue 20 levers and outcomes: occupational health, Access to Work, line-manager training,
stay-at-work prevention (onset), anti-racist staff training, community health workers, and
the quality-of-return table."""

import numpy as np
import pandas as pd
import pytest

from sim.engine.categories import EMPLOYER_SIZES, ETHNICITIES, SEVERITIES
from sim.engine.model import RTWModel
from sim.evidence.registry import load_registry
from sim.results.quality import quality_metrics, quality_table

LEVERS = ("occupational_health", "oh_sme_brokered", "access_to_work", "access_to_work_timely",
          "line_manager_training", "stay_at_work", "anti_racist_mdt",
          "community_health_workers_mdt")
MINORITY = [e for e in ETHNICITIES if e != "white_british"]


def _run(make_config, *overrides):
    m = RTWModel(make_config(*overrides))
    m.run()
    return m


def _key(m, name):
    return [c.key for c in m.programme.components].index(name)


def test_registry_has_every_lever_entry():
    registry = load_registry()
    levers = {k for k, e in registry.items() if e.file.endswith("levers.yaml")}
    assert {"oh_vanvilsteren2015_lasting_hr", "atw_rtw_hr", "atw_wait_weeks", "lmt_rtw_hr",
            "stay_at_work_onset_hr", "anti_racist_training_effect_exponent",
            "chw_referral_rr", "presenteeism_after_return"} <= levers
    for k in levers:  # sourced, or an assumption with its reason and a range
        e = registry[k]
        assert e.source and (not e.assumption or e.reason), k
        if e.value is not None:
            assert e.ci is not None or e.distribution is not None, k
    assert registry["stay_at_work_onset_hr"].measure == "hr_onset"


@pytest.mark.parametrize("design", LEVERS)
def test_each_lever_runs_and_enrols(make_config, design):
    pop = "population=workforce" if design == "stay_at_work" else "population=fit_note_cohort"
    m = _run(make_config, f"programme={design}", pop, "population.n=1500", "horizon_weeks=26")
    started = np.isin(m.programme.status, (2, 3, 4)).any(axis=0)  # enrolled/finished/dropped
    assert started.sum() > 20


def test_occupational_health_serves_only_people_without_oh(make_config):
    m = _run(make_config, "programme=oh_sme_brokered", "population.n=3000", "horizon_weeks=26")
    k = _key(m, "occupational_health")
    served = m.programme.status[k] != 0
    assert served.any()
    assert not m.people.oh_access[served].any()
    assert (m.people.employer_size[served] == EMPLOYER_SIZES.index("sme")).all()


def _direction(make_config, design, effect_overrides, pop="fit_note_cohort", n=4000):
    base = (f"population={pop}", f"population.n={n}", "horizon_weeks=52")
    uc = _run(make_config, "programme=usual_care", *base)
    lever = _run(make_config, f"programme={design}", *base, *effect_overrides)
    return uc.columns, lever.columns


@pytest.mark.parametrize("design,component", [
    ("occupational_health", "occupational_health"),
    ("access_to_work_timely", "access_to_work"),
    ("line_manager_training", "line_manager_training"),
])
def test_absence_levers_shorten_absence(make_config, design, component):
    # the effect strengthened (mechanism test): same people and random numbers as usual care
    uc, lever = _direction(make_config, design,
                           (f"programme.components.{component}.effects.rtw_hr=1.6",))
    assert lever["weeks_by_state"][1].mean() < uc["weeks_by_state"][1].mean()


def test_access_to_work_wait_is_a_lever(make_config):
    base = ("population.n=4000", "horizon_weeks=52",
            "programme.components.access_to_work.effects.rtw_hr=1.6")
    slow = _run(make_config, "programme=access_to_work", *base)
    fast = _run(make_config, "programme=access_to_work_timely", *base)
    assert fast.cfg["programme"]["components"]["access_to_work"]["effect_lag_weeks"] < \
        slow.cfg["programme"]["components"]["access_to_work"]["effect_lag_weeks"]
    assert fast.columns["weeks_by_state"][1].mean() < slow.columns["weeks_by_state"][1].mean()


def test_line_manager_training_makes_more_returns_phased(make_config):
    uc, lever = _direction(make_config, "line_manager_training", ())
    assert lever["weeks_by_state"][2].mean() > uc["weeks_by_state"][2].mean()


def test_stay_at_work_prevents_onset_and_is_exact_at_unit_effect(make_config):
    base = ("population=workforce", "population.n=4000", "population.warmup_weeks=8",
            "horizon_weeks=52")
    uc = _run(make_config, "programme=usual_care", *base)
    lever = _run(make_config, "programme=stay_at_work", *base,
                 "programme.components.stay_at_work.effects.onset_hr=0.6")
    assert lever.columns["spells"].sum() < 0.9 * uc.columns["spells"].sum()
    # a unit effect reproduces usual care exactly (common random numbers; nothing else moves)
    unit = _run(make_config, "programme=stay_at_work", *base,
                "programme.components.stay_at_work.effects.onset_hr=1.0")
    for name in ("state", "spells", "first_onset", "first_rtw", "weeks_by_state"):
        np.testing.assert_array_equal(unit.columns[name], uc.columns[name], err_msg=name)


def test_stay_at_work_engines_agree_with_harmful_onset(make_config):
    # an onset HR above 1 moves the working-state candidate bound: both engines still agree
    cfg = make_config("programme=stay_at_work", "population=workforce", "population.n=500",
                      "population.warmup_weeks=4", "horizon_weeks=30", "replicates=2",
                      "programme.components.stay_at_work.effects.onset_hr=1.8")
    fast, slow = RTWModel(cfg), RTWModel(dict(cfg, engine="agents"))
    fast.run()
    slow.run()
    for name in fast.columns:
        np.testing.assert_array_equal(fast.columns[name], slow.columns[name], err_msg=name)


def test_working_components_refer_each_person_once_after_refer_week(make_config):
    m = _run(make_config, "programme=stay_at_work", "population=workforce",
             "population.n=1500", "horizon_weeks=20",
             "programme.components.stay_at_work.eligibility.refer_at_week=4")
    k = _key(m, "stay_at_work")
    weeks = m.programme.status_week[k][m.programme.status[k] != 0]
    assert weeks.size and (weeks >= m.warmup).all()


def test_anti_racist_training_changes_effect_for_minority_groups_only(make_config):
    base = ("population.n=3000", "horizon_weeks=12")
    plain = RTWModel(make_config("programme=multidisciplinary_bps", *base))
    trained = RTWModel(make_config("programme=anti_racist_mdt", *base))
    k = _key(plain, "multidisciplinary_bps")
    a = plain.programme.components[k].effects["rtw_hr"]
    b = trained.programme.components[k].effects["rtw_hr"]
    white = plain.people.ethnicity == ETHNICITIES.index("white_british")
    np.testing.assert_array_equal(a[white], b[white])
    assert (np.abs(np.log(b[~white])) > np.abs(np.log(a[~white]))).all()
    # effectiveness only: referral and uptake unchanged for everyone
    np.testing.assert_array_equal(plain.programme.components[k].p_referral,
                                  trained.programme.components[k].p_referral)
    np.testing.assert_array_equal(plain.programme.components[k].p_uptake,
                                  trained.programme.components[k].p_uptake)


def test_community_health_workers_raise_referral_in_reached_groups_only(make_config):
    base = ("population.n=3000", "horizon_weeks=12")
    plain = RTWModel(make_config("programme=multidisciplinary_bps", *base))
    chw = RTWModel(make_config("programme=community_health_workers_mdt", *base))
    k = _key(plain, "multidisciplinary_bps")
    p = plain.people
    reached = np.isin(np.asarray(ETHNICITIES), MINORITY)[p.ethnicity] | (p.imd_quintile <= 2)
    ref_a = plain.programme.components[k].p_referral
    ref_b = chw.programme.components[k].p_referral
    np.testing.assert_array_equal(ref_a[~reached], ref_b[~reached])
    assert (ref_b[reached] > ref_a[reached]).all()
    assert (chw.programme.components[k].p_uptake[reached]
            > plain.programme.components[k].p_uptake[reached]).all()


# ---- the quality-of-return table on a hand-built case ------------------------------------


def _tiny_cfg(make_config):
    return make_config("population.n=100", "horizon_weeks=52")


def _agents(rows):
    cols = ["first_onset", "first_rtw", "sustained_rtw", "weeks_to_rtw", "reemployed_week",
            "weeks_working", "weeks_phased", "weeks_absent", "severity"]
    df = pd.DataFrame(rows, columns=cols)
    df["severity"] = pd.Categorical.from_codes([SEVERITIES.index(s) for s in df["severity"]],
                                               categories=list(SEVERITIES))
    for s in ("unemployed", "inactive", "inactive_benefit", "retired"):
        df[f"weeks_{s}"] = 0
    df["replicate"] = 0
    return df


def test_quality_definitions_on_a_hand_built_case(make_config):
    cfg = _tiny_cfg(make_config)
    sw = cfg["outcomes"]["sustained_weeks"]  # 4
    early_moderate = cfg["pathways"]["new_spell"]["early_return_before_weeks"]["moderate"]
    hours = cfg["pathways"]["phased_return"]["hours_fraction"]
    assert sw == 4 and early_moderate == 3
    agents = _agents([
        # lasted: first return at 10, sustained from 10, 4 weeks phased of 42 back
        (0, 10, 10, 10, -1, 38, 4, 10, "moderate"),
        # broke down: returned at week 2 (early), sustained only from 20
        (0, 2, 20, 2, -1, 40, 0, 12, "moderate"),
        # returned at 50: not followed for 4 weeks, so neither lasted nor broke down
        (0, 50, -1, 50, -1, 2, 0, 50, "moderate"),
        # new job: re-employed at its first return (week 30), lasted
        (0, 30, 30, 30, 30, 22, 0, 10, "moderate"),
        # never returned
        (0, -1, -1, -1, -1, 0, 0, 52, "moderate"),
    ])
    m = quality_metrics(agents, cfg)

    def share(name):
        value, eligible = m[name]
        return float(np.sum(np.where(eligible, value, 0)) / np.sum(eligible))

    assert share("returned") == pytest.approx(4 / 5)
    assert m["first_return_sustained"][1].sum() == 3  # three followed first returns
    assert share("first_return_sustained") == pytest.approx(2 / 3)
    assert share("first_return_broke_down") == pytest.approx(1 / 3)
    assert share("early_return") == pytest.approx(1 / 4)
    assert share("broke_down_after_early") == 1.0
    assert share("broke_down_after_later") == 0.0
    assert share("same_job") == pytest.approx(3 / 4)
    assert share("weeks_to_first_return") == pytest.approx((10 + 2 + 50 + 30) / 4)
    hours_first = 1 - (1 - hours) * 4 / 42
    assert m["hours_after_return"][0][0] == pytest.approx(hours_first)
    assert m["fte_weeks_phased"][0][0] == pytest.approx(4 * (1 - hours))
    table = quality_table(agents.assign(
        imd_quintile=1, **{c: pd.Categorical(["white_british"] * 5, categories=ETHNICITIES)
                           for c in ("ethnicity",)}).pipe(_with_groups), cfg)
    row = table[(table["dimension"] == "all") & (table["metric"] == "first_return_broke_down")]
    assert row["value"].iloc[0] == pytest.approx(1 / 3) and row["n"].iloc[0] == 3


def _with_groups(df):
    """Give the hand-built table every dimension the summary groups by (one group each)."""
    from sim.results.outcomes import CATEGORY_NAMES

    for name, names in CATEGORY_NAMES.items():
        if name not in df:
            df[name] = pd.Categorical.from_codes([0] * len(df), categories=list(names))
    df["oh_access"] = False
    return df


def test_report_quality_section_shows_change_and_escapes(tmp_path):
    from types import SimpleNamespace

    from sim.compare.report_quality import quality_html

    def arm(key, lasted):
        d = tmp_path / ("arm" + str(len(list(tmp_path.iterdir()))))
        d.mkdir()
        pd.DataFrame({"replicate": [0, 1], "dimension": "all", "group": "all",
                      "metric": "first_return_sustained", "value": [lasted, lasted],
                      "n": [10, 10]}).to_parquet(d / "quality.parquet")
        return SimpleNamespace(key=key, cells={1: SimpleNamespace(path=d)})

    empty = tmp_path / "old"
    empty.mkdir()
    comp = SimpleNamespace(arms=[arm("usual_care", 0.90), arm("<b>x</b>", 0.95),
                                 SimpleNamespace(key="old_run", cells={1: SimpleNamespace(
                                     path=empty)})])
    html = quality_html(comp)
    assert "90.0%" in html and "95.0% (+5.0 pts)" in html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "old_run" in html  # listed as having no quality table
