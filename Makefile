# Keras Training Tips — every target sets itself up; run `make help` for the list.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
QUICK ?= 0
GPU ?= 0
ONLY ?=
RESUME ?= 0
FORCE ?= 0
# LANG=ko: the Korean edition (notebooks/ko, built into build/ko). Only the exact value "ko"
# counts, so a locale in the environment (LANG=ko_KR.UTF-8, C.UTF-8) keeps the English one.
EDITION := $(if $(filter ko,$(LANG)),ko,en)
NOTEBOOK_DIR := notebooks$(if $(filter ko,$(EDITION)),/ko)
RUN_BUILD := $(if $(filter ko,$(EDITION)),--notebooks notebooks/ko --build build/ko)
KERNEL := keras-training-tips
# The Python versions the pinned wheels exist for (pyproject.toml's requires-python says the same).
SUPPORTED_PYTHONS := 3.11 3.12 3.13
empty :=
space := $(empty) $(empty)

is_on = $(filter 1 true yes on,$(1))
TF_VARIANT := $(if $(call is_on,$(GPU)),gpu,cpu)
REQUIREMENTS := $(if $(call is_on,$(GPU)),requirements-gpu.txt,requirements.txt)
STAMP := $(VENV)/.installed-$(TF_VARIANT)
TF_MARK := $(VENV)/.tensorflow
SITE_STAMP := $(VENV)/.site-installed
CHECK ?= 0

.PHONY: help setup check-python run test lint lab data bench readme site translations clean

help:
	@echo "make run          execute every notebook (full mode; QUICK=1 quick mode; ONLY=06,07 some; RESUME=1 keep what the last run finished)"
	@echo "make test         ruff + unit tests + every notebook under nbval in quick mode"
	@echo "make lab          JupyterLab on notebooks/ with the project's kernel (QUICK=1 for quick mode)"
	@echo "                  (LANG=ko with run or lab: the Korean edition, notebooks/ko → build/ko)"
	@echo "make translations regenerate notebooks/ko from notebooks/ and translations/ko"
	@echo "make data         locate, verify (fetch when possible) every dataset, prepare its TFDS copies; print where each came from"
	@echo "make bench        notebooks 06-08 and 23 in full mode, 3 runs → build/bench.md (medians, targets, speed ratios)"
	@echo "make readme       write the last full run (build/run.json) into the README's results block"
	@echo "make site         a static HTML book of the last run's executed notebooks → build/site/ (CHECK=1: open it in Chromium)"
	@echo "make setup        the virtual environment ($(VENV)) with pinned requirements (GPU=1: NVIDIA GPU)"

# Stops within seconds, before pip, when $(PYTHON) is not a supported version.
check-python:
	@version=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); \
	case " $(SUPPORTED_PYTHONS) " in \
	  *" $$version "*) ;; \
	  *) echo "make setup: $(PYTHON) is Python $${version:-(not found)}, but this project needs" \
	       "Python $(subst $(space),$(comma)$(space),$(SUPPORTED_PYTHONS)) (the versions TensorFlow 2.21 and" \
	       "NumPy 2.4 have wheels for)." >&2; \
	     echo "Pick one with e.g. \`make setup PYTHON=python3.12\` (install it first with your" \
	       "package manager, pyenv or python.org if needed)." >&2; \
	     exit 1;; \
	esac

comma := ,

# One TensorFlow distribution only: switching between GPU=0 and GPU=1 removes the installed one
# first (tensorflow-cpu and tensorflow own the same files).
$(STAMP): requirements.txt requirements-gpu.txt requirements-dev.txt pyproject.toml
	@$(MAKE) --no-print-directory check-python PYTHON=$(PYTHON)
	@if [ ! -x $(PY) ]; then \
	  echo "$(PYTHON) -m venv $(VENV)"; $(PYTHON) -m venv $(VENV) && echo $(TF_VARIANT) > $(TF_MARK); \
	fi
	@installed=$$(cat $(TF_MARK) 2>/dev/null || echo cpu); \
	if [ "$$installed" != "$(TF_VARIANT)" ]; then \
	  echo "Switching TensorFlow from $$installed to $(TF_VARIANT): uninstalling it first"; \
	  $(PY) -m pip uninstall --yes --quiet tensorflow tensorflow-cpu; \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r $(REQUIREMENTS) -r requirements-dev.txt -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Keras Training Tips" >/dev/null
	@echo $(TF_VARIANT) > $(TF_MARK)
	@rm -f $(VENV)/.installed-*
	@touch $@

setup: $(STAMP)

# The site generator and the browser driver (requirements-site.txt), on top of the runtime.
$(SITE_STAMP): requirements-site.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-site.txt
	@touch $@

run: setup
	$(PY) -m utils.runner $(RUN_BUILD) $(if $(call is_on,$(QUICK)),--quick) $(if $(ONLY),--only $(ONLY)) $(if $(call is_on,$(RESUME)),--resume)

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: lint $(SITE_STAMP)
	$(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env --nbval-cell-timeout=600

# The kernels JupyterLab starts inherit KTT_QUICK: quick mode with QUICK=1, full mode otherwise.
lab: setup
	KTT_QUICK=$(if $(call is_on,$(QUICK)),1,0) $(VENV)/bin/jupyter lab --notebook-dir=$(NOTEBOOK_DIR)

data: setup
	$(PY) -m utils.data

readme: setup
	$(PY) -m utils.readme $(if $(call is_on,$(FORCE)),--force)

# Runs `make run` first (QUICK=1: in quick mode) when build/ holds no executed notebooks.
site: $(SITE_STAMP)
	$(PY) -m utils.site $(if $(call is_on,$(QUICK)),--quick)
	$(if $(call is_on,$(CHECK)),$(PY) -m utils.site_check)

translations: setup
	$(PY) -m utils.translations

clean:
	rm -rf build .pytest_cache .ruff_cache

bench: setup
	$(PY) -m utils.bench
