# matteralign — entry points.  `make reproduce` and `make test` install what
# they need into .venv themselves; re-running skips the install while the
# dependency files are unchanged (stamp keyed on their hash).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
DEPS_HASH := $(shell cat pyproject.toml environment.yml Makefile 2>/dev/null | sha256sum | cut -c1-16)
STAMP  := $(VENV)/.installed-$(DEPS_HASH)
TORCH  := torch==2.13.0
EXTRAS ?= models,dev

NOTEBOOK ?=
PARAMS   ?=

STORE_SEED ?= 0

.PHONY: help install test lint pytest reproduce benchmark clean-cache datasets embeddings check-store

help:  ## list the entry points
	@echo "matteralign — make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort

install: $(STAMP)  ## create .venv and install torch, then the project with [$(EXTRAS)]

$(STAMP):
	@echo "==> [install] dependency files changed or no .venv: installing into $(VENV)"
	@test -x $(PY) || { echo "==> [install] creating virtualenv with $(PYTHON)"; \
	  $(PYTHON) -m venv $(VENV) || { echo "ERROR: install step 'create virtualenv' failed ($(PYTHON) -m venv $(VENV))" >&2; exit 1; }; }
	@echo "==> [install] upgrading pip"
	@$(PY) -m pip install -q --upgrade pip || { echo "ERROR: install step 'upgrade pip' failed" >&2; exit 1; }
	@echo "==> [install] $(TORCH) (CPU wheel)"
	@$(PY) -m pip install -q $(TORCH) || { echo "ERROR: install step '$(TORCH)' failed" >&2; exit 1; }
	@echo "==> [install] matteralign[$(EXTRAS)] (editable)"
	@$(PY) -m pip install -q -e '.[$(EXTRAS)]' || { echo "ERROR: install step 'pip install -e .[$(EXTRAS)]' failed" >&2; exit 1; }
	@echo "==> [install] rxnfp==0.1.0 --no-deps (RXN-BERT checkpoints; its own pins are stale)"
	@$(PY) -m pip install -q --no-deps rxnfp==0.1.0 || { echo "ERROR: install step 'pip install --no-deps rxnfp==0.1.0' failed" >&2; exit 1; }
	@rm -f $(VENV)/.installed-*
	@touch $@
	@echo "==> [install] done"

lint: $(STAMP)  ## ruff over the library, tests, benchmarks and scripts
	@echo "==> [lint] ruff check"
	@$(PY) -m ruff check $(wildcard lib tests benchmarks scripts)

pytest: $(STAMP)  ## the test suite (doctests included)
	@echo "==> [test] pytest"
	@$(PY) -m pytest -q

test: lint pytest  ## install if needed, then ruff and pytest

check-store: $(STAMP)  ## re-extract 16 random samples of every stored embedding file and re-predict 4 structures of every predictions file (seed STORE_SEED)
	@echo "==> [store] spot-checking the shipped embeddings and predictions (16 samples / 4 structures per file, seed $(STORE_SEED))"
	@$(PY) -m matteralign.store check --n-check 16 --n-check-predictions 4 --seed $(STORE_SEED)

embeddings: $(STAMP)  ## (re)write the verified embedding store (embeddings and predictions) under data/embeddings/store (resumable)
	@echo "==> [store] writing missing or stale entries of data/embeddings/store/manifest.json"
	@$(PY) -m matteralign.store build

reproduce: $(STAMP) check-store  ## spot-check the shipped embeddings, run every notebook with papermill; figures land in figures/
	@echo "==> [reproduce] executing notebooks (figures/ and figures/README.md)"
	@$(PY) -m matteralign report --run $(if $(NOTEBOOK),--notebook $(NOTEBOOK)) $(PARAMS)

benchmark: $(STAMP)  ## metric benchmarks (slow); results go to benchmarks/RESULTS.md
	@PYTHONPATH=lib $(PY) benchmarks/metrics.py

datasets: $(STAMP)  ## regenerate the generated datasets under data/ (RDKit sets byte-identical, CHGNet-made ones within stated tolerances; about 1 h on 2 cores)
	@echo "==> [datasets] regenerating prototypes, perturbed prototypes, NCI organics and peptides"
	@OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) -m matteralign.datasets.generate

clean-cache:  ## drop cached embeddings and metric results (the shipped store stays)
	find data/embeddings -mindepth 1 -maxdepth 1 ! -name store -exec rm -rf {} + 2>/dev/null || true
	rm -rf data/cache
