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

.PHONY: test run events docs config-docs install system-deps lint format typecheck sam-validate sam-build unit integration e2e bench clean template-check
.PHONY: sam-local sam-local-api sam-local-setup sam-local-optional-setup

$(STAMP): requirements-dev.txt layers/queue/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) system-deps

# checkov pins packaging<24 and click versions that clash with pytest and aws-sam-cli, so the
# security scanner gets a virtualenv of its own.
SCAN_VENV := .venv-checkov
SCAN_STAMP := $(SCAN_VENV)/.installed

$(SCAN_STAMP): requirements-scan.txt
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install -q --upgrade pip
	$(SCAN_VENV)/bin/python -m pip install -q -r requirements-scan.txt
	touch $(SCAN_STAMP)

# template.yaml: cfn-lint with warnings as failures, checkov (offline, CloudFormation only, every
# exception justified in template.yaml or .checkov.yaml); the GitHub workflows against their schema.
template-check: install $(SCAN_STAMP)
	$(BIN)/cfn-lint template.yaml
	$(SCAN_VENV)/bin/checkov -f template.yaml --config-file .checkov.yaml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

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
	$(BIN)/mypy layers/queue/relayq functions tests bench devstack tools

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

test: install lint typecheck docs sam-validate sam-build template-check sam-local-optional-setup
	$(BIN)/pytest -q tests -n $(PYTEST_WORKERS)

# Benchmarks print figures against a baseline measured in the same run (see bench/README.md).
BENCH_ENV := PYTHONPATH=layers/queue:.
bench: install
	$(BENCH_ENV) $(BIN)/python -m bench.queue_core
	$(BENCH_ENV) $(BIN)/python -m bench.api_cold_start
	$(BENCH_ENV) $(BIN)/python -m bench.worker_throughput
	$(BENCH_ENV) $(BIN)/python -m bench.cron_fanout
	$(BENCH_ENV) $(BIN)/python -m bench.cost_model
	$(BENCH_ENV) $(BIN)/python -m bench.load --seconds 60
	RELAYQ_DRAIN_JOBS=10000 $(BIN)/pytest -q tests/integration/test_faults.py -k parallel_workers
	RELAYQ_MODEL_EXAMPLES=500 RELAYQ_MODEL_STEPS=40 $(BIN)/pytest -q -s tests/integration/test_queue_model.py

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

# The API's OpenAPI document, generated from the code (a test fails when the committed copy is stale).
.PHONY: openapi
openapi: install
	PYTHONPATH=layers/queue:functions/api $(BIN)/python -c "import pathlib, api_app; \
	  pathlib.Path('functions/api/openapi.json').write_text(api_app.openapi_document() + '\n')"

# --- sam local (README: "sam local without Docker") -------------------------------------------
# Docker when an engine answers; otherwise podman (apt-get) and a locally built base image
# (~1-2 min once, cached). Every step inside has its own time limit; these are the outer bounds.
SAM_LOCAL := timeout --foreground --kill-after=30
SAM_LOCAL_PORT ?= 3001

sam-local-setup: install
	$(SAM_LOCAL) 1800 $(BIN)/python -m devstack.samlocal setup

# `make test` runs the sam local smoke test when this succeeds, and skips it (saying why) if not.
sam-local-optional-setup: install
	$(SAM_LOCAL) 1800 $(BIN)/python -m devstack.samlocal setup --optional

# sam build, then `sam local invoke` of every function with every events/<function>/*.json.
sam-local: sam-local-setup
	$(SAM_LOCAL) 1800 $(BIN)/python -m devstack.samlocal invoke

# sam local start-api on $(SAM_LOCAL_PORT) with the same services, until Ctrl-C.
sam-local-api: sam-local-setup
	$(BIN)/python -m devstack.samlocal start-api --port $(SAM_LOCAL_PORT)

# The local stack (devstack): redis-server, moto, the functions, API on :3000.
run: install
	PYTHONPATH=layers/queue:. $(BIN)/python -m devstack

# Regenerates events/ from devstack/events.py (a test fails when the committed copy is stale).
events: install
	PYTHONPATH=layers/queue:. $(BIN)/python -m devstack.events

# --- docs (docs/, mkdocs.yml): MkDocs + Material in a virtualenv of their own (requirements-docs.txt) ---
DOCS_VENV := .venv-docs
DOCS_STAMP := $(DOCS_VENV)/.installed

$(DOCS_STAMP): requirements-docs.txt
	test -x $(DOCS_VENV)/bin/python || $(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/python -m pip install -q -r requirements-docs.txt
	touch $(DOCS_STAMP)

# The site in site/; --strict fails on a broken link or anchor, a missing page or one left out of the nav.
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(DOCS_VENV)/bin/mkdocs build --strict --quiet --site-dir site

# Rewrites docs/configuration.md from the settings model (a test fails when the committed page is stale).
config-docs: install
	PYTHONPATH=layers/queue:. $(BIN)/python -m tools.config_docs
