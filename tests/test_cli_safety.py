"""``python -m sim`` never loses a user's data: run directories, paths, full disks, kills.

Each test drives the command line from a scratch working directory holding a user's file,
and checks what is left on disk afterwards (issue 12, items 1, 2, 8, 9 and 11). Runs and
kills go through a real ``python -m sim`` subprocess; command lines the pre-flight refuses
(before Hydra starts) go through the same pre-flight in-process (``preflight`` below: an
interpreter's start-up saved each), with one real command line for each kind of refusal
(config error, output error) so the CLI's printing and exit code stay checked.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SMALL = ("population.n=1500", "horizon_weeks=20", "output.plots=false")


def sim(*args, cwd, timeout=180):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def preflight(*args, cwd, monkeypatch):
    """What ``python -m sim *args`` answers from ``cwd`` to a command line its pre-flight
    refuses, without a new interpreter: sim/__main__.py calls the same ``prepare`` before
    Hydra starts and prints its ConfigError / OutputError as one line with exit code 2
    (that printing: test_config_name_flag_..., test_a_non_empty_run_dir_...)."""
    from sim.__main__ import main
    from sim.cli.preflight import prepare
    from sim.errors import ConfigError, OutputError

    monkeypatch.chdir(cwd)
    try:
        prepare(list(args), task_function=main)
    except ConfigError as err:
        return subprocess.CompletedProcess(args, 2, "", f"config error: {err}\n")
    except OutputError as err:
        return subprocess.CompletedProcess(args, 2, "", f"output error: {err}\n")
    raise AssertionError(f"the pre-flight accepted {args}")


def one_line_error(result, code=2, starts=None):
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = [ln for ln in result.stderr.strip().splitlines()
             if not ln.startswith("config warning:")]  # metrics a short horizon leaves out
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    if starts:
        assert lines[0].startswith(starts), lines[0]
    return lines[0]


@pytest.fixture
def home(tmp_path):
    """A working directory holding a user's file that must survive everything."""
    (tmp_path / "precious.txt").write_text("user data")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "more.txt").write_text("more user data")
    return tmp_path


def intact(home: Path) -> bool:
    return ((home / "precious.txt").read_text() == "user data"
            and (home / "notes" / "more.txt").read_text() == "more user data")


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a small tmpfs (root only); skip with the reason if mounting is not allowed."""
    mounted = []

    def mount(size: str, readonly: bool = False) -> Path:
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        opts = f"size={size}" + (",ro" if readonly else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(point)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); the disk-full and "
                        "read-only cases need root")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def fill(point: Path, leave_bytes: int = 0) -> None:
    """Fill a tmpfs until ``leave_bytes`` (roughly) are left.

    Unbuffered writes: a buffered file that hit ENOSPC raised it again when closed (the
    tail it still held could not be flushed), which failed the test that called this.
    """
    import shutil

    free = shutil.disk_usage(point).free
    try:
        fd = os.open(point / "filler", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError:  # already full (a run writing there filled it first): the same case
        return
    chunk = b"\0" * (1 << 20)
    try:
        left = max(free - leave_bytes, 0)
        while left > 0:
            left -= os.write(fd, chunk[:min(left, len(chunk))])
    except OSError:  # full: what was wanted
        pass
    finally:
        os.close(fd)


# ---- 1: a config error never deletes anything ---------------------------------------


@pytest.mark.parametrize("run_dir, real", [(".", True), ("", False), ("notes", False)])
def test_config_error_with_flags_keeps_every_user_file(home, run_dir, real, monkeypatch):
    # used to rmtree the run directory: with -cd the pre-flight was skipped, and
    # hydra.run.dir=. (or '') deleted the whole working directory, .git included
    args = ("-cd", str(REPO / "configs"), f"hydra.run.dir={run_dir}", "population.n=-5")
    result = sim(*args, cwd=home) if real else preflight(*args, cwd=home,
                                                         monkeypatch=monkeypatch)
    one_line_error(result, starts="config error: population.n: got -5")
    assert intact(home)
    assert not (home / ".hydra").exists() and not (home / "notes" / ".hydra").exists()


def test_config_name_flag_is_checked_before_hydra_starts(home):
    result = sim("--config-name", "config", "population.n=-5", cwd=home)
    one_line_error(result, starts="config error: population.n: got -5")
    assert sorted(p.name for p in home.iterdir()) == ["notes", "precious.txt"]


def test_traversal_in_a_name_is_refused_and_the_parent_is_kept(home, monkeypatch):
    result = preflight("-cd", str(REPO / "configs"), "programme.name=/../../../..",
                       "replicates=0", cwd=home, monkeypatch=monkeypatch)
    line = one_line_error(result, starts="config error:")
    assert "replicates" in line or "programme.name" in line
    assert intact(home)


# ---- 2: every run has a directory of its own ----------------------------------------


def test_a_non_empty_run_dir_is_refused_before_any_work(home):
    result = sim(*SMALL, f"hydra.run.dir={home / 'notes'}", cwd=home)
    line = one_line_error(result, starts="output error: hydra.run.dir:")
    assert "not empty" in line
    assert sorted(p.name for p in (home / "notes").iterdir()) == ["more.txt"]


def test_an_empty_existing_run_dir_is_used_and_kept(home):
    (home / "empty").mkdir()
    result = sim(*SMALL, "output.latest_link=false", f"hydra.run.dir={home / 'empty'}",
                 cwd=home)
    assert result.returncode == 0, result.stderr
    assert (home / "empty" / "results" / "manifest.json").is_file()


def test_parallel_default_runs_get_their_own_directories(home):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-m", "sim", *SMALL, f"seed={s}",
                               "output.latest_link=false"], cwd=home, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for s in (11, 22, 33)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [o[1] for o in outs]
    runs = sorted((home / "outputs" / "runs").iterdir())
    assert len(runs) == 3
    seeds = set()
    for run in runs:  # the config beside the results is the one that produced them
        manifest = json.loads((run / "results" / "manifest.json").read_text())
        hydra_cfg = yaml.safe_load((run / ".hydra" / "config.yaml").read_text())
        assert hydra_cfg["seed"] == manifest["config"]["seed"]
        seeds.add(manifest["config"]["seed"])
    assert seeds == {11, 22, 33}
    assert intact(home)


# ---- 9: names that become paths ----------------------------------------------------


@pytest.mark.parametrize("override,key", [
    ("population.name=../../../../tmp/x", "population.name"),
    ("programme.name=a/b", "programme.name"),
    ("population.name=${oc.env:HOME}", "population.name"),
])
def test_names_must_be_safe_file_names(home, override, key, monkeypatch):
    result = preflight(*SMALL, override, cwd=home, monkeypatch=monkeypatch)
    line = one_line_error(result, starts=f"config error: {key}:")
    assert os.environ.get("HOME", "/root") not in line.split("got", 1)[0]
    assert not (home / "outputs").exists()


@pytest.mark.parametrize("switch, value", [("setting_reports", "maybe"), ("figures", "1"),
                                           ("report", "yes")])
def test_a_sweep_switch_that_is_not_true_or_false_is_one_line(home, switch, value,
                                                              monkeypatch):
    # Hydra would take any non-empty string as on: refused before a sweep folder exists
    result = preflight("-m", "programme=usual_care,ips_smi", *SMALL,
                       f"hydra.callbacks.sweep.{switch}={value}", cwd=home,
                       monkeypatch=monkeypatch)
    one_line_error(result, starts=f"config error: hydra.callbacks.sweep.{switch}: got ")
    assert not (home / "outputs").exists() and intact(home)


def test_empty_run_dir_is_refused(home, monkeypatch):
    result = preflight(*SMALL, "hydra.run.dir=", cwd=home, monkeypatch=monkeypatch)
    one_line_error(result, starts="output error: hydra.run.dir: empty")
    assert sorted(p.name for p in home.iterdir()) == ["notes", "precious.txt"]


@pytest.mark.parametrize("sweep_dir, starts", [
    ("", "output error: hydra.sweep.dir: empty"),
    (".", "output error: hydra.sweep.dir: . holds files and is not a sweep's directory"),
    ("notes", "output error: hydra.sweep.dir: notes holds files and is not a sweep's"),
    ("precious.txt", "output error: hydra.sweep.dir: precious.txt exists and is not a dir"),
])
def test_a_sweep_dir_that_is_not_a_sweeps_is_refused(home, monkeypatch, sweep_dir, starts):
    # an empty hydra.sweep.dir ran the sweep in the working directory: cells/, aggregate/,
    # report/ ... written among the user's files (a report/ of theirs overwritten)
    result = preflight("-m", *SMALL, "seed=1,2", f"hydra.sweep.dir={sweep_dir}", cwd=home,
                       monkeypatch=monkeypatch)
    one_line_error(result, starts=starts)
    assert intact(home) and sorted(p.name for p in home.iterdir()) == ["notes",
                                                                       "precious.txt"]


def test_an_earlier_sweeps_dir_or_an_empty_one_is_taken(home, monkeypatch):
    from sim.cli.preflight import prepare

    monkeypatch.chdir(home)
    (home / "empty").mkdir()
    (home / "earlier").mkdir()
    (home / "earlier" / "sweep.json").write_text("{}")
    for name in ("empty", "earlier", "new"):
        argv, created = prepare(["-m", *SMALL, "seed=1,2", f"hydra.sweep.dir={name}"])
        assert f"hydra.sweep.dir={name}" in argv and created is None


# ---- 11: where output cannot go ------------------------------------------------------


def test_outputs_being_a_file_is_one_line(home, monkeypatch):
    (home / "outputs").write_text("not a directory")
    result = preflight(*SMALL, cwd=home, monkeypatch=monkeypatch)
    one_line_error(result, starts="output error: cannot create outputs/runs")
    assert (home / "outputs").read_text() == "not a directory"


def test_latest_being_a_real_directory_is_left_alone(home):
    latest = home / "outputs" / "latest"
    latest.mkdir(parents=True)
    (latest / "mine.txt").write_text("keep me")
    result = sim(*SMALL, cwd=home)
    assert result.returncode == 0, result.stderr
    assert "\nwarning: outputs/latest is a real directory" in "\n" + result.stderr
    assert "Traceback" not in result.stderr
    assert (latest / "mine.txt").read_text() == "keep me"


def test_read_only_output_is_one_line(home, tmpfs, monkeypatch):
    ro = tmpfs("1m", readonly=True)
    result = preflight(*SMALL, f"hydra.run.dir={ro / 'run'}", cwd=home, monkeypatch=monkeypatch)
    one_line_error(result, starts="output error: cannot create")


def test_python_tag_in_a_config_dir_runs_nothing(home, monkeypatch):
    conf = home / "myconf"
    conf.mkdir()
    marker = home / "pwned"
    (conf / "config.yaml").write_text(
        f'defaults:\n  - population: fit_note_cohort\nx: !!python/object/apply:os.system '
        f'["touch {marker}"]\n')
    result = preflight("-cd", str(conf), *SMALL, cwd=home, monkeypatch=monkeypatch)
    line = one_line_error(result, starts="config error:")
    assert "python/object/apply" in line
    assert not marker.exists()


# ---- 8: full disks and killed runs ------------------------------------------------------


def test_full_disk_before_the_run_is_one_line(home, tmpfs, monkeypatch):
    disk = tmpfs("256k")
    fill(disk)
    result = preflight(*SMALL, f"hydra.run.dir={disk / 'run'}", cwd=home,
                       monkeypatch=monkeypatch)
    one_line_error(result, starts="output error: not enough free disk space")
    assert sorted(p.name for p in disk.iterdir()) == ["filler"]


def test_disk_filling_during_the_write_is_one_line_and_leaves_nothing(home, tmpfs):
    import time

    disk = tmpfs("16m")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "sim", "population.n=30000",
                             "horizon_weeks=104", "output.latest_link=false",
                             f"hydra.run.dir={disk / 'run'}"], cwd=home, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (disk / "run" / ".hydra" / "overrides.yaml").exists() and time.time() < deadline:
        time.sleep(0.005)
    time.sleep(0.3)  # Hydra has written its files and started the job: fill while it runs
    fill(disk)
    out, err = proc.communicate(timeout=300)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    line = one_line_error(result, code=1, starts="error: could not write the results")
    assert "No space left on device" in line
    # no partial run left (the filler, unless the run filled the disk before it was made)
    assert {p.name for p in disk.iterdir()} <= {"filler"}


def test_sweep_goes_on_after_a_full_disk_and_resumes(home, tmpfs):
    import time

    disk = tmpfs("4m")
    sweep_dir = disk / "sweep"
    args = ("-m", "seed=1,2,3", *SMALL, f"hydra.sweep.dir={sweep_dir}",
            "hydra.launcher.n_jobs=1")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=home, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    # the first cell's cell.json is written just before its run (which takes longer than
    # this poll: the engine's first import and run); waiting a fixed time after Hydra's
    # multirun.yaml let a quick first cell finish before the disk was full
    while not list(sweep_dir.glob("cells/*/cell.json")) and time.time() < deadline:
        time.sleep(0.002)
    fill(disk)  # full once the sweep's cells have started: even recording a failure fails
    out, err = proc.communicate(timeout=300)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    failed = [ln for ln in result.stderr.splitlines() if ln.startswith("cell ")]
    assert len(failed) == 3  # every cell was tried; none aborted the others
    assert all("No space left on device" in ln for ln in failed)
    assert not list(sweep_dir.rglob(".*.partial-*")) and not list(sweep_dir.rglob(".*.tmp-*"))
    (disk / "filler").unlink()
    again = sim(*args, cwd=home, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "3 complete cell(s), 0 failed" in again.stdout


def test_stale_staging_of_a_killed_run_is_cleaned_by_the_next(home):
    runs = home / "outputs" / "runs"
    old = runs / "2020-01-01_00-00-00_killed"
    (old / ".hydra").mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = old / f".results.partial-{dead.pid}"
    stale.mkdir()
    (stale / "agents.parquet").write_bytes(b"x" * 1000)
    live = old / f".results.partial-{os.getpid()}"  # a live writer's: kept
    live.mkdir()
    users = old / ".results.partial-mine"  # not our pattern (no pid): kept
    users.mkdir()
    result = sim(*SMALL, "output.latest_link=false", cwd=home)
    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    assert live.exists() and users.exists() and (old / ".hydra").is_dir()
