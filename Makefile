# Lamplighter's front door: `make run` starts the whole stack with demo data, `make test` runs
# the tests. Both set up everything they need first (system packages, the virtual environment).

VENV   := .venv
PY     := $(VENV)/bin/python
LL     := $(VENV)/bin/lamplighter
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTHON ?= python3
# pytest workers: each starts its own PostgreSQL and Mosquitto; a test file stays on one worker.
TEST_WORKERS ?= 2

.PHONY: run test lint install venv assets services-stop clean

run: install venv assets
	$(LL) up

test: install venv assets
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

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

# Leaflet and its marker clustering, from the npm registry (checked against npm's integrity
# hashes) into web/static/vendor/; nothing happens when they are already there.
assets: venv
	$(PY) -m web.assets

services-stop: venv
	$(LL) services stop

clean: services-stop
	rm -rf $(VENV) var
