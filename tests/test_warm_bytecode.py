"""scripts/warm_bytecode.py: the bytecode of what runs import, written once at set-up."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "warm_bytecode.py"


def _load():
    spec = importlib.util.spec_from_file_location("warm_bytecode", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_lazily_imported_module_it_names_exists():
    # a renamed or removed module would be skipped silently at set-up, its bytecode never
    # written: every run would compile it again
    missing = [name for name in _load().LAZY if importlib.util.find_spec(name) is None]
    assert missing == []


def test_it_writes_nothing_when_bytecode_writing_is_off(tmp_path):
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-B", str(SCRIPT)], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 0
    assert "bytecode writing is off" in proc.stderr
    assert list(tmp_path.rglob("*.pyc")) == []


def test_set_up_runs_it_with_bytecode_writing_on():
    recipe = (REPO / "scripts" / "ensure_venv.sh").read_text()
    line = next(x for x in recipe.splitlines() if "warm_bytecode.py" in x
                and not x.lstrip().startswith("#"))
    assert "env -u PYTHONDONTWRITEBYTECODE" in line
