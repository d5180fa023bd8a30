# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each creates .venv, installs kdrtui with its test and dev tools, and fetches the Kafka jars first.

# The first Python 3.11+ that really runs (pyenv shims exist for versions that are not installed).
ifndef PYTHON
PYTHON := $(shell for p in python3.11 python3.12 python3.13 python3; do \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { command -v $$p; break; }; \
	done)
endif
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test setup prereqs lint typecheck unit gameday lab-down screenshots clean

demo: setup
	$(BIN)/kdrtui demo

test: setup lint typecheck
	$(BIN)/python -m pytest

setup: $(STAMP)
	$(BIN)/kdrtui lab fetch

prereqs:
	@test -n "$(PYTHON)" || { echo "kdrtui needs Python 3.11+ (check: python3 --version; Debian: apt-get install python3 python3-venv)"; exit 2; }

$(STAMP): pyproject.toml | prereqs
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,dev]'
	@touch $(STAMP)

# The shell scripts kdrtui ships (package data) and CI's own script, under shellcheck.
SHELL_SCRIPTS = $(shell find kdrtui -name '*.sh') .ci/run

lint: $(STAMP)
	$(BIN)/ruff check kdrtui tests benchmarks scripts
	$(BIN)/ruff format --check kdrtui tests benchmarks scripts
	@command -v shellcheck >/dev/null 2>&1 || { echo "make lint needs shellcheck (Debian: apt-get install shellcheck)"; exit 2; }
	shellcheck $(SHELL_SCRIPTS)

typecheck: $(STAMP)
	$(BIN)/mypy

# Fast tests of pure code only (no Java, no lab).
unit: $(STAMP)
	$(BIN)/python -m pytest -m "not lab"

# The long game-day scenarios (tests/gameday, marker `gameday`) on a three-broker lab of their own, with a
# WAN when Go builds Toxiproxy (`kdrtui lab fetch`); the default `pytest` run leaves them out.
# Each report is kept in gameday-reports/ (JSON and Markdown).
gameday: setup
	KDRTUI_GAMEDAY_REPORTS=$(CURDIR)/gameday-reports $(BIN)/python -m pytest -m gameday tests/gameday

lab-down: $(STAMP)
	$(BIN)/kdrtui lab down

# The README's pictures of every pane (docs/images/*.svg), taken from the console on the lab: starts the
# lab (and takes down what it started), traffic and MirrorMaker. SCREENSHOTS_ARGS="--reuse-lab" uses a
# running lab; "--brokers 3" (as the README's pictures) when it starts one; see scripts/screenshots.py.
screenshots: setup
	$(BIN)/python scripts/screenshots.py $(SCREENSHOTS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
