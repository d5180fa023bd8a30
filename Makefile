# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each creates .venv, installs kdrtui with its test and dev tools, and fetches the Kafka jars first.

PYTHON ?= $(shell command -v python3.13 || command -v python3.12 || command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test setup prereqs lint typecheck unit lab-down clean

demo: setup
	$(BIN)/kdrtui demo

test: setup lint typecheck
	$(BIN)/python -m pytest

setup: $(STAMP)
	$(BIN)/kdrtui lab fetch

prereqs:
	@$(PYTHON) -c 'import sys; v=sys.version_info; sys.exit(0 if v >= (3, 11) else "kdrtui needs Python 3.11+; found %d.%d (check: python3 --version)" % v[:2])'

$(STAMP): pyproject.toml | prereqs
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,dev]'
	@touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check kdrtui tests benchmarks
	$(BIN)/ruff format --check kdrtui tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Fast tests of pure code only (no Java, no lab).
unit: $(STAMP)
	$(BIN)/python -m pytest -m "not lab"

lab-down: $(STAMP)
	$(BIN)/kdrtui lab down

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
