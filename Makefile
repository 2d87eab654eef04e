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

.PHONY: test check run events docs config-docs install system-deps lint format typecheck sam-validate sam-build unit integration e2e bench clean template-check
.PHONY: lock lock-check
.PHONY: sam-local sam-local-api sam-local-setup sam-local-optional-setup

# --- dependencies ---------------------------------------------------------------------------------
# Declared once, in pyproject.toml (the layer's runtime requirements and the dependency groups);
# uv.lock pins every package of every group with its hashes. The requirements files are exports of
# the lock (`make lock`), which pip installs with --require-hashes: a fresh machine and CI need only
# pip to install, and uv (pinned in the dev group) only to change the lock. An export is the whole
# closure, so pip installs it with --no-deps (uv's exports name a package's extras apart, e.g.
# boto3 and awscrt for aws-sam-cli's boto3[crt], which pip's hash mode would otherwise refuse) and
# `pip check` confirms that nothing is missing. requirements-dev.txt brings its own pinned pip.
# $(call locked_venv,VENV,EXPORT): a virtualenv holding exactly one export of the lock.
define locked_venv
	test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install -q --require-hashes --no-deps -r $(2)
	$(1)/bin/python -m pip check
	touch $(1)/.installed
endef

$(STAMP): requirements-dev.txt
	$(call locked_venv,$(VENV),$<)

# The targets that need no system package (the inner loop: lint, types, lock, unit tests) depend on
# $(STAMP) alone, so that `make check` on a fresh machine does not wait for chromium.
install: $(STAMP) system-deps

# checkov pins packaging<24 and boto3==1.35.49, which clash with pytest and the tests' boto3, so
# the security scanner gets a virtualenv of its own (and a fork of the lock: [tool.uv] conflicts).
SCAN_VENV := .venv-checkov
SCAN_STAMP := $(SCAN_VENV)/.installed

$(SCAN_STAMP): requirements-scan.txt
	$(call locked_venv,$(SCAN_VENV),$<)

# Each file generated from uv.lock, with the `uv export` options that select its part (file:options).
# layers/queue/requirements.txt (the layer's own, no group) is what `sam build` installs into /opt/python.
LOCK_EXPORTS := requirements-dev.txt:--group=dev requirements-deploy.txt:--only-group=deploy \
  requirements-scan.txt:--only-group=scan requirements-docs.txt:--only-group=docs layers/queue/requirements.txt:
LOCK_HEADER := \# Generated from uv.lock by `make lock` (pyproject.toml declares the dependencies); do not edit.
# $(call for-each-export,COMMAND): COMMAND reads each file's export on stdin, its name in $$file.
for-each-export = set -o pipefail; for entry in $(LOCK_EXPORTS); do file=$${entry%%:*}; \
  { echo '$(LOCK_HEADER)'; $(BIN)/uv export --frozen --no-emit-project --no-header --quiet $${entry\#*:}; } | $(1) || exit 1; done

# After an edit of pyproject.toml: re-resolve what changed (the other pins stay) and re-export.
# `uv lock --upgrade-package NAME` moves one pin on purpose.
lock: $(STAMP)
	$(BIN)/uv lock
	$(call for-each-export,cat > $$file)

# The lock agrees with pyproject.toml, every export with the lock, and the pre-commit hooks' tool
# pins with the dev group's. Offline while the lock holds (uv resolves only what pyproject changed).
lock-check: $(STAMP)
	$(BIN)/uv lock --locked --quiet
	@$(call for-each-export,diff -u $$file - >&2 || { echo "$$file is stale: make lock" >&2; false; })
	@for pin in $$(grep -oE '[A-Za-z0-9_.-]+==[^"]+' .pre-commit-config.yaml); do \
	  grep -q "^$$pin " requirements-dev.txt || { echo ".pre-commit-config.yaml: $$pin is not the lock's" >&2; exit 1; }; done

# template.yaml: cfn-lint with warnings as failures, checkov (offline, CloudFormation only, every
# exception justified in template.yaml or .checkov.yaml); the GitHub workflows against their schema.
# Every cost profile in one pass: cfn-lint checks both branches of every Fn::If whatever the
# parameters (its --parameters is ignored under the SAM transform) and checkov scans every resource
# whatever its condition; tests/unit/test_template.py checks each samconfig environment's values.
template-check: install $(SCAN_STAMP)
	$(BIN)/cfn-lint template.yaml
	$(SCAN_VENV)/bin/checkov -f template.yaml --config-file .checkov.yaml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

system-deps:
	@command -v redis-server >/dev/null || { \
	  echo "installing redis-server (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	@command -v curl >/dev/null && command -v openssl >/dev/null || { \
	  echo "installing curl (the compat suite runs the plugins' curl lines) and openssl (the TLS tests' CA)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl openssl >/dev/null; }
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  echo "installing chromium and chromium-driver (apt-get) for the dashboard's browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy layers/queue/relayq functions tests bench devstack tools

# The samconfig environments that deploy (one per cost profile).
SAM_ENVIRONMENTS := lean dev prod

sam-validate: install
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/sam validate --lint
	for env in $(SAM_ENVIRONMENTS); do PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/sam validate --config-env $$env || exit 1; done

sam-build: install
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/sam build --cached --parallel >/dev/null

# Line and branch coverage of the layer (relayq), measured in the pytest processes (pytest-cov
# combines the xdist workers'). Not measured: processes that the tests start (the fault tests'
# worker processes, devstack's Lambda containers, the e2e stack, sam local's container).
COVERAGE := --cov=relayq --cov-branch --cov-report=term

# The pure unit tests (no redis-server, moto or process of their own: those are integration
# tests), in one process: they take about a second, less than starting xdist's workers.
unit: $(STAMP)
	$(BIN)/pytest -q tests/unit -p no:xdist

integration: install
	$(BIN)/pytest -q tests/integration -n $(PYTEST_WORKERS) $(COVERAGE)

e2e: install
	$(BIN)/pytest -q tests/e2e

# The inner loop, under a minute: lint, types, the lock's exports, the pure unit tests; prints its
# time. Two at a time: mypy takes most of it, the rest runs beside it (each one's output kept whole).
check: $(STAMP)
	@start=$$EPOCHREALTIME; status=0; \
	$(MAKE) --no-print-directory -j 2 --output-sync=target typecheck lint lock-check unit || status=$$?; \
	awk -v start=$$start -v end=$$EPOCHREALTIME 'BEGIN { printf "make check: %.1f s\n", end - start }'; \
	exit $$status

# Every suite, the unit tests again (a second) so that the coverage figure counts them too; the
# slowest tests are listed at the end (--durations): where CI's time goes.
test: check docs sam-validate sam-build template-check sam-local-optional-setup
	$(BIN)/pytest -q tests -n $(PYTEST_WORKERS) $(COVERAGE) --durations=15

# Benchmarks print figures against a baseline measured in the same run (see bench/README.md).
BENCH_ENV := PYTHONPATH=layers/queue:.
bench: install
	$(BENCH_ENV) $(BIN)/python -m bench.queue_core
	$(BENCH_ENV) $(BIN)/python -m bench.cold_start
	$(BENCH_ENV) $(BIN)/python -m bench.api_latency
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
# The layer's package on the path: the samples' seeding uses it.
SAM_LOCAL := PYTHONPATH=layers/queue:. timeout --foreground --kill-after=30
SAM_LOCAL_PORT ?= 3001

sam-local-setup: install
	$(SAM_LOCAL) 1800 $(BIN)/python -m devstack.samlocal setup

# `make test` runs the sam local smoke test when this succeeds, and skips it (saying why) if not.
sam-local-optional-setup: install
	$(SAM_LOCAL) 1800 $(BIN)/python -m devstack.samlocal setup --optional

# sam build, then every function with every events/<function>/*.json through one
# `sam local start-lambda` (warm containers), each answer checked against the sample's expectation.
sam-local: sam-local-setup
	$(SAM_LOCAL) 1800 $(BIN)/python -m devstack.samlocal invoke

# sam local start-api on $(SAM_LOCAL_PORT) with the same services, until Ctrl-C.
sam-local-api: sam-local-setup
	PYTHONPATH=layers/queue:. $(BIN)/python -m devstack.samlocal start-api --port $(SAM_LOCAL_PORT)

# The local stack (devstack): redis-server, moto, the functions, API on :3000.
run: install
	PYTHONPATH=layers/queue:. $(BIN)/python -m devstack

# Regenerates events/ from devstack/events.py (a test fails when the committed copy is stale).
events: install
	PYTHONPATH=layers/queue:. $(BIN)/python -m devstack.events

# --- docs (docs/, mkdocs.yml): MkDocs + Material in a virtualenv of their own (the lock's docs group,
# exported to requirements-docs.txt: mkdocs pins a newer click than aws-sam-cli allows) ---
DOCS_VENV := .venv-docs
DOCS_STAMP := $(DOCS_VENV)/.installed

$(DOCS_STAMP): requirements-docs.txt
	$(call locked_venv,$(DOCS_VENV),$<)

# The site in site/; --strict fails on a broken link or anchor, a missing page or one left out of the nav.
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(DOCS_VENV)/bin/mkdocs build --strict --quiet --site-dir site

# Rewrites docs/configuration.md from the settings model (a test fails when the committed page is stale).
config-docs: install
	PYTHONPATH=layers/queue:. $(BIN)/python -m tools.config_docs
