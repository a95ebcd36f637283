"""make calibration-check (experiments/calibration_check.py, sim.results.calibration_check):
inputs checked before any run, the model config it runs, the table it prints."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.results import calibration_check as check

REPO = Path(__file__).resolve().parent.parent


def settings(**over) -> dict:
    base = yaml.safe_load((REPO / "configs" / "analysis" / "calibration_check.yaml").read_text())
    return {**{k: v for k, v in base.items() if k not in ("defaults", "hydra")}, **over}


@pytest.mark.parametrize("over, expected", [
    ({"populations": ["mars"]}, "populations: unknown population 'mars'; choose from: "
                                "fit_note_cohort, nhs_workforce, out_of_work, workforce"),
    ({"populations": []}, "populations: got [], expected a list of populations"),
    ({"n": 0}, "n: got 0, expected a positive integer"),
    ({"replicates": "5"}, "replicates: got '5'"),
    ({"seed": None}, "seed: got None, expected an integer"),
])
def test_bad_settings_are_one_line(over, expected):
    with pytest.raises(ValueError) as info:
        check.check_settings(settings(**over))
    assert expected in str(info.value)


def test_defaults_check_both_presets_with_the_given_sizes():
    c = check.check_settings(settings(n=2000, replicates=3, seed=4))
    assert c["populations"] == ["fit_note_cohort", "workforce"]
    cfg = check.model_config(c, "workforce")
    assert cfg["population"]["name"] == "workforce" and cfg["population"]["n"] == 2000
    assert (cfg["replicates"], cfg["seed"], cfg["programme"]["name"]) == (3, 4, "usual_care")


def test_table_has_one_row_per_target_with_its_range_and_source():
    cal = pd.DataFrame({"target": ["rtw_52w", "spells_5plus_weeks"],
                        "target_value": [0.8, 0.196], "simulated": [0.81234, 0.162],
                        "sim_low": [0.8, 0.151], "sim_high": [0.82, 0.174],
                        "source": ["DWP", "NICE PH19"]})
    lines = check.calibration_markdown(cal, "workforce (2 x 1,000 people, 104 weeks)").split("\n")
    assert lines[1] == "workforce (2 x 1,000 people, 104 weeks)"
    assert lines[3].startswith("| target | UK figure |") and len(lines) == 7
    assert lines[5] == "| rtw_52w | 0.8 | 0.812 (0.8-0.82) | DWP |"
