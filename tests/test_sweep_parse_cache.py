"""sim.cli.launchers.parse_override_lines: Hydra's parse of override lines, each distinct
line parsed once per process (issue 19); the same results, copies, Hydra's errors."""

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import OverrideParseException

from sim.cli import launchers


def test_parse_override_lines_equals_hydra_and_hands_out_copies():
    lines = ["programme=ips_smi", "population.n=2000", "+x.y=[1,2]", "~output.plots",
             "hydra.launcher.n_jobs=2", "programme=ips_smi", "a=${b}"]
    launchers._PARSED.clear()
    first = launchers.parse_override_lines(lines)
    again = launchers.parse_override_lines(lines)
    want = OverridesParser.create().parse_overrides(lines)
    assert first == want and again == want
    assert all(a is not b for a, b in zip(first, again, strict=True))
    assert first[0] is not first[5]  # a repeated line: two objects
    first[1].input_line = "changed"  # a caller's change does not reach the next caller
    assert launchers.parse_override_lines(["population.n=2000"])[0].input_line == \
        "population.n=2000"
    assert len(launchers._PARSED) == 6


def test_parse_override_lines_raises_hydras_error():
    with pytest.raises(OverrideParseException) as ours:
        launchers.parse_override_lines(["programme=ips_smi", "bad=[1,"])
    with pytest.raises(OverrideParseException) as hydras:
        OverridesParser.create().parse_overrides(["programme=ips_smi", "bad=[1,"])
    assert str(ours.value) == str(hydras.value)
    assert "bad=[1," not in launchers._PARSED
