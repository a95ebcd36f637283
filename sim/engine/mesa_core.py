"""Mesa's ``Model``, ``Agent`` and ``DataCollector`` without mesa's package ``__init__``.

``import mesa`` runs ``mesa/__init__.py``, which imports every subpackage, among them
``mesa.discrete_space`` (grids and networks: scipy.spatial and networkx) and
``mesa.batchrunner`` (tqdm). The engine uses none of them, and they were the largest part
of a run's fixed start-up: measured with ``python -X importtime`` on the 2-core machine,
2026-11-30 (mesa 3.5.1), ``import mesa`` cost 1.18 s cumulative under load against
0.2-0.3 s for the three modules below (scipy.spatial 0.70 s and networkx 0.40 s of it).

:func:`load` imports ``mesa.model``, ``mesa.agent`` and ``mesa.datacollection`` under a
temporary, empty ``mesa`` package object and then removes that placeholder, so that a
later ``import mesa`` (the explorer, Mesa's visualisation) runs the real ``__init__``,
which picks up the same, already imported submodules: ``mesa.Model is load().Model``
either way. When mesa is already imported the real package is used as it is.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import types

_CORE = ("mesa.agent", "mesa.model", "mesa.datacollection")
# packages whose __init__ is skipped: mesa's imports everything (discrete spaces: scipy.spatial,
# networkx; the batch runner: tqdm), mesa.experimental's imports continuous spaces (scipy.spatial)
_PACKAGES = ("mesa", "mesa.experimental")


def load() -> types.SimpleNamespace:
    """A namespace with mesa's ``Model``, ``Agent`` and ``DataCollector`` classes."""
    if "mesa" in sys.modules:
        return _namespace(sys.modules["mesa"])
    placeholders = [_placeholder(name) for name in _PACKAGES]
    getouterframes = inspect.getouterframes
    try:
        modules = {}
        # mesa's method_logger (in mesa.model's class body) asks for its caller's name
        # with inspect.getouterframes, which also reads the source lines of every frame
        # of the import stack (inspect.getmodule scans sys.modules for each): ~0.25 s CPU
        # of a run's start-up (issue 19). Its caller's name needs no source lines.
        inspect.getouterframes = _outer_frames_without_source
        for name in _CORE:  # in order: mesa.datacollection does ``from mesa import Agent``
            modules[name] = importlib.import_module(name)
            placeholders[0].Agent = modules["mesa.agent"].Agent
    finally:
        inspect.getouterframes = getouterframes
        # the real packages are imported afresh by whoever asks for ``mesa`` itself; they
        # find the submodules above in sys.modules and reuse them
        for module in placeholders:
            if sys.modules.get(module.__name__) is module:
                del sys.modules[module.__name__]
    return types.SimpleNamespace(Model=modules["mesa.model"].Model,
                                 Agent=modules["mesa.agent"].Agent,
                                 DataCollector=modules["mesa.datacollection"].DataCollector)


def _outer_frames_without_source(frame, context: int = 1):
    """``inspect.getouterframes`` without the source lines (``context=0``)."""
    return _GETOUTERFRAMES(frame, 0)


_GETOUTERFRAMES = inspect.getouterframes


def _placeholder(name: str) -> types.ModuleType:
    """An empty package ``name`` in sys.modules whose submodules import from its folder."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:  # pragma: no cover
        raise ImportError(f"{name} is not installed")
    module = types.ModuleType(name)
    module.__path__ = list(spec.submodule_search_locations)
    module.__spec__ = spec
    sys.modules[name] = module
    return module


def _namespace(mesa: types.ModuleType) -> types.SimpleNamespace:
    return types.SimpleNamespace(Model=mesa.Model, Agent=mesa.Agent,
                                 DataCollector=mesa.DataCollector)
