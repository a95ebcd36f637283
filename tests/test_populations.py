"""Population presets and person attributes of issue 20: nhs_workforce, out_of_work,
disability, precarious employment and Scotland's SIMD."""

import numpy as np
import pytest

from sim.config import ConfigError
from sim.engine.categories import (
    ABSENT,
    INACTIVE,
    INACTIVE_BENEFIT,
    OUT_OF_WORK,
    UNEMPLOYED,
    WORKING,
)
from sim.engine.model import RTWModel
from sim.engine.pathways import Pathways
from sim.engine.population import synthesise
from sim.evidence.registry import load_registry
from sim.results.calibration import simulated_targets
from sim.results.output import summary_markdown
from sim.simulate import simulate


@pytest.mark.parametrize("preset", ["nhs_workforce", "out_of_work"])
def test_each_new_preset_runs_through_simulate(make_config, preset):
    res = simulate(make_config(f"population={preset}", "population.n=1500",
                               "horizon_weeks=26"))
    summary = res.summary
    # the new attributes are group-table dimensions of every run
    dims = set(summary["dimension"].unique())
    assert {"disability", "employment"} <= dims
    groups = set(summary.loc[summary["dimension"] == "disability", "group"])
    assert groups == {"disabled", "not_disabled"}
    text = summary_markdown(res, [])  # the run's summary.md
    assert "## By disability" in text and "## By employment" in text


def test_nhs_absence_rate_matches_the_nhs_statistics(make_config):
    """The fitted onset multiplier brings the model to the NHS rate (5.2%, 4.7-5.6%);
    without it the NHS preset is near the all-employee rate, outside that interval."""
    entry = load_registry()["nhs_sickness_absence_rate_2022_2024"]
    lo, hi = entry.ci

    def rate(*extra):
        cfg = make_config("population=nhs_workforce", "population.n=4000",
                          "horizon_weeks=52", "seed=3", *extra)
        table = simulated_targets(cfg)
        return float(table.loc[table["target"] == "absence_rate", "simulated"].mean())

    assert lo <= rate() <= hi
    assert rate("population.onset_multiplier=1.0") < lo


def test_nhs_preset_is_a_large_employer_with_oh(make_config):
    cfg = make_config("population=nhs_workforce", "population.n=20000")
    people = synthesise(cfg["population"], seed=2)
    assert (people.employer_size == 0).all()  # no SMEs
    assert people.oh_access.mean() == pytest.approx(0.90, abs=0.015)
    assert (people.sex == 0).mean() == pytest.approx(0.77, abs=0.015)
    assert (people.start_state == WORKING).all()


def test_out_of_work_starts_out_of_work_in_the_configured_shares(make_config):
    cfg = make_config("population=out_of_work", "population.n=20000")
    people = synthesise(cfg["population"], seed=3)
    assert np.isin(people.start_state, OUT_OF_WORK).all()
    shares = cfg["population"]["start_state_shares"]
    for code, name in ((UNEMPLOYED, "unemployed"), (INACTIVE, "inactive"),
                       (INACTIVE_BENEFIT, "inactive_benefit")):
        assert (people.start_state == code).mean() == pytest.approx(shares[name], abs=0.015)
    model = RTWModel(make_config("population=out_of_work", "population.n=2000",
                                 "horizon_weeks=26"))
    assert np.isin(model.columns["state"], OUT_OF_WORK).all()
    assert (model.columns["first_onset"] == 0).all()  # out of work from week 0
    model.run()
    assert (model.columns["reemployed_week"] >= 0).any()  # some get back into work


def test_ips_reaches_people_out_of_work(make_config):
    res = simulate(make_config("population=out_of_work", "programme=ips_smi",
                               "population.n=3000", "horizon_weeks=40"))
    started = int(res.programme["started"].sum())
    assert started > 10
    assert res.programme["reemploy_hr"].iloc[0] > 1  # and acts on re-employment


def test_attributes_follow_their_drivers(make_config):
    cfg = make_config("population.n=60000")
    pop = cfg["population"]
    people = synthesise(pop, seed=5)
    assert people.disability.mean() == pytest.approx(pop["disability"]["share"], abs=0.01)
    assert people.employment.mean() == pytest.approx(pop["precarious"]["share"], abs=0.006)
    young = people.age_band == 0
    assert people.employment[young].mean() > 2 * people.employment[~young].mean()
    severe, mild = people.severity == 2, people.severity == 0
    assert people.disability[severe].mean() > 2 * people.disability[mild].mean()
    pre = people.employment == 1
    assert people.oh_access[pre].mean() < 0.7 * people.oh_access[~pre].mean()
    assert people.oh_access.mean() == pytest.approx(pop["oh_access"]["share"], abs=0.01)


def test_precarious_work_raises_job_loss_and_rtw_hazards(make_config):
    cfg = make_config("population.n=5000")
    model = RTWModel(cfg)
    pw, pre = model.pathways, model.people.employment == 1
    spec = cfg["population"]["precarious"]
    base = Pathways.build(cfg["pathways"], model.people, 10)  # no population: no effect
    np.testing.assert_allclose(pw.job_loss_mult[pre], base.job_loss_mult[pre]
                               * spec["job_loss_hr"])
    np.testing.assert_allclose(pw.rtw_static[pre], base.rtw_static[pre] * spec["rtw_hr"])
    np.testing.assert_array_equal(pw.job_loss_mult[~pre], base.job_loss_mult[~pre])


def test_new_attributes_leave_the_old_ones_unchanged(make_config):
    """Issue 20's draws come from their own stream: the attributes drawn before are the
    same whatever the new specs say."""
    cfg = make_config("population.n=3000")
    a = synthesise(cfg["population"], seed=9)
    pop = dict(cfg["population"], disability=None, precarious=None)
    b = synthesise(pop, seed=9)
    for name in ("ethnicity", "imd_quintile", "condition", "severity", "age_band", "sex",
                 "occupation", "employer_size"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert b.disability.sum() == 0 and b.employment.sum() == 0


def test_simd_option_carries_the_gradient_over(make_config):
    imd = make_config("population.n=500")
    simd = make_config("population.n=500", "population.deprivation_index=simd")
    flat = make_config("population.n=500", "population.deprivation_index=simd",
                       "population.simd_gradient=0")
    build = [RTWModel(c).pathways for c in (imd, simd, flat)]
    np.testing.assert_array_equal(build[0].rtw_static, build[1].rtw_static)  # exponent 1
    people = RTWModel(flat).people
    q1, q5 = people.imd_quintile == 1, people.imd_quintile == 5
    same = (people.ethnicity == 0) & (people.occupation == 0) & (people.employer_size == 0)
    same &= ~people.oh_access & (people.employment == 0)
    # no deprivation gradient at all with exponent 0
    assert np.ptp(build[2].rtw_static[same & (q1 | q5)]) == 0
    assert np.ptp(build[0].rtw_static[same & (q1 | q5)]) > 0


def test_bad_population_options_give_a_one_line_error(make_config):
    with pytest.raises(ConfigError, match="deprivation_index.*expected one of imd, simd"):
        make_config("population.deprivation_index=scotland")
    with pytest.raises(ConfigError, match="start_state_shares: only for mode out_of_work"):
        make_config("population=out_of_work", "population.mode=cohort")
    with pytest.raises(ConfigError, match="start_state_shares: missing, required for mode"):
        make_config("population.mode=out_of_work")
    with pytest.raises(ConfigError, match="shares sum to"):
        make_config("population=out_of_work", "population.start_state_shares.inactive=0.5")


def test_cli_rejects_a_bad_deprivation_index_in_one_line(run_cli):
    proc = run_cli("population.deprivation_index=simdx")
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "deprivation_index" in lines[0]
    assert "Traceback" not in proc.stderr


def test_cohort_start_is_unchanged(make_config):
    model = RTWModel(make_config("population.n=300"))
    assert (model.columns["state"] == ABSENT).all()
    assert (model.columns["spells"] == 1).all()


def test_long_covid_takes_its_proxy_in_tables_that_do_not_name_it(make_config):
    cfg = make_config("population.n=300")
    pw = cfg["pathways"]
    # the shipped pathways files do not name long COVID: CMD's values are carried over
    assert pw["rtw"]["scale_weeks"]["long_covid"] == pw["rtw"]["scale_weeks"]["cmd"]
    assert pw["new_spell"]["onset_weekly"]["long_covid"] == pw["new_spell"]["onset_weekly"]["cmd"]
    comp = make_config("programme=rtw_coordinator")["programme"]["components"]
    mod = next(iter(comp.values()))["effect_modification"]["condition"]
    assert mod["long_covid"] == mod["cmd"]
    # a table that names it keeps its own value
    own = make_config("population.n=300", "++pathways.rtw.scale_weeks.long_covid=40.0")
    assert own["pathways"]["rtw"]["scale_weeks"]["long_covid"] == 40.0
    # population tables must name it (shares have to add up)
    with pytest.raises(ConfigError, match="missing condition 'long_covid'"):
        make_config("~population.disability.condition_rr.long_covid")


def test_long_covid_multipliers_act_on_its_hazards(make_config):
    from sim.engine.categories import CONDITIONS
    from sim.engine.pathways import weibull_weekly_hazards

    cfg = make_config("population.n=4000", "horizon_weeks=30")
    model = RTWModel(cfg)
    lc, cmd = CONDITIONS.index("long_covid"), CONDITIONS.index("cmd")
    spec, pw = cfg["population"]["long_covid"], cfg["pathways"]
    weeks = model.pathways.n_weeks
    ratio = (weibull_weekly_hazards(pw["rtw"]["scale_weeks"]["cmd"] * spec["rtw_scale_x"],
                                    pw["rtw"]["shape"]["cmd"], weeks)
             / weibull_weekly_hazards(pw["rtw"]["scale_weeks"]["cmd"],
                                      pw["rtw"]["shape"]["cmd"], weeks))
    np.testing.assert_allclose(model.pathways.rtw_table[lc * 3 + 1] / model.pathways.rtw_table[
        cmd * 3 + 1], ratio)
    people = model.people.condition
    no_oh = (people == lc) & ~model.people.oh_access  # OH raises the phased share
    assert model.pathways.phased_share[no_oh][0] == pytest.approx(
        min(1.0, pw["phased_return"]["share"]["cmd"] * spec["phased_share_x"]))
    assert (people == lc).mean() == pytest.approx(0.02, abs=0.008)


def test_long_covid_in_group_tables_and_eligibility(make_config):
    res = simulate(make_config("programme=rtw_coordinator", "population.n=3000",
                               "horizon_weeks=26",
                               "programme.components.rtw_coordinator.eligibility.conditions="
                               "[long_covid]"))
    groups = res.summary.loc[res.summary["dimension"] == "condition", "group"]
    assert "long_covid" in set(groups)
    enrolled = res.agents.loc[res.agents["enrolled_any"], "condition"]
    assert len(enrolled) > 0 and (enrolled == "long_covid").all()


POPULATION_FIT_BAD = [
    ("population=nope", "Could not find 'population/nope'"),
    ("low=abc", "low: got 'abc', expected a number"),
    ("seed=x", "seed: got 'x', expected an integer"),
    ("bogus", "Error parsing override 'bogus'"),
]


@pytest.mark.parametrize("arg, message", POPULATION_FIT_BAD)
def test_population_fit_bad_input_is_refused_before_any_run(arg, message):
    """In-process (tests/conftest.py analysis_bad_input): the app's compose and task refuse
    every input before its first run, in one line."""
    from tests.conftest import analysis_bad_input

    line = analysis_bad_input("calibrate_population.py", [arg])
    assert "\n" not in line and message in line


# through the real command line: a value the app's own check refuses, an override Hydra
# cannot parse
@pytest.mark.parametrize("arg, message", [POPULATION_FIT_BAD[1], POPULATION_FIT_BAD[3]])
def test_population_fit_bad_input_is_one_line_before_any_run(arg, message):
    """experiments/calibrate_population.py checks every input before its first run: one
    line on stderr, exit 2, no traceback (it writes nothing in any case)."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "experiments" / "calibrate_population.py"
    proc = subprocess.run([sys.executable, str(script), arg], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in proc.stderr
    assert "multiplier" not in proc.stdout  # no run started


@pytest.mark.parametrize("over, message", [
    ({"target": "nope"}, "no registry value 'nope'"),
    ({"high": 0.4}, "low=0.5, high=0.4: expected 0 < low < high"),
    ({"low": True}, "low: got True, expected a number"),
    ({"population": "nope"}, "Could not find 'population/nope'"),
])
def test_population_fit_settings_checked_before_any_run(over, message):
    """The same checks in this process (sim.uncertainty.calibrate_population), on the
    settings of configs/analysis/calibrate_population.yaml."""
    from pathlib import Path

    import yaml
    from hydra.errors import HydraException

    from sim.uncertainty.calibrate_population import check_settings

    path = Path(__file__).resolve().parent.parent / "configs" / "analysis"
    base = yaml.safe_load((path / "calibrate_population.yaml").read_text())
    c = {k: v for k, v in base.items() if k not in ("defaults", "hydra")}
    with pytest.raises((ValueError, HydraException)) as info:  # launch: one line, exit 2
        check_settings({**c, **over})
    assert message in str(info.value)
