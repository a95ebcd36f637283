"""Sweep benchmark: scenario-replicates per minute through the real Hydra multirun.

Runs ``python -m sim -m experiment=sweep_bench`` (100 cells = 10 designs x 2 populations x
5 values of an assumption; 10 replicates x 10,000 people x 104 weeks per cell) with the
joblib launcher, into a fresh sweep directory, and prints on lines of their own:

    cells: <complete>/<total>, failed: <k>
    wall: <s> s (whole command: pre-flight, Hydra, jobs, aggregation)
    sweep: <X> scenario-replicates/min
    load: <1-min load average before> -> <after> on <cores> cores

Target (issue 5, 2-core machine): the full sweep in under 2 minutes, i.e. at least 500
scenario-replicates/min. ``--quick`` runs 8 cells of 2,000 people to check the wiring.
``--profile`` adds where the time of each job went (from the cells' manifests) and the
share of core time spent inside ``simulate()`` (build, weekly loop, tables), and a
``CPU split`` line: all CPU the command used, by phase (pre-sweep in the parent; the jobs
inside and outside ``simulate()``; the workers outside jobs; aggregation tables; reports),
from ``sim.compare.sweep.record_timing`` and each job's ``cpu_seconds`` in progress.jsonl.
Shares of CPU time hardly change with other load on the machine; wall-clock figures do.

    python experiments/sweep_bench.py [--quick] [--workers 2] [--launcher rtw_joblib] [overrides]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# command-line sweeps replace the preset's values for the same key: 2 x 2 x 2 = 8 cells
QUICK = ["programme=usual_care,multicomponent", "pathways.rtw.manual_hr=0.9,1.0",
         "population.n=2000", "replicates=4"]


def worker_split(rows: list, progress: list) -> dict:
    """The launcher workers' CPU by phase, from execute_job_cached's job_start / job_config /
    job_end records (sim.cli.launchers) and the jobs' CPU in run_cell (progress.jsonl)."""
    by_pid: dict = {}
    for r in rows:
        if r["phase"].startswith("job_"):
            by_pid.setdefault(r["pid"], []).append(r)
    cell_cpu: dict = {}
    for r in progress:
        cell_cpu[r["pid"]] = cell_cpu.get(r["pid"], 0.0) + r.get("cpu_seconds", 0.0)
    out = {"start-up": 0.0, "config": 0.0, "hydra": 0.0, "between": 0.0}
    for pid, recs in by_pid.items():
        recs.sort(key=lambda r: r["cpu"])
        starts = [r["cpu"] for r in recs if r["phase"] == "job_start"]
        configs = [r["cpu"] for r in recs if r["phase"] == "job_config"]
        ends = [r["cpu"] for r in recs if r["phase"] == "job_end"]
        if not (starts and len(starts) == len(configs) == len(ends)):
            continue
        out["start-up"] += starts[0]
        out["config"] += sum(c - s for s, c in zip(starts, configs, strict=True))
        out["hydra"] += sum(e - c for c, e in zip(configs, ends, strict=True)) \
            - cell_cpu.get(pid, 0.0)
        out["between"] += sum(s - e for e, s in zip(ends, starts[1:], strict=False))
    return out


def print_cpu_split(timings: Path, progress: list, cpu_all: float, cpu_in: float) -> None:
    """Where the CPU time went (the parent's phases from sim.compare.sweep.record_timing,
    the jobs' CPU from progress.jsonl); shares of all CPU used, so load hardly matters."""
    rows = [json.loads(line) for line in timings.read_text().splitlines()]
    parent_pid = next((x["pid"] for x in rows if x["phase"] == "start"), None)
    parent = {r["phase"]: r["cpu"] for r in rows if r["pid"] == parent_pid}
    if not {"start", "jobs", "tables"} <= parent.keys():
        return
    # the index page written aside by one worker (report_job: all of it), else the settings'
    # reports written by several (report_setting: each setting)
    report_workers = sum(r["job_cpu"] for r in rows if r["phase"] == "report_job") or sum(
        r["setting_cpu"] for r in rows if r["phase"] == "report_setting"
        and r["pid"] != parent_pid)
    end = parent.get("report", parent["tables"])
    jobs = sum(r.get("cpu_seconds", 0.0) for r in progress)
    # the pre-flight's forked child (sim.cli.prefill), if any: its CPU counts as pre-sweep
    child = sum(r["child_cpu"] for r in rows if r["phase"] == "preflight_child")
    workers = cpu_all - end - child - jobs - report_workers  # start-up, Hydra per job
    split = worker_split(rows, progress)
    parts = [("pre-sweep (start-up, pre-flight, Hydra's cell check), parent", parent["start"]),
             ("pre-flight's child (second core)", child),
             ("launching (parent, while the jobs run)", parent["jobs"] - parent["start"]),
             ("jobs: inside simulate()", cpu_in),
             ("jobs: config, validation, writing results", jobs - cpu_in),
             ("workers outside jobs (start-up, Hydra per job)", workers),
             ("aggregation tables, parent", parent["tables"] - parent["jobs"]),
             ("reports (parent + workers)", end - parent["tables"] + report_workers)]
    sent = next((r.get("cells_sent") for r in rows if r["phase"] == "tables"
                 and r["pid"] == parent_pid), None)
    if sent is not None:
        print(f"cells whose tables their jobs sent back (not read from files): {sent}")
    print(f"CPU split ({cpu_all:.1f} CPU-s in all): " + "; ".join(
        f"{name} {v:.1f} s ({100 * v / max(cpu_all, 1e-9):.0f}%)" for name, v in parts))
    if any(split.values()):
        other = workers - sum(split.values())
        print("workers outside jobs: " + "; ".join(
            f"{name} {v:.1f} s" for name, v in [
                ("start-up to the first job (imports; none when forked)", split["start-up"]),
                ("each job's config (compose or unpickle, overrides)", split["config"]),
                ("Hydra's run_job around the cell", split["hydra"]),
                ("between jobs (the pool: arguments, results)", split["between"]),
                ("after the last job, exit", other)]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="8 small cells (wiring check)")
    parser.add_argument("--workers", type=int, default=2, help="joblib workers (default 2)")
    parser.add_argument("--launcher", default="rtw_joblib",
                        help="hydra/launcher (default rtw_joblib, the sweep default; joblib "
                             "is hydra-joblib-launcher without the per-worker config cache)")
    parser.add_argument("--keep", action="store_true", help="keep the sweep directory")
    parser.add_argument("--profile", action="store_true", help="per-job time breakdown")
    parser.add_argument("overrides", nargs="*",
                        help="extra Hydra overrides, e.g. a smaller grid: "
                             "programme=usual_care,multicomponent")
    args = parser.parse_args()

    sweep_dir = Path(tempfile.mkdtemp(prefix="sweep_bench_", dir=REPO / "outputs")
                     if (REPO / "outputs").is_dir() else tempfile.mkdtemp(prefix="sweep_bench_"))
    cmd = [sys.executable, "-m", "sim", "-m", "experiment=sweep_bench",
           f"hydra/launcher={args.launcher}", f"hydra.sweep.dir={sweep_dir}"]
    if args.launcher in ("joblib", "rtw_joblib"):
        cmd.append(f"hydra.launcher.n_jobs={args.workers}")
    if args.quick:
        cmd += QUICK
    cmd += args.overrides
    load_before = os.getloadavg()[0]
    t_start = time.time()
    t0 = time.perf_counter()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    timings = sweep_dir.with_name(sweep_dir.name + ".timings.jsonl")
    env = {**os.environ, "RTW_SIM_SWEEP_TIMINGS": str(timings)}
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_all = sum(getattr(cpu_after, f) - getattr(cpu_before, f)
                  for f in ("ru_utime", "ru_stime"))
    load_after = os.getloadavg()[0]
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        print(f"sweep failed (exit {proc.returncode}); directory kept: {sweep_dir}")
        return 1
    total = json.loads((sweep_dir / "sweep.json").read_text())["total"]
    manifests = [json.loads(p.read_text())
                 for p in sweep_dir.glob("cells/*/results/manifest.json")]
    failed = len(list(sweep_dir.glob("cells/*/FAILED.json")))
    scenario_reps = sum(m["replicates"] for m in manifests)
    people = {m["n_agents"] // m["replicates"] for m in manifests}
    weeks = {m["horizon_weeks"] for m in manifests}
    print(f"cells: {len(manifests)}/{total}, failed: {failed} "
          f"({sorted(people)} people x {sorted(weeks)} weeks per replicate)")
    print(f"wall: {wall:.1f} s (whole command: pre-flight, Hydra, jobs, aggregation)")
    print(f"sweep: {60 * scenario_reps / wall:,.0f} scenario-replicates/min")
    print(f"load: {load_before:.2f} -> {load_after:.2f} on {os.cpu_count()} cores")
    if args.profile and manifests:
        progress = [json.loads(line) for line in
                    (sweep_dir / "progress.jsonl").read_text().splitlines()]
        job_s = sum(r["seconds"] for r in progress)
        parts = {k: sum(m["timings"].get(k, 0.0) for m in manifests)
                 for k in ("build_seconds", "run_seconds", "tables_seconds")}
        other = job_s - sum(parts.values())
        print(f"job time (sum over jobs): {job_s:.1f} s = "
              + ", ".join(f"{k.removesuffix('_seconds')} {v:.1f} s" for k, v in parts.items())
              + f", writing + config {other:.1f} s; "
              f"outside jobs (start-up, pre-flight, Hydra, aggregation): "
              f"{wall - job_s / max(args.workers, 1):.1f} s of wall")
        inside = sum(parts.values())
        print(f"inside simulate(): {100 * inside / (wall * args.workers):.0f}% of core time "
              f"({inside:.1f} of {wall * args.workers:.1f} core-s = wall x {args.workers} "
              f"workers; target >= 80%)")
        timed = sum(m["timings"].get("cpu_seconds", 0.0) for m in manifests)
        # the CPU of the simulate() call itself (run_cell), which also counts the quality
        # table simulate() builds after its own clock stops; older sweeps: the manifests'
        cpu_in = sum(r.get("simulate_cpu_seconds", 0.0) for r in progress) or timed
        print(f"inside simulate(), by CPU time: {100 * cpu_in / max(cpu_all, 1e-9):.0f}% "
              f"({cpu_in:.1f} of {cpu_all:.1f} CPU-s used by the whole command and its "
              f"workers; unlike the wall-clock share, other load on the machine hardly "
              f"changes it; build + loop + tables as simulate() times them: {timed:.1f} "
              f"CPU-s = {100 * timed / max(cpu_all, 1e-9):.0f}%)")
    if args.profile and manifests:
        started = json.loads((sweep_dir / "sweep.json").read_text())["started"]
        by_worker: dict = {}
        for r in progress:
            by_worker.setdefault(r["pid"], []).append(r)
        for pid, rows in sorted(by_worker.items()):
            span = max(r["time"] for r in rows) - started
            busy = sum(r["seconds"] for r in rows)
            print(f"worker {pid}: {len(rows)} cells, {busy:.1f} s in cells, "
                  f"{span - busy:.1f} s outside them (Hydra per job, start-up)")
        last = max(r["time"] for r in progress)
        print(f"before the sweep started: {started - t_start:.1f} s (start-up, pre-flight); "
              f"after the last cell: {t_start + wall - last:.1f} s (aggregation, exit)")
    if args.profile and manifests and timings.is_file():
        print_cpu_split(timings, progress, cpu_all, cpu_in)
    timings.unlink(missing_ok=True)
    if args.keep:
        print(f"sweep directory: {sweep_dir}")
    else:
        shutil.rmtree(sweep_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
