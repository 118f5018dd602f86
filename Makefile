# Lamplighter's front door: `make run` starts the whole stack with demo data, `make test` runs
# the tests. Both set up everything they need first (system packages, the virtual environment).

VENV   := .venv
PY     := $(VENV)/bin/python
LL     := $(VENV)/bin/lamplighter
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTHON ?= python3

.PHONY: run test lint install venv services-stop clean

run: install venv
	$(LL) up

test: install venv
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

install:
	$(SUDO) deploy/install

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

services-stop: venv
	$(LL) services stop

clean: services-stop
	rm -rf $(VENV) var
