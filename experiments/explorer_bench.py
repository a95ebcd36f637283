"""How long the interactive explorer (``make explore``) takes to answer, at 20,000 people.

One update is what pressing Reset after changing a control costs: check the controls,
run what changed, compare with usual care (the report's functions), the plain-words
answer, and the page's views (the gaps table and the figures, rendered to PNG as the page
does). Each case is timed as CPU seconds of this process (``time.process_time``: the
machine is shared, so wall time mostly measures the other users) and as wall seconds:

    first view           a fresh process: Hydra composition of the preset with the design
                         and with usual care, both arms, the comparison, the views
    lever changed        a lever of the design (the referral week) set to a value not seen
                         before: the design arm reruns, usual care is the cached arm
    repeat               the same scenario again (Reset pressed again; back to a setting
                         seen before; only the person to follow changed): nothing reruns
    other design         a design not seen before (its Hydra composition is cached after
                         the first time: "composed" is the case with it cached)
    other seed           both arms rerun (usual care too: other people)
    prefetched           a lever changed, Reset pressed after the page's prefetch (which
                         starts when a control changes) has finished
    step                 Mesa's Step: the first builds the live models, later ones advance
                         both by one week

then the split of one "lever changed" update: checking the controls, the design arm's
weekly loop, its tables, the comparison, the answer and the views.

    python experiments/explorer_bench.py [--n 20000] [--repeats 3]

Target (issue 18): an update of the default view under 1 s.
"""

from __future__ import annotations

import argparse
import io
import time


def _clock(fn):
    c, w = time.process_time(), time.perf_counter()
    out = fn()
    return (time.process_time() - c, time.perf_counter() - w), out


def _render(model) -> None:
    """What the page draws for a new scenario: the gaps table and three figures as PNG."""
    from sim.explorer import app
    from sim.explorer.adapter import gaps_view

    if hasattr(app, "figure_png"):  # the page's own path: views cached per pair of arms
        app.gaps_table(model)
        for key in ("states", "curves", "costs"):
            app.figure_png(model, key)
    else:  # before the views were cached (for before/after figures)
        gaps_view(model.outcome)
        for make in (app._states_figure, app._curves_figure, app._costs_figure):
            make(model).savefig(io.BytesIO(), format="png")


def _update(n: int, **controls):
    """One update: the model (checks, runs, comparison) and the page's views."""
    from sim.explorer.adapter import ExplorerModel

    def go():
        model = ExplorerModel(n=str(n), **controls)
        assert model.error is None, model.error
        _render(model)
        return model

    return _clock(go)


def _prefetched(n: int, **controls):
    """Reset after the page's prefetch (started when the control changed) has finished:
    what the user waits for when they take longer than the prefetch to press Reset."""
    from sim.explorer import app

    app.PREFETCH.submit({"n": str(n), **controls})
    app.PREFETCH.wait_idle()
    return _update(n, **controls)[0]


def _best(samples):
    return min(s[0] for s in samples), min(s[1] for s in samples)


def split(n: int, week: int) -> dict:
    """CPU seconds of each part of one lever update (a referral week not seen before)."""
    from sim.compare.report import compare_cells
    from sim.engine.model import RTWModel
    from sim.explorer.adapter import Controls, build_scenario, run_arm
    from sim.explorer.runs import answer_lines
    from sim.explorer.views import gaps_view
    from sim.results.economics import economics_table
    from sim.results.outcomes import (
        agent_outcomes,
        group_summary,
        programme_table,
        rtw_curve_table,
    )

    out = {}
    (out["controls"], _), s = _clock(lambda: build_scenario(Controls(n=str(n),
                                                                     refer_at_week=str(week))))
    cfg = s.config
    (out["model build"], _), m = _clock(lambda: RTWModel(cfg))
    (out["weekly loop"], _), _ = _clock(m.run)

    def tables():
        agents = agent_outcomes(m)
        agents.attrs["horizon"] = cfg["horizon_weeks"]
        group_summary(agents, cfg)
        economics_table(agents, cfg, programme_table(m))
        rtw_curve_table(agents, cfg)

    (out["tables"], _), _ = _clock(tables)
    ref, des = run_arm(s.reference), run_arm(cfg)
    (out["comparison"], _), comp = _clock(lambda: compare_cells([ref.cell, des.cell]))
    (out["answer"], _), _ = _clock(lambda: answer_lines(comp))
    from sim.explorer.adapter import ExplorerModel

    model = ExplorerModel(n=str(n), refer_at_week=str(week))
    (out["gaps view"], _), _ = _clock(lambda: gaps_view(model.outcome))
    from sim.explorer import app

    for name, make in (("states figure", app._states_figure),
                       ("curves figure", app._curves_figure),
                       ("costs figure", app._costs_figure)):
        (out[name], _), _ = _clock(lambda make=make: make(model).savefig(io.BytesIO(),
                                                                        format="png"))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-split", action="store_true", help="skip the split of one update")
    args = ap.parse_args()
    n, k = args.n, args.repeats
    t, _ = _clock(lambda: __import__("sim.explorer.app"))
    print(f"== explorer at {n:,} people (default view: multicomponent vs usual care) ==")
    print(f"import of the page's modules: {t[0]:.2f} CPU-s ({t[1]:.2f} s wall)")
    first, model = _update(n)
    rows = [("first view", first)]
    rows.append(("lever changed", _best([_update(n, refer_at_week=str(w))[0]
                                         for w in range(2, 2 + k)])))
    rows.append(("repeat", _best([_update(n, refer_at_week="2")[0] for _ in range(k)])))
    rows.append(("repeat, other person", _best([_update(n, follow=str(i))[0]
                                                for i in range(1, 1 + k)])))
    rows.append(("other design", _update(n, design="rtw_coordinator")[0]))
    rows.append(("other design, composed", _update(n, design="rtw_coordinator",
                                                   refer_at_week="3")[0]))
    rows.append(("other seed", _update(n, seed="2")[0]))
    from sim.explorer import app

    if hasattr(app, "PREFETCH"):  # (not before the page prefetched: before/after figures)
        rows.append(("lever changed, prefetched",
                     _prefetched(n, refer_at_week=str(2 + k + 2))))
    for name, (cpu, wall) in rows:
        print(f"explorer update, {name}: {cpu:.2f} CPU-s ({wall:.2f} s wall)")
    (c1, _), _ = _clock(model.step)
    (c10, _), _ = _clock(lambda: [model.step() for _ in range(10)])
    print(f"explorer step: first {c1:.2f} CPU-s (builds the live models), then "
          f"{100 * c10:.0f} CPU-ms per week")
    if args.no_split:
        return
    parts = split(n, 2 + k + 1)
    total = sum(parts.values())
    print(f"one lever update, split ({total:.2f} CPU-s in all): " + ", ".join(
        f"{name} {cpu:.2f}" for name, cpu in parts.items()))


if __name__ == "__main__":
    main()
