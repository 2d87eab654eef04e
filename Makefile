# Daily verbs. `make test` and `make run` install what they need on a fresh Debian + Python 3.11.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
export SAM_CLI_DISABLE_TELEMETRY := 1
PYTEST_WORKERS ?= 2

.PHONY: test run events install system-deps lint format typecheck sam-validate sam-build unit integration e2e bench clean

$(STAMP): requirements-dev.txt layers/queue/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) system-deps

system-deps:
	@command -v redis-server >/dev/null || { \
	  echo "installing redis-server (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  echo "installing chromium and chromium-driver (apt-get) for the dashboard's browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy layers/queue/relayq functions tests bench

sam-validate: install
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/sam validate --lint

sam-build: install
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/sam build --cached --parallel >/dev/null

unit: install
	$(BIN)/pytest -q tests/unit -n $(PYTEST_WORKERS)

integration: install
	$(BIN)/pytest -q tests/integration -n $(PYTEST_WORKERS)

e2e: install
	$(BIN)/pytest -q tests/e2e

test: install lint typecheck sam-validate sam-build
	$(BIN)/pytest -q tests -n $(PYTEST_WORKERS)

# Benchmarks print figures against a baseline measured in the same run (see bench/README.md).
BENCH_ENV := PYTHONPATH=layers/queue:.
bench: install
	$(BENCH_ENV) $(BIN)/python -m bench.queue_core
	$(BENCH_ENV) $(BIN)/python -m bench.worker_throughput
	$(BENCH_ENV) $(BIN)/python -m bench.cron_fanout
	$(BENCH_ENV) $(BIN)/python -m bench.cost_model
	$(BENCH_ENV) $(BIN)/python -m bench.load --seconds 60

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

# The local stack (tests/support/localstack): redis-server, moto, the functions, API on :3000.
run: install
	PYTHONPATH=layers/queue:. $(BIN)/python -m tests.support.localstack

# Regenerates events/ from tests/support/events.py (a test fails when the committed copy is stale).
events: install
	PYTHONPATH=layers/queue:. $(BIN)/python -m tests.support.events
