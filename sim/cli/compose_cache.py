"""Read each config file once per process: Hydra's file loads, cached (issue 19).

Hydra composes a config from scratch every time: it reads and parses some 30 YAML files
and builds an OmegaConf node for each (``OmegaConf.load``), about half of a compose's CPU.
A sweep's parent composes often (the pre-flight checks every set of config-group choices,
Hydra composes the master config, the launcher composes each set of group choices once
more to ship it to the workers), always from the same files: in the 100-cell benchmark
44 composes, some 500 file loads of a few dozen distinct files.

:func:`install` wraps the ``load_config`` of Hydra's two file-backed config sources
(``file://`` directories and ``pkg://`` package resources): the first load of a file is
Hydra's own; its result is kept pickled, and every later load of the same file returns a
fresh unpickled copy (about 1 ms against about 16 ms to parse and build it), so nothing
Hydra or a caller does to a loaded config can leak into the next compose. A file is
recognised by its real path, size, modification time and inode; an edited, replaced or
removed file is read again (or fails as Hydra's own would). Missing files, errors and
other sources (structured configs) go through Hydra's code unchanged.
"""

from __future__ import annotations

import os
import pickle

# (source class, provider, source path, real file path, size, mtime_ns, inode) -> pickled
# ConfigResult
_LOADED: dict = {}
_MAX_ENTRIES = 4096  # a bound for long-lived processes (tests composing many temp configs)


def _file_key(source, path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (type(source).__name__, source.provider, source.path, os.path.realpath(path),
            st.st_size, st.st_mtime_ns, st.st_ino)


def _file_path(source, config_path: str) -> str | None:
    """The file a source would read for ``config_path`` (None: not a plain file)."""
    name = source._normalize_file_name(config_path)
    if source.scheme() == "file":
        return os.path.join(source.path, name)
    if source.scheme() == "pkg":
        from importlib import resources

        try:
            res = resources.files(source.path).joinpath(name)
        except (ValueError, ModuleNotFoundError, TypeError):
            return None
        return str(res) if isinstance(res, os.PathLike) else None
    return None


def _cached(original):
    def load_config(self, config_path: str):
        path = _file_path(self, config_path)
        key = _file_key(self, path) if path is not None else None
        if key is None:
            return original(self, config_path)
        blob = _LOADED.get(key)
        if blob is None:
            result = original(self, config_path)
            try:
                blob = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - not picklable: Hydra's own load every time
                return result
            if len(_LOADED) >= _MAX_ENTRIES:
                _LOADED.clear()
            _LOADED[key] = blob
            return result
        return pickle.loads(blob)

    load_config.rtw_cached = True
    load_config.__wrapped__ = original
    return load_config


def _source_classes() -> list:
    """Hydra's file and package config-source classes: those its plugin registry resolves
    (Hydra's plugin scan re-executes its core modules, so they need not be the classes an
    earlier import bound) and the modules' current ones."""
    import sys

    from hydra._internal.sources_registry import SourcesRegistry
    from hydra.core.plugins import Plugins

    Plugins.instance()  # the scan that registers the sources (done once per process)
    types = SourcesRegistry.instance().types
    found = [types[s] for s in ("file", "pkg") if s in types]
    for module, name in (
            ("hydra._internal.core_plugins.file_config_source", "FileConfigSource"),
            ("hydra._internal.core_plugins.importlib_resources_config_source",
             "ImportlibResourcesConfigSource")):
        cls = getattr(sys.modules.get(module), name, None)
        if cls is not None and cls not in found:
            found.append(cls)
    return found


def install() -> None:
    """Cache Hydra's file and package config loads in this process (idempotent)."""
    for cls in _source_classes():
        if not getattr(cls.load_config, "rtw_cached", False):
            cls.load_config = _cached(cls.load_config)


def uninstall() -> None:
    """Hydra's own loads again, and the cache emptied (for tests)."""
    for cls in _source_classes():
        if getattr(cls.load_config, "rtw_cached", False):
            cls.load_config = cls.load_config.__wrapped__
    _LOADED.clear()
