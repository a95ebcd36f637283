"""Plain words that never overclaim (sim/compare/report_words.py): pinned wording."""

import math

from sim.compare.report_words import discovery_line, gap_line, noise_warning

NAMES = {"a": "Design A", "b": "Design B"}


def test_narrows_most_only_when_a_narrowing_clears_the_noise():
    firm = gap_line("Ethnic gap", "the ethnic gap", {"a": (-0.02, -0.03, -0.01),
                                                    "b": (-0.01, -0.02, 0.005)}, NAMES, 0.05)
    assert "Design A narrows the ethnic gap most, by -2.0 (-3.0 to -1.0)" in firm


def test_nothing_narrows_says_so_and_names_no_most():
    """The bug: the design with the smallest change was called the one that narrows most,
    even when it widened the gap."""
    text = gap_line("Ethnic gap", "the ethnic gap", {"a": (0.01, 0.005, 0.015),
                                                    "b": (0.002, -0.001, 0.005)}, NAMES, 0.05)
    assert "most" not in text
    assert "no design narrows the ethnic gap: every design leaves it as it is or widens it" \
        in text
    assert "Design A widens it, by +1.0 (+0.5 to +1.5)" in text


def test_a_fall_within_the_noise_is_not_a_narrowing():
    text = gap_line("Deprivation gap", "the deprivation gap", {"a": (-0.004, -0.01, 0.002)},
                    NAMES, 0.1)
    assert "most" not in text
    assert ("no design narrows the deprivation gap by more than the simulation noise: the "
            "largest fall, Design A's, is -0.4 (-1.0 to +0.2) percentage points and its "
            "interval includes zero (usual care 10.0 percentage points)") in text


def test_names_are_escaped():
    text = gap_line("Gap", "the gap", {"x": (-0.02, -0.03, -0.01)}, {"x": "<b>x</b>"}, 0.1)
    assert "&lt;b&gt;x&lt;/b&gt;" in text


def test_discovery_box_is_no_finding_without_a_significant_restriction():
    text = discovery_line(30, 100, "evidence_x > 1.2", 0)
    assert text.startswith("Scenario discovery: 30/100 points fail (30%); no finding:")
    assert "not concentrated" in text and "box: " not in text
    assert discovery_line(30, 100, "evidence_x > 1.2", 1).endswith("box: evidence_x > 1.2")


def test_gsa_noise_warning():
    assert noise_warning(0.1) == ""
    warn = noise_warning(1.5)
    assert "150% of the output variance" in warn and "the indices are noise" in warn
    assert "cannot be read as findings" in noise_warning(0.6)
    assert "unknown" in noise_warning(math.nan)
