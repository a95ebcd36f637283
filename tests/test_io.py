"""sim.io: atomic writes, staged directories, claimed run directories, stale staging."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sim.io import claim_dir, remove_stale_staging, staged_dir, write_atomic


def test_write_atomic_replaces_whole_and_leaves_no_temp(tmp_path):
    target = tmp_path / "t.csv"
    target.write_text("old")
    write_atomic(target, "new")
    write_atomic(tmp_path / "b.bin", b"\x00\x01")
    assert target.read_text() == "new"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin", "t.csv"]


def test_write_atomic_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_atomic(target, 12345)  # not text: the write fails half-way
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]


def test_staged_dir_renames_on_success_and_removes_only_its_staging(tmp_path):
    (tmp_path / "mine.txt").write_text("user")
    with staged_dir(tmp_path / "out") as staging:
        (staging / "a.txt").write_text("a")
    assert (tmp_path / "out" / "a.txt").read_text() == "a"
    with pytest.raises(RuntimeError), staged_dir(tmp_path / "out2") as staging:
        (staging / "b.txt").write_text("b")
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt", "out"]


def test_staged_dir_refuses_an_existing_destination(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("keep")
    with pytest.raises(FileExistsError), staged_dir(tmp_path / "out"):
        pass
    assert (tmp_path / "out" / "keep.txt").read_text() == "keep"


def test_claim_dir_never_gives_the_same_directory_twice(tmp_path):
    with ThreadPoolExecutor(8) as pool:
        claimed = list(pool.map(lambda _: claim_dir(tmp_path / "run"), range(20)))
    assert len(set(claimed)) == 20
    assert all(p.is_dir() and not any(p.iterdir()) for p in claimed)


def test_remove_stale_staging_only_removes_dead_writers_of_ours(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale_dir = tmp_path / f".results.partial-{dead.pid}"
    stale_dir.mkdir()
    stale_file = tmp_path / f".x.csv.tmp-{dead.pid}"
    stale_file.write_text("x")
    kept = [tmp_path / f".results.partial-{os.getpid()}",  # alive (us)
            tmp_path / ".results.partial-abc",  # not a pid
            tmp_path / f"results.partial-{dead.pid}"]  # not hidden: not ours
    for k in kept:
        k.mkdir()
    user_file = tmp_path / f".notes.partial-{dead.pid}"  # a file, not a staging dir
    user_file.write_text("user")
    removed = remove_stale_staging(tmp_path)
    assert sorted(removed) == sorted([stale_dir, stale_file])
    assert all(k.exists() for k in kept) and user_file.exists()


def test_new_staging_is_unique_named_for_its_writer_and_cleared_once_it_dies(tmp_path):
    """Staging folders (results, reports) are unique within a process, carry the writer's
    pid last, so a dead writer's is cleared and a live one's kept, and get a plain mkdir's
    permissions (the report once used mkdtemp's 0o700, then widened them by hand)."""
    from sim.io import new_staging

    dest = tmp_path / "report"
    ours = {new_staging(dest) for _ in range(50)}
    assert len(ours) == 50 and all(p.name.endswith(f"-{os.getpid()}") for p in ours)
    mode = tmp_path / "plain"
    mode.mkdir()
    assert {p.stat().st_mode for p in ours} == {mode.stat().st_mode}
    out = subprocess.run([sys.executable, "-c", "import sys; from sim.io import new_staging; "
                          "print(new_staging(sys.argv[1]))", str(dest)],
                         capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    theirs = Path(out.stdout.strip())  # its writer has exited
    assert theirs.is_dir() and theirs.parent == tmp_path
    assert remove_stale_staging(tmp_path) == [theirs]
    assert all(p.is_dir() for p in ours)
    with staged_dir(tmp_path / "results") as staging:
        assert staging.name.startswith(".results.partial-")
        assert remove_stale_staging(tmp_path) == []  # in use by us
    assert (tmp_path / "results").is_dir()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_a_zombie_or_a_reused_pid_is_no_writer_but_a_live_writer_keeps_its_folder(
        tmp_path, monkeypatch):
    """A sweep killed mid-write leaves its workers as orphans; where the first process of
    a container reaps orphans late or never, they stay zombies, which ``kill(pid, 0)``
    finds: their staging folders must still count as stale, or a re-run leaves them
    (session 28's CI failure). A pid reused by a process started long after
    the folder was last written is no writer either; a live writer's folder stays."""
    import time

    from sim import io

    zombie = os.fork()
    if zombie == 0:  # the child exits at once and is not reaped until the end
        os._exit(0)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        deadline = time.monotonic() + 10
        while io._proc_state(zombie)[0] != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert io._proc_state(zombie)[0] == "Z"
        assert os.kill(zombie, 0) is None  # "alive" to kill(pid, 0)
        of_zombie = tmp_path / f".results.partial-{zombie}"
        of_live = tmp_path / f".results.partial-{live.pid}"
        reused = tmp_path / f".summary.csv.tmp-{live.pid}"
        for entry in (of_zombie, of_live):
            entry.mkdir()
        reused.write_text("x")
        hour_ago = time.time() - 3600  # the live process started long after this
        os.utime(reused, (hour_ago, hour_ago))
        assert sorted(remove_stale_staging(tmp_path)) == sorted([of_zombie, reused])
        assert of_live.is_dir()
        # where a process cannot be inspected, it counts as alive: nothing is removed
        monkeypatch.setattr(io, "_proc_state", lambda pid: None)
        old = tmp_path / f".results.partial-{live.pid}"
        os.utime(old, (hour_ago, hour_ago))
        assert remove_stale_staging(tmp_path) == [] and old.is_dir()
    finally:
        live.kill()
        live.wait()
        os.waitpid(zombie, 0)


def test_freed_memory_is_handed_back_only_after_a_large_run(monkeypatch):
    """A sweep cell's freed heap stays for the next cell (handing it back cost ~20,000 page
    faults a cell); a large run's goes back before its next peak; no size: as asked."""
    import ctypes
    import sys

    from sim import io

    trims = []

    class Libc:
        def malloc_trim(self, pad):
            trims.append(pad)

    monkeypatch.setattr(ctypes, "CDLL", lambda name: Libc())
    monkeypatch.setattr(sys, "platform", "linux")
    io.release_free_memory(collect=True, rows=io.RELEASE_AT - 1)
    assert trims == []
    io.release_free_memory(rows=io.RELEASE_AT)
    io.release_free_memory()
    assert trims == [0, 0]
