# Two commands for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-scale.txt pyproject.toml | cksum | cut -d' ' -f1)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup run index test test-fast train-reader bench clean

# The pinned requirements first, then qa itself (editable, no deps: the pins are already there),
# which puts the `qa` command in $(VENV)/bin.
$(STAMP): requirements.txt requirements-scale.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-scale.txt
	$(PY) -m pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

# Build (or update) the index from data/articles (and files uploaded in the web UI); a no-op
# when nothing changed.
index: setup
	$(VENV)/bin/qa index data/articles $(wildcard data/uploads) --index index

run: index
	$(PY) app.py

test: setup
	$(PY) -m pytest

# Everything but the slow tests (real model, browser, benchmark data).
test-fast: setup
	$(PY) -m pytest -m "not slow"

# Retrain the reading model (qa/models/reader) from SQuAD train, seeded: 1,477 steps, then
# 1,450 more continuing it (about 2 hours on 2 cores; see qa/models/reader/MODEL_CARD.md).
READER_RECIPE = --start minilm --layers 3 --negatives 3 --read-depth 4 --quantize-embeddings \
	--rank-pool mean --head-lr 10 --combination three --lr 1e-4
train-reader: setup
	$(PY) training/train_reader.py --work .cache/training-minilm3 $(READER_RECIPE) --max-steps 1477 --threads 2 \
		--stages data,reader
	$(PY) training/train_reader.py --work .cache/training-minilm3-more --init .cache/training-minilm3 \
		$(READER_RECIPE) --max-steps 1450 --threads 2

clean:
	rm -rf .pytest_cache .hypothesis build qa.egg-info
