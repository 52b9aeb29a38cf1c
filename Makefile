# The two commands of the README: `make run` (the whole stack on embedded defaults) and
# `make test` (every test, against real PostgreSQL and Redis, started here when they are down).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test services lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python scripts/run_stack.py

services:
	scripts/ensure-services.sh

test: $(STAMP) services
	scripts/ensure-chromium.sh
	scripts/ensure-axe.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP) services
	scripts/ensure-bench-tools.sh
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache
