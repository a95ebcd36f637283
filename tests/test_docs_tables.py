"""docs/DESIGNS.md is generated from the YAML, and a new component + design need no Python."""

import shutil
import textwrap

from sim import docs_tables
from sim.config import CONFIG_DIR, load_config
from sim.simulate import simulate


def test_committed_designs_doc_is_up_to_date():
    """Fails when a component or design was added or changed without rerunning
    ``python -m sim.docs_tables`` (which rewrites docs/DESIGNS.md)."""
    assert docs_tables.DOC.read_text(encoding="utf-8") == docs_tables.designs_markdown()


def test_every_design_and_component_has_its_row():
    text = docs_tables.DOC.read_text(encoding="utf-8")
    for group in ("component", "programme"):
        for name in docs_tables.names(CONFIG_DIR, group):
            assert f"| `{name}` |" in text, (group, name)


def test_a_yaml_only_component_and_design_run_and_appear_in_the_docs(tmp_path):
    """A throwaway component and a design using it, in a copy of configs/: YAML only."""
    cfg_dir = tmp_path / "configs"
    shutil.copytree(CONFIG_DIR, cfg_dir)
    for p in (cfg_dir / "programme").glob("*.yaml"):  # keep the doc build small
        if p.stem not in ("usual_care", "rtw_coordinator"):
            p.unlink()
    (cfg_dir / "component" / "peer_mentor_xyz.yaml").write_text(textwrap.dedent("""\
        # throwaway component for the test: a copy of the RTW coordinator's evidence
        defaults:
          - /access@access: inverse_care
          - /effect_modification@effect_modification: none
          - _self_

        label: Peer mentor <b>test</b>
        domain: coordination
        duration_weeks: 10
        effect_lag_weeks: 0
        eligibility:
          state: absent
          refer_at_week: 3
          conditions: [cmd, msk]
          severities: [mild, moderate, severe]
          imd_quintiles: [1, 2, 3, 4, 5]
        capacity:
          starts_per_week_per_100k: null
          priority: fifo
          max_wait_weeks: 12
        effects:
          rtw_hr: coordination_vogel2017_hr
        cost:
          fixed_per_week_gbp: 0
          per_participant_gbp: cost_rtw_coordinator
          per_participant_week_gbp: 0
        sources:
          duration_weeks: "assumption: test"
          effect_lag_weeks: "assumption: test"
          capacity: "assumption: test"
          effect_modification: "assumption: test"
          domain: "assumption: test"
          eligibility: "assumption: test"
          effects: "assumption: test (Vogel 2017 entry reused)"
          cost: "assumption: test"
        """))
    (cfg_dir / "programme" / "peer_mentoring_xyz.yaml").write_text(textwrap.dedent("""\
        defaults:
          - /component@components.peer_mentor_xyz: peer_mentor_xyz
          - _self_

        name: peer_mentoring_xyz
        description: "Peer mentoring | a throwaway design"
        combine:
          rule: domain_strongest
          multidomain_hr: 1.0
        modifiers: {}
        """))
    overrides = ["population.n=2000", "horizon_weeks=26", "outcomes.rtw_weeks=[13,26]",
                 "outcomes.snapshot_weeks=[6,13,26]"]
    cfg = load_config(["programme=peer_mentoring_xyz", *overrides], config_dir=cfg_dir)
    base = load_config(["programme=usual_care", *overrides], config_dir=cfg_dir)
    res, ref = simulate(cfg), simulate(base)
    prog = res.programme
    assert "peer_mentor_xyz" in set(prog["component"]) and prog["started"].sum() > 0
    rtw = res.summary.query("dimension == 'all' and metric == 'rtw_26w'")["value"].iloc[0]
    rtw0 = ref.summary.query("dimension == 'all' and metric == 'rtw_26w'")["value"].iloc[0]
    assert rtw > rtw0  # HR > 1 on RTW for the people it reaches, same random numbers
    doc = docs_tables.designs_markdown(cfg_dir)
    row = next(ln for ln in doc.splitlines() if ln.startswith("| `peer_mentor_xyz` |"))
    assert "&lt;b&gt;" in row and "<b>" not in row  # user text escaped
    assert "week 3, cmd, msk" in row and "`coordination_vogel2017_hr`" in row
    design = next(ln for ln in doc.splitlines() if ln.startswith("| `peer_mentoring_xyz` |"))
    assert "`peer_mentor_xyz`" in design and "Peer mentoring \\| a throwaway" in design
