"""The browser explorer: Mesa's visualization components on
:class:`sim.explorer.adapter.ExplorerModel` (why not the ``SolaraViz`` page itself: see
:func:`Page`).

Run it with ``make explore`` (http://127.0.0.1:8765, loopback only), or::

    .venv/bin/python -m solara run sim/explorer/app.py --host 127.0.0.1 --port 8765

Set the controls in the sidebar and press Mesa's **Reset** to apply them (Mesa's
convention); **Step** and **▶** run the live models week by week. Everything shown comes
from :mod:`sim.explorer.adapter` (pure, unit-tested); this module only draws it. Text that could
carry user input is shown as text, never as HTML.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import solara
from matplotlib.figure import Figure
from mesa.visualization import make_plot_component
from mesa.visualization.solara_viz import ModelController, ModelCreator
from mesa.visualization.utils import update_counter

from sim.engine.categories import CONDITION_LABELS, ETHNICITY_LABELS, STATES
from sim.evidence.registry import load_registry
from sim.explorer import compose
from sim.explorer.adapter import ExplorerModel
from sim.explorer.figures import MARGINS, PALETTE, costs_png, curves_png
from sim.explorer.runs import Prefetcher, _Memo
from sim.explorer.scenario import (
    DESIGNS,
    IMD_TARGETS,
    KEY_EVIDENCE,
    PRESETS,
    REFERENCE,
    Controls,
    background_pairs,
)
from sim.explorer.views import design_label, gaps_view

STATE_COLOURS = dict(zip(STATES, ("#009E73", "#D55E00", "#56B4E9", "#E69F00", "#999999",
                                  "#CC79A7", "#444444"), strict=True))


def _evidence_label(entry_id: str) -> str:
    e = load_registry()[entry_id]
    ci = f", 95% {e.ci[0]:g} to {e.ci[1]:g}" if e.ci else ""
    return f"Evidence {entry_id} (registry {e.value:g}{ci}; blank: registry)"


def _text(label, key, **extra):
    return {"type": "InputText", "value": getattr(Controls(), key), "label": label, **extra}


MODEL_PARAMS = {
    "population": {"type": "Select", "value": Controls().population, "values": list(PRESETS),
                   "label": "Population preset"},
    "n": _text("People per replicate", "n"),
    "design": {"type": "Select", "value": Controls().design, "values": list(DESIGNS),
               "label": "Design (compared with usual care)"},
    "refer_at_week": _text("Referral week (blank: the design's own)", "refer_at_week"),
    "capacity": _text("Capacity: starts per week per 100,000 (blank: the design's own)",
                      "capacity"),
    "imd_target": {"type": "Select", "value": Controls().imd_target,
                   "values": list(IMD_TARGETS), "label": "Eligible IMD quintiles"},
    "minority_referral": _text("Referral, minority ethnic groups (x White British)",
                               "minority_referral"),
    "minority_uptake": _text("Uptake, minority ethnic groups (x White British)",
                             "minority_uptake"),
    "deprived_uptake": _text("Uptake, IMD quintiles 1-2 (x quintile 5)", "deprived_uptake"),
    "dropout": _text("Drop-out, weekly hazard", "dropout"),
    "seed": _text("Seed", "seed"),
    "replicates": _text("Replicates (paired)", "replicates"),
    **{key: _text(_evidence_label(entry), key) for key, entry in KEY_EVIDENCE.items()},
    "follow": _text("Person to follow (row number)", "follow"),
}


def _names(model):
    d = model.setup.config["programme"]["name"]
    return d, design_label(d)


# ---- figures and tables (built once per pair of arms, except the live states) -------------


def _states_figure(model):
    d, label = _names(model)
    arms = [("design", label)] + ([] if model.same_arms else [(REFERENCE, "usual care")])
    fig = Figure(figsize=(7, 3.2), dpi=90)
    axes = fig.subplots(1, len(arms), sharey=True, squeeze=False)[0]
    for ax, (arm, title) in zip(axes, arms, strict=True):
        df = model.states_view(arm)
        ax.stackplot(df["week"], *[100 * df[s] for s in STATES], labels=STATES,
                     colors=[STATE_COLOURS[s] for s in STATES], step="post")
        ax.set_xlim(0, model.horizon)
        ax.set_ylim(0, 100)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("week")
    axes[0].set_ylabel("people (%)")
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.subplots_adjust(**MARGINS["states"])
    return fig


FIGURES = {"states": _states_figure, "curves": curves_png, "costs": costs_png}
_START = _Memo(32)  # the states figure before any step, by what it shows


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def figure_png(model: ExplorerModel, key: str) -> bytes:
    """The page's figure ``key`` as PNG. Drawing from scratch is a large part of an update
    (~0.1-0.6 CPU-s a figure), so each is drawn once: those of the full runs once per pair
    of arms (the outcome's view cache: Reset on a scenario seen before draws nothing), and
    then only the design's lines and bars over a kept background
    (:mod:`sim.explorer.figures`: ~0.02-0.05 CPU-s for a new lever value), the live
    states once per model and week, and the states before any step once per design label,
    population mode and horizon (all it shows)."""
    if key != "states":  # drawn over a kept background (sim.explorer.figures)
        return model.outcome.view(("png", key), lambda: FIGURES[key](model.outcome))
    if model.week == 0:
        start = (_names(model)[1], model.same_arms, model.horizon,
                 model.setup.config["population"]["mode"])
        return _START.get(start, lambda: _png(_states_figure(model)))
    live = model.__dict__.setdefault("_live_png", {})
    if live.get("week") != model.week:
        live.update(week=model.week, png=_png(_states_figure(model)))
    return live["png"]


def _interval(est, lo, hi, scale=100, fmt="{:+.2f}"):
    if not np.isfinite(est):
        return "-"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return fmt.format(scale * est) + " (2+ replicates for an interval)"
    return f"{fmt.format(scale * est)} ({fmt.format(scale * lo)} to {fmt.format(scale * hi)})"


def gaps_table(model: ExplorerModel) -> pd.DataFrame:
    """The gaps view as the page's table (once per pair of arms)."""
    names = {"sii": "Slope index of inequality, IMD (points)",
             "ethnic_gap": "Ethnic gap vs White British (points)"}

    def make():
        return pd.DataFrame([
            {"design": design_label(r.design), "measure": names[r.measure],
             "level (95% interval)": _interval(r.level, r.low, r.high, fmt="{:.2f}"),
             "change vs usual care (95% paired)": _interval(r.change, r.change_low,
                                                            r.change_high)}
            for r in gaps_view(model.outcome).itertuples()])

    return model.outcome.view("gaps", make)


# ---- components (each takes the model; the page re-draws them after every step) ---------


def _panel(model: ExplorerModel, key: str, title: str | None, body):
    """One view: a titled column (CSS class ``rtw-<key>``) holding ``body(model)``, or a
    dash when the controls are bad (the Answer panel shows the message itself)."""
    with solara.Column(classes=[f"rtw-{key}"]) as main:
        if title:
            solara.Markdown(f"### {title}")
        if model.error and key != "answer":
            solara.Text("-")
        else:
            body(model)
    return main


def _figure_body(key: str):
    def body(model):
        solara.Image(figure_png(model, key), format="png")
    return body


def _answer_body(model):
    if model.error:
        # (solara.Error fails to render with this Solara/ipyvuetify pair: plain text)
        solara.Text(model.error, classes=["rtw-error"],
                    style={"color": "#b00020", "font-weight": "bold"})
        solara.Text("Fix the value and press Reset.")
        return
    solara.Markdown("### The answer, over the full horizon")
    for label, text in model.outcome.answer:
        with solara.Row(gap="4px"):
            if label:
                solara.Text(label, style={"font-weight": "bold"})
            solara.Text(text)
    if model.setup.unused_evidence:
        solara.Text("Not used by this design, so without effect here: "
                    + ", ".join(model.setup.unused_evidence) + ".")
    solara.Text(f"Week {model.week} of {model.horizon} (Step or ▶ to run the live "
                "models).", classes=["rtw-week"])
    s = model.setup
    _download(s)
    solara.Text("Reproduce with:")
    solara.Preformatted(s.command() + "\n" + s.command(reference=True))


def _download(scenario) -> None:
    """The "download this scenario" link: the exact config as YAML (a data: URL, saved by
    the browser under ``download``). solara.FileDownload is a Vuetify template widget that
    renders nothing with this Solara/ipyvuetify pair (like solara.Error), so a plain link."""
    name = scenario.config["programme"]["name"]  # one of DESIGNS: no markup
    href = "data:application/x-yaml;base64," + base64.b64encode(
        scenario.yaml().encode("utf-8")).decode("ascii")
    solara.HTML(tag="a", unsafe_innerHTML="Download this scenario (YAML)",
                attributes={"href": href, "download": f"rtw-{name}.yaml"},
                classes=["rtw-download"],
                style="align-self: flex-start; padding: 6px 14px; border-radius: 4px; "
                      "background: #6200ea; color: white; text-decoration: none; "
                      "font-weight: 500; margin: 6px 0;")


def _gaps_body(model):
    solara.DataFrame(gaps_table(model), items_per_page=10)
    solara.Text("Level intervals: sampling (Fingertips simulation for the SII, binomial "
                "for the ethnic gap); changes: paired over replicates.")


def _who(who: dict) -> str:
    eth = dict(ETHNICITY_LABELS)
    return (f"{who['sex']}, aged {who['age_band']}, "
            f"{eth.get(who['ethnicity'], who['ethnicity'])}, IMD quintile "
            f"{who['imd_quintile']}, "
            f"{CONDITION_LABELS.get(who['condition'], who['condition'])} ({who['severity']}), "
            f"{who['occupation'].replace('_', '-')} work at a "
            f"{'small/medium' if who['employer_size'] == 'sme' else 'large'} employer, "
            f"{'with' if who['oh_access'] else 'no'} occupational health.")


def _runs(states: list[str]) -> str:
    """A weekly path as runs: ``absent w0-5, working w6-260``."""
    runs, last, start = [], None, 0
    for w, s in enumerate(states):
        if s != last:
            if last is not None:
                runs.append(f"{last} w{start}-{w - 1}")
            last, start = s, w
    runs.append(f"{last} w{start}-{len(states) - 1}")
    return ", ".join(runs)


def _person_body(model):
    v = model.person_view()
    solara.Text(f"Person {v['index']}: " + _who(v["who"]))
    d, label = _names(model)
    arms = [("design", label)] + ([] if model.same_arms else [(REFERENCE, "usual care")])
    for key, name in arms:
        o = v["outcomes"][key]
        rtw = (f"back at work {o['weeks_to_rtw']} weeks after the absence began"
               if o["weeks_to_rtw"] >= 0 else "not back at work")
        prog = (f", started the programme in week {o['programme_start_week']} "
                f"(GBP {o['programme_cost']:,.0f})" if o["programme_start_week"] >= 0 else "")
        solara.Text(f"Under {name}: {rtw}, {o['days_absent']:.0f} days absent, "
                    f"{o['relapses']} relapses{prog}; {o['final_state']} at the end.")
    if "path" not in v:
        solara.Text("Step the model to follow this person week by week.")
        return
    for key, name in arms:
        solara.Text(f"Live path, {name}: " + _runs(v["path"][key]), classes=["rtw-path"])
    live = v["live"]
    solara.Text("model.person(i).describe() now: " + ", ".join(
        f"{k}={live[k]}" for k in ("state", "state_since", "first_rtw", "relapses", "spells")))


# (key, title, body): the views, top to bottom
PANELS = (
    ("answer", None, _answer_body),
    ("states", "States week by week (live models)", _figure_body("states")),
    ("curves", "Return to work by group (full runs)", _figure_body("curves")),
    ("gaps", "Inequality gaps in RTW within 52 weeks", _gaps_body),
    ("costs", "Costs by perspective (discounted, GBP per person)", _figure_body("costs")),
    ("person", "Follow one person", _person_body),
)


InWork, _ = make_plot_component({"in work, design (%)": PALETTE[0],
                                 "in work, usual care (%)": PALETTE[1]})


def warm(controls: dict) -> None:
    """Everything Reset with these controls would compute and draw, into the caches."""
    model = ExplorerModel(**controls)
    if model.error is None:
        gaps_table(model)
        for key in FIGURES:
            figure_png(model, key)


PREFETCH = Prefetcher(warm)  # one per server process: its caches are shared by sessions


@solara.component
def Page():
    """Mesa's SolaraViz pieces (its ModelController: Reset / ▶ / Step, and ModelCreator for
    the parameters) with the views laid out in one column.

    Why not ``SolaraViz`` itself: it lays the components out in ``solara.GridDraggable``
    (vue-grid-layout loaded through requirejs). Checked again with Mesa 3.5.1, solara
    1.58.2 and solara-assets (which does ship vue-grid-layout and requirejs offline) in
    headless Chromium: SolaraViz's controls render, but its components area stays blank
    (the tab is drawn, the grid never mounts; no request fails and nothing reaches the
    network), so the page would show no view. The layout is done here instead; the model,
    its controls and Mesa's plot component are Mesa's own."""
    first = solara.use_memo(ExplorerModel, [])
    model = solara.use_reactive(first)
    params = solara.use_reactive({})
    play_interval = solara.use_reactive(150)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)
    with solara.AppBar():
        solara.AppBarTitle("rtw-sim explorer: return-to-work designs, who gains")
    update_counter.get()  # re-draw after every step (Mesa's force_update)
    # compose every design ahead of time, in a helper process (once per server process)
    solara.use_effect(lambda: compose.start_background(background_pairs()) and None, [])
    # start computing a changed scenario at once, before Reset asks for it
    solara.use_effect(lambda: PREFETCH.submit(params.value) if params.value else None,
                      [params.value])
    # controls in a left column (Solara's Sidebar overlays the views in this version)
    with solara.Columns([1, 3]):
        with solara.Column():
            with solara.Card("Run"):
                ModelController(model, model_parameters=params, play_interval=play_interval,
                                render_interval=render_interval, use_threads=use_threads)
                solara.Text("Set the scenario below, then press Reset to apply it.")
            with solara.Card("Scenario"):
                ModelCreator(model, MODEL_PARAMS, model_parameters=params)
        with solara.Column(style={"max-width": "1100px"}):
            for key, title, body in PANELS:
                with solara.Card():
                    _panel(model.value, key, title, body)
            with solara.Card():
                solara.Markdown("### Share in work, live (Mesa make_plot_component)")
                InWork(model.value)
