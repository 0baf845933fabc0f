# Reproducible ML report: every target sets up what it needs, so each works on a fresh clone.
#   make report            set up, fetch data, run notebooks 01-05 headless, export HTML into build/html/,
#                          assemble report.md (+ README results table), report.html and build/report.pdf (the PDF
#                          only where Chrome/Chromium is or can be installed; otherwise it says how to get it)
#   make pdf               print build/report.pdf from the executed notebooks; fails if no browser can
#   make lab               open the notebooks in JupyterLab with the project's environment
#   make report QUICK=1    the same on small grids and subsampled data (minutes), into build/quick/
#   make report FORCE_SWEEPS=1   recompute the W&B sweeps instead of reusing results/sweeps/
#   make test              unit tests + every notebook in quick mode
#   make verify            re-run the notebooks (cached sweeps) into build/verify and compare every result number
#   make bench             speed and training quality against scikit-learn (a script, not a test)
#   make section NAME=x TITLE="…"   a new report section (notebooks/NN_x.ipynb) from a template that runs as it is
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
QUICK  ?= 0
FORCE_SWEEPS ?= 0
export QUICK FORCE_SWEEPS

.PHONY: all setup data test report pdf lab notebooks verify chromium bench clean section

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
	$(BIN)/python notebooks/export.py --pdf-if-possible

pdf: setup
	$(BIN)/python notebooks/export.py --pdf

# JupyterLab on the notebooks. Jupyter refuses to run as root without --allow-root (containers, cloud notebook
# machines run as root), so root gets it; without a display (ssh, containers) no browser is started and Jupyter
# prints the URL with its token instead. More options: make lab LAB_OPTIONS="--port=8890 --ip=0.0.0.0".
LAB_OPTIONS ?=
lab: setup data
	@options="$(LAB_OPTIONS)"; \
	if [ "$$(id -u)" = 0 ]; then options="--allow-root $$options"; fi; \
	if [ "$$(uname -s)" != Darwin ] && [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ]; then \
		options="--no-browser $$options"; echo "no display: open the …/lab?token=… URL below in a browser"; fi; \
	echo "$(BIN)/python -m jupyter lab notebooks/ $$options"; \
	exec $(BIN)/python -m jupyter lab notebooks/ $$options

notebooks: setup data
	$(BIN)/python notebooks/execute.py

verify: setup data
	$(BIN)/python notebooks/verify.py

# The PDF is printed by headless Chrome/Chromium. When none is found, root on a Debian-like machine installs
# Debian's chromium; anywhere else `make report` goes on without the PDF and says how to get it.
chromium: setup
	@$(BIN)/python notebooks/export.py --find-browser >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing chromium (apt-get) for the PDF export"; \
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core \
				>/dev/null; } || echo "could not install chromium: the PDF will be skipped"; \
		else echo "no Chrome/Chromium found and no root apt-get to install one: the PDF will be skipped"; fi; }

# A new report section from the template: make section NAME=breast_cancer TITLE="Breast cancer"
section: setup
	$(BIN)/python notebooks/new_section.py "$(NAME)" "$(TITLE)"

bench: setup data
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf build .pytest_cache wandb
	find . -name __pycache__ -prune -exec rm -rf {} +
