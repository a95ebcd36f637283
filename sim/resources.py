"""Refuse runs that would not fit in memory, before any work starts.

Measured on the development machine (``experiments/bench.py --worker``): peak memory is
about 240 MB of base (Python, numpy, pandas, matplotlib) plus about 260 bytes per simulated
person (columns, outcome tables, parquet writing): 292 MB at 200k people, 520 MB at 1M,
760 MB at 2M. The estimate adds a 25% margin.
"""

from __future__ import annotations

BASE_MB = 300.0
BYTES_PER_PERSON = 325.0


class ResourceError(ValueError):
    """A run that cannot be done on this machine (one line)."""


def estimated_peak_mb(cfg: dict) -> float:
    people = cfg["population"]["n"] * cfg["replicates"]
    return BASE_MB + BYTES_PER_PERSON * people / 2**20


def available_mb() -> float | None:
    """Memory available to new work (Linux MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def check_memory(cfg: dict, available: float | None = None) -> None:
    """Raise ResourceError if the run's estimated peak memory exceeds what is available."""
    available = available_mb() if available is None else available
    if available is None:
        return
    need = estimated_peak_mb(cfg)
    if need > 0.9 * available:
        people = cfg["population"]["n"] * cfg["replicates"]
        raise ResourceError(
            f"population.n x replicates = {people:,} people would need about "
            f"{need / 1024:.1f} GB of memory; {available / 1024:.1f} GB is available. Use fewer "
            "people or replicates per run, or split replicates across sweep cells "
            "(seed=1,2,3 ...)"
        )
