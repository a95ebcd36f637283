"""Refuse runs and sweeps that would not fit in memory, before any work starts.

The estimate is a model fitted to measured peaks, not a guess. Peak resident memory of a
whole ``python -m sim`` run (default outputs: agents.parquet and figures; the worst case,
sweeps leave both out) was measured as the maximum RSS of the process (``/usr/bin/time``)
on the 2-core development machine, 2026-11-30 09:55-10:00 (session 16), fit-note cohort,
usual care unless stated (MiB), after the fourth round of issue-19 memory work (the
pathways keep no per-person static parts and read category-only values through a table
and a code, sim/engine/bycode.py; the tables free what the agents table copied out of the
model and build the per-year columns a state at a time)::

    people x replicates   horizon   peak      people x replicates   horizon   peak
    300,000               104       263       1,000,000             26        431
    1,000,000             104       446       1,000,000             260       493
    1M, multicomponent    104       623

(The third round, 2026-11-30 07:20-07:40: 272, 476, 494, 562 and 680 MiB at those points.
The second, that morning: 372, 525, 615, 788 and 849 MiB, 930 at 2M x 104. Before any of
it, 2026-11-29: 865 MiB at 1M x 104, 998 at 1M x 208, 1,527 at 2M x 104; a 10,000,000-person
run at 104 weeks then peaked at 6,797 MiB, and 4,050 MiB after the second round,
2026-11-30 04:36-05:09, which the fit of that round estimated within 14%.)

What it shows: memory grows with people x replicates, with the number of observed years
(``ceil(horizon_weeks / 52)``: per-year state counts and per-year columns of the per-person
table) and with the programme's components (per-person status, waits and effect arrays).
Fitted to the five points above (each within 1%):

    peak MiB = max(FLOOR_MB, BASE_MB + people x replicates / 1e6
                   x (PER_MILLION_MB + PER_MILLION_YEAR_MB x years
                      + PER_MILLION_COMPONENT_MB x components))

with BASE_MB 185 (Python, numpy, pandas, pyarrow, matplotlib, Hydra and what a run keeps
whatever its size), 229 MiB per million people, 16 more per million per observed year, 59
per million per component (from the multicomponent run) (500 more with ``engine=agents``,
one Mesa object per person: 297 MiB at 20,000 people, 339 at 60,000, 10 weeks; that engine
is capped at 200,000 people), and a floor of 240 MiB (below ~200,000 people the import and
plotting phase is the peak: 230 MiB at 20,000 people and 241 at 100,000, 260 weeks with
figures). Checks beyond the fitted points: 2M x 104 weeks peaked at 852 MiB, estimate 818
(third round); 10M x 52 weeks at 2,987 MiB (session 16) and 2,979 (session 24, once
agents.parquet was written in row groups), estimate 2,635; 10M x 260 weeks at 3,308 MiB
(session 24), estimate 3,275. At two years that is ~261 MiB
(~274 bytes) per person above the base, at five years ~309 MiB (~324 bytes). The weekly
loop sets the peak (its working state; sim/engine), so a change there moves these figures:
re-measure them (the test keeps the estimate within 25% of fresh measurements at two
sizes).

A run is refused when its estimate exceeds 90% of the memory available (``MemAvailable``,
or a cgroup limit if lower; ``RTW_SIM_MEMORY_MB=<MiB>`` caps it further on a shared
machine). A sweep runs several cells at once (joblib ``n_jobs``, the local
Ray's CPUs / CPUs per cell): its check adds up the largest cells that can run together.
"""

from __future__ import annotations

import math
import os
import sys

from sim.cli.launchers import OPT_IN, network_exposure
from sim.config import CONFIG_DIR
from sim.errors import ResourceError

BASE_MB = 185.0
FLOOR_MB = 240.0
PER_MILLION_MB = 229.0
PER_MILLION_YEAR_MB = 16.0
PER_MILLION_COMPONENT_MB = 59.0
PER_MILLION_MESA_MB = 500.0  # engine=agents: one Mesa Person object each (20k vs 60k people)
MARGIN = 0.9  # refuse above 90% of what is available
BUDGET_ENV = "RTW_SIM_MEMORY_MB"  # optional cap (MiB) on a shared machine


def years_observed(horizon_weeks: int) -> int:
    return max(1, math.ceil(int(horizon_weeks) / 52))


def _per_million_mb(cfg: dict) -> float:
    components = len((cfg.get("programme") or {}).get("components") or {})
    mesa = PER_MILLION_MESA_MB if cfg.get("engine") == "agents" else 0.0
    return (PER_MILLION_MB + PER_MILLION_YEAR_MB * years_observed(cfg["horizon_weeks"])
            + PER_MILLION_COMPONENT_MB * components + mesa)


def estimated_peak_mb(cfg: dict) -> float:
    """Estimated peak resident memory (MiB) of one run of ``cfg`` (see the module doc)."""
    people = cfg["population"]["n"] * cfg["replicates"]
    return max(FLOOR_MB, BASE_MB + people / 1e6 * _per_million_mb(cfg))


def _cgroup_available_mb() -> float | None:
    """Room left under a cgroup (v2 or v1) memory limit, or None if there is no limit."""
    pairs = (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
             ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
              "/sys/fs/cgroup/memory/memory.usage_in_bytes"))
    for limit_path, usage_path in pairs:
        try:
            with open(limit_path) as fh:
                limit = fh.read().strip()
            with open(usage_path) as fh:
                usage = int(fh.read().strip())
        except (OSError, ValueError):
            continue
        if limit == "max" or not limit.isdigit() or int(limit) >= 2**60:
            return None
        return max(0.0, (int(limit) - usage) / 2**20)
    return None


def available_mb() -> float | None:
    """Memory available to new work: Linux MemAvailable, or less if a cgroup limit or
    ``RTW_SIM_MEMORY_MB`` says so; None if unknown."""
    found = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) / 1024.0
                    break
    except OSError:
        found = None
    cgroup = _cgroup_available_mb()
    if cgroup is not None:
        found = cgroup if found is None else min(found, cgroup)
    budget = os.environ.get(BUDGET_ENV, "").strip()
    if budget:
        try:
            cap = float(budget)
        except ValueError:
            raise ResourceError(f"{BUDGET_ENV}: got {budget!r}, expected a number of MiB "
                                "(the memory rtw-sim may use on this machine)") from None
        found = cap if found is None else min(found, cap)
    return found


def _gb(mb: float) -> str:
    return f"{mb / 1024:.1f} GB"


def max_people(cfg: dict, budget_mb: float) -> int:
    """People x replicates that fit in ``budget_mb`` with this config's horizon and design."""
    room = budget_mb - BASE_MB
    return max(0, int(room / _per_million_mb(cfg) * 1e6)) if room > 0 else 0


def check_memory(cfg: dict, available: float | None = None) -> None:
    """Raise ResourceError if the run's estimated peak memory exceeds what is available."""
    available = available_mb() if available is None else available
    if available is None:
        return
    need = estimated_peak_mb(cfg)
    if need > MARGIN * available:
        people = cfg["population"]["n"] * cfg["replicates"]
        fit = max_people(cfg, MARGIN * available)
        raise ResourceError(
            f"population.n x replicates = {people:,} people would need about {_gb(need)} "
            f"of memory ({years_observed(cfg['horizon_weeks'])} observed year(s)); "
            f"{_gb(available)} is available. Split the work: at most about {fit:,} people x "
            "replicates fit in one run; use fewer people (population.n) or fewer replicates "
            "per run, and run the rest as sweep cells (seed=1,2,3 ...) with few jobs at once "
            "(hydra.launcher.n_jobs=1)"
        )


# ---- sweeps: several cells at once ---------------------------------------------------


def parallel_cells(launcher: dict, n_cells: int, cpus: int | None = None) -> tuple[int, str]:
    """(cells that run at the same time on this machine, the setting that says so).

    Raises ResourceError for a parallelism setting that cannot work (``n_jobs=0``). Returns
    0 for launchers whose cells run on other machines (a Ray cluster, SLURM).
    """
    from omegaconf import OmegaConf

    if OmegaConf.is_config(launcher):
        launcher = OmegaConf.to_container(launcher, resolve=True)
    cpus = cpus or os.cpu_count() or 1
    target = str(launcher.get("_target_", ""))
    if "joblib" in target.lower():
        if target.endswith("CachingJoblibLauncher"):  # rtw_joblib: fork or loky
            from sim.cli.fork_pool import backend_error

            problem = backend_error(launcher.get("backend"))
            if problem:
                raise ResourceError(problem)
        n_jobs = launcher.get("n_jobs", -1)
        if n_jobs is None:
            n_jobs = 1
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int):
            raise ResourceError(f"hydra.launcher.n_jobs: got {n_jobs!r}, expected a whole "
                                "number of parallel jobs (e.g. 2, or -1 for one per core)")
        if n_jobs == 0:
            raise ResourceError("hydra.launcher.n_jobs: got 0, expected a positive number of "
                                f"parallel jobs (1 to {cpus} here) or -1 for one per core")
        jobs = n_jobs if n_jobs > 0 else cpus + 1 + n_jobs  # joblib: -1 = all cores
        if jobs < 1:
            raise ResourceError(f"hydra.launcher.n_jobs: got {n_jobs}, which leaves no worker "
                                f"on {cpus} cores; expected 1 to {cpus}, or -1 for one per core")
        return min(jobs, n_cells), f"hydra.launcher.n_jobs={n_jobs}"
    if "ray" in target.lower():
        ray = launcher.get("ray") or {}
        init, remote = ray.get("init") or {}, ray.get("remote") or {}
        if init.get("address") != "local":
            return 0, "a Ray cluster"
        total = init.get("num_cpus") or cpus
        per_cell = remote.get("num_cpus") or 1
        if not isinstance(total, int | float) or total <= 0:
            raise ResourceError(f"hydra.launcher.ray.init.num_cpus: got {total!r}, expected "
                                "a positive number of CPUs")
        if not isinstance(per_cell, int | float) or per_cell <= 0:
            raise ResourceError(f"hydra.launcher.ray.remote.num_cpus: got {per_cell!r}, "
                                "expected a positive number of CPUs per cell")
        jobs = max(1, int(total // per_cell))
        return min(jobs, n_cells), (f"hydra.launcher.ray.init.num_cpus={total} / "
                                    f"ray.remote.num_cpus={per_cell}")
    if "slurm" in target.lower():
        return 0, "SLURM"
    if "submitit" in target.lower():  # local submitit: array tasks side by side
        jobs = launcher.get("array_parallelism") or n_cells
        return min(int(jobs), n_cells), f"hydra.launcher.array_parallelism={jobs}"
    return 1, "one cell at a time"


def check_sweep_memory(estimates: list[float], parallel: int, setting: str,
                       available: float | None = None) -> None:
    """Raise ResourceError if the ``parallel`` largest cells together would not fit."""
    available = available_mb() if available is None else available
    if available is None or parallel <= 1 or not estimates:
        return
    largest = sorted(estimates, reverse=True)[:parallel]
    need = sum(largest)
    if need > MARGIN * available:
        fits = 0
        while fits < len(largest) and sum(largest[:fits + 1]) <= MARGIN * available:
            fits += 1
        advice = (f"run at most {fits} at once (hydra.launcher.n_jobs={fits}, or "
                  f"+hydra.launcher.ray.init.num_cpus={fits} with Ray)" if fits >= 1 else
                  "even one cell does not fit")
        raise ResourceError(
            f"sweep: {parallel} cells at once ({setting}) would need about {_gb(need)} of "
            f"memory (largest cell about {_gb(largest[0])}); {_gb(available)} is available. "
            f"Split the work: {advice}, or use fewer people (population.n) or replicates "
            "per cell")


def _estimate_relevant(override: str) -> bool:
    key = override.lstrip("+~").split("=", 1)[0]
    return key.split(".")[0].split("/")[0] in ("population", "replicates", "horizon_weeks",
                                                "programme", "experiment", "component")


def _sweep_cells(config) -> list[list[str]]:
    from omegaconf import OmegaConf

    from sim.compare.sweep_grid import grid  # lazy, as in sim.cli.preflight._cells

    params = OmegaConf.select(config, "hydra.sweeper.params", default=None) or {}
    if OmegaConf.is_config(params):
        params = OmegaConf.to_container(params, resolve=True)
    return grid(list(config.hydra.overrides.task), params)


def sweep_cell_estimates(config, cells: list[list[str]] | None = None) -> list[float]:
    """Estimated peak MiB of every cell of a multirun ``config`` (Hydra's, with ``hydra``).

    Cells that agree on the settings the estimate reads (population, replicates, horizon,
    programme) are composed once. A cell that does not compose is skipped: the pre-flight
    check reports config errors.
    """
    from hydra import compose
    from omegaconf import OmegaConf

    cells = _sweep_cells(config) if cells is None else cells
    config_name = OmegaConf.select(config, "hydra.job.config_name", default="config")
    cache: dict = {}
    out = []
    for cell in cells:
        key = tuple(o for o in cell if _estimate_relevant(o))
        if key not in cache:
            try:
                cfg = compose(config_name=config_name, overrides=list(key))
                plain = OmegaConf.to_container(cfg, resolve=True)
                cache[key] = estimated_peak_mb(plain)
            except Exception:  # noqa: BLE001 - reported by the pre-flight, not here
                cache[key] = None
        if cache[key] is not None:
            out.append(cache[key])
    return out


def _quick_upper_bound_mb(config, cells: list[list[str]]) -> float | None:
    """An upper bound on any cell's estimate without composing each cell (~0.2 s each):
    per cell, its own people, replicates and horizon, else the base config's (or, if it
    picks a population preset, the largest of any preset), with the most components any
    programme preset has. None when the overrides do something it cannot bound."""
    from omegaconf import OmegaConf

    presets = {o.split("=", 1)[1] for cell in cells for o in cell
               if o.lstrip("+").split("=", 1)[0] == "experiment"}
    if len(presets) > 1:  # the base config holds no single preset's values
        return None
    base = {k: OmegaConf.select(config, k) for k in ("population.n", "replicates",
                                                      "horizon_weeks")}
    base_components = len(OmegaConf.select(config, "programme.components") or {})
    preset_n = preset_components = None
    largest = dict.fromkeys(base, 0)
    most_components = 0
    for cell in cells:
        values, components = dict(base), base_components
        for override in cell:
            key, _, value = override.lstrip("+").partition("=")
            if key in values:
                try:
                    values[key] = int(value)
                except ValueError:
                    return None
            elif key == "population" and "population.n" not in {
                    o.lstrip("+").split("=", 1)[0] for o in cell}:
                if preset_n is None:
                    preset_n = max(int(OmegaConf.load(p).get("n") or 0)
                                   for p in (CONFIG_DIR / "population").glob("*.yaml"))
                values["population.n"] = max(int(base["population.n"]), preset_n)
            elif key == "programme":
                if preset_components is None:
                    preset_components = max(p.read_text().count("@components.")
                                            for p in (CONFIG_DIR / "programme").glob("*.yaml"))
                components = max(components, preset_components)
            elif key == "experiment":
                continue  # one preset for every cell: its values are in the base config
            elif key.split(".")[0].split("/")[0] in ("programme", "component"):
                return None
        try:
            for k in largest:
                largest[k] = max(largest[k], int(values[k]))
        except (TypeError, ValueError):
            return None
        most_components = max(most_components, components)
    cfg = {"population": {"n": largest["population.n"]}, "replicates": largest["replicates"],
           "horizon_weeks": largest["horizon_weeks"],
           "programme": {"components": dict.fromkeys(range(most_components))},
           "engine": OmegaConf.select(config, "engine")}
    return estimated_peak_mb(cfg)


def guard_sweep(config) -> None:
    """Before a multirun: the launcher's parallelism is valid and the cells that run at
    once fit in memory; otherwise one line on stderr and exit code 2 (nothing written)."""
    from omegaconf import OmegaConf

    launcher = OmegaConf.to_container(config.hydra.launcher, resolve=True)
    try:
        if "LoopbackRayLauncher" in str(launcher.get("_target_", "")) and not launcher.get(
                "allow_ray_on_network"):
            problem = network_exposure((launcher.get("ray") or {}).get("init") or {})
            if problem:
                raise ResourceError(f"{problem}; to run Ray reachable from the network "
                                    f"anyway, add {OPT_IN}")
        try:
            cells = _sweep_cells(config)
        except Exception:  # noqa: BLE001 - another sweeper: its cells are not known here
            cells = None
        parallel, setting = parallel_cells(launcher, len(cells) if cells else 1)
        if cells and parallel > 1:  # one cell at a time: the pre-flight checked each
            bound = _quick_upper_bound_mb(config, cells)
            available = available_mb()
            if bound is None or available is None or parallel * bound > MARGIN * available:
                check_sweep_memory(sweep_cell_estimates(config, cells), parallel, setting)
    except ResourceError as err:
        print(f"config error: {err}", file=sys.stderr)
        sys.exit(2)
