# The two commands of the README. Both set up everything they need on a fresh machine.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test install

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/newsletter demo

test: install
	$(PY) -m pytest -q -p no:cacheprovider
