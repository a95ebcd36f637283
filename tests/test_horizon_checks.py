"""Settings that reach beyond the horizon, sustained RTW without censoring bias, and
evidence_values the design never reads (issue 12, items 6 and 10).

Through the real entry point (``python -m sim``) where the user sees the result (a refusal,
a warning), in-process (``simulate`` and ``write_results``, what the CLI calls) where only
the tables and the summary are checked, with unit tests of the rules underneath."""

import subprocess
import sys
import warnings

import pandas as pd
import pytest

from sim.config import ConfigError, ConfigWarning, validate
from tests.conftest import REPO

SMALL = ("population.n=2000", "output.plots=false", "output.write_agents=false",
         "output.latest_link=false")


def _cli(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def _run(run_dir, *overrides) -> None:
    """What ``python -m sim *SMALL *overrides hydra.run.dir=run_dir`` writes to
    run_dir/results, in-process (the same simulate and write_results; no interpreter
    start-up)."""
    from sim.config import load_config
    from sim.results.output import write_results
    from sim.simulate import simulate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfigWarning)  # metrics a short horizon leaves out
        cfg = load_config([*SMALL, *overrides])
        write_results(simulate(cfg), run_dir / "results")


def _sustained(run_dir) -> dict:
    s = pd.read_parquet(run_dir / "results" / "group_summary.parquet")
    s = s[(s["dimension"] == "all") & s["metric"].str.startswith("sustained_rtw_")]
    return {(r.metric, r.replicate): (r.value, r.n) for r in s.itertuples()}


def test_sustained_rtw_is_the_same_at_horizons_52_and_104(tmp_path):
    """Issue 12 (6): with sustained_weeks=26 the same people gave 82.6% sustained RTW within
    52 weeks at horizon 52 but 92.3% at 104, because a return after week 26 could not be
    followed 26 weeks before the horizon and counted as not sustained. Now every figure is
    among people followed w + 26 weeks: identical trajectories give identical figures, and
    a figure that cannot be observed at 52 weeks is left out (documented, not warned: the
    last RTW week's sustained figure is never observable at that horizon)."""
    for h in (52, 104):
        _run(tmp_path / str(h), "replicates=2", "outcomes.sustained_weeks=26",
             f"horizon_weeks={h}")
    short, long_ = _sustained(tmp_path / "52"), _sustained(tmp_path / "104")
    shared = set(short) & set(long_)
    assert {m for m, _ in shared} == {"sustained_rtw_13w", "sustained_rtw_26w"}
    for key in shared:
        assert short[key] == long_[key], key  # value and denominator, exactly
    assert ("sustained_rtw_52w", 0) in long_ and ("sustained_rtw_52w", 0) not in short
    # the 52-week figure at horizon 104 counts everyone (cohort, all followed 78 weeks)
    assert long_[("sustained_rtw_52w", 0)][1] == 2000


def test_sustained_label_names_the_configured_weeks(tmp_path):
    """The summary said "(4+ weeks)" whatever outcomes.sustained_weeks was."""
    _run(tmp_path, "outcomes.sustained_weeks=26")
    text = (tmp_path / "results" / "summary.md").read_text()
    assert "| Sustained return (26+ weeks in work) within 52 weeks |" in text
    assert "4+ weeks" not in text


NONSENSE = [
    (("horizon_weeks=52", "outcomes.sustained_weeks=60"),
     "config error: outcomes.sustained_weeks: got 60, expected at most horizon_weeks (52): "
     "no return could be followed 60 weeks in work"),
    (("programme=rtw_coordinator", "horizon_weeks=52",
      "programme.components.rtw_coordinator.eligibility.refer_at_week=52"),
     "config error: programme.components.rtw_coordinator.eligibility.refer_at_week: got 52, "
     "expected less than horizon_weeks (52): no absence reaches week 52 while the programme "
     "runs, so nobody would be referred"),
    (("programme=rtw_coordinator", "+evidence_values.cost_mdt=100"),
     "config error: evidence_values.cost_mdt: programme 'rtw_coordinator' never reads this "
     "entry, so overriding it would change nothing; it reads coordination_vogel2017_hr, "
     "cost_rtw_coordinator, persistence_half_life_assumed, coordination_vogel2017_lasting"),
    (("+evidence_values.coordination_vogel2017_hr=1.5",),
     "config error: evidence_values.coordination_vogel2017_hr: programme 'usual_care' never "
     "reads this entry, so overriding it would change nothing; it reads no registry entry"),
]


@pytest.mark.parametrize("overrides,message", NONSENSE)
def test_nonsense_beyond_the_horizon_or_unread_is_refused_before_any_work(tmp_path, overrides,
                                                                          message):
    """Issue 12 (10): these ran silently (0% sustained, nobody referred, byte-identical
    runs). Now the pre-flight refuses them, in one line (in-process: what ``python -m sim``
    checks before Hydra starts; the command line once, below)."""
    import sim.__main__ as cli
    from sim.cli.preflight import prepare
    from sim.errors import ConfigError

    out = tmp_path / "run"
    with pytest.raises(ConfigError) as info:
        prepare([*SMALL, *overrides, f"hydra.run.dir={out}"], task_function=cli.main)
    assert f"config error: {info.value}" == message
    assert not out.exists()


def test_cli_nonsense_beyond_the_horizon_is_one_line_exit_2(tmp_path):
    """The command line turns the pre-flight's refusal into one line and exit status 2,
    writing nothing."""
    overrides, message = NONSENSE[0]
    out = tmp_path / "run"
    r = _cli(*SMALL, *overrides, f"hydra.run.dir={out}")
    assert r.returncode == 2
    assert r.stderr.strip() == message
    assert not out.exists()


def test_cli_weeks_beyond_the_horizon_warn_and_leave_the_metric_out(tmp_path):
    """Issue 12 (10): rtw_weeks / snapshot_weeks beyond the horizon made metrics vanish
    silently. The run is right (nothing can be observed there), and one warning line
    names every metric left out."""
    r = _cli(*SMALL, "horizon_weeks=40", "outcomes.rtw_weeks=[13,60]",
             "outcomes.snapshot_weeks=[13,50]", f"hydra.run.dir={tmp_path}")
    assert r.returncode == 0, r.stderr[-2000:]
    warning = [line for line in r.stderr.splitlines() if line.startswith("config warning")]
    assert warning == [
        "config warning: horizon_weeks=40: not reported: rtw_60w and sustained_rtw_60w "
        "(outcomes.rtw_weeks 60)"]
    metrics = set(pd.read_parquet(tmp_path / "results" / "group_summary.parquet")["metric"])
    assert {"rtw_13w", "sustained_rtw_13w", "in_work_13w"} <= metrics
    assert not {"rtw_60w", "sustained_rtw_60w", "in_work_50w"} & metrics


def test_warning_is_a_python_warning_for_the_api(make_config):
    cfg = make_config("population.n=500")
    cfg["horizon_weeks"] = 30
    with pytest.warns(ConfigWarning, match="rtw_52w and sustained_rtw_52w"):
        validate(cfg)
    cfg["horizon_weeks"] = 104
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConfigWarning)
        validate(cfg)  # the default RTW weeks all fit in 104 weeks


def test_refer_week_may_reach_into_a_workforce_warm_up(make_config):
    """People absent since the warm-up can reach a late referral week: allowed up to
    horizon + warm-up, refused from there."""
    cfg = make_config("population=workforce", "population.n=500", "programme=rtw_coordinator")
    warm = cfg["population"]["warmup_weeks"]
    assert warm > 0
    spec = cfg["programme"]["components"]["rtw_coordinator"]
    spec["eligibility"]["refer_at_week"] = cfg["horizon_weeks"] + warm - 1
    validate(cfg)
    spec["eligibility"]["refer_at_week"] = cfg["horizon_weeks"] + warm
    with pytest.raises(ConfigError, match="population.warmup_weeks"):
        validate(cfg)


def test_refer_week_bound_is_where_referrals_stop(make_config):
    """The rule matches the model: at horizon - 1 people are still referred."""
    from sim.simulate import simulate

    cfg = make_config("programme=rtw_coordinator", "population.n=3000", "horizon_weeks=12")
    cfg["programme"]["components"]["rtw_coordinator"]["eligibility"]["refer_at_week"] = 11
    cfg["programme"]["components"]["rtw_coordinator"]["access"]["referral"] = 1.0
    programme = simulate(cfg, core_only=True).programme
    assert programme["referred_or_waiting"].sum() > 0


def test_read_evidence_ids_follow_what_the_design_reads(make_config):
    from sim.programme.effects import read_evidence_ids

    multi = make_config("programme=multicomponent")
    assert "multidomain_bonus_hr" in read_evidence_ids(multi)
    # with one domain left, nobody can be in two domains: the term is never read
    single = make_config("programme=multicomponent")
    for key in ("work_focused_cbt", "graded_return"):
        del single["programme"]["components"][key]
    assert "multidomain_bonus_hr" not in read_evidence_ids(single)
    single["evidence_values"] = {"multidomain_bonus_hr": 1.5}
    with pytest.raises(ConfigError, match="never reads this entry"):
        validate(single)
    multi["evidence_values"] = {"multidomain_bonus_hr": 1.5, "cost_rtw_coordinator": 10.0}
    assert validate(multi)["evidence_values"]["multidomain_bonus_hr"] == 1.5
