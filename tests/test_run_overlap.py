"""What ``python -m sim`` overlaps with its main work (issue 19) writes the same files.

The helper process (gap decomposition, figures: sim/results/helper.py) and the thread that
writes agents.parquet while the last tables are computed (ResultsWriter) must give files
byte-identical to writing everything in one process, fail in one line with nothing kept,
and the single run's pre-flight composes its config once.
"""

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.config import load_config
from sim.results.helper import Helper, HelperError
from sim.results.output import ResultsWriter, write_results
from sim.simulate import simulate

# small: the decomposition's three runs are as large as the run (decomposition_n caps at n)
SMALL = ["population.n=1500", "horizon_weeks=30", "replicates=2"]


def digests(folder):
    """sha256 of every file but the manifest (timings) and the summary's timing line."""
    out = {}
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        if path.name == "manifest.json":
            continue
        if path.name == "summary.md":
            data = b"\n".join(line for line in data.splitlines() if b"simulated in" not in line)
        out[path.name] = hashlib.sha256(data).hexdigest()
    return out


@pytest.fixture(scope="module")
def cfg():
    return load_config(SMALL)


@pytest.fixture(scope="module")
def in_process(cfg, tmp_path_factory):
    return write_results(simulate(cfg), tmp_path_factory.mktemp("one") / "results")


@pytest.mark.parametrize("helper_busy", [False, True], ids=["helper-free", "helper-busy"])
def test_helper_and_agents_thread_write_the_same_files(cfg, in_process, tmp_path,
                                                       monkeypatch, helper_busy):
    """The figures are drawn by the helper when it has finished the decomposition by the
    time the tables are written, else here (a default run's helper is still busy then);
    the files are the same either way."""
    import sim.results.plots as plots

    drawn_here = []
    draw = plots.draw_figures
    monkeypatch.setattr(plots, "draw_figures", lambda *a: drawn_here.append(1) or draw(*a))
    # the helper takes ~1-2 s to start (imports) and draws the figures: why this test is
    # slower than a plain write
    with Helper() as helper:
        if helper_busy:  # work ahead of the decomposition that outlasts the run
            helper.submit("time:sleep", 4.0, writes=False)
        ticket = helper.submit("sim.uncertainty.decomposition:counterfactual_gaps", cfg,
                               writes=False)
        if not helper_busy:
            helper.result(ticket)
        with ResultsWriter(tmp_path / "results", helper, ticket) as writer:
            # and the economics table in a thread beside the other tables
            writer.write(simulate(cfg, agents_ready=writer.agents_ready, overlap=True))
        submitted = helper._sent
    got = digests(tmp_path / "results")
    assert {"agents.parquet", "gap_decomposition.csv", "rtw_curves.png", "states.png",
            "summary.md"} <= set(got)
    assert got == digests(in_process)
    assert [p.name for p in tmp_path.iterdir()] == ["results"]  # no staging left
    # busy: drawn here, nothing more sent; free: sent to the helper, not drawn here
    assert (drawn_here, submitted) == (([1], 2) if helper_busy else ([], 2))


def test_closing_the_helper_waits_only_for_work_that_writes(tmp_path):
    import time

    helper = Helper()
    helper.result(helper.submit("math:factorial", 3))  # started (imports done)
    helper.submit("time:sleep", 60.0, writes=False)  # e.g. a preload no longer wanted
    start = time.monotonic()
    helper.close()
    assert time.monotonic() - start < 10  # killed, not waited for
    helper = Helper()
    target = tmp_path / "written"
    helper.submit("time:sleep", 1.5)  # work that may write: waited for, and what follows
    helper.submit("shutil:copyfile", __file__, str(target))
    helper.close()
    assert target.read_bytes() == Path(__file__).read_bytes()


def test_the_economics_thread_gives_the_same_tables_and_person_costs(cfg):
    one, two = simulate(cfg), simulate(cfg, overlap=True)
    for name in ("economics", "summary", "calibration", "quality", "cif", "rtw_curves"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name))
    assert one.person_economics.keys() == two.person_economics.keys() != set()
    for name, column in one.person_economics.items():
        np.testing.assert_array_equal(column, two.person_economics[name])


def test_an_error_on_either_side_of_the_economics_thread_is_raised_once_it_ended(
        cfg, monkeypatch):
    import threading
    import time

    import sim.simulate as simulate_module

    def broken(*args):
        raise ValueError("costing failed")

    monkeypatch.setattr(simulate_module, "economics_table", broken)
    with pytest.raises(ValueError, match="costing failed"):
        simulate(cfg, overlap=True)
    ended = threading.Event()

    def slow(*args):
        time.sleep(0.3)
        ended.set()

    def summary_fails(*args):
        raise RuntimeError("summary failed")

    monkeypatch.setattr(simulate_module, "economics_table", slow)
    monkeypatch.setattr(simulate_module, "group_summary", summary_fails)
    with pytest.raises(RuntimeError, match="summary failed"):
        simulate(cfg, overlap=True)
    assert ended.is_set()  # the thread had finished reading the run before the error left


def test_a_failure_in_the_helper_is_one_line_and_keeps_nothing(cfg, tmp_path):
    results = simulate(cfg)
    with Helper() as helper:
        # a config the helper's decomposition cannot run: its error comes back typed
        ticket = helper.submit("sim.uncertainty.decomposition:counterfactual_gaps",
                               {"population": {"n": 10}})
        with pytest.raises(HelperError) as err:
            write_results(results, tmp_path / "results", helper=helper,
                          decomposition_ticket=ticket)
    assert "\n" not in str(err.value) and str(err.value).startswith("KeyError")
    assert list(tmp_path.iterdir()) == []


def test_a_failure_writing_agents_in_the_thread_keeps_nothing(cfg, tmp_path, monkeypatch):
    import sim.results.output as output

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "_write_agents", boom)
    with pytest.raises(OSError, match="No space"):
        with ResultsWriter(tmp_path / "results") as writer:
            writer.write(simulate(cfg, agents_ready=writer.agents_ready))
    assert list(tmp_path.iterdir()) == []


def test_helper_results_come_back_by_ticket_and_a_dead_helper_is_an_error():
    helper = Helper()
    a = helper.submit("math:factorial", 5)
    b = helper.submit("math:sqrt", -1.0)  # ValueError in the helper
    c = helper.submit("math:gcd", 12, 18)
    assert helper.result(c) == 6 and helper.result(a) == 120
    with pytest.raises(HelperError, match="ValueError: math domain error"):
        helper.result(b)
    helper.close(kill=True)
    with pytest.raises(HelperError, match="stopped"):
        helper.result(helper.submit("math:factorial", 3))


def test_the_helper_says_no_config_warning_the_main_process_has_said(capfd):
    """The decomposition's runs in the helper validate the run's config again; its
    warnings (a metric beyond the horizon) were printed twice in a large run (issue 19's
    10M check). The helper keeps quiet: the main process says each once."""
    cfg = load_config(["population.n=500", "horizon_weeks=30"])
    capfd.readouterr()
    with Helper() as helper:
        checked = helper.result(helper.submit("sim.config:validate", cfg))
    assert checked["horizon_weeks"] == 30
    assert "config warning" not in capfd.readouterr().err


def test_a_single_run_is_composed_once_before_hydra(monkeypatch, tmp_path):
    import hydra

    from sim.cli import preflight

    calls = []
    compose = hydra.compose

    def counted(*args, **kwargs):
        calls.append(kwargs.get("return_hydra_config", False))
        return compose(*args, **kwargs)

    monkeypatch.setattr(hydra, "compose", counted)
    run_dir = tmp_path / "run"
    argv, created = preflight.prepare(["population.n=2000", f"hydra.run.dir={run_dir}"])
    assert calls == [True]  # one compose gives both the check and Hydra's settings
    assert created == run_dir and run_dir.is_dir()
    # a bad value is still caught by the same single compose, in one line
    calls.clear()
    with pytest.raises(preflight.ConfigError) as err:
        preflight.prepare(["population.n=-5", f"hydra.run.dir={tmp_path / 'other'}"])
    assert "population.n" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "other").exists()


@pytest.fixture
def helpers(monkeypatch):
    """sim.results.helper on a quiet two-CPU machine (load 0.3, the auto setting) whose
    runnable count says busy, so that a high load average set by a test is the machine's
    state (no idle CPU "right now" overrides it)."""
    from sim.results import helper

    monkeypatch.delenv(helper.HELPER_ENV, raising=False)
    monkeypatch.setattr(helper, "_cpus", lambda: 2)
    monkeypatch.setattr(helper, "_load", lambda: 0.3)
    monkeypatch.setattr(helper, "_runnable", lambda: 2)
    monkeypatch.setattr(helper, "_IDLE_NOW", {})
    return helper


def test_the_helper_is_used_for_large_runs_with_work_for_it_and_an_idle_cpu(monkeypatch,
                                                                            helpers):
    big = load_config(["population.n=100000"])
    assert helpers.wanted(big)
    assert not helpers.wanted(load_config(["population.n=49999"]))
    assert not helpers.wanted(load_config(["population.n=100000", "output.plots=false",
                                           "outcomes.decomposition_n=0"]))
    monkeypatch.setattr(helpers, "_load", lambda: 1.2)  # the lagging average of a run just done
    assert helpers.wanted(big)
    monkeypatch.setattr(helpers, "_load", lambda: 1.5)  # no idle CPU
    assert not helpers.wanted(big)
    monkeypatch.setenv(helpers.HELPER_ENV, "on")
    assert helpers.wanted(big)
    monkeypatch.setattr(helpers, "_cpus", lambda: 1)
    monkeypatch.setattr(helpers, "_load", lambda: 0.0)
    monkeypatch.setenv(helpers.HELPER_ENV, "auto")
    assert not helpers.wanted(big)
    monkeypatch.setenv(helpers.HELPER_ENV, "off")
    monkeypatch.setattr(helpers, "_cpus", lambda: 8)
    assert not helpers.wanted(big)


def test_the_economics_thread_is_used_for_large_runs_with_an_idle_cpu(monkeypatch, helpers):
    quiet = ["output.plots=false", "outcomes.decomposition_n=0"]  # no work for the helper
    assert helpers.overlap_tables(load_config(["population.n=100000", *quiet]))
    assert helpers.overlap_tables(load_config(["population.n=10000", "replicates=5"]))
    assert not helpers.overlap_tables(load_config(["population.n=49999"]))
    monkeypatch.setattr(helpers, "_load", lambda: 1.5)  # no idle CPU
    assert not helpers.overlap_tables(load_config(["population.n=100000"]))
    monkeypatch.setenv(helpers.HELPER_ENV, "on")
    assert helpers.overlap_tables(load_config(["population.n=100000"]))
    monkeypatch.setenv(helpers.HELPER_ENV, "off")
    monkeypatch.setattr(helpers, "_load", lambda: 0.0)
    assert not helpers.overlap_tables(load_config(["population.n=100000"]))


def test_a_helper_switch_that_is_not_auto_on_or_off_is_refused_in_one_line(monkeypatch):
    from sim.errors import ConfigError
    from sim.results import helper as helpers

    for good in ("auto", "On", " off "):
        monkeypatch.setenv(helpers.HELPER_ENV, good)
        helpers.check_setting()
    monkeypatch.delenv(helpers.HELPER_ENV)
    helpers.check_setting()
    monkeypatch.setenv(helpers.HELPER_ENV, "maybe")
    with pytest.raises(ConfigError, match=r"^RTW_SIM_HELPER: got 'maybe', expected one of "
                                          r"auto, on, off$"):
        helpers.check_setting()


def test_a_cpu_to_spare_by_the_average_or_by_what_runs_now(monkeypatch):
    """The one-minute load average lags behind work that has ended (issue 19): when it says
    busy, a CPU idle in every look at the runnable count decides; one look is kept for a
    few seconds (the helper process, once started, must not change the next decision)."""
    from sim.results import helper

    monkeypatch.setenv("RTW_SIM_HELPER", "auto")
    monkeypatch.setattr(helper, "_cpus", lambda: 2)
    monkeypatch.setattr(helper, "_IDLE_NOW", {})
    looks = []

    def runnable(counts):
        it = iter(counts)
        return lambda: looks.append(1) or next(it)

    monkeypatch.setattr(helper, "_load", lambda: 0.4)
    monkeypatch.setattr(helper, "_runnable", runnable([]))
    assert helper.cpu_to_spare() and looks == []  # a quiet average: no look needed
    monkeypatch.setattr(helper, "_load", lambda: 2.0)
    monkeypatch.setattr(helper, "_runnable", runnable([1, 1, 1]))
    assert helper.cpu_to_spare() and len(looks) == helper.IDLE_LOOKS
    monkeypatch.setattr(helper, "_runnable", runnable([]))
    assert helper.cpu_to_spare()  # kept: no new look (the iterator is empty)
    for counts in ([1, 2, 1], [2], [None]):  # busy in one look, or no count at all
        monkeypatch.setattr(helper, "_IDLE_NOW", {})
        monkeypatch.setattr(helper, "_runnable", runnable(counts))
        assert not helper.cpu_to_spare()
    monkeypatch.setattr(helper, "_IDLE_NOW", {})
    monkeypatch.setattr(helper, "_cpus", lambda: 1)
    assert not helper.cpu_to_spare()  # one CPU: nothing to overlap on
    monkeypatch.setattr(helper, "_cpus", lambda: 2)
    monkeypatch.setenv("RTW_SIM_HELPER", "off")
    monkeypatch.setattr(helper, "_runnable", runnable([1, 1, 1]))
    assert not helper.cpu_to_spare()
    assert helper._runnable.__name__ == "<lambda>"  # (the real one reads /proc/loadavg)


def test_the_runnable_count_is_read_from_the_kernel():
    import os

    from sim.results import helper

    count = helper._runnable()
    if not os.path.exists("/proc/loadavg"):
        assert count is None
    else:
        assert isinstance(count, int) and count >= 1  # this process is running


def test_agents_are_written_a_row_group_at_a_time_as_their_costs_come(cfg, tmp_path,
                                                                       monkeypatch):
    """The agents thread writes each row group once the economics has costed its people
    (several groups and costing chunks here): it waits for every group's last row in
    turn, and the file is the one written in one go after the run."""
    import sim.results.economics as economics
    import sim.results.output as output
    from sim.background import Rows

    monkeypatch.setattr(output, "AGENT_ROW_GROUP", 700)
    monkeypatch.setattr(economics, "PERSON_COSTS_CHUNK", 500)
    waited, advanced = [], []
    wait, advance = Rows.wait, Rows.advance
    monkeypatch.setattr(Rows, "wait", lambda self, rows: waited.append(rows) or wait(self, rows))
    monkeypatch.setattr(Rows, "advance",
                        lambda self, rows: advanced.append(rows) or advance(self, rows))
    with ResultsWriter(tmp_path / "thread", None) as writer:
        writer.write(simulate(cfg, agents_ready=writer.agents_ready, overlap=True))
    n = int(cfg["population"]["n"]) * int(cfg["replicates"])
    assert waited == [*range(700, n, 700), n]
    assert advanced == [*range(500, n, 500), n]
    results = simulate(cfg)
    output._write_agents(results.agents, cfg, results.person_economics,
                         tmp_path / "whole.parquet")
    assert ((tmp_path / "thread" / "agents.parquet").read_bytes()
            == (tmp_path / "whole.parquet").read_bytes())


@pytest.mark.parametrize("overlap", [True, False])
def test_a_costing_that_fails_stops_the_agents_thread_and_keeps_nothing(cfg, tmp_path,
                                                                         monkeypatch, overlap):
    """The economics fails half-way while the agents thread waits for the rest of the
    costs: the run's error comes out (once, not the thread's), the thread ends, nothing
    is kept; never a wait for ever."""
    import threading

    import sim.simulate as simulate_module

    def half_then_fails(agents, cfg, programme, person_columns, progress):
        progress(len(agents) // 2)
        raise ValueError("costing failed")

    monkeypatch.setattr(simulate_module, "economics_table", half_then_fails)
    outcome = []

    def run():
        try:
            with ResultsWriter(tmp_path / "results", None) as writer:
                writer.write(simulate(cfg, agents_ready=writer.agents_ready, overlap=overlap))
        except Exception as err:  # noqa: BLE001 - checked below
            outcome.append(err)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "the run waited for ever"
    assert [type(e).__name__ for e in outcome] == ["ValueError"]
    assert "costing failed" in str(outcome[0])
    assert list(tmp_path.iterdir()) == []


def test_rows_wait_for_their_producer_and_never_for_ever():
    import threading

    from sim.background import Abandoned, Rows

    rows = Rows(10)
    rows.wait(0)  # nothing to wait for
    got = []
    reader = threading.Thread(target=lambda: (rows.wait(6), got.append("6 ready")))
    reader.start()
    rows.advance(4)
    reader.join(0.2)
    assert reader.is_alive() and not got  # 4 of the 6 it needs
    rows.advance(7)
    reader.join(10)
    assert got == ["6 ready"]
    rows.abandon()
    rows.wait(7)  # complete before the producer stopped: still fine
    with pytest.raises(Abandoned, match="7-10"):
        rows.wait(10)
