# Reproducible ML report: every target sets up what it needs, so each works on a fresh clone.
#   make report            set up, fetch data, run notebooks 01-04 headless, export HTML into build/
#   make report QUICK=1    the same on small grids and subsampled data (minutes)
#   make test              unit tests + every notebook in quick mode
#   make bench             speed against scikit-learn (a script, not a test)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
QUICK  ?= 0
export QUICK

.PHONY: all setup data test report bench clean

all: report

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

data:
	$(PYTHON) data/fetch.py

test: setup data
	$(BIN)/python -m pytest -q tests

report: setup data
	$(BIN)/python notebooks/execute.py

bench: setup data
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf build .pytest_cache wandb
	find . -name __pycache__ -prune -exec rm -rf {} +
