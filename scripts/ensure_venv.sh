#!/usr/bin/env bash
# Create .venv with the pinned packages if it is missing or the pins changed.
# Idempotent and cheap when nothing changed (a stamp file holds the lock's hash).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
want=$(sha1sum requirements.lock | cut -c1-12)
if [ -f "$VENV/.stamp" ] && [ "$(cat "$VENV/.stamp")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi
py=$(scripts/find_python.sh)
echo "setting up $VENV with $py (pinned packages from requirements.lock) ..." >&2
[ -x "$VENV/bin/python" ] || "$py" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.lock >&2
echo "$want" > "$VENV/.stamp"
