"""The designs x populations preset picks up every design by itself (programme: glob(*))."""

import yaml

from sim.compare.sweep import grid
from sim.config import CONFIG_DIR

DESIGNS = sorted(p.stem for p in (CONFIG_DIR / "programme").glob("*.yaml"))


def test_preset_sweeps_every_design_in_the_programme_directory():
    preset = yaml.safe_load((CONFIG_DIR / "experiment" / "designs_x_populations.yaml").read_text())
    params = preset["hydra"]["sweeper"]["params"]
    cells = grid([], params)
    assert sorted({c[0].split("=", 1)[1] for c in cells}) == DESIGNS
    assert len(cells) == 2 * len(DESIGNS)


def test_glob_filters_and_command_line_values_narrow_the_grid():
    cells = grid(["programme=glob(*,exclude=[usual_care])"], {"population": "a,b"})
    assert len(cells) == 2 * (len(DESIGNS) - 1)
    assert not any("programme=usual_care" in c for c in cells)
    assert grid(["programme=usual_care,ips_smi"], {}) == [["programme=usual_care"],
                                                         ["programme=ips_smi"]]
