# Every target creates .venv (pinned packages) first if it is missing or stale.
PY := .venv/bin/python
EXPLORE_PORT ?= 8765
ARGS ?=

.PHONY: venv run test check lint bench sweep-bench calibration-check evidence trials \
	sweep compare psa gsa discover calibrate explore docs clean

venv:
	@scripts/ensure_venv.sh

run: venv  ## run the default scenario; results and summary under outputs/latest/
	$(PY) -m sim $(ARGS)

# a file at a time to whichever worker is free, the longest files first (tests/conftest.py).
# Bytecode is written even where the environment sets PYTHONDONTWRITEBYTECODE (this machine's
# does): the suite starts ~100 interpreters, and in a fresh clone, whose venv is installed
# --no-compile, each would otherwise compile numpy, pandas, hydra ... and sim from source
# again (`python -m sim --help`: 2.0 instead of 0.9 s CPU). Written once, they are reused.
test: venv  ## ruff, then the full test suite (what CI runs)
	$(PY) -m ruff check .
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder $(ARGS)

lint: venv
	$(PY) -m ruff check .

check: test

compare: venv  ## main designs vs usual care (paired) + HTML report; ARGS: keys of configs/analysis/compare.yaml
	$(PY) experiments/compare_designs.py $(ARGS)

psa: venv  ## probabilistic sensitivity analysis, CEAC and value of information
	$(PY) experiments/psa.py $(ARGS)

gsa: venv  ## global sensitivity: Sobol, Morris, tornado (configs/analysis/gsa.yaml)
	$(PY) experiments/gsa.py $(ARGS)

discover: venv  ## scenario discovery (PRIM): when does a design fail to narrow the IMD gap?
	$(PY) experiments/scenario_discovery.py $(ARGS)

calibrate: venv  ## fit the baseline hazards to the UK targets -> configs/pathways/calibrated.yaml
	$(PY) experiments/calibrate.py $(ARGS)

evidence: venv  ## the evidence registry as a markdown table (ARGS="--format csv" for CSV)
	$(PY) -m sim.evidence.registry $(ARGS)

docs: venv  ## docs/DESIGNS.md: the components and designs table, from their YAML
	$(PY) -m sim.docs_tables

trials: venv  ## in-silico trials: does the model reproduce each published effect? (configs/analysis/trials.yaml)
	$(PY) experiments/trials.py $(ARGS)

sweep: venv  ## every design x both populations, paired replicates; aggregate + report
	$(PY) -m sim -m experiment=designs_x_populations $(ARGS)

bench: venv  ## performance figures for the weekly loop and end to end, then the explorer's updates
	$(PY) experiments/bench.py $(ARGS)
	$(PY) experiments/explorer_bench.py

sweep-bench: venv  ## scenario-replicates per minute for a 100-cell sweep with joblib
	$(PY) experiments/sweep_bench.py $(ARGS)

calibration-check: venv  ## baseline vs UK calibration targets (configs/analysis/calibration_check.yaml)
	$(PY) experiments/calibration_check.py $(ARGS)

explore: venv  ## the interactive explorer in the browser, http://127.0.0.1:8765 (loopback only)
	@echo "rtw-sim explorer: open http://127.0.0.1:$(EXPLORE_PORT)  (first load takes a few seconds; Ctrl-C stops it)"
	SOLARA_TELEMETRY_MIXPANEL_ENABLE=False $(PY) -m solara run sim/explorer/app.py \
		--host 127.0.0.1 --port $(EXPLORE_PORT) --no-open --production --no-check-version $(ARGS)

clean:
	rm -rf outputs .pytest_cache .ruff_cache
