"""Writing files safely: atomic writes, staged directories, run directories of our own.

One home for the guarantees every writer of the project relies on:

- :func:`write_atomic` writes a file through a temporary name in the same directory,
  flushed to disk, then renamed over the target: a reader never sees half a file.
- :func:`staged_dir` builds a directory under a hidden staging name and renames it into
  place in one step; on any failure only the staging directory (created here) is removed.
- :func:`claim_dir` creates a new directory for this invocation (never reusing one that
  exists), so parallel runs cannot write into each other's directories.
- :func:`remove_stale_staging` removes staging folders and temporary files left by killed
  writers of *this program* (their names carry the writer's pid, which must be dead).

Nothing here deletes a path this process did not create, except
:func:`remove_stale_staging`, which only removes entries named with this program's staging
patterns whose writing process no longer exists.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.errors import OutputError

STAGING_MARK = ".partial-"  # ".<name>.partial-<random>-<pid>": a directory being written
TMP_MARK = ".tmp-"  # ".<name>.tmp-<pid>": a file being written
MAX_CLAIM_TRIES = 1000
REUSE_MARGIN_S = 60.0  # a writer started this long after its entry was last written: not it


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write ``text`` to ``path`` via a temporary name and a rename (never half-written)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    mode = "wb" if isinstance(text, bytes) else "w"
    try:
        with open(tmp, mode) as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def new_staging(dest: Path) -> Path:
    """Create a new, empty, hidden staging directory beside ``dest`` (whose parent must
    exist): ``.<name>.partial-<random>-<pid>``, with the permissions of a plain ``mkdir``.
    The random part makes it unique (two writers of one name in one process, or a stale
    folder of an earlier process with the same pid, are never reused); the pid at the end
    lets :func:`remove_stale_staging` clear it once its writer is dead, never while it is
    alive."""
    dest = Path(dest)
    for _ in range(MAX_CLAIM_TRIES):
        staging = dest.parent / f".{dest.name}{STAGING_MARK}{secrets.token_hex(4)}-{os.getpid()}"
        try:
            staging.mkdir()
            return staging
        except FileExistsError:
            continue
    raise OutputError(f"cannot create a staging folder beside {dest}")


@contextmanager
def staged_dir(dest: Path) -> Iterator[Path]:
    """A new hidden staging directory next to ``dest``, renamed to ``dest`` on success.

    ``dest`` must not exist. On any failure the staging directory (which this call
    created) is removed and ``dest`` is left untouched.
    """
    dest = Path(dest)
    if dest.exists() or dest.is_symlink():
        raise FileExistsError(f"{dest} already exists; refusing to overwrite it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = new_staging(dest)
    try:
        yield staging
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_tables(folder: Path, tables: dict) -> None:
    """Each DataFrame of ``tables`` as ``folder/<name>.csv`` (no index), in the order given:
    an analysis writes into its staging folder (:func:`staged_dir`), so no file is half
    written where a reader looks."""
    for name, table in tables.items():
        table.to_csv(Path(folder) / f"{name}.csv", index=False)


def sync_generated(path: Path, current: str | None, text: str, check: bool,
                   stale: str) -> int:
    """The end of a generator of a committed file (docs tables): with ``check``, exit code
    1 and the ``stale`` line on stderr if ``current`` differs from ``text``, else 0;
    without it, write ``text`` atomically only if it changed. Returns the exit code."""
    if check:
        if current != text:
            print(stale, file=sys.stderr)
            return 1
        return 0
    if current != text:
        write_atomic(path, text)
        print(f"wrote {path}")
    return 0


def claim_dir(path: Path) -> Path:
    """Create a new directory at ``path`` (or ``path_2``, ``path_3`` ... if taken).

    ``mkdir`` is atomic, so two processes never get the same directory. Returns the
    directory created; raises :class:`OutputError` if it cannot be created.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create {path.parent}: {describe_os_error(err)}") from err
    for i in range(MAX_CLAIM_TRIES):
        candidate = path if i == 0 else path.with_name(f"{path.name}_{i + 1}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
        except OSError as err:
            raise OutputError(f"cannot create {candidate}: {describe_os_error(err)}") from err
    raise OutputError(f"cannot create {path}: {MAX_CLAIM_TRIES} directories of that name exist")


def _proc_state(pid: int) -> tuple[str, float] | None:
    """Linux: the process's state letter and its start time (seconds since the epoch),
    from ``/proc/<pid>/stat``; None where that cannot be read (another system)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text()
                    .splitlines() if line.startswith("btime "))
        fields = stat[stat.rindex(")") + 2:].split()  # the name, in (), may hold spaces
        return fields[0], boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _pid_alive(pid: int, written: float | None = None) -> bool:
    """Whether the writer ``pid`` of an entry last modified at ``written`` may still be
    writing it. A zombie is dead: a killed sweep's workers are orphans, and where the
    container's first process reaps orphans late or never they stay zombies, so
    ``kill(pid, 0)`` alone would keep their staging folders (session 28's CI failure). A
    live process that started after the entry was last written cannot be its writer (the
    pid was reused). Where the process cannot be inspected it counts as alive: nothing is
    removed."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but is not ours (EPERM)
        pass
    state = _proc_state(pid)
    if state is None:
        return True
    letter, started = state
    if letter in "ZX":
        return False
    # a minute's margin: the boot time is known to a second, and a clock stepped forward
    # while a live writer pauses must not make it look younger than its own folder
    return written is None or started <= written + REUSE_MARGIN_S


def remove_stale_staging(directory: Path) -> list[Path]:
    """Remove this program's staging dirs / temp files in ``directory`` left by dead writers.

    Only entries named ``.<name>.partial-[<random>-]<pid>`` (directories,
    :func:`new_staging`) or ``.<name>.tmp-<pid>`` (files) whose pid is not a live process
    are removed: no such process, a zombie, or a process started after the entry was last
    written (:func:`_pid_alive`). Returns what was removed.
    """
    removed = []
    try:
        entries = list(Path(directory).iterdir())
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not name.startswith("."):
            continue
        is_staging = STAGING_MARK in name and entry.is_dir() and not entry.is_symlink()
        is_tmp = TMP_MARK in name and entry.is_file() and not entry.is_symlink()
        if not (is_staging or is_tmp):
            continue
        pid = name.rsplit("-", 1)[-1]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            written = entry.lstat().st_mtime
        except OSError:  # gone meanwhile
            continue
        if _pid_alive(int(pid), written):
            continue
        if is_staging:
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def describe_os_error(err: OSError) -> str:
    """An OSError in plain words, one line, with a hint for the common cases."""
    text = err.strerror or str(err)
    hint = {
        errno.ENOSPC: "the disk is full; free some space and run again",
        errno.EDQUOT: "the disk quota is exceeded; free some space and run again",
        errno.EROFS: "the file system is read-only; choose another output directory",
        errno.EACCES: "permission denied; choose a directory you can write to",
        errno.EPERM: "permission denied; choose a directory you can write to",
        errno.ENOTDIR: "a path component is a file, not a directory",
        errno.EEXIST: "it already exists",
        errno.EISDIR: "it is a directory",
    }.get(err.errno)
    where = f" ({err.filename})" if getattr(err, "filename", None) else ""
    return f"{text}{where}" + (f": {hint}" if hint else "")


# A run's rows (people x replicates) from which freeing memory is worth its cost
RELEASE_AT = 200_000


def release_free_memory(collect: bool = False, rows: int | None = None) -> None:
    """Hand memory the process has freed back to the system (glibc's ``malloc_trim``).

    numpy's large arrays come from glibc's heap once glibc has raised its mmap threshold,
    and freed heap pages stay in the process; pyarrow's writer allocates from its own pool,
    so it cannot reuse them. Called where a run has just freed a lot (the loop's working
    state, before the tables; the model, before the files): the later peaks then start
    from the memory still in use (issue 19: 1M people x 260 weeks). ``collect`` first frees
    what only reference cycles keep (a finished run's model: its agents and datacollector
    refer back to it). A no-op off glibc.

    ``rows``: the run's people x replicates; under :data:`RELEASE_AT` nothing is done.
    A small run's peak hardly matters, and the memory handed back was faulted in again,
    page by page, by the next run in the process: a sweep worker's 10 x 10,000-person cell
    took ~20,000 page faults and ~50 ms of system time a cell, ~7% of its CPU (3-4 ms
    without them, issue 19)."""
    if rows is not None and rows < RELEASE_AT:
        return
    if collect:
        import gc

        gc.collect()
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # musl or another libc: nothing to hand back
        pass
