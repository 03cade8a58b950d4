# Keras Training Tips — every target sets itself up; run `make help` for the list.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
QUICK ?= 0
KERNEL := keras-training-tips
STAMP := $(VENV)/.installed

.PHONY: help setup run test lint lab data bench clean

help:
	@echo "make run          execute every notebook (full mode; QUICK=1 for quick mode)"
	@echo "make test         ruff + unit tests + every notebook under nbval in quick mode"
	@echo "make lab          JupyterLab on notebooks/ with the project's kernel"
	@echo "make data         locate, verify and build every dataset; print where each came from"
	@echo "make bench        notebooks 06-08 and 23 in full mode → build/bench.md (accuracy, time, speed ratios)"
	@echo "make setup        the virtual environment ($(VENV)) with pinned requirements"

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Keras Training Tips" >/dev/null
	@touch $@

setup: $(STAMP)

run: setup
	$(PY) -m utils.runner $(if $(filter 1 true yes,$(QUICK)),--quick)

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: lint
	$(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env --nbval-cell-timeout=600

lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

data: setup
	$(PY) -m utils.data

clean:
	rm -rf build .pytest_cache .ruff_cache

bench: setup
	$(PY) -m utils.bench
