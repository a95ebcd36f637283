"""Hydra sweeps: launchers agree byte for byte, resume, failures, kill safety, presets."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pandas as pd
import psutil
import pytest

from sim.compare import sweep
from tests.conftest import REPO

# 4 cells (2 designs x 2 populations), small enough to run in ~1 s each
GRID = ["programme=usual_care,ips_smi", "population=fit_note_cohort,workforce",
        "population.n=1500", "horizon_weeks=30", "replicates=2", "output.plots=false",
        "output.write_agents=false",
        "hydra.callbacks.sweep.report=false"]  # the report hand-off is tested on its own below


def run_sweep(sweep_dir, *extra, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "sim", "-m", *GRID, *extra,
                           f"hydra.sweep.dir={sweep_dir}"], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def aggregate_bytes(sweep_dir):
    agg = sweep_dir / "aggregate"
    return {name: (agg / name).read_bytes()
            for name in ("summary.parquet", "comparison.csv", "cells.csv", "failures.csv")}


@pytest.fixture(scope="module")
def basic_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("basic") / "sweep"
    result = run_sweep(out, "hydra/launcher=basic")
    assert result.returncode == 0, result.stderr
    return out, result


@pytest.fixture(scope="module")
def loky_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("loky") / "sweep"
    result = run_sweep(out, "hydra.launcher.n_jobs=2", "hydra.launcher.backend=loky")
    assert result.returncode == 0, result.stderr
    assert "Joblib.Parallel(n_jobs=2" in result.stderr + result.stdout
    return out


def cell_bytes(sweep_dir):
    """Every file of every cell's results, by cell folder and name."""
    return {str(f.relative_to(sweep_dir)): f.read_bytes()
            for f in sorted((sweep_dir / "cells").glob("*/results/*")) if f.is_file()}


def test_forked_and_loky_workers_and_basic_launcher_give_identical_tables(basic_sweep,
                                                                          loky_sweep, tmp_path):
    basic_dir, basic = basic_sweep
    out = tmp_path / "joblib"
    result = run_sweep(out, "hydra.launcher.n_jobs=2")  # joblib is the default launcher
    assert result.returncode == 0, result.stderr
    assert "a pool of 2 forked workers is launching 4 jobs" in result.stderr + result.stdout
    assert aggregate_bytes(out) == aggregate_bytes(basic_dir) == aggregate_bytes(loky_sweep)
    forked, loky = cell_bytes(out), cell_bytes(loky_sweep)
    assert len(forked) > 4 * 5 and forked.keys() == loky.keys()
    for name, data in forked.items():  # the manifests hold times, pids and paths
        if not name.endswith("manifest.json"):
            assert data == loky[name], name
    summary = pd.read_parquet(out / "aggregate" / "summary.parquet")
    assert summary["cell"].nunique() == 4
    assert set(summary["programme"]) == {"usual_care", "ips_smi"}
    assert set(summary["population"]) == {"fit_note_cohort", "workforce"}
    assert not summary.duplicated(["cell", "replicate", "dimension", "group", "metric"]).any()
    # every cell's table is its own group_summary, unchanged
    for cell_dir in (out / "cells").iterdir():
        own = pd.read_parquet(cell_dir / "results" / "group_summary.parquet")
        key = json.loads((cell_dir / "cell.json").read_text())["key"]
        joined = summary[summary["cell"] == key]
        assert sorted(joined["value"].round(12)) == sorted(own["value"].round(12))
    # each job has Hydra's log file in its own folder (sim.cli.launchers.run_job_lean)
    assert sorted(p.name for p in (out / "jobs").iterdir()) == ["0", "1", "2", "3"]
    assert all((out / "jobs" / n / "rtw_sim.log").is_file() for n in "0123")
    # progress: every job reports k/N with an ETA, the last one 4/4
    lines = [ln for ln in result.stdout.splitlines() if re.match(r"\[\d+/\d+\] ", ln)]
    assert len(lines) == 4 and all("/4]" in ln and "ETA" in ln for ln in lines)
    assert any(ln.startswith("[4/4]") for ln in lines)


def test_comparison_is_paired_by_replicate(basic_sweep):
    out, _ = basic_sweep
    summary = pd.read_parquet(out / "aggregate" / "summary.parquet")
    comparison = pd.read_csv(out / "aggregate" / "comparison.csv")
    assert set(comparison["programme"]) == {"ips_smi"}
    assert set(comparison["reference"]) == {"usual_care"}
    # every replicate pairs; an inequality measure skips a replicate in which a group has
    # nobody (small test cells), so it may have fewer
    direct = comparison["dimension"].isin(["all", "imd_quintile", "economics"])
    assert (comparison.loc[direct, "n_replicates"] == 2).all()
    assert comparison["n_replicates"].between(1, 2).all()
    row = comparison.query("population == 'workforce' and dimension == 'all' "
                           "and metric == 'days_absent'").iloc[0]
    sel = summary.query("population == 'workforce' and dimension == 'all' "
                        "and metric == 'days_absent'")
    design = sel[sel["programme"] == "ips_smi"].sort_values("replicate")["value"].to_numpy()
    base = sel[sel["programme"] == "usual_care"].sort_values("replicate")["value"].to_numpy()
    assert row["difference"] == pytest.approx((design - base).mean())
    assert row["low"] <= row["difference"] <= row["high"]
    # paired: both arms of a replicate hold the same people (same seed and replicate), so
    # group sizes agree exactly in the fit-note cohort (everyone is in it from week 0)
    sizes = summary.query("population == 'fit_note_cohort' and dimension == 'imd_quintile' "
                          "and metric == 'days_absent'").pivot_table(
        index=["replicate", "group"], columns="programme", values="n")
    assert (sizes["ips_smi"] == sizes["usual_care"]).all()


@pytest.mark.parametrize("launcher", ["hydra/launcher=basic", "hydra.launcher.n_jobs=2"])
def test_failed_cell_does_not_stop_the_others_and_resume_completes_it(launcher, tmp_path):
    """In this process (basic) or in forked workers: the failed cell's error comes back
    with its job, and the sweep goes on."""
    out = tmp_path / "sweep"
    one_population = ("population=workforce", launcher)  # 2 cells
    first = run_sweep(out, *one_population, env={sweep.FAIL_ENV: "programme=ips_smi"})
    assert first.returncode == 1, first.stderr  # after every other cell ran and aggregated
    assert "Traceback" not in first.stderr
    assert ("a pool of 2 forked workers" in first.stderr + first.stdout) == ("n_jobs" in launcher)
    assert "sweep: 1 cell(s) failed" in first.stderr
    failures = pd.read_csv(out / "aggregate" / "failures.csv")
    assert len(failures) == 1 and set(failures["status"]) == {"failed"}
    assert failures["error"].str.contains("failure injected for testing").all()
    assert all("programme=ips_smi" in c for c in failures["cell"])
    summary = pd.read_parquet(out / "aggregate" / "summary.parquet")
    assert set(summary["programme"]) == {"usual_care"}
    done_before = {p: p.stat().st_mtime_ns for p in out.glob("cells/*/results/manifest.json")}
    assert len(done_before) == 1

    again = run_sweep(out, *one_population)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("skipped (complete)") == 1
    assert again.stdout.count(" done in ") == 1
    assert {p: p.stat().st_mtime_ns for p in done_before} == done_before  # not rewritten
    assert not list(out.glob("cells/*/FAILED.json"))
    assert pd.read_csv(out / "aggregate" / "failures.csv").empty
    summary = pd.read_parquet(out / "aggregate" / "summary.parquet")
    assert summary["cell"].nunique() == 2
    assert set(summary["programme"]) == {"usual_care", "ips_smi"}


def test_sigkill_mid_sweep_leaves_complete_cells_or_none_and_rerun_matches(basic_sweep,
                                                                           tmp_path):
    basic_dir, _ = basic_sweep
    out = tmp_path / "killed"
    args = [sys.executable, "-m", "sim", "-m", *GRID, "hydra.launcher.n_jobs=2",
            f"hydra.sweep.dir={out}"]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    # killed once the first cell is complete and others run: while a cell's results are
    # being written (a staging folder the re-run must clear, though its killed writer, an
    # orphan, may linger as a zombie where the first process reaps no orphans), or failing
    # that once 3 of the 4 cells are complete
    deadline = time.monotonic() + 60
    while not (out / "progress.jsonl").exists() and proc.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.02)
    until = time.monotonic() + 30
    while (time.monotonic() < until and proc.poll() is None
           and not list(out.glob("cells/*/.results.partial-*"))
           and len(list(out.glob("cells/*/results"))) < 3):
        time.sleep(0.0005)
    os.killpg(proc.pid, signal.SIGKILL)  # the launcher and its joblib workers
    proc.wait(timeout=30)
    cells = list((out / "cells").iterdir())
    for cell_dir in cells:
        results = cell_dir / "results"
        if results.exists():
            manifest = json.loads((results / "manifest.json").read_text())
            assert all((results / f).stat().st_size > 0 for f in manifest["files"])
    # aggregating the killed sweep by hand reads complete cells only
    by_hand = subprocess.run([sys.executable, "-m", "sim.compare.sweep", "aggregate", str(out),
                              "--no-report"], cwd=REPO, capture_output=True, text=True,
                             timeout=60)
    assert by_hand.returncode == 0, by_hand.stderr
    complete = sum((c / "results" / "manifest.json").exists() for c in cells)
    assert 1 <= complete < 4  # killed mid-sweep, not before or after it
    summary = pd.read_parquet(out / "aggregate" / "summary.parquet")
    assert summary["cell"].nunique() == complete
    listed = pd.read_csv(out / "aggregate" / "failures.csv")
    assert len(listed) == len(cells) - complete
    # re-running (here with the basic launcher: no worker start-up) completes the rest;
    # the tables equal an uninterrupted sweep's
    rerun = [a for a in args if not a.startswith("hydra.launcher.")] + ["hydra/launcher=basic"]
    again = subprocess.run(rerun, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("skipped (complete)") == complete
    assert aggregate_bytes(out) == aggregate_bytes(basic_dir)
    assert not list(out.glob("cells/*/.*"))  # no staging folder or temporary file is left


def test_the_index_page_written_in_a_forked_worker_is_the_one_written_by_hand(tmp_path,
                                                                            capsys):
    """The sweep's index page is written while the parent builds the tables
    (sim.compare.report_aside.ReportJob), after the forked workers' last cell by a worker
    forked for it, which takes the tables the cells' jobs sent to the parent (inherited, not
    read again): the same files, byte for byte, as the page the aggregate writes by hand
    afterwards."""
    import shutil

    from sim.compare.report_sweep import PARALLEL_FROM

    out = tmp_path / "forked"
    grid = [a for a in GRID if not a.startswith("hydra.callbacks.sweep.report")]
    grid.append("pathways.rtw.manual_hr=0.9,1.0")  # 4 settings: the page is written aside
    assert PARALLEL_FROM <= 4
    timings = tmp_path / "timings.jsonl"
    result = subprocess.run([sys.executable, "-m", "sim", "-m", *grid,
                             "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={out}"], cwd=REPO,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "RTW_SIM_SWEEP_TIMINGS": str(timings)})
    assert result.returncode == 0, result.stderr
    assert "a pool of 2 forked workers" in result.stderr + result.stdout
    assert f"report: {out / 'report' / 'index.html'}" in result.stdout + result.stderr
    records = [json.loads(line) for line in timings.read_text().splitlines()]
    jobs = {r["pid"] for r in records if r["phase"] == "job_start"}
    (page,) = [r for r in records if r["phase"] == "report_job"]
    assert len(jobs) == 2 and page["pid"] not in jobs  # a worker of its own
    assert page["cells_sent"] == 8  # every cell's tables, from the parent's memory
    copy = tmp_path / "by_hand"
    shutil.copytree(out, copy)
    shutil.rmtree(copy / "report")
    shutil.rmtree(copy / "aggregate")
    assert sweep.main(["aggregate", str(copy)]) == 0
    capsys.readouterr()
    pages = sorted(p.relative_to(out) for p in (out / "report").rglob("*") if p.is_file())
    assert pages and pages == sorted(p.relative_to(copy)
                                     for p in (copy / "report").rglob("*") if p.is_file())
    for page in pages:
        assert (out / page).read_bytes() == (copy / page).read_bytes(), page


# ``python -m sim`` as a terminal's foreground job runs it: Python's SIGINT handler, which
# a job a shell starts in the background (as a CI runner may start the tests) would not
# have: it inherits SIGINT ignored, and Python keeps it so (its workers then ignore it too)
FOREGROUND = ("import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
              "runpy.run_module('sim', run_name='__main__', alter_sys=True)")


def _started(out, proc):
    """Wait until the sweep's first cell is done, the sweep still running; otherwise stop
    it and fail with what it printed."""
    deadline = time.monotonic() + 60
    while not (out / "progress.jsonl").exists() and proc.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.02)
    if proc.poll() is None and (out / "progress.jsonl").exists():
        return
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=30)
    raise AssertionError(f"no cell done within 60 s, or the sweep ended first "
                         f"(exit {proc.returncode}): {err[-2000:]}")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers: Linux")
@pytest.mark.parametrize("how", ["ctrl-c", "worker killed"])
def test_a_stopped_sweep_says_what_was_kept_in_one_line(how, tmp_path):
    """Ctrl-C (SIGINT to the terminal's process group) or a worker killed (out of memory):
    one line, no traceback, no process left, nothing half-written; a re-run resumes."""
    out = tmp_path / "stopped"
    args = [sys.executable, "-c", FOREGROUND, "-m", *GRID,
            "population.n=8000",  # cells of ~1-2 s
            "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={out}"]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    _started(out, proc)
    workers = [p.pid for p in psutil.Process(proc.pid).children()]  # the two forked workers
    assert len(workers) == 2, workers
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == (130 if how == "ctrl-c" else 1), err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.endswith(f"the complete cells are kept in {out}: run the same command "
                         "again to run the rest")
    assert last.startswith("interrupted;" if how == "ctrl-c" else
                           "error: a sweep worker process died while running cells")
    time.sleep(0.2)
    assert not [pid for pid in workers if psutil.pid_exists(pid)]
    for cell_dir in out.glob("cells/*"):  # each cell complete, or not there
        results = cell_dir / "results"
        if results.exists():
            manifest = json.loads((results / "manifest.json").read_text())
            assert all((results / f).stat().st_size > 0 for f in manifest["files"])
    again = subprocess.run([a for a in args if not a.startswith("hydra.launcher.")]
                           + ["hydra/launcher=basic"], cwd=REPO, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert len(list(out.glob("cells/*/results/manifest.json"))) == 4
    assert not list(out.glob("cells/*/.*"))  # the stopped cells' staging folders cleared


def test_aggregate_by_hand_reproduces_the_callback_tables(basic_sweep, tmp_path, capsys):
    import shutil

    src, _ = basic_sweep
    copy = tmp_path / "copy"
    shutil.copytree(src, copy)
    shutil.rmtree(copy / "aggregate")
    assert sweep.main(["aggregate", str(copy), "--no-report"]) == 0
    assert "4 complete cell(s), 0 failed" in capsys.readouterr().out
    assert aggregate_bytes(copy) == aggregate_bytes(src)
    assert sweep.main(["status", str(copy)]) == 0
    assert capsys.readouterr().out.startswith("complete: 4 (latest launch: 4 cells)")


def test_a_cell_killed_before_it_wrote_cell_json_is_listed_as_incomplete(basic_sweep,
                                                                          tmp_path):
    # a SIGKILL between making a cell's folder and writing its cell.json left a folder the
    # aggregate did not see: failures.csv listed one cell fewer than had started (CI)
    import shutil

    src, _ = basic_sweep
    copy = tmp_path / "copy"
    shutil.copytree(src, copy)
    shutil.rmtree(copy / "aggregate")
    killed = sorted((copy / "cells").iterdir())[-1]
    key, _, digest = killed.name.rpartition("__")
    for item in killed.iterdir():
        shutil.rmtree(item) if item.is_dir() else item.unlink()
    outcome = sweep.aggregate(copy, report=False, quiet=True)
    assert outcome["complete"] == 3 and outcome["failed"] == 1
    listed = pd.read_csv(copy / "aggregate" / "failures.csv", dtype=str)
    assert listed[["cell", "hash", "status"]].values.tolist() == [[key, digest, "incomplete"]]
    assert "killed before it wrote cell.json" in listed["error"].item()
    assert sweep.status(copy) == {"complete": 3, "incomplete": 1}


def test_aggregate_of_a_directory_that_is_no_sweep_fails_in_one_line(tmp_path, capsys):
    assert sweep.main(["aggregate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "sweep_dir" in err and str(tmp_path) in err


def test_hash_ignores_output_settings_but_not_model_settings(make_config):
    base = make_config("population.n=1000")
    assert sweep.cell_hash(base) == sweep.cell_hash(
        make_config("population.n=1000", "output.plots=false", "output.write_agents=false"))
    assert sweep.cell_hash(base) != sweep.cell_hash(make_config("population.n=1000", "seed=2"))
    assert sweep.cell_hash(base) != sweep.cell_hash(
        make_config("population.n=1000", "pathways.rtw.manual_hr=0.8"))


def test_grid_matches_hydra_basic_sweeper_rules():
    cells = sweep.grid(["programme=a,b", "seed=3"], {"programme": "x,y,z", "population": "p,q"})
    # the command line replaces a preset's values for the same key, keeping its position
    assert cells == [["programme=a", "population=p", "seed=3"],
                     ["programme=a", "population=q", "seed=3"],
                     ["programme=b", "population=p", "seed=3"],
                     ["programme=b", "population=q", "seed=3"]]


def test_cell_key_is_a_safe_file_name():
    key = sweep.cell_key({"programme": "usual_care", "population.n": 1000,
                          "evidence_values": {"a/b": 0.5}})
    assert "/" not in key and " " not in key and len(key) <= sweep.MAX_KEY_CHARS
    assert key.startswith("evidence_values=")
    assert sweep.cell_key({}) == "base"


def test_preflight_checks_every_cell_of_an_experiment_preset():
    from sim.cli.preflight import _cells, _preset_params, check

    problem = check(["-m", "experiment=sweep_bench", "population.n=10,-5"])
    assert problem.startswith("population.n: got -5")
    assert "experiment=sweep_bench" in problem
    assert "Could not find 'experiment/nope'" in check(["-m", "experiment=nope"])
    from hydra import initialize_config_dir

    from sim.config import CONFIG_DIR

    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        params = _preset_params(["experiment=sweep_bench"], "config")["sweep_bench"]
    assert len(_cells(["experiment=sweep_bench"], params)) == 100


def test_bad_preset_value_fails_before_hydra_starts(run_cli, tmp_path):
    out = tmp_path / "sweep"
    result = run_cli("-m", "experiment=designs_x_populations", "replicates=0",
                     f"hydra.sweep.dir={out}")
    assert result.returncode == 2
    assert result.stderr.startswith("config error: replicates: got 0")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_a_reused_process_does_not_carry_state_between_cells(make_config):
    from sim.simulate import simulate

    small = ("population.n=500", "horizon_weeks=12", "replicates=2")
    first = simulate(make_config(*small, "programme=multicomponent")).summary
    simulate(make_config(*small, "population=workforce", "programme=ips_smi", "seed=9"))
    again = simulate(make_config(*small, "programme=multicomponent")).summary
    pd.testing.assert_frame_equal(first, again)


def test_aggregate_hands_every_complete_cell_to_the_report(basic_sweep, tmp_path, monkeypatch,
                                                          capsys):
    import shutil
    import types

    src, _ = basic_sweep
    copy = tmp_path / "copy"
    shutil.copytree(src, copy)
    calls = []

    def write_sweep_report(paths, out_dir, quiet=False, figures=None, full=None,
                           preloaded=None, workers=None):  # index
        calls.append((list(paths), out_dir))
        assert figures is False  # the settings' charts are off unless asked for
        assert full is False  # and so are the settings' full reports
        # the tables the aggregate read, handed over, not read again (issue 19)
        assert set(preloaded) == {p.resolve() for p in paths}
        out_dir.mkdir()
        return out_dir / "report.md"

    monkeypatch.setitem(sys.modules, "sim.compare.report_sweep", types.SimpleNamespace(
        write_sweep_report=write_sweep_report))
    outcome = sweep.aggregate(copy)
    assert len(calls) == 1
    paths, out_dir = calls[0]
    assert out_dir == copy / "report"
    assert sorted(paths) == sorted(copy.glob("cells/*/results"))
    assert all((p / "manifest.json").exists() for p in paths)
    assert outcome["report"] == copy / "report" / "report.md"
    # without the module: a one-line note, tables still written
    monkeypatch.setitem(sys.modules, "sim.compare.report_sweep", None)
    outcome = sweep.aggregate(copy)
    assert outcome["report"] is None
    assert "report: skipped" in capsys.readouterr().out
    assert (copy / "aggregate" / "summary.parquet").exists()


@pytest.mark.parametrize("launcher, key, expected", [
    ("joblib", "n_jobs", -1),
    ("ray_local", "ray.init._node_ip_address", "127.0.0.1"),
    ("ray_local", "ray.init.address", "local"),
    ("ray_cluster", "ray.init.object_store_memory", None),
    ("slurm", "cpus_per_task", 1),
])
def test_launcher_configs_compose(launcher, key, expected):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from sim.config import CONFIG_DIR

    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        default = compose(config_name="config", return_hydra_config=True)
        cfg = compose(config_name="config", overrides=[f"hydra/launcher={launcher}"],
                      return_hydra_config=True)
    assert "JoblibLauncher" in default.hydra.launcher._target_  # the multirun default
    missing = object()
    assert OmegaConf.select(cfg.hydra.launcher, key, default=missing) == expected


def test_a_cell_rerun_with_a_changed_config_supersedes_its_old_results(basic_sweep, tmp_path):
    import shutil

    src, _ = basic_sweep
    copy = tmp_path / "copy"
    shutil.copytree(src, copy)
    old = sorted((copy / "cells").iterdir())[0]
    info = json.loads((old / "cell.json").read_text())
    new = old.with_name(f"{info['key']}__{'f' * 16}")  # same overrides, another config
    shutil.copytree(old, new)
    table = pd.read_parquet(new / "results" / "group_summary.parquet")
    table["value"] += 1.0
    table.to_parquet(new / "results" / "group_summary.parquet", index=False)
    (new / "cell.json").write_text(json.dumps({**info, "hash": "f" * 16}))
    later = (old / "cell.json").stat().st_mtime_ns + 10**9
    os.utime(new / "cell.json", ns=(later, later))
    sweep.aggregate(copy, report=False, quiet=True)
    cells = pd.read_csv(copy / "aggregate" / "cells.csv")
    assert (cells["status"] == "superseded").sum() == 1
    assert cells.loc[cells["status"] == "superseded", "hash"].item() == info["hash"]
    summary = pd.read_parquet(copy / "aggregate" / "summary.parquet")
    assert summary["cell"].nunique() == 4 and len(summary) == len(
        pd.read_parquet(src / "aggregate" / "summary.parquet"))
    mine = summary[summary["cell"] == info["key"]].sort_values(
        ["replicate", "dimension", "group", "metric"])
    assert sorted(mine["value"].round(9)) == sorted(table["value"].round(9))


def test_sweeps_leave_out_per_cell_figures_and_agent_tables_unless_asked(make_config):
    cfg = make_config("population.n=1000")
    assert cfg["output"]["plots"] and cfg["output"]["write_agents"]  # single-run defaults
    off = sweep.sweep_output_defaults(cfg, ["population.n=1000"], {"experiment": None})
    assert off["output"] == {"plots": False, "write_agents": False, "latest_link": False}
    asked = sweep.sweep_output_defaults(cfg, ["output.plots=true"], {"experiment": None})
    assert asked["output"]["plots"] and not asked["output"]["write_agents"]
    preset = sweep.sweep_output_defaults(cfg, [], {"experiment": "my_preset"})
    assert preset["output"]["write_agents"]  # a preset's own values are kept
    assert cfg["output"]["plots"]  # the input is not changed
    assert sweep.cell_hash(off) == sweep.cell_hash(cfg)


def test_a_preset_grid_narrowed_on_the_command_line_runs_exactly_those_cells(tmp_path):
    out = tmp_path / "preset"
    result = subprocess.run(
        [sys.executable, "-m", "sim", "-m", "experiment=equity_designs",
         "programme=usual_care,targeted_deprived", "population=workforce", "population.n=500",
         "replicates=2", "horizon_weeks=10", "hydra/launcher=basic",
         "hydra.callbacks.sweep.report=false", f"hydra.sweep.dir={out}"],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "sweep.json").read_text())["total"] == 2
    cells = pd.read_csv(out / "aggregate" / "cells.csv")
    assert sorted(cells["programme"]) == ["targeted_deprived", "usual_care"]
    assert set(cells["population"]) == {"workforce"} and set(cells["status"]) == {"complete"}
    manifest = json.loads(next(out.glob("cells/*/results/manifest.json")).read_text())
    assert manifest["config"]["output"]["write_agents"] is False  # the preset's setting


@pytest.mark.parametrize("overrides", [
    ["programme=multicomponent", "population=workforce", "pathways.rtw.manual_hr=0.85",
     "population.n=300", "replicates=2"],
    ["population.n=400", "programme=usual_care", "outcomes.rtw_weeks=[13,26]", "seed=7"],
    ["programme=ips_smi", "+extra_key=1", "horizon_weeks=52"],
])
def test_cached_sweep_config_equals_hydras_full_compose(overrides):
    """The default launcher's shortcut (compose once per group choices, then apply the
    key=value overrides) gives the job config Hydra's own compose gives, hydra node
    included, for a second, third ... cell with the same choices."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from sim.cli import launchers
    from sim.config import CONFIG_DIR

    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        loader = GlobalHydra.instance().hydra.config_loader
        master = loader.load_configuration("config", ["hydra.launcher.n_jobs=2"],
                                           run_mode=RunMode.MULTIRUN)
        launchers._SWEEP_CONFIGS.clear()
        first = launchers.cached_sweep_config(loader, master, overrides)
        first.seed = 99  # a job may change its config: the cached one must not see it
        fast = launchers.cached_sweep_config(loader, master, overrides)
        full = loader.load_sweep_config(master, overrides)
    assert len(launchers._SWEEP_CONFIGS) == 1
    fast_c, full_c = (OmegaConf.to_container(c, resolve=False) for c in (fast, full))
    for c in (fast_c, full_c):
        c["hydra"]["runtime"].pop("cwd")
    assert fast_c == full_c
    assert OmegaConf.is_struct(fast) == OmegaConf.is_struct(full)


def test_cached_sweep_config_rejects_an_unknown_key_as_hydra_does():
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import ConfigCompositionException
    from hydra.types import RunMode

    from sim.cli import launchers
    from sim.config import CONFIG_DIR

    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        loader = GlobalHydra.instance().hydra.config_loader
        master = loader.load_configuration("config", [], run_mode=RunMode.MULTIRUN)
        with pytest.raises(ConfigCompositionException) as full:
            loader.load_sweep_config(master, ["population.nn=3"])
        with pytest.raises(ConfigCompositionException) as fast:
            launchers.cached_sweep_config(loader, master, ["population.nn=3"])
    assert str(fast.value) == str(full.value)


def test_default_sweeper_checks_cells_with_one_compose_per_group_choice():
    """Hydra's check that every cell composes (before any cell runs) costs ~0.35 s of CPU a
    cell in the parent; the default sweeper composes once per set of group choices and
    still rejects a bad cell with Hydra's own error."""
    from types import SimpleNamespace

    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import ConfigCompositionException
    from hydra.types import RunMode

    from hydra_plugins.rtw_sim import CachingBasicSweeper
    from sim.cli import launchers
    from sim.config import CONFIG_DIR

    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        default = compose(config_name="config", return_hydra_config=True)
        assert default.hydra.sweeper._target_ == "hydra_plugins.rtw_sim.CachingBasicSweeper"
        loader = GlobalHydra.instance().hydra.config_loader
        master = loader.load_configuration("config", [], run_mode=RunMode.MULTIRUN)
        calls = []
        counting = SimpleNamespace(
            load_sweep_config=lambda m, o: calls.append(list(o)) or loader.load_sweep_config(
                m, o), repository=loader.repository)
        sweeper = SimpleNamespace(hydra_context=SimpleNamespace(config_loader=counting),
                                  config=master)
        launchers._SWEEP_CONFIGS.clear()
        batch = [[f"programme={p}", f"population.n={n}"] for p in ("usual_care", "ips_smi")
                 for n in (100, 200, 300)]
        CachingBasicSweeper.validate_batch_is_legal(sweeper, batch)
        assert calls == [["programme=usual_care"], ["programme=ips_smi"]]
        with pytest.raises(ConfigCompositionException) as fast:
            CachingBasicSweeper.validate_batch_is_legal(sweeper, [["population.nn=3"]])
        with pytest.raises(ConfigCompositionException) as full:
            loader.load_sweep_config(master, ["population.nn=3"])
    assert str(fast.value) == str(full.value)


def test_a_worker_given_the_parents_composed_config_does_not_compose_and_matches_hydra():
    """The default launcher ships each job the group choices the parent composed (pickled):
    a fresh worker then composes nothing, and its job config is still Hydra's full compose
    (hydra node included), while a job whose choices were not shipped composes its own."""
    from types import SimpleNamespace

    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from sim.cli import launchers
    from sim.config import CONFIG_DIR

    cell = ["programme=multicomponent", "population=workforce",
            "pathways.rtw.manual_hr=0.85", "population.n=300"]
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        loader = GlobalHydra.instance().hydra.config_loader
        master = loader.load_configuration("config", ["hydra.launcher.n_jobs=2"],
                                           run_mode=RunMode.MULTIRUN)
        calls = []
        counting = SimpleNamespace(
            load_sweep_config=lambda m, o: calls.append(list(o)) or loader.load_sweep_config(
                m, o), repository=loader.repository)
        launchers._SWEEP_CONFIGS.clear()
        shipped = launchers.composed_base(counting, master, cell)  # the parent
        assert calls == [["programme=multicomponent", "population=workforce"]]
        launchers._SWEEP_CONFIGS.clear()  # a fresh worker process
        job = launchers.cached_sweep_config(counting, master, cell, shipped)
        assert len(calls) == 1
        other = launchers.cached_sweep_config(counting, master, ["programme=ips_smi"],
                                              shipped)
        assert calls[1:] == [["programme=ips_smi"]] and other.programme.name != job.programme.name
        full = loader.load_sweep_config(master, cell)
    job_c, full_c = (OmegaConf.to_container(c, resolve=False) for c in (job, full))
    for c in (job_c, full_c):
        c["hydra"]["runtime"].pop("cwd")
    assert job_c == full_c and job_c["pathways"]["rtw"]["manual_hr"] == 0.85
    assert OmegaConf.is_struct(job) == OmegaConf.is_struct(full)


def test_a_jobs_hydra_config_is_hydras_without_the_copy():
    """The default launcher sets a job's Hydra config without Hydra's deep copy of the node:
    HydraConfig.get() has the same values, parent, flags and interpolations as after Hydra's
    own set_config, and a later job's config replaces it."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from sim.cli import launchers
    from sim.config import CONFIG_DIR

    def seen(job):
        node = HydraConfig.get()
        return (OmegaConf.to_container(node, resolve=False), node._get_parent() is job,
                OmegaConf.is_readonly(node), OmegaConf.is_readonly(job.hydra),
                OmegaConf.select(node, "job.num"), str(node.sweep.subdir),
                OmegaConf.to_container(job.hydra, resolve=False))

    cells = [["programme=multicomponent", "population.n=300"],
             ["programme=multicomponent", "population.n=400"], ["programme=ips_smi"]]
    before = HydraConfig.instance().cfg
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
            loader = GlobalHydra.instance().hydra.config_loader
            master = loader.load_configuration("config", ["hydra.launcher.n_jobs=2"],
                                               run_mode=RunMode.MULTIRUN)
            for num, cell in enumerate(cells):
                jobs = []
                for setter in (lambda c: HydraConfig.instance().set_config(c),
                               launchers.set_hydra_config):
                    job = launchers.cached_sweep_config(loader, master, cell)
                    job.hydra.job.num = num
                    setter(job)
                    jobs.append(seen(job))
                assert jobs[0] == jobs[1]
                assert jobs[1][1] and jobs[1][2] and jobs[1][4] == num
    finally:
        HydraConfig.instance().cfg = before


def test_cells_write_what_the_aggregate_reads_and_leave_out_the_rest(basic_sweep):
    out, _ = basic_sweep
    for results in out.glob("cells/*/results"):
        files = {p.name for p in results.iterdir()}
        assert not files & set(sweep.CELL_LEAVE_OUT)
        assert {"group_summary.parquet", "economics.parquet", "manifest.json"} <= files
        manifest = json.loads((results / "manifest.json").read_text())
        assert set(manifest["files"]) == files  # the manifest lists exactly what is there


def test_the_sweeper_does_not_compose_again_the_cells_the_preflight_checked(monkeypatch):
    from sim.cli import launchers

    composed = []
    monkeypatch.setattr(launchers, "cached_sweep_config",
                        lambda loader, master, overrides, shipped=None: composed.append(
                            overrides))
    monkeypatch.setattr(launchers, "_CHECKED", set())
    sweeper = type("S", (), {"hydra_context": None, "config_loader": None, "config": None})()
    checked = [["programme=usual_care", "population.n=100"], ["programme=ips_smi"]]
    launchers.mark_checked(checked)
    batch = [*checked, ["programme=ips_smi", "population.n=100"],
             ["population.n=100", "programme=usual_care"]]  # same lines, another order
    launchers.validate_batch_cached(sweeper, batch)
    assert composed == batch[2:]
    # a later pre-flight in the same process (another config) replaces the record
    composed.clear()
    launchers.mark_checked([])
    launchers.validate_batch_cached(sweeper, batch)
    assert composed == batch


def test_the_preflights_validated_configs_go_only_to_their_own_cells(monkeypatch):
    """The pre-flight's validated config of each cell is kept for the launcher (issue 19):
    only for cells it checked, replaced by a later pre-flight, and taken by run_cell only
    for exactly its job's override lines, within its job."""
    import pickle

    from sim.cli import launchers

    monkeypatch.setattr(launchers, "_CHECKED", set())
    monkeypatch.setattr(launchers, "_VALIDATED", {})
    cells = [["programme=usual_care"], ["programme=ips_smi"]]
    configs = {("programme=usual_care",): {"seed": 1}, ("programme=ips_smi",): {"seed": 2},
               ("programme=other",): {"seed": 3}}  # not a checked cell: not kept
    launchers.mark_checked(cells, configs)
    assert {k: pickle.loads(v) for k, v in launchers._VALIDATED.items()} == {
        ("programme=usual_care",): {"seed": 1}, ("programme=ips_smi",): {"seed": 2}}
    blob = launchers._VALIDATED[("programme=ips_smi",)]
    with launchers.prevalidated(["programme=ips_smi"], blob):
        assert launchers.prevalidated_config(["programme=ips_smi"]) == {"seed": 2}
        assert launchers.prevalidated_config(["programme=usual_care"]) is None
        assert launchers.prevalidated_config(["programme=ips_smi", "seed=4"]) is None
    assert launchers.prevalidated_config(["programme=ips_smi"]) is None  # the job is over
    with launchers.prevalidated(["programme=ips_smi"], None):
        assert launchers.prevalidated_config(["programme=ips_smi"]) is None
    launchers.mark_checked([])  # a later pre-flight in the same process: nothing kept
    assert launchers._VALIDATED == {}


def test_run_cell_takes_the_preflights_config_instead_of_validating_its_own(tmp_path):
    """A cell run with the pre-flight's config (another seed here, to tell them apart)
    is the run of that config: its hash is that config's, not the job config's."""
    import pickle

    from sim.cli import launchers
    from sim.config import load_config

    lines = ["population.n=300", "horizon_weeks=8", "replicates=1"]
    job, other = load_config(lines), load_config([*lines, "seed=99"])
    assert sweep.run_cell(job, tmp_path / "a", lines, {}) == "done"
    with launchers.prevalidated(lines, pickle.dumps(other)):
        assert sweep.run_cell(job, tmp_path / "b", lines, {}) == "done"
    (a,), (b,) = (list((tmp_path / x / "cells").iterdir()) for x in "ab")
    assert a.name != b.name
    expected = sweep.cell_hash(sweep.sweep_output_defaults(other, lines, {}))
    assert b.name.endswith(f"__{expected}")


def test_the_preflight_composes_a_sweeps_group_choices_as_the_launcher_would(tmp_path):
    """The pre-flight's compose of each set of group choices is kept for the launcher under
    the Hydra overrides the sweep's master config records, and equals the config Hydra's
    ``load_sweep_config`` composes for a job (hydra node included): the parent composed
    each set twice before (issue 19)."""
    import pickle

    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from sim.cli import launchers, preflight
    from sim.config import CONFIG_DIR

    launchers._SWEEP_CONFIGS.clear()
    sweep_dir = f"hydra.sweep.dir={tmp_path / 'sweep'}"
    argv = ["-m", "programme=usual_care,ips_smi", "population.n=300", "seed=1,2",
            "hydra.launcher.n_jobs=2", sweep_dir]
    settings: dict = {}
    assert preflight.check(argv, settings=settings) is None
    seeded = dict(launchers._SWEEP_CONFIGS)
    assert len(seeded) == 2  # one per design; seeds are values applied on top
    # what Hydra is handed (prepare adds no per-job .hydra copies; -m adds the mode)
    hydra_lines = ["hydra.launcher.n_jobs=2", sweep_dir, "hydra.output_subdir=null",
                   "hydra.mode=MULTIRUN"]
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        loader = GlobalHydra.instance().hydra.config_loader
        master = loader.load_configuration(
            "config", ["programme=usual_care,ips_smi", "population.n=300", "seed=1,2",
                       *hydra_lines], run_mode=RunMode.MULTIRUN)
        for (name, hydra_overrides, structural), blob in seeded.items():
            assert name == "config"
            assert hydra_overrides == tuple(master.hydra.overrides.hydra)
            full = loader.load_sweep_config(master, list(structural))
            got, want = (OmegaConf.to_container(c, resolve=False)
                         for c in (pickle.loads(blob), full))
            assert got == want
    launchers._SWEEP_CONFIGS.clear()
