"""How long the interactive explorer (``make explore``) takes to answer, at 20,000 people.

One update is what pressing Reset after changing a control costs: check the controls,
run what changed, compare with usual care (the report's functions), the plain-words
answer, and the page's views (the gaps table and the figures, as PNG, as the page draws
them). Each case is timed as CPU seconds of this process (``time.process_time``: the
machine may be shared, so wall time mostly measures the other users; the load average is
printed) and as wall seconds:

    first view           a fresh process: Hydra composition of the preset with the design
                         and with usual care, both arms, the comparison, the views
    lever changed        a lever of the design set to a value not seen before (referral
                         weeks and capacities; the target of issue 18): the design arm
                         reruns, usual care is the cached arm. Median and max of --levers
                         values; each value's time is printed, marked * when its gains
                         needed a new figure background (new axis limits: the data axes
                         redrawn over the kept static pixels, sim.explorer.figures)
    repeat               the same scenario again (Reset pressed again; back to a setting
                         seen before; only the person to follow changed): nothing reruns
    other design         a design not seen before (its Hydra composition is cached after
                         the first time: "composed" is the case with it cached; "composed
                         ahead": after the page's helper process, started at its first
                         view, has composed every design, on the second core: its CPU
                         seconds are printed apart)
    other seed           both arms rerun (usual care too: other people)
    prefetched           a lever changed, Reset pressed after the page's prefetch (which
                         starts when a control changes) has finished
    step                 Mesa's Step: the first builds the live models, later ones advance
                         both by one week

then the split of a "lever changed" update (the median of three more new values), timed
inside the page's own code path (the functions it calls, wrapped with CPU timers): the
design arm's model build, weekly loop (and the programme's part of it), its tables, the
comparison, the answer and the views.

    python experiments/explorer_bench.py [--n 20000] [--levers 8] [--repeats 3]

Target (issue 18): a new lever value answers in under 1 s at 20,000 people. Every update
runs in this one process on one core (nothing of an update is overlapped on a second core),
so the CPU seconds are what the page needs; the wall seconds add what other processes took.
The one thing on the second core is the page's helper process that composes the designs
ahead of time (the "composed ahead" case: its CPU seconds are printed apart, not counted).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import statistics
import time
from collections import defaultdict


def _clock(fn):
    c, w = time.process_time(), time.perf_counter()
    out = fn()
    return (time.process_time() - c, time.perf_counter() - w), out


def _render(model) -> None:
    """What the page draws for a new scenario: the gaps table and three figures as PNG."""
    from sim.explorer import app

    app.gaps_table(model)
    for key in ("states", "curves", "costs"):
        app.figure_png(model, key)


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


def _composed_ahead(n: int, design: str):
    """Another design, after the page's helper process has composed every design of the
    default preset (what the page starts at its first view; its CPU is the helper's, on
    the second core, printed here, not this process's)."""
    import resource

    from sim.explorer import compose
    from sim.explorer.scenario import Controls, background_pairs

    assert not compose.is_composed(Controls().population, design), design
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    pairs = [p for p in background_pairs() if p[0] == Controls().population]
    thread = compose.start_background(pairs)
    if thread is not None:
        thread.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(f"the page's helper process composed {len(pairs)} designs ahead of time: "
          f"{cpu:.1f} CPU-s of its own (second core, niced)")
    return _update(n, design=design)[0]


def _best(samples):
    return min(s[0] for s in samples), min(s[1] for s in samples)


def lever_values(k: int) -> list[dict]:
    """``k`` lever settings of the default design, none seen before in this process:
    referral weeks 2, 3, ... and capacities (starts per week per 100,000), alternating."""
    weeks = (str(w) for w in range(2, 2 + k))
    capacities = (str(c) for c in range(900, 900 + 150 * k, 150))
    return [{"refer_at_week": next(weeks)} if i % 2 == 0 else {"capacity": next(capacities)}
            for i in range(k)]


# the update path's parts: (module, attribute, class or None, label)
PARTS = (
    ("sim.engine.model", "__init__", "RTWModel", "model build"),
    ("sim.engine.model", "run", "RTWModel", "weekly loop"),
    ("sim.programme.interventions", "before_decisions", "Programme", "  of which programme"),
    ("sim.programme.interventions", "after_decisions", "Programme", "  of which programme"),
    ("sim.simulate", "agent_outcomes", None, "tables"),
    ("sim.simulate", "group_summary", None, "tables"),
    ("sim.simulate", "programme_table", None, "tables"),
    ("sim.simulate", "economics_table", None, "tables"),
    ("sim.explorer.runs", "rtw_curve_table", None, "tables"),
    ("sim.explorer.runs", "compare_for_page", None, "comparison"),
    ("sim.explorer.runs", "answer_lines", None, "answer"),
    ("sim.explorer.app", "gaps_table", None, "gaps table"),
)


def split(n: int, controls: dict) -> dict:
    """CPU seconds of each part of one lever update, timed in the page's own path."""
    from sim.explorer import app

    acc: dict[str, float] = defaultdict(float)
    undo = []

    def timed(fn, label):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            c = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                acc[label] += time.process_time() - c
        return wrapper

    for module, attr, cls, label in PARTS:
        owner = importlib.import_module(module)
        owner = getattr(owner, cls) if cls else owner
        original = getattr(owner, attr)
        undo.append((owner, attr, original))
        setattr(owner, attr, timed(original, label))
    figures = dict(app.FIGURES)
    for key, make in figures.items():
        app.FIGURES[key] = timed(make, f"{key} figure")
    try:
        (total, _), _ = _update(n, **controls)
    finally:
        for owner, attr, original in undo:
            setattr(owner, attr, original)
        app.FIGURES.update(figures)
    labels = dict.fromkeys([label for *_, label in PARTS]
                           + [f"{key} figure" for key in figures])
    out = {label: acc[label] for label in labels if label in acc}
    out["rest (checks, Hydra settings, caches)"] = total - sum(
        v for k, v in acc.items() if not k.startswith("  "))
    return {"total": total, **out}


SPLITS = 3  # new lever values timed part by part (the split printed is their median)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--levers", type=int, default=8, help="new lever values to time")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-split", action="store_true", help="skip the split of one update")
    args = ap.parse_args()
    n, k = args.n, args.repeats
    from sim.explorer import figures
    print(f"== explorer at {n:,} people (default view: multicomponent vs usual care) ==")
    print(f"at the start: {_load()}")
    t, _ = _clock(lambda: __import__("sim.explorer.app"))
    print(f"import of the page's modules: {t[0]:.2f} CPU-s ({t[1]:.2f} s wall)")
    first, model = _update(n)
    rows = [("first view", first)]
    levers = lever_values(args.levers + SPLITS)
    new, redrawn = [], []
    for c in levers[:args.levers]:
        before = figures.backgrounds_drawn()
        new.append(_update(n, **c)[0])
        redrawn.append(figures.backgrounds_drawn() > before)
    cpu, wall = [s[0] for s in new], [s[1] for s in new]
    rows.append(("repeat", _best([_update(n, **levers[0])[0] for _ in range(k)])))
    rows.append(("repeat, other person", _best([_update(n, follow=str(i))[0]
                                                for i in range(1, 1 + k)])))
    rows.append(("other design", _update(n, design="rtw_coordinator")[0]))
    rows.append(("other design, composed", _update(n, design="rtw_coordinator",
                                                   refer_at_week="3")[0]))
    rows.append(("other seed", _update(n, seed="2")[0]))
    rows.append(("other design, composed ahead by the page's helper process",
                 _composed_ahead(n, "work_focused_cbt")))
    rows.append(("lever changed, prefetched", _prefetched(n, refer_at_week="40")))
    print(f"explorer update, new lever value ({len(new)} values: referral weeks and "
          f"capacities): median {statistics.median(cpu):.2f} CPU-s, max {max(cpu):.2f} "
          f"CPU-s ({statistics.median(wall):.2f} s and {max(wall):.2f} s wall, "
          "all of it on this process's one core)")
    print("  each value (CPU-s; * a new figure background: new axis limits): " + ", ".join(
        f"{next(iter(c.values()))} {'weeks' if 'refer_at_week' in c else 'per 100k'} "
        f"{s[0]:.2f}{'*' if r else ''}" for c, s, r in zip(levers, new, redrawn,
                                                           strict=False)))
    for name, (c, w) in rows:
        print(f"explorer update, {name}: {c:.2f} CPU-s ({w:.2f} s wall)")
    (c1, _), _ = _clock(model.step)
    (c10, _), _ = _clock(lambda: [model.step() for _ in range(10)])
    print(f"explorer step: first {c1:.2f} CPU-s (builds the live models), then "
          f"{100 * c10:.0f} CPU-ms per week")
    if not args.no_split:
        runs = [split(n, c) for c in levers[args.levers:]]
        parts = {k: statistics.median(r.get(k, 0.0) for r in runs) for k in runs[0]}
        total = parts.pop("total")
        print(f"one new lever value, split (median of {len(runs)} values; {total:.2f} CPU-s "
              "in all): " + ", ".join(f"{name.strip()} {c:.2f}" for name, c in parts.items()))
    print(f"at the end: {_load()}")


if __name__ == "__main__":
    main()
