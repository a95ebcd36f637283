"""Evidence registry (sim/evidence/registry.py, configs/evidence/): loading, validation with
one-line
errors, references from configs, sampling, the table command, and the CLI pre-flight."""

import copy
import io
import os
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from sim.config import CONFIG_DIR, ConfigError
from sim.evidence import registry as evidence
from sim.evidence.registry import EvidenceError, load_registry, sample_entry, validate_entry

REPO = CONFIG_DIR.parent
Z = stats.norm.ppf(0.975)

GOOD = {
    "value": 1.29, "ci": [1.03, 1.61], "uncertainty_reported": True,
    "measure": "hr_time_to_rtw", "followup_weeks": 52,
    "population": {"text": "regional MSK pain", "conditions": ["msk"]},
    "source": "Cochrane A et al. 2017", "brief_ref": 55, "certainty": "moderate",
    "conversion": {"method": "trial-level HR", "function": "hr_for_target_cox_hr"},
    "assumption": False,
}


def test_registry_loads_with_sources_and_reasons():
    registry = load_registry()
    assert len(registry) > 50
    files = {Path(e.file).stem for e in registry.values()}
    assert files == {"effects", "uk_targets", "costs", "economics", "labour_market",
                     "gradients", "levers", "populations"}
    for e in registry.values():
        assert e.source
        if e.assumption:
            assert e.reason, e.id
        if e.value is not None:
            assert e.ci is not None or e.distribution is not None, e.id


def _config_refs():
    """Every string that names an evidence id in component, modifier and programme YAML."""
    refs = []
    for group in ("component", "modifier", "programme"):
        for path in (CONFIG_DIR / group).glob("*.yaml"):
            data = yaml.safe_load(path.read_text()) or {}
            for block in ("effects", "cost"):
                for key, value in (data.get(block) or {}).items():
                    if isinstance(value, str):
                        refs.append((f"{path.name}: {block}.{key}", value))
            for key in ("cost_per_participant_gbp",):
                if isinstance(data.get(key), str):
                    refs.append((f"{path.name}: {key}", data[key]))
            combine = data.get("combine") or {}
            if isinstance(combine.get("multidomain_hr"), str):
                refs.append((f"{path.name}: combine.multidomain_hr", combine["multidomain_hr"]))
    return refs


def test_every_id_named_by_a_config_exists():
    registry = load_registry()
    refs = _config_refs()
    assert len(refs) > 20  # effects and costs of every component, modifiers, designs
    missing = [(where, ref) for where, ref in refs if ref not in registry]
    assert not missing


def test_every_design_passes_the_evidence_check(make_config):
    from sim.evidence.trials import all_designs

    for design in all_designs():
        make_config(f"programme={design}")  # validate() runs check_evidence_refs


# ---- bad entries -------------------------------------------------------------------------

def _without(key):
    bad = copy.deepcopy(GOOD)
    del bad[key]
    return bad


@pytest.mark.parametrize("entry,message", [
    (dict(GOOD, valu=1.2), "unknown field 'valu' (did you mean 'value'?)"),
    (dict(GOOD, value=0.0, ci=None), "must have value > 0, got 0"),
    (dict(GOOD, value=-1.2), "must have value > 0, got -1.2"),
    (dict(GOOD, ci=[1.3, 1.61]), "ci [1.3, 1.61] does not contain the value 1.29"),
    (dict(GOOD, ci=[1.61, 1.03]), "ci low 1.61 is above ci high 1.03"),
    (_without("source"), "missing required field 'source'"),
    (dict(GOOD, source="  "), "source must be non-empty text"),
    (dict(GOOD, assumption=True), "assumption is true but there is no reason"),
    (dict(GOOD, measure="odds_ratio"), "unknown measure 'odds_ratio'"),
    (dict(GOOD, certainty="strong"), "unknown certainty 'strong'"),
    (dict(GOOD, brief_ref=200), "brief_ref must be null or a reference number"),
    (dict(GOOD, measure="rr_rtw_at_followup", followup_weeks=None),
     "needs followup_weeks"),
    (dict(GOOD, conversion={"method": "x", "function": "magic"}),
     "conversion.function 'magic' is not a function"),
    (dict(GOOD, ci=None), "no uncertainty"),
    (dict(GOOD, population={"text": "x", "conditions": ["flu"]}), "unknown condition 'flu'"),
    (dict(GOOD, population={"text": "x", "setting": "hospital"}),
     "population.setting must be one of sick_leave, out_of_work, got 'hospital'"),
    (dict(GOOD, population={"text": "x", "enrolment_source": " "}),
     "population.enrolment_source must be non-empty text"),
    (dict(GOOD, measure="cost_gbp", unit="GBP per person", value=5.0, ci=None,
          distribution={"type": "uniform", "low": -1.0, "high": 10.0}),
     "a uniform for a non-negative measure needs low >= 0"),
    (dict(GOOD, distribution={"type": "uniform", "low": 0.0, "high": 2.0}),
     "a uniform for a ratio needs low > 0"),
])
def test_bad_entry_gives_one_line_naming_file_and_entry(entry, message):
    with pytest.raises(EvidenceError) as info:
        validate_entry("stepped_care_hr", entry, "configs/evidence/effects.yaml")
    text = str(info.value)
    assert text.startswith("configs/evidence/effects.yaml: entry 'stepped_care_hr': ")
    assert message in text
    assert "\n" not in text


def test_good_entry_is_accepted_with_its_distribution():
    e = validate_entry("stepped_care_hr", GOOD, "x.yaml")
    assert e.distribution["type"] == "lognormal"
    assert e.distribution["sdlog"] == pytest.approx((np.log(1.61) - np.log(1.03)) / (2 * Z))


def test_bad_file_names_the_file(tmp_path):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"one": GOOD}))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump({"one": GOOD}))
    with pytest.raises(EvidenceError, match=r"b\.yaml: entry 'one': duplicate id"):
        load_registry(tmp_path)
    (tmp_path / "b.yaml").write_text("two:\n  value: 1\n  value: 2\n")
    with pytest.raises(EvidenceError, match=r"b\.yaml: line 3: duplicate key 'value'"):
        load_registry(tmp_path)


# ---- sampling ------------------------------------------------------------------------------

def test_sampling_marginals_match_the_ci():
    registry = load_registry()
    rng = np.random.default_rng(5)
    checked = set()
    for e in registry.values():
        if e.distribution is None or e.ci is None or e.distribution["type"] in checked:
            continue
        draws = sample_entry(e, rng, 200_000)
        low, high = e.ci
        t = e.distribution["type"]
        if t == "lognormal":  # ratio: interval symmetric on the log scale around the value
            sd = (np.log(high) - np.log(low)) / (2 * Z)
            assert np.median(draws) == pytest.approx(e.value, rel=0.01)
            assert np.log(draws).std() == pytest.approx(sd, rel=0.01)
        else:  # normal, beta, gamma: mean = value, sd = CI width / (2 z)
            assert draws.mean() == pytest.approx(e.value, rel=0.01, abs=1e-3)
            assert draws.std() == pytest.approx((high - low) / (2 * Z), rel=0.02)
        checked.add(t)
    assert {"lognormal", "normal", "beta", "gamma"} <= checked
    # for a log-symmetric published interval the 2.5% and 97.5% quantiles are the CI
    e = registry["coordination_vogel2017_hr"]
    q = np.quantile(sample_entry(e, rng, 400_000), [0.025, 0.975])
    np.testing.assert_allclose(q, [np.exp(np.log(1.32) - Z * e.distribution["sdlog"]),
                                   np.exp(np.log(1.32) + Z * e.distribution["sdlog"])],
                               rtol=0.01)


# ---- the table command ---------------------------------------------------------------------

def _run_main(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = evidence.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_table_command_markdown_and_csv():
    n = len(load_registry())
    code, out, _ = _run_main("--format", "csv")
    assert code == 0
    df = pd.read_csv(io.StringIO(out))
    assert len(df) == n
    assert {"id", "measure", "value (95% CI)", "source/brief ref", "certainty",
            "assumption", "conversion"} <= set(df.columns)
    row = df.set_index("id").loc["ips_modini2016_rr"]
    assert row["value (95% CI)"] == "2.4 (1.99 to 2.9)"
    assert "[82]" in row["source/brief ref"] and "enrolled_hr_from_trial_hr" in row["conversion"]
    code, out, _ = _run_main()
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == n + 2 and lines[1].startswith("|---")


def test_table_command_bad_registry_exits_2(tmp_path):
    (tmp_path / "effects.yaml").write_text(yaml.safe_dump({"x": dict(GOOD, ci=[1.3, 1.6])}))
    code, out, err = _run_main("--dir", str(tmp_path))
    assert code == 2 and out == ""
    assert "entry 'x': ci [1.3, 1.6] does not contain the value 1.29" in err
    assert err.count("\n") == 1


# ---- pre-flight: the config names the registry --------------------------------------------

@pytest.mark.parametrize("override,message", [
    ("programme.components.rtw_coordinator.effects.rtw_hr=no_such_entry",
     "programme.components.rtw_coordinator.effects.rtw_hr: unknown evidence id "
     "'no_such_entry'"),
    ("programme.components.rtw_coordinator.effects.rtw_hr=ips_modini2016_rr",
     "evidence 'ips_modini2016_rr' has measure rr_employment"),
    ("programme.components.rtw_coordinator.cost.per_participant_gbp=stepped_care_hr",
     "cost.per_participant_gbp: evidence 'stepped_care_hr' has measure hr_time_to_rtw"),
    ("programme.components.rtw_coordinator.eligibility.state=unemployed",
     "is converted on people who are absent"),
    ("programme.combine.multidomain_hr=cost_mdt", "has measure cost_gbp"),
    ("+evidence_values.stepped_care_hr=-1", "evidence_values.stepped_care_hr: got -1.0"),
])
def test_config_referring_to_bad_evidence_fails_validation(make_config, override, message):
    with pytest.raises(ConfigError) as info:
        make_config("programme=rtw_coordinator", override)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_cli_unknown_evidence_id_is_one_line_exit_2(run_cli, tmp_path):
    r = run_cli("programme=rtw_coordinator",
                "programme.components.rtw_coordinator.effects.rtw_hr=vogel_typo",
                f"hydra.run.dir={tmp_path / 'run'}")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "config error: programme.components.rtw_coordinator.effects.rtw_hr: unknown evidence "
        "id 'vogel_typo', expected an id of configs/evidence/*.yaml")
    assert not (tmp_path / "run").exists()


def test_cli_broken_registry_fails_before_the_run(tmp_path):
    """A copy of the registry with one CI that does not contain its estimate, found from
    the working directory (the real registry is untouched)."""
    shutil.copytree(CONFIG_DIR / "evidence", tmp_path / "configs" / "evidence")
    path = tmp_path / "configs" / "evidence" / "effects.yaml"
    text = path.read_text()
    assert text.count("ci: [1.03, 1.61]") == 1
    path.write_text(text.replace("ci: [1.03, 1.61]", "ci: [1.30, 1.61]"))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-m", "sim", "programme=stepped_care_msk"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "config error: evidence registry: configs/evidence/effects.yaml: entry "
        "'stepped_care_hr': ci [1.3, 1.61] does not contain the value 1.29")
    assert not (tmp_path / "outputs").exists()
    assert load_registry()["stepped_care_hr"].ci == (1.03, 1.61)


def test_evidence_table_of_the_entries_a_design_uses(make_config):
    from sim.programme.effects import evidence_ids

    cfg = make_config("programme=culturally_adapted_mdt")
    ids = evidence_ids(cfg)
    assert ids[:2] == ["mdt_tingulstad2022_rr", "cost_mdt"]
    assert {"cancer_mdt_deboer2024_rr", "cost_cultural_adaptation"} <= set(ids)
    df = evidence.evidence_table(load_registry(), ids=ids)
    assert df["id"].tolist() == ids
    assert evidence_ids(make_config("programme=usual_care")) == []
