# The two commands of the README: `make run` (the whole stack on embedded defaults) and
# `make test` (the static gates, then every test against real PostgreSQL and Redis).
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

# The static gates, cheapest first; `make test` runs them before any test.
lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint services
	scripts/ensure-axe.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP) services
	scripts/ensure-bench-tools.sh
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache .mypy_cache .ruff_cache
