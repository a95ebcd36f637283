"""rtw-sim: agent-based simulation of return-to-work pathways after sickness absence.

Entry points: :func:`sim.simulate.simulate` (pure: config in, tables out),
:func:`sim.config.load_config` (compose and validate a config in Python), and the Hydra
CLI ``python -m sim``.
"""

__version__ = "0.1.0"
