# Set-up and entry points.  Every target creates or reuses .venv and installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install bench eval clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make demo: build an index of the bundled sample corpus, check sample outputs, print verdicts
demo: $(STAMP)
	@mkdir -p demo-out
	$(BIN)/build-index build --input samples/protected.jsonl --out demo-out/protected.idx --force
	$(BIN)/dedupblock info --index demo-out/protected.idx
	$(BIN)/dedupblock check --index demo-out/protected.idx --input samples/outputs.jsonl --output demo-out/verdicts.jsonl
	$(BIN)/python samples/show_verdicts.py samples/outputs.jsonl demo-out/verdicts.jsonl

## make test: the whole test suite
test: $(STAMP)
	$(BIN)/python -m pytest

## make eval: recall / false-positive table on ../shared/data/dev (through the CLI)
DEV ?= ../shared/data/dev
eval: $(STAMP)
	@mkdir -p demo-out
	$(BIN)/build-index build --input $(DEV)/corpus.jsonl --out demo-out/dev.idx --force
	$(BIN)/dedupblock check --index demo-out/dev.idx --input $(DEV)/queries.jsonl --id-field qid --output demo-out/dev-verdicts.jsonl
	$(BIN)/python bench/eval_dev.py --queries $(DEV)/queries.jsonl --verdicts demo-out/dev-verdicts.jsonl

## make bench: side-by-side benchmarks against datasketch and rensa
bench: $(STAMP)
	$(BIN)/python bench/bench_signatures.py
	$(BIN)/python bench/bench_index.py

clean:
	rm -rf demo-out .pytest_cache
