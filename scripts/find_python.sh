#!/usr/bin/env bash
# Print the path of a working Python 3.12 interpreter (Mesa 3.4+ needs >= 3.12).
# `python3.12` may be a pyenv shim that refuses to run when 3.12 is not the
# selected version, so each candidate is tried, not just located.
set -u
candidates=("${PYTHON:-}" python3.12)
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root 2>/dev/null)
  for p in "$root"/versions/3.12*/bin/python3.12; do candidates+=("$p"); done
fi
candidates+=(/usr/local/bin/python3.12 /usr/bin/python3.12)
for c in "${candidates[@]}"; do
  [ -n "$c" ] || continue
  if out=$("$c" -c 'import sys; assert sys.version_info[:2] == (3, 12); print(sys.executable)' 2>/dev/null); then
    echo "$out"; exit 0
  fi
done
echo "error: no working Python 3.12 found (tried: ${candidates[*]}); install it or set PYTHON=/path/to/python3.12" >&2
exit 1
