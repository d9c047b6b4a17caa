# Two commands for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-scale.txt | cksum | cut -d' ' -f1)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup run index test test-fast bench clean

$(STAMP): requirements.txt requirements-scale.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-scale.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

# Build (or update) the index from data/articles (and files uploaded in the web UI); a no-op
# when nothing changed.
index: setup
	$(PY) -m qa index data/articles $(wildcard data/uploads) --index index

run: index
	$(PY) app.py

test: setup
	$(PY) -m pytest

# Everything but the slow tests (real model, browser, benchmark data).
test-fast: setup
	$(PY) -m pytest -m "not slow"

clean:
	rm -rf .pytest_cache .hypothesis
