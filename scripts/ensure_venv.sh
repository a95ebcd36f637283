#!/usr/bin/env bash
# Create .venv with the pinned packages if it is missing or stale, and install the project
# into it in editable mode (so scripts and notebooks import `sim` without editing sys.path).
# Idempotent and cheap when nothing changed: a stamp file holds the hash of the lock, of
# pyproject.toml and of this recipe; a venv made before the editable step (old stamp) is
# upgraded in place.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
RECIPE=editable-2   # change when the steps below change, to redo them in existing venvs
want=$( (cat requirements.lock pyproject.toml; echo "$RECIPE") | sha1sum | cut -c1-12)
if [ -f "$VENV/.stamp" ] && [ "$(cat "$VENV/.stamp")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi
py=$(scripts/find_python.sh)
echo "setting up $VENV with $py (pinned packages from requirements.lock, project editable) ..." >&2
[ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" --upgrade pip >&2
# The lock is complete (every dependency pinned), so no resolving: --no-deps, and `pip check`
# below fails if an entry is ever missing. No byte-compiling of every installed file: Python
# compiles the modules a run imports on first use (the lock took 3x as long with it: ray,
# playwright and scipy are thousands of files, most never imported).
"${pip[@]}" --no-deps --no-compile -r requirements.lock >&2
# The project itself, editable, without touching the pins (its dependencies are in the lock;
# the optional [cluster] extra's ray/submitit too, so the launcher tests run).
"${pip[@]}" --no-deps -e . >&2
"$VENV/bin/python" -m pip check --disable-pip-version-check >&2
# The bytecode of what runs import, written once (~15 s) even where the environment sets
# PYTHONDONTWRITEBYTECODE: without it every run compiles pandas, hydra ... again (start-up
# 2.0 instead of 0.9 s). See scripts/warm_bytecode.py.
env -u PYTHONDONTWRITEBYTECODE "$VENV/bin/python" scripts/warm_bytecode.py >&2
echo "$want" > "$VENV/.stamp"
