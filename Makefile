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
# The chapters' generated pairs (not notebooks a student made beside them).
NOTEBOOKS := $(CHAPTERS:.md=.ipynb)
STUDENT ?= 0
# STUDENT=1: the student edition, without solutions, in its own folder (it reuses the execution cache).
BOOK_OUT := $(if $(filter 1,$(STUDENT)),_build/student/_build/html,_build/html)
BOOK_FLAGS := $(if $(filter 1,$(STUDENT)),--path-output _build/student --config _build/student/_config.yml)
export MI_PROFILE ?= auto
# Chapters and unit tests run JOBS at a time (pytest-xdist): one per core on a CPU; one at a time
# with GPU=1 (each TensorFlow process reserves the GPU's memory). Each keeps TensorFlow's own thread
# count: one thread per job would do more work per second (benchmarks/parallel_jobs.py), but
# chapter 7's convolutions then give other numbers than a run one chapter at a time.
JOBS ?= $(if $(filter 1,$(GPU)),1,$(shell nproc 2>/dev/null || echo 2))

.PHONY: help env deps book execute notebooks lab lab-check test lint pairing unit nbval classroom assignments book-check browser-deps pdf pdf-check tex-deps benchmark benchmark-build data-deps clean

help:
	@echo "make book        build the HTML book (creates .venv and installs everything first)"
	@echo "make test        every check CI runs: lint, pairing, unit tests, chapters, book, browser"
	@echo "make lab         JupyterLab on the chapters: each opens as a notebook, MyST rendered"
	@echo "make lab-check   chapter 1 run through JupyterLab in headless Chromium"
	@echo "make pdf         the whole book as one PDF, _build/latex/book.pdf (installs TeX Live from Debian where it can)"
	@echo "make assignments every chapter as an nbgrader assignment, in _build/assignments (book/instructors.md)"
	@echo "make notebooks   generate the .ipynb pair of every chapter"
	@echo "make benchmark   MINE throughput against the matmul ceiling; a batched sweep against sequential runs;"
	@echo "                 two chapters' work at once against one at a time; estimate() against commit"
	@echo "                 BASE (default $(SPEED_BASE)) for speed; accuracy on 13 tasks of known MI (--against BASE if given)"
	@echo "make benchmark-build BASE=<commit>  make book and make test on fresh clones, BASE against HEAD"
	@echo "options: GPU=1 (TensorFlow's CUDA build, in .venv-gpu), MI_PROFILE=quick|full|auto,"
	@echo "         STUDENT=1 (make book: the student edition, without solutions)"

# The virtual environment, with every dependency at the version pinned in requirements/lock.txt
# (and, for GPU=1, the CUDA wheels pinned in requirements/gpu-lock.txt).
$(ENV_STAMP): pyproject.toml requirements/lock.txt requirements/gpu-lock.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[$(EXTRAS)]"
	@touch $@
env: $(ENV_STAMP) data-deps

notebooks: $(ENV_STAMP)
	$(BIN)/jupytext --sync $(CHAPTERS)

# The chapters that the execution cache lacks are executed first, in parallel (nbval, as in `make
# test`); the book build then finds every chapter in the cache (book/_ext/execution_cache.py).
book: execute
	$(if $(filter 1,$(STUDENT)),$(BIN)/python tools/student_book.py _build/student/_config.yml)
	$(BIN)/jupyter-book build . --warningiserror --keep-going $(BOOK_FLAGS)
	@echo "The book: $(CURDIR)/$(BOOK_OUT)/index.html"

# Every chapter of _toc.yml as an nbgrader assignment: _build/assignments/{source,release}/<chapter>.
assignments: $(ENV_STAMP)
	$(BIN)/python tools/assignments.py

# JupyterLab as a student sees it, configured by jupyter-config/ (on JUPYTER_CONFIG_PATH, below the
# user's own settings): a chapter opens as a notebook with its MyST rendered (jupyterlab-myst), each
# chapter is listed once, no news or update prompts. LAB_ARGS: more options (tests/test_lab.py).
lab: notebooks
	JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter-config$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH} \
	  $(BIN)/jupyter lab notebooks $(LAB_ARGS)

# make lab, checked in headless Chromium: chapter 1 opened and run through the UI, then saved.
lab-check: browser-deps
	MI_PROFILE=quick $(BIN)/pytest -q -m lab tests/test_lab.py

# --- make test: each stage prints its own time -------------------------------------------------
# (tools/test_stages.sh: the last four stages run in two lanes at once, since each uses about one core.)
test:
	@MAKE="$(MAKE)" bash tools/test_stages.sh

# The system packages of the later stages, installed before they run side by side (one apt at a time).
deps: browser-deps tex-deps data-deps

lint: notebooks
	$(BIN)/ruff check mi_lib tests benchmarks book/_ext book/_latex tools nbgrader_config.py notebooks/*.ipynb
	$(BIN)/ruff format --check mi_lib tests benchmarks book/_ext book/_latex tools nbgrader_config.py

pairing: $(ENV_STAMP)
	$(BIN)/pytest -q tests/test_pairing.py

unit: $(ENV_STAMP)
	$(BIN)/pytest -q tests --ignore=tests/test_pairing.py -m "not book and not classroom and not pdf and not lab" \
	  -n $(JOBS) --dist worksteal --durations=10

# make assignments, then nbgrader autogrades chapter 1: the instructor's solution on the outputs of
# the chapter's execution by nbval (from the execution cache, executed here only if missing), the
# unchanged release executed by the autograder: one chapter execution in the quick profile.
classroom: assignments notebooks
	MI_PROFILE=quick $(NBVAL) --uncached-only notebooks/01_dv_duality.ipynb
	MI_PROFILE=quick $(BIN)/pytest -q -m classroom tests

# Chapters executed top to bottom, each in a fresh kernel, JOBS at a time (pytest-xdist gives each
# worker whole chapters). Each passing execution is stored in the execution cache that
# the book build reads (book/_ext/execution_cache.py), so the book does not execute it again.
NBVAL = PYTHONPATH=book/_ext $(BIN)/python -m pytest -q -p no:cacheprovider -p execution_cache \
  --nbval-lax --nbval-cell-timeout=1800 -n $(JOBS) --dist loadfile --no-loadscope-reorder --durations=15

# Every chapter executed, in the quick profile (a test: it runs even where the cache holds a chapter).
nbval: notebooks data-deps
	MI_PROFILE=quick $(NBVAL) $(NOTEBOOKS)

# Only the chapters that the execution cache lacks, in the profile of MI_PROFILE.
execute: notebooks data-deps
	$(NBVAL) --uncached-only $(NOTEBOOKS)

# The book built with warnings as errors, then opened in headless Chromium; the student edition
# built from the same execution cache and checked for solutions.
book-check: browser-deps
	MI_PROFILE=quick $(MAKE) --no-print-directory book
	MI_PROFILE=quick $(MAKE) --no-print-directory book STUDENT=1
	$(BIN)/pytest -q -m book tests

# Debian's Chromium and ChromeDriver for the browser checks (installed where apt is available).
browser-deps: $(ENV_STAMP)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	  else echo "Install Chromium and ChromeDriver (Debian: apt-get install chromium chromium-driver)"; exit 1; fi; }

# The whole book as one PDF (Jupyter Book's LaTeX builder; the chapters' execution cache is shared
# with the HTML build).
pdf: tex-deps execute
	rm -rf _build/latex  # LaTeX's auxiliary files of an earlier build can stop this one
	$(BIN)/jupyter-book build . --builder pdflatex --warningiserror --keep-going
	@echo "The PDF: $(CURDIR)/_build/latex/book.pdf"

pdf-check:
	MI_PROFILE=quick $(MAKE) --no-print-directory pdf
	$(BIN)/pytest -q -m pdf tests

# TeX Live for the PDF and poppler's pdftotext for its test (installed from Debian where apt is available).
TEX_PACKAGES := texlive-xetex texlive-latex-recommended texlive-fonts-recommended texlive-latex-extra tex-gyre fonts-freefont-otf latexmk poppler-utils
tex-deps:
	@command -v latexmk >/dev/null && command -v xelatex >/dev/null && command -v pdftotext >/dev/null || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEX_PACKAGES); \
	  else echo "Install TeX Live and pdftotext (Debian: apt-get install $(TEX_PACKAGES))"; exit 1; fi; }

# Fashion-MNIST for chapter 7: Debian's dataset-fashion-mnist, installed where apt is available and
# we are root; elsewhere the Keras cache or $MI_FASHION_MNIST_DIR serve (mi_lib/data.py).
FASHION_MNIST_FILE := t10k-labels-idx1-ubyte.gz
data-deps:
	@test -f /usr/share/datasets/fashion-mnist/$(FASHION_MNIST_FILE) || [ -n "$$MI_FASHION_MNIST_DIR" ] || \
	  test -f "$${KERAS_HOME:-$$HOME/.keras}/datasets/fashion-mnist/$(FASHION_MNIST_FILE)" || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	  else echo "Fashion-MNIST is missing (chapter 7): apt-get install dataset-fashion-mnist, or see mi_lib/data.py"; \
	    exit 1; fi; }

# estimator_speed.py: a default estimate() against SPEED_BASE's (the estimator before issue 15), or
# BASE's. accuracy.py (10-20 minutes on two cores) sets `default` beside BASE's on the same samples
# only when BASE is given, since that doubles its time.
SPEED_BASE := 4c9935c
benchmark: $(ENV_STAMP)
	$(BIN)/python benchmarks/mine_throughput.py
	$(BIN)/python benchmarks/batched_sweep.py
	$(BIN)/python benchmarks/parallel_jobs.py
	$(BIN)/python benchmarks/classical_memory.py
	$(BIN)/python benchmarks/estimator_speed.py --base $(or $(BASE),$(SPEED_BASE))
	$(BIN)/python benchmarks/accuracy.py $(if $(BASE),--against $(BASE))

# `make book` and `make test` on fresh clones of BASE and NEW (default HEAD), one after the other,
# beside the matmul ceiling (about an hour on two cores). ONLY=test or ONLY=book: one of them.
benchmark-build: $(ENV_STAMP)
	@test -n "$(BASE)" || { echo "make benchmark-build BASE=<commit> [NEW=<commit>] [ONLY=test|book]"; exit 1; }
	$(BIN)/python benchmarks/build_time.py $(BASE) $(or $(NEW),HEAD) $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf _build notebooks/*.ipynb
