# Two commands do everything on a fresh machine: `make book` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
GPU ?= 0
VENV ?= $(if $(filter 1,$(GPU)),.venv-gpu,.venv)
BIN := $(VENV)/bin
EXTRAS := $(if $(filter 1,$(GPU)),gpu,cpu),book,dev
LOCK := requirements/$(if $(filter 1,$(GPU)),gpu-lock,lock).txt
ENV_STAMP := $(VENV)/.installed
CHAPTERS := $(wildcard notebooks/*.md)
STUDENT ?= 0
export MI_PROFILE ?= auto

.PHONY: help env book notebooks lab test lint pairing unit nbval book-check browser-deps benchmark clean

help:
	@echo "make book        build the HTML book (creates .venv and installs everything first)"
	@echo "make test        every check CI runs: lint, pairing, unit tests, chapters, book, browser"
	@echo "make lab         JupyterLab on the chapters"
	@echo "make notebooks   generate the .ipynb pair of every chapter"
	@echo "make benchmark   MINE throughput against the matmul ceiling; a batched sweep against sequential runs"
	@echo "options: GPU=1 (TensorFlow's CUDA build, in .venv-gpu), MI_PROFILE=quick|full|auto"

# The virtual environment, with every dependency at the version pinned in requirements/lock.txt
# (and, for GPU=1, the CUDA wheels pinned in requirements/gpu-lock.txt).
$(ENV_STAMP): pyproject.toml requirements/lock.txt requirements/gpu-lock.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[$(EXTRAS)]"
	@touch $@
env: $(ENV_STAMP)

notebooks: $(ENV_STAMP)
	$(BIN)/jupytext --sync $(CHAPTERS)

book: $(ENV_STAMP)
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "The book: $(CURDIR)/_build/html/index.html"

lab: notebooks
	$(BIN)/jupyter lab notebooks

# --- make test: each stage prints its own time -------------------------------------------------
test:
	@set -e; for stage in env lint unit nbval pairing book-check; do \
	  start=$$(date +%s); $(MAKE) --no-print-directory $$stage; \
	  echo "== stage $$stage: $$(( $$(date +%s) - start )) s"; done

lint: notebooks
	$(BIN)/ruff check mi_lib tests benchmarks book/_ext notebooks/*.ipynb
	$(BIN)/ruff format --check mi_lib tests benchmarks book/_ext

pairing: $(ENV_STAMP)
	$(BIN)/pytest -q tests/test_pairing.py

unit: $(ENV_STAMP)
	$(BIN)/pytest -q tests --ignore=tests/test_pairing.py -m "not book"

# Every chapter executed top to bottom in a fresh kernel, in the quick profile.
nbval: notebooks
	MI_PROFILE=quick $(BIN)/pytest -q -p no:cacheprovider --nbval-lax notebooks/*.ipynb

# The book built with warnings as errors, then opened in headless Chromium.
book-check: browser-deps
	MI_PROFILE=quick $(MAKE) --no-print-directory book
	$(BIN)/pytest -q -m book tests

# Debian's Chromium and ChromeDriver for the browser checks (installed where apt is available).
browser-deps: $(ENV_STAMP)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	  else echo "Install Chromium and ChromeDriver (Debian: apt-get install chromium chromium-driver)"; exit 1; fi; }

benchmark: $(ENV_STAMP)
	$(BIN)/python benchmarks/mine_throughput.py
	$(BIN)/python benchmarks/batched_sweep.py

clean:
	rm -rf _build notebooks/*.ipynb
