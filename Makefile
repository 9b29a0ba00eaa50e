# lifesign: two commands do all set-up on a fresh machine with Python 3.11+ and make.
#   make demo   the end-to-end slice on embedded Tansu + PostgreSQL (no Docker)
#   make test   lint (ruff), types (mypy), and the whole pytest suite
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_PYTHON := $(shell command -v $(PYTHON))
PACKAGES := -p lifesign -p lifesign_ingest -p lifesign_quality -p lifesign_matcher \
            -p lifesign_scoring -p lifesign_lists -p lifesign_notify -p lifesign_payments_bridge \
            -p lifesign_sim

# Tests are type-checked too; a fixture or helper need not spell out every type.
TEST_FILES = $(shell find tests shared/tests services/*/tests simulator/tests -name '*.py' -not -path '*/.*')

.PHONY: install lint typecheck pytest test demo up bench clean

# uv lives in its own small venv so that `uv sync` can manage .venv exactly.
$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check 'uv>=0.5,<1'

$(VENV)/.synced: $(UV) uv.lock pyproject.toml shared/pyproject.toml services/*/pyproject.toml \
                 simulator/pyproject.toml
	$(UV) sync --frozen --all-packages
	@touch $@

install: $(VENV)/.synced

lint: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

typecheck: install
	$(VENV)/bin/mypy $(PACKAGES)
	$(VENV)/bin/mypy --allow-untyped-defs $(TEST_FILES)

pytest: install
	$(VENV)/bin/pytest

test: lint typecheck pytest

demo: install
	$(VENV)/bin/lifesign demo

up: install
	$(VENV)/bin/lifesign up

bench: install
	$(VENV)/bin/python tests/bench/foundation.py
	$(VENV)/bin/python tests/bench/simulator.py
	$(VENV)/bin/python tests/bench/sweep.py
	$(VENV)/bin/python tests/bench/matcher.py
	$(VENV)/bin/python tests/bench/ingest.py
	$(VENV)/bin/python tests/bench/pipeline.py
	$(VENV)/bin/python tests/bench/scoring.py

clean:
	rm -rf $(VENV) $(TOOLS) var .mypy_cache .ruff_cache .pytest_cache
