# Every target creates .venv (pinned packages) first if it is missing or stale.
PY := .venv/bin/python
ARGS ?=

.PHONY: venv run test check lint bench calibration-check clean

venv:
	@scripts/ensure_venv.sh

run: venv  ## run the default scenario; report under outputs/latest/
	$(PY) -m sim $(ARGS)

test: venv  ## ruff, then the full test suite (what CI runs)
	$(PY) -m ruff check .
	$(PY) -m pytest -q $(ARGS)

lint: venv
	$(PY) -m ruff check .

check: test

bench: venv  ## performance figures for the weekly loop and end to end
	$(PY) experiments/bench.py $(ARGS)

calibration-check: venv  ## baseline vs UK calibration targets
	$(PY) experiments/calibration_check.py $(ARGS)

clean:
	rm -rf outputs .pytest_cache .ruff_cache
