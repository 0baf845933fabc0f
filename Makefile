# Reproducible ML report: every target sets up what it needs, so each works on a fresh clone.
#   make report            set up, fetch data, run notebooks 01-04 headless, export HTML into build/html/,
#                          write report.md (+ README results table) and build/report.pdf
#   make report QUICK=1    the same on small grids and subsampled data (minutes), into build/quick/
#   make report FORCE_SWEEPS=1   recompute the W&B sweeps instead of reusing results/sweeps/
#   make test              unit tests + every notebook in quick mode
#   make verify            re-run the notebooks (cached sweeps) into build/verify and compare every result number
#   make bench             speed and training quality against scikit-learn (a script, not a test)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
QUICK  ?= 0
FORCE_SWEEPS ?= 0
export QUICK FORCE_SWEEPS

.PHONY: all setup data test report notebooks verify chromium bench clean

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

report: notebooks chromium
	$(BIN)/python notebooks/render_report.py --pdf

notebooks: setup data
	$(BIN)/python notebooks/execute.py

verify: setup data
	$(BIN)/python notebooks/verify.py

# The PDF is printed by headless Chromium from Debian's packages (needs root, as on CI and these machines).
chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "installing chromium (apt-get) for the PDF export"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core \
		>/dev/null; }

bench: setup data
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf build .pytest_cache wandb
	find . -name __pycache__ -prune -exec rm -rf {} +
