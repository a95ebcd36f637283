"""Read each config file once per process: Hydra's file loads, cached (issue 19).

Hydra composes a config from scratch every time: it reads and parses some 30 YAML files
and builds an OmegaConf node for each (``OmegaConf.load``), about half of a compose's CPU.
A sweep's parent composes often (the pre-flight checks every set of config-group choices,
Hydra composes the master config, the launcher composes each set of group choices once
more to ship it to the workers), always from the same files: in the 100-cell benchmark
44 composes, some 500 file loads of a few dozen distinct files.

:func:`install` wraps the ``load_config`` of Hydra's two file-backed config sources
(``file://`` directories and ``pkg://`` package resources): the first load of a file is
Hydra's own; its result is kept pickled, and every load of the file, the first included,
returns a fresh unpickled copy (about 1 ms against about 16 ms to parse and build it), so
nothing Hydra or a caller does to a loaded config can leak into the next compose. A file is
recognised by its real path, size, modification time and inode; an edited, replaced or
removed file is read again (or fails as Hydra's own would). Missing files, errors and
other sources (structured configs) go through Hydra's code unchanged.

Three more parts of Hydra's compose are skipped where these configs never need them
(together ~40% of a compose's CPU with the file cache: 142 -> 84 ms, issue 19):

* Hydra puts each loaded config under its package (``population``, ``programme`` ...) with
  a deep copy of it (``_embed_result_config``). A config this cache just handed out is a
  fresh object nobody else holds, so it is put there as it is (:func:`_embed`). A compose
  caches its loads per path (``CachingConfigRepository``); a config embedded this way is
  marked, and should the same file be wanted again in the same compose (a group used twice
  under two packages), it is loaded afresh (:func:`_caching_load_config`), so no compose
  ever sees a node another part of it changed.
* Every compose deep-copies Hydra's config repository, including the ``ConfigStore``
  singleton of structured configs (~7 ms); the copy now shares that singleton
  (:func:`_caching_init`): the compose only reads it, and ``ConfigStore.load`` hands out
  copies of its nodes.
* For every config in the defaults tree, Hydra builds a config of all the group choices
  known so far (``_create_interpolation_map``), to resolve interpolations in that config's
  defaults list (``- db: ${x}``); it is built now only for a list that has one
  (:func:`_interpolation_map`; none of the project's has), about a sixth of a compose.

``tests/test_sweep_overhead.py`` checks every design and population of the project, a group
used twice and a defaults list with an interpolation compose to Hydra's own configs.

Installed by ``python -m sim``, by the analysis commands (:func:`sim.cli.apps.launch`) and
by :func:`sim.config.load_config` (the explorer, the trials and the tests compose hundreds
of configs in one process: 189 -> 68 ms each, session 31).

``--help`` lists the config groups from one repository (:func:`list_groups_once`).
"""

from __future__ import annotations

import copy
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
        # a copy from the bytes, the first time too: every compose then holds configs built
        # the same way, pickled to the same bytes whether the file was parsed just now or
        # not (a freshly parsed config shares its objects otherwise; tests/test_prefill.py)
        result = pickle.loads(blob)
        result.rtw_fresh = True  # no one else holds it: _embed need not copy it
        return result

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


def _embed(original):
    """Hydra's ``ConfigLoaderImpl._embed_result_config``, without its deep copy of a config
    this cache has just loaded (marked ``rtw_fresh``): the config is put under its package
    as it is, and marked ``rtw_consumed`` (its nodes now belong to the composed config)."""
    from omegaconf import OmegaConf, flag_override

    def _embed_result_config(ret, package_override):
        package = ret.header["package"] if package_override is None else package_override
        if not getattr(ret, "rtw_fresh", False) or package is None or package == "":
            return original(ret, package_override)
        cfg = OmegaConf.create()
        with flag_override(cfg, "no_deepcopy_set_nodes", True):
            OmegaConf.update(cfg, package, ret.config, merge=False)
        ret.rtw_fresh, ret.rtw_consumed = False, True
        embedded = copy.copy(ret)
        embedded.config = cfg
        return embedded

    _embed_result_config.rtw_cached = True
    _embed_result_config.__wrapped__ = original
    return staticmethod(_embed_result_config)


def _caching_load_config(original):
    """``CachingConfigRepository.load_config``, loading afresh a config whose cached copy
    :func:`_embed` has handed to a composed config."""

    def load_config(self, config_path: str):
        ret = original(self, config_path)
        if ret is not None and getattr(ret, "rtw_consumed", False):
            ret = self.delegate.load_config(config_path=config_path)
            self.cache[f"config_path={config_path}"] = ret
        return ret

    load_config.rtw_cached = True
    load_config.__wrapped__ = original
    return load_config


def _caching_init(original):
    """``CachingConfigRepository.__init__``: the repository's deep copy shares the
    ``ConfigStore`` singleton (module docstring)."""

    def __init__(self, delegate):
        stores = {id(s.store): s.store for s in getattr(delegate, "sources", ())
                  if hasattr(s, "store")}
        self.delegate = copy.deepcopy(delegate, stores)
        self.cache = {}

    __init__.rtw_cached = True
    __init__.__wrapped__ = original
    return __init__


def _interpolation_map(original):
    """Hydra's ``_create_interpolation_map`` for a defaults list with an interpolation; None
    for any other (its only use is to resolve those)."""

    def _create_interpolation_map(overrides, defaults_list, self_added):
        if any(d.is_interpolation() for d in defaults_list if not d.is_self()):
            return original(overrides, defaults_list, self_added)
        return None

    _create_interpolation_map.rtw_cached = True
    _create_interpolation_map.__wrapped__ = original
    return _create_interpolation_map


def _patches() -> list:
    """(owner, attribute, wrapper) of Hydra's compose functions this module replaces."""
    from hydra._internal import defaults_list
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.config_repository import CachingConfigRepository

    return [(ConfigLoaderImpl, "_embed_result_config", _embed),
            (CachingConfigRepository, "load_config", _caching_load_config),
            (CachingConfigRepository, "__init__", _caching_init),
            (defaults_list, "_create_interpolation_map", _interpolation_map)]


def install() -> None:
    """Cache Hydra's file and package config loads in this process (idempotent)."""
    for cls in _source_classes():
        if not getattr(cls.load_config, "rtw_cached", False):
            cls.load_config = _cached(cls.load_config)
    for cls, name, wrap in _patches():
        if not getattr(getattr(cls, name), "rtw_cached", False):
            setattr(cls, name, wrap(getattr(cls, name)))


def uninstall() -> None:
    """Hydra's own loads again, and the cache emptied (for tests)."""
    for cls in _source_classes():
        if getattr(cls.load_config, "rtw_cached", False):
            cls.load_config = cls.load_config.__wrapped__
    for cls, name, _ in _patches():
        if getattr(getattr(cls, name), "rtw_cached", False):
            original = getattr(cls, name).__wrapped__
            static = isinstance(vars(cls)[name], staticmethod)
            setattr(cls, name, staticmethod(original) if static else original)
    _LOADED.clear()


def list_groups_once() -> None:
    """Make Hydra's ``--help`` list the config groups from one config repository.

    Hydra builds a new repository (deep copies of its sources) for every group it lists,
    about 110 of them for this project's configs: 2 of the 3 s ``python -m sim --help``
    took (issue 19). The listing reads the same files whichever repository answers, so the
    help text is the same (tests/test_startup.py compares it with Hydra's own). Only
    option listings without overrides or a config name are answered from the shared one;
    only ``--help`` and ``--hydra-help`` install it (a run never lists groups this way).
    """
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.object_type import ObjectType

    original = ConfigLoaderImpl.get_group_options
    if getattr(original, "shared_repository", False):
        return

    def get_group_options(self, group_name, results_filter=ObjectType.CONFIG,
                          config_name=None, overrides=None):
        if config_name is not None or overrides:
            return original(self, group_name, results_filter, config_name, overrides)
        repo = self.__dict__.get("_rtw_group_repository")
        if repo is None:
            _, repo = self._parse_overrides_and_create_caching_repo(None, [])
            self._rtw_group_repository = repo
        return repo.get_group_options(group_name, results_filter)

    get_group_options.shared_repository = True
    ConfigLoaderImpl.get_group_options = get_group_options
