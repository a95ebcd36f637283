"""``sim.model``: a stable import path; the code lives in :mod:`sim.engine.model`.

Written by scripts/relayout.py (relayout shim); users' scripts keep importing
``from sim.model import ...``. New code imports from sim.engine.model.
"""

from sim.engine.model import (  # noqa: F401
    DYNAMIC_COLUMNS,
    EVENT_WEEK_COLUMNS,
    N_STATES,
    NEVER_WEEK,
    Column,
    Effects,
    Person,
    RTWModel,
)

__all__ = [
    "Column",
    "DYNAMIC_COLUMNS",
    "EVENT_WEEK_COLUMNS",
    "Effects",
    "NEVER_WEEK",
    "N_STATES",
    "Person",
    "RTWModel",
]
