"""Performance figures for the weekly loop, the tables, memory and start-up.

Prints, for each population size x horizon (default 1M people x 104 and x 260 weeks,
default programme), on lines of their own:

    loop: <ns> ns/agent-week = <r>x one PCG64 double   weekly loop vs one draw per agent-week
    loop split / movers / loop by week   where the loop's time goes (by part; by week:
                                         a cohort's first weeks, the weeks after a year)
    vectorised: <X> M agent-weeks/s      weekly loop of the vectorised engine
    per-agent: <Y> M agent-weeks/s       scalar reference engine (Mesa agents.do("step"))
    ratio: <X/Y>x
    tables: <s> s (group_summary <s>)
    end-to-end: <s> s (population, model, run, tables, outputs)
    outputs split: files, gap decomposition, figures, the rest
    peak memory: <MB> MB = <B> bytes/person above the <MB> MB after imports

then the loop of a steady population (``--steady``, default ``workforce``: people in work
at the start, so they move at the rate of a working population all along, not at a
cohort's start) at the largest size and the shortest horizon, the fixed start-up cost
(``python -m sim --help`` and importing what a run imports, min of 3 fresh processes) and
the explorer's update times.

The machine is shared, so every time is this process's CPU time (``time.process_time``; the
wall clock counts other people's work), and the loop is measured as a ratio within one
process: its CPU time per agent-week against the CPU time per uniform double of a PCG64
fill of n doubles made before each week (timed week by week inside the run, so under the
same load, and subtracted from the loop's time); a standalone PCG64 fill of the same size
is printed beside it.
Each size runs in a fresh subprocess so its peak memory is its own. The per-agent engine
is measured on a smaller population (it is ~100x+ slower) and its rate compared with the
vectorised rate at the full size. At the longest horizon ``python -m sim`` also runs end to
end in a fresh process (``--no-cli`` skips it), with its manifest's CPU split and its peak
memory per person (above the same run's peak at 1,000 people: the run's own figure, without
the worker's 8-byte-a-person reference buffer).
Targets (issue 19, 2-core machine): loop <= 4x one PCG64 double per agent-week; 1M x
260 end to end < 10 s; peak <= 400 bytes/person; start-up < 1 s.

    python experiments/bench.py [--sizes 100000 1000000] [--weeks 104 260]
    python experiments/bench.py --explorer-only     # just the explorer's update times

Then the interactive explorer (``make explore``) at its default 20,000 people: seconds for
one update of the default view (what pressing Reset after changing a control costs), in a
fresh process: the first view (Hydra composition and both arms), a changed lever (the design
arm reruns, usual care is reused), another design (composition + design arm), another seed
(both arms), and Step (the first builds the live models, later ones advance one week).
Target (issue 18): an update of the default view under 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def pcg_ns_per_double(n: int, repeats: int = 5) -> float:
    """Nanoseconds per uniform double of a PCG64 fill of ``n`` (min of ``repeats``)."""
    import numpy as np

    buf = np.empty(n)
    gen = np.random.Generator(np.random.PCG64(1))
    best = float("inf")
    for _ in range(repeats):
        t = time.process_time()
        gen.random(out=buf)
        best = min(best, time.process_time() - t)
    return best / n * 1e9


def worker(n: int, weeks: int, population: str, engine: str) -> dict:
    from sim.config import load_config
    from sim.engine.model import RTWModel
    from sim.engine.population import synthesise
    from sim.results.manifest import peak_memory_mb
    from sim.results.outcomes import group_summary
    from sim.results.output import write_results
    from sim.simulate import simulate

    cfg = load_config([f"population={population}", f"population.n={n}",
                       f"horizon_weeks={weeks}", f"engine={engine}"])
    base_mb = peak_memory_mb()
    pcg_before = pcg_ns_per_double(n)
    clock = time.process_time  # CPU time: the machine is shared
    t0 = clock()
    people = synthesise(cfg["population"], cfg["seed"], cfg["replicates"])
    t1 = clock()
    model = RTWModel(cfg, people=people)
    t2 = clock()
    draw_seconds, weekly = reference_draws(model, n, clock)
    part_seconds = time_loop_parts(model, clock)
    results = simulate(cfg, model=model, free_model=True)  # as python -m sim does
    # agent-weeks by state over the observed weeks (warm-up weeks are not counted)
    state_weeks = model.weekly_counts[:-1].sum(axis=(0, 1)).tolist()
    del model  # simulate released its loop state; the tables do not need the rest
    t3 = clock()
    write_split = time_writing(clock)
    with tempfile.TemporaryDirectory() as tmp:
        write_results(results, Path(tmp) / "results")
    t4 = clock()
    # the run's peak (build, loop, tables, writing), read before the bench's own extras
    # below (a second group summary and a PCG64 buffer of n doubles: +30-45 bytes a person
    # on top of the run's tables, issue 19's session 16)
    peak = peak_memory_mb()
    pcg_after = pcg_ns_per_double(n)
    t = clock()
    group_summary(results.agents, results.config)
    summary_s = clock() - t
    agent_weeks = results.timings["agent_weeks"]
    pcg_in_loop = sum(draw_seconds) / agent_weeks * 1e9
    run_s = results.timings["run_cpu_seconds"] - sum(draw_seconds)  # the loop's own time
    split = loop_split(part_seconds, state_weeks, agent_weeks) if engine == "vectorised" else {}
    return {
        "loop_split": split,
        "by_week": loop_by_week(weekly, draw_seconds, n) if engine == "vectorised" else {},
        "n": n,
        "mode": cfg["population"]["mode"],  # "cohort": everyone starts absent
        "weeks": weeks,
        "engine": engine,
        "population_s": t1 - t0,
        "model_s": t2 - t1,
        "run_s": run_s,
        "tables_s": results.timings["tables_cpu_seconds"],
        "summary_s": summary_s,
        "outputs_s": t4 - t3,
        "write_split": write_split,
        "end_to_end_s": t4 - t0,
        "rate_m": agent_weeks / run_s / 1e6,
        "ns_per_agent_week": run_s / agent_weeks * 1e9,
        # the reference is a PCG64 fill of n doubles before each week, timed as the run goes:
        # on a shared machine it sees the same load as the loop (a standalone fill before or
        # after can catch a quiet moment and make the ratio meaningless)
        "pcg_ns": pcg_in_loop,
        "pcg_standalone_ns": min(pcg_before, pcg_after),
        "pcg_in_loop_ns": pcg_in_loop,
        "peak_mb": peak,
        "base_mb": base_mb,
        "bytes_per_person": (peak - base_mb) * 2**20 / n,
    }


def time_writing(clock) -> dict:
    """Wrap what writing a run's results spends its time on (the gap decomposition's three
    counterfactual runs, the figures with matplotlib's import, the parquet and csv files)
    to add up their CPU seconds; the rest of ``outputs`` is summary.md and the manifest."""
    import pandas as pd

    from sim.results import output

    seconds = {"decomposition": 0.0, "figures": 0.0, "files": 0.0}
    depth = [0]  # a timed call inside another (write_parquet's pandas path) counts once

    def timed(part, method):
        def run(*args, **kwargs):
            t = clock()
            depth[0] += 1
            try:
                return method(*args, **kwargs)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    seconds[part] += clock() - t
        return run

    output.for_results = timed("decomposition", output.for_results)
    t = clock()
    from sim.results import plots  # what write_results imports to draw (matplotlib)

    seconds["figures"] += clock() - t
    plots.draw_figures = timed("figures", plots.draw_figures)
    output._figure_tables = timed("figures", output._figure_tables)  # the curves' table
    for name in ("to_parquet", "to_csv"):
        setattr(pd.DataFrame, name, timed("files", getattr(pd.DataFrame, name)))
    output.with_person_economics = timed("files", output.with_person_economics)
    output.write_parquet = timed("files", output.write_parquet)  # agents.parquet's too
    return seconds


def reference_draws(model, n: int, clock) -> tuple[list, list]:
    """Before each week, a PCG64 fill of ``n`` doubles (what the loop itself drew every week
    until session 15; its draws are now counter-based, for the people who decide only),
    timed and then subtracted from the loop's time: the reference sees the same load as
    the loop. The buffer is freed after the last week (it is not the run's memory).
    Returns the fills' seconds and each week's own (the step after its fill)."""
    import numpy as np

    gen = np.random.Generator(np.random.PCG64(1))
    held = [np.empty(n)]
    seconds, weekly = [], []
    step, weeks = model.step, model.warmup + model.horizon

    def step_after_reference():
        t = clock()
        gen.random(out=held[0])
        seconds.append(clock() - t)
        if len(seconds) == weeks:
            held[0] = None
        t = clock()
        step()
        weekly.append(clock() - t)

    model.step = step_after_reference
    return seconds, weekly


FIRST_WEEKS = 10  # a cohort's start: most of its people change state in these weeks


def loop_by_week(weekly: list, fills: list, n: int) -> dict:
    """The first ``FIRST_WEEKS`` weeks' share of the loop, and the weeks after the first
    year (``steady``) in ns an agent-week and as a multiple of their own PCG64 fills."""
    total = sum(weekly)
    out = {"first_s": sum(weekly[:FIRST_WEEKS]), "first_share": sum(weekly[:FIRST_WEEKS])
           / max(total, 1e-12)}
    if len(weekly) > 52:
        steady, fill = sum(weekly[52:]), sum(fills[52:])
        out["steady_ns"] = steady / (n * (len(weekly) - 52)) * 1e9
        out["steady_x"] = steady / max(fill, 1e-12)
    return out


# The weekly loop's parts (sim.engine.vectorised / model): what each one's CPU time is spent
# on, for the "loop split" line.
LOOP_PARTS = {
    "working": ("_decide_working",), "absent": ("_decide_absent",),
    "phased": ("_decide_phased",), "out_of_work": ("_decide_unemployed", "_decide_inactive"),
    "transitions": ("_apply",), "scheduling": ("_week_draws", "_reschedule_after"),
    # the transition draws of everyone out of work, one call a week (until session 16 inside
    # the absent, phased and out_of_work parts)
    "draws": ("_transition_draws_of",),
    "ageing": ("_age",), "observe": ("_observe",),
}


def time_loop_parts(model, clock) -> dict:
    """Wrap the model's per-week parts to add up their CPU seconds as the run goes (a few
    calls a week: the wrappers cost nothing measurable); ``movers`` counts the people who
    changed state (what ``_apply`` returns), the work that moves and scheduling scale with."""
    seconds = dict.fromkeys(LOOP_PARTS, 0.0)
    seconds["movers"] = 0
    for part, names in LOOP_PARTS.items():
        for name in names:
            method = getattr(model, name)

            def timed(*args, _method=method, _part=part):
                t = clock()
                out = _method(*args)
                seconds[_part] += clock() - t
                if _part == "transitions":
                    seconds["movers"] += len(out[0])
                return out

            setattr(model, name, timed)
    return seconds


def loop_split(seconds: dict, state_weeks, agent_weeks: int) -> dict:
    """ns per agent-week of each part, and per agent-week of the state it decides for
    (``state_weeks``: agent-weeks by state code, from the weekly counts)."""
    from sim.engine.categories import STATES

    total = sum(state_weeks)  # shares of the observed weeks stand for the whole run's
    by_state = {s: w / total * agent_weeks for s, w in zip(STATES, state_weeks, strict=True)}
    seconds = dict(seconds)
    movers = seconds.pop("movers", 0)
    out = {part: s / agent_weeks * 1e9 for part, s in seconds.items()}
    # people changing state: per 1,000 agent-weeks, and the CPU of the moves and the
    # rescheduling they cause per mover (ns)
    out["movers_per_1000"] = movers / agent_weeks * 1e3
    if movers:
        out["ns_per_mover"] = (seconds["transitions"] + seconds["scheduling"]) / movers * 1e9
    per_state = {"working": ("working",), "absent": ("absent",), "phased": ("phased",),
                 "out_of_work": ("unemployed", "inactive", "inactive_benefit")}
    for part, states in per_state.items():
        weeks = sum(by_state[s] for s in states)
        if weeks:
            out[f"{part}_per_own_week"] = seconds[part] / weeks * 1e9
    return out


def startup() -> dict:
    """Fixed start-up: fresh processes, min of 3 (seconds of CPU, user + system, of the
    child: the wall clock of a shared machine counts other work)."""
    probes = {
        "python": [sys.executable, "-c", "pass"],
        "help": [sys.executable, "-m", "sim", "--help"],
        "imports": [sys.executable, "-c",
                    "import sim.__main__, sim.simulate, sim.results.output, sim.results.economics"],
    }
    out = {}
    for name, cmd in probes.items():
        best = float("inf")
        for _ in range(3):
            before = os.times()
            subprocess.run(cmd, capture_output=True, check=True, cwd=REPO)
            after = os.times()
            best = min(best, (after.children_user - before.children_user)
                       + (after.children_system - before.children_system))
        out[name] = best
    return out


def cli_end_to_end(n: int, weeks: int, population: str) -> dict:
    """``python -m sim`` end to end in a fresh process (default outputs): the child's CPU
    seconds and wall seconds, the build / loop / tables CPU split from its manifest, and its
    peak memory (MiB, from the manifest) with the bytes per person above the peak of the
    same command at 1,000 people (imports, config, figures: what every run has; the
    worker's figure also holds the bench's own reference buffer, 8 bytes a person)."""
    def run(people: int) -> tuple:
        with tempfile.TemporaryDirectory() as tmp:
            before, wall = os.times(), time.perf_counter()
            subprocess.run([sys.executable, "-m", "sim", f"population={population}",
                            f"population.n={people}", f"horizon_weeks={weeks}",
                            "output.latest_link=false", f"hydra.run.dir={tmp}/run"],
                           capture_output=True, check=True, cwd=REPO)
            wall = time.perf_counter() - wall
            after = os.times()
            manifest = json.loads((Path(tmp) / "run" / "results" / "manifest.json").read_text())
        cpu = (after.children_user - before.children_user
               + after.children_system - before.children_system)
        return cpu, wall, manifest

    _, _, small = run(1_000)
    cpu, wall, manifest = run(n)
    t = manifest["timings"]
    peak, base = manifest.get("peak_memory_mb"), small.get("peak_memory_mb")
    per_person = (peak - base) * 2**20 / n if peak and base else float("nan")
    process = manifest.get("process", {})
    main_cpu = process.get("cpu_seconds", cpu)  # the main process (to its manifest)
    return {"cpu": cpu, "wall": wall, "build": t["build_cpu_seconds"],
            "run": t["run_cpu_seconds"], "tables": t["tables_cpu_seconds"],
            "rest": main_cpu - t["cpu_seconds"], "main_cpu": main_cpu,
            "helper_cpu": cpu - main_cpu if process.get("helper_process") else 0.0,
            "overlap": ", ".join(name for key, name in (
                ("helper_process", "gap decomposition and figures in a helper process"),
                ("agents_thread", "agents.parquet in a thread beside the tables, a row "
                                  "group as its people are costed"))
                if process.get(key)) or "nothing",
            "peak_mb": peak, "base_mb": base, "bytes_per_person": per_person}


def explorer_worker(n: int) -> dict:
    from sim.explorer.adapter import ExplorerModel

    def timed(**controls):
        t = time.perf_counter()
        model = ExplorerModel(n=str(n), **controls)
        assert model.error is None, model.error
        return time.perf_counter() - t, model

    first, model = timed()
    levers = [timed(refer_at_week=str(w))[0] for w in (5, 6, 7)]
    design = timed(design="rtw_coordinator")[0]
    seed = timed(seed="2")[0]
    t = time.perf_counter()
    model.step()
    first_step = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(10):
        model.step()
    step = (time.perf_counter() - t) / 10
    return {"n": n, "first": first, "levers": levers, "design": design, "seed": seed,
            "first_step": first_step, "step": step}


def run_explorer(n: int) -> None:
    out = subprocess.run([sys.executable, __file__, "--explorer-worker", str(n)],
                         capture_output=True, text=True, check=True, cwd=REPO)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"== explorer, default view at {r['n']:,} people (design vs usual care) ==")
    print(f"explorer update, lever changed: {min(r['levers']):.2f} s "
          f"(min of {len(r['levers'])}; max {max(r['levers']):.2f})")
    print(f"explorer update, other design: {r['design']:.2f} s; other seed (both arms): "
          f"{r['seed']:.2f} s; first view: {r['first']:.2f} s")
    print(f"explorer step: first {r['first_step']:.2f} s (builds the live models), then "
          f"{1000 * r['step']:.0f} ms per week")
    sys.stdout.flush()


def print_loop(fast: dict) -> None:
    """The loop's lines: its cost against PCG64 fills, its split by part, its movers and
    its cost by week."""
    print(f"loop: {fast['ns_per_agent_week']:.1f} ns/agent-week (CPU) = "
          f"{fast['ns_per_agent_week'] / fast['pcg_ns']:.1f}x one PCG64 double "
          f"(a fill of n before each week, {fast['pcg_ns']:.2f} ns each; a standalone "
          f"fill {fast['pcg_standalone_ns']:.2f} ns)")
    sp = fast["loop_split"]
    print("loop split (ns/agent-week): " + ", ".join(
        f"{part} {sp[part]:.2f}" for part in LOOP_PARTS)
        + "; per agent-week of its own state: "
        + ", ".join(f"{part} {sp[part + '_per_own_week']:.1f}"
                    for part in ("working", "absent", "phased", "out_of_work")
                    if part + "_per_own_week" in sp))
    if "ns_per_mover" in sp:
        print(f"movers: {sp['movers_per_1000']:.1f} per 1,000 agent-weeks; moves and "
              f"scheduling {sp['ns_per_mover']:.0f} ns per mover (= "
              f"{sp['transitions'] + sp['scheduling']:.1f} ns/agent-week: scattered "
              f"reads and writes of each mover's columns)")
    bw = fast["by_week"]
    if "steady_ns" in bw:
        print(f"loop by week: the first {FIRST_WEEKS} weeks {bw['first_s']:.2f} s = "
              f"{100 * bw['first_share']:.0f}% of the loop; the weeks after the first "
              f"year {bw['steady_ns']:.1f} ns/agent-week = {bw['steady_x']:.1f}x their "
              "own PCG64 fills" + (" (a cohort's start is where most of its people move)"
                                   if fast["mode"] == "cohort" else ""))


def bad_arguments(args) -> str | None:
    """What is wrong with the command line, in one line (None: nothing), before any run."""
    known = sorted(p.stem for p in (REPO / "configs" / "population").glob("*.yaml"))
    for flag, name in (("--population", args.population), ("--steady", args.steady)):
        if name not in known and not (flag == "--steady" and name == "none"):
            return f"{flag}: got {name!r}, expected one of {known}"
    for flag, values in (("--sizes", args.sizes), ("--weeks", args.weeks),
                         ("--agents-n", [args.agents_n]),
                         ("--agents-weeks", [args.agents_weeks])):
        if min(values) < 1:
            return f"{flag}: got {min(values)}, expected positive integers"
    return None


def run_worker(n, weeks, population, engine):
    out = subprocess.run(
        [sys.executable, __file__, "--worker", str(n), str(weeks), population, engine],
        capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--weeks", type=int, nargs="+", default=[104, 260])
    ap.add_argument("--population", default="fit_note_cohort")
    ap.add_argument("--steady", default="workforce",
                    help="also the loop of this population (one already in work, not a "
                         "cohort that starts absent) at the largest size and shortest "
                         "horizon; 'none' skips it")
    ap.add_argument("--agents-n", type=int, default=20_000,
                    help="population for the per-agent engine measurement")
    ap.add_argument("--agents-weeks", type=int, default=26)
    ap.add_argument("--explorer-n", type=int, default=20_000)
    ap.add_argument("--explorer-only", action="store_true")
    ap.add_argument("--no-explorer", dest="explorer", action="store_false",
                    help="skip the explorer's update times")
    ap.add_argument("--no-cli", dest="cli", action="store_false",
                    help="skip the python -m sim end-to-end run at the longest horizon")
    ap.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--explorer-worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.explorer_worker:
        print(json.dumps(explorer_worker(args.explorer_worker)))
        return
    if args.explorer_only:
        run_explorer(args.explorer_n)
        return
    if args.worker:
        n, weeks, population, engine = args.worker
        print(json.dumps(worker(int(n), int(weeks), population, engine)))
        return

    bad = bad_arguments(args)
    if bad:
        print(f"bench: {bad}", file=sys.stderr)
        sys.exit(2)
    slow = run_worker(args.agents_n, args.agents_weeks, args.population, "agents")
    for n in args.sizes:
        for weeks in args.weeks:
            fast = run_worker(n, weeks, args.population, "vectorised")
            print(f"== {n:,} agents x {weeks} weeks ({args.population}, usual_care) ==")
            print_loop(fast)
            print(f"vectorised: {fast['rate_m']:.1f} M agent-weeks/s")
            print(f"per-agent: {slow['rate_m']:.3f} M agent-weeks/s "
                  f"(measured on {slow['n']:,} agents x {slow['weeks']} weeks)")
            print(f"ratio: {fast['rate_m'] / slow['rate_m']:.0f}x")
            print(f"tables: {fast['tables_s']:.2f} s (group_summary {fast['summary_s']:.2f} s)")
            print(f"end-to-end in one process: {fast['end_to_end_s']:.2f} s CPU (population "
                  f"{fast['population_s']:.2f}, model {fast['model_s']:.2f}, run "
                  f"{fast['run_s']:.2f}, tables {fast['tables_s']:.2f}, outputs "
                  f"{fast['outputs_s']:.2f})")
            w = fast["write_split"]
            print(f"outputs split: files {w['files']:.2f} s (agents.parquet with its cost "
                  f"columns, the other tables), gap decomposition {w['decomposition']:.2f}, "
                  f"figures {w['figures']:.2f} (matplotlib's import included), the rest "
                  f"{fast['outputs_s'] - sum(w.values()):.2f}")
            print(f"peak memory: {fast['peak_mb']:.0f} MB = {fast['bytes_per_person']:.0f} "
                  f"bytes/person above the {fast['base_mb']:.0f} MB after imports")
            sys.stdout.flush()
            if args.cli and weeks == max(args.weeks):
                c = cli_end_to_end(n, weeks, args.population)
                print(f"cli end-to-end (python -m sim, default outputs): wall {c['wall']:.2f} "
                      f"s, {c['cpu']:.2f} s CPU = main process {c['main_cpu']:.2f} (build "
                      f"{c['build']:.2f}, loop {c['run']:.2f}, tables {c['tables']:.2f}, the "
                      f"rest (start-up, config, writing) {c['rest']:.2f}) + helper "
                      f"{c['helper_cpu']:.2f}; overlapped: {c['overlap']}; peak of the main "
                      f"process {c['peak_mb']:.0f} MiB = "
                      f"{c['bytes_per_person']:.0f} bytes/person above the "
                      f"{c['base_mb']:.0f} MiB of the same run at 1,000 people")
                sys.stdout.flush()
    if args.steady != "none":
        n, weeks = max(args.sizes), min(args.weeks)
        steady = run_worker(n, weeks, args.steady, "vectorised")
        print(f"== the loop of a steady population: {n:,} agents x {weeks} weeks "
              f"({args.steady}, usual_care) ==")
        print_loop(steady)
        sys.stdout.flush()
    s = startup()
    print(f"start-up (CPU): python -m sim --help {s['help']:.2f} s; imports of a run "
          f"{s['imports']:.2f} s (bare interpreter {s['python']:.2f} s; min of 3)")
    sys.stdout.flush()
    if args.explorer:
        run_explorer(args.explorer_n)


if __name__ == "__main__":
    main()
