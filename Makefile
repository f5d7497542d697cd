# Two commands for a fresh clone:  make demo   and   make test
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo test train lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

demo: install  ## train the default model if needed, evaluate it, classify the sample article
	$(PY) scripts/demo.py

test: install  ## unit tests (tiny model) + one end-to-end test on the real base model
	$(PY) -m pytest -q

train: install  ## (re)train the default model into checkpoints/default
	$(PY) scripts/train.py --config configs/default.yaml

lint: install
	$(PY) -m ruff check model training scripts tests

clean:
	rm -rf checkpoints .pytest_cache
