# The two commands of the README. Both set up everything they need on a fresh machine.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test test-fast lint install test-env

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/newsletter demo

# Chromium, smtp-sink, PostgreSQL and Redis: installed or started when missing.
test-env:
	tools/test-env.sh

lint: install
	$(VENV)/bin/ruff check .
	tools/lint-imports.sh $(CURDIR)/$(VENV)/bin/lint-imports

# Python keeps the bytecode of newsletter/ and of the tests (their asserts rewritten by
# pytest) in __pycache__ (ignored by git). A shell with PYTHONDONTWRITEBYTECODE set made
# every run compile them again: 9 s of CPU to collect the unit tests instead of 4.
test test-fast: export PYTHONDONTWRITEBYTECODE :=

# The whole suite: lint, unit tests, then integration tests on the real servers.
test: install test-env lint
	$(PY) -m pytest -q -p no:cacheprovider

# Unit tests on SQLite only: no servers, no subprocesses; for the edit-run loop.
test-fast: install lint
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow and not postgres"
