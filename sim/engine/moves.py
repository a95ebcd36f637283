"""A week's moves as lookup tables over (state left, outcome code) (the vectorised engine).

Each mover's new state and the events their move marks (first job loss, first benefit
claim, a return, a new spell, ...) depend only on the state they leave and their outcome
code (:mod:`sim.engine.pathways`). One table lookup a mover gives both, so applying a
week's moves costs a few numpy calls per kind of move that happened, whatever the number
of kinds that could have (the per-week fixed cost counts at 10,000-100,000 people; issue
19). The per-agent engine (:meth:`sim.engine.agent.Person.step`) spells the same rules out
one person at a time; tests/test_engines.py checks the two agree.

>>> int(TO_STATE[ABSENT, JOB_LOSS]) == UNEMPLOYED
True
>>> bool(EVENTS[WORKING, RELAPSE] & NEW_SPELL)
True
"""

from __future__ import annotations

import numpy as np

from sim.engine.categories import (
    ABSENT,
    INACTIVE,
    INACTIVE_BENEFIT,
    PHASED,
    RETIRED,
    STATES,
    UNEMPLOYED,
    WORKING,
)
from sim.engine.pathways import (
    CLAIM,
    INACTIVITY,
    INACTIVITY_BENEFIT,
    JOB_LOSS,
    RELAPSE,
    RETIRE,
    RETURN,
    SEEK,
    SEPARATION,
)

N_CODES = 10  # outcome codes STAY .. SEPARATION
IN_WORK = (PHASED, WORKING)
OUT_OF_WORK = (INACTIVE, INACTIVE_BENEFIT)

# Event bits: the first-time columns (sim.engine.model.EVENT_WEEK_COLUMNS) a move marks, and
# the moves that need more than a new state.
FIRST_TIME = ("retired_week", "job_loss_week", "benefit_week", "inactive_week",
              "separation_week", "first_onset", "left_inactive_week", "reemployed_week")
BIT = {name: 1 << k for k, name in enumerate(FIRST_TIME)}
RETURN_FROM_ABSENCE = 1 << len(FIRST_TIME)  # phased or full hours, by the return-mode draw
LEFT_WORK = 1 << (len(FIRST_TIME) + 1)  # from work for good or for a new spell: sustained?
NEW_SPELL = BIT["first_onset"]
REEMPLOYED = BIT["reemployed_week"]

TO_STATE = np.full((len(STATES), N_CODES), -1, dtype=np.int8)  # -1: not a move
EVENTS = np.zeros((len(STATES), N_CODES), dtype=np.int32)


def _move(states, code, to, *events):
    for s in states:
        TO_STATE[s, code] = to
        for e in events:
            EVENTS[s, code] |= BIT.get(e, 0) if isinstance(e, str) else e


_move([s for s in range(len(STATES)) if s != RETIRED], RETIRE, RETIRED, "retired_week")
_move(IN_WORK, RETIRE, RETIRED, LEFT_WORK)
_move([ABSENT], RETURN, WORKING, RETURN_FROM_ABSENCE)
_move([ABSENT], JOB_LOSS, UNEMPLOYED, "job_loss_week")
_move([ABSENT], INACTIVITY_BENEFIT, INACTIVE_BENEFIT, "inactive_week", "benefit_week")
_move([ABSENT], INACTIVITY, INACTIVE, "inactive_week")
_move([PHASED], RETURN, WORKING)
_move(IN_WORK, SEPARATION, UNEMPLOYED, "separation_week", LEFT_WORK)
_move(IN_WORK, RELAPSE, ABSENT, "first_onset", LEFT_WORK)
_move([UNEMPLOYED], RETURN, WORKING, "reemployed_week")
_move([UNEMPLOYED], INACTIVITY, INACTIVE, "inactive_week")
_move([INACTIVE], CLAIM, INACTIVE_BENEFIT, "benefit_week")
_move(OUT_OF_WORK, SEEK, UNEMPLOYED, "left_inactive_week")
_move(OUT_OF_WORK, RETURN, WORKING, "left_inactive_week", "reemployed_week")
TO_STATE.setflags(write=False)
EVENTS.setflags(write=False)


def lookup(from_state: np.ndarray, code: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """New states (int8), event bits of each mover, and the bits of any of them."""
    key = from_state.astype(np.intp)
    key *= N_CODES
    key += code
    to_state = TO_STATE.ravel()[key]
    if to_state.size and to_state.min() < 0:
        raise AssertionError("a decision gave an outcome its state has no move for")
    events = EVENTS.ravel()[key]
    return to_state, events, int(np.bitwise_or.reduce(events)) if events.size else 0
