# The two commands: `make demo` (run the stack and the walkthrough) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv on PATH, else the one pip installs for this user (PyPI is the only source it needs).
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen

.PHONY: help install temporal temporal-server demo up up-cluster test test-only test-cluster \
	lint typecheck format clean schema chaos bench bench-cluster bench-limits bench-calls bench-store

help:
	@echo "make demo   - start the local stack, play the walkthrough, verify QBO, stop (exit 0 = all good)"
	@echo "make up     - the same stack, left running until Ctrl-C"
	@echo "make test   - install what is missing, then lint, type-check and run the whole suite"
	@echo "              (2 pytest processes; PYTEST_WORKERS=0 for one, PYTEST_ARGS=... passed on)"
	@echo "make chaos  - 1,000 events under QBO faults, worker kills and a Temporal restart; QBO checked"
	@echo "              (CHAOS_EVENTS=N, CHAOS_SEED=N replays a run; not part of make test)"
	@echo "make up-cluster   - the production shape: PostgreSQL, Temporal server $(TEMPORAL_SERVER) with"
	@echo "                    fairness, its Web UI, 2 workers, 2 APIs (built with Go on first run)"
	@echo "make test-cluster - the end-to-end, billing and short chaos tests on that cluster"
	@echo "make bench        - the performance figures in one table with their targets (dev stack,"
	@echo "                    ~5 min): QBO calls per event type, e2e vs direct at 150 ms, history"
	@echo "                    per event, a backfill drain at QBO's limits; BENCH_CLUSTER=1 adds the"
	@echo "                    cluster's fairness (+17 min); BENCH_ARGS=--check exits 1 on a miss"
	@echo "make bench-cluster - fairness between companies and the shared QBO limits, on the cluster"
	@echo "make bench-limits - three workers drain one company at QBO's limits: requests/minute, 429s"
	@echo "              (BENCH_EVENTS=N; not part of make test)"
	@echo "make bench-calls  - QBO reads and writes per event type against the floors (dev stack, ~1 min)"
	@echo "make bench-store  - the store's hot-path operations alone: p50/p95 per call (seconds)"
	@echo "make schema       - write the events' JSON Schemas and the OpenAPI document under schema/"

install:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		{ echo "Installing uv from PyPI..."; python3 -m pip install --user --quiet uv; }
	@$(UV) sync --frozen --python-preference only-system --quiet

temporal: install
	@$(RUN) python -m devstack.temporal_cli >/dev/null

demo: temporal
	@$(RUN) python -m devstack.demo

up: temporal
	@$(RUN) python -m devstack.up

TEMPORAL_SERVER := v1.32.0
temporal-server: install
	@$(RUN) python -m devstack.temporal_server >/dev/null

up-cluster: temporal temporal-server
	@$(RUN) python -m devstack.up_cluster

# The tests that prove the production shape, with SKIMMER_TEST_STACK=cluster (tests/conftest.py).
CLUSTER_TESTS := tests/test_record_sync.py tests/test_billing.py tests/test_billing_failures.py \
	tests/test_api.py tests/test_event_status.py tests/test_fairness.py tests/test_cluster.py \
	tests/test_chaos.py
test-cluster: temporal temporal-server
	SKIMMER_TEST_STACK=cluster $(RUN) pytest $(CLUSTER_TESTS) $(PYTEST_ARGS)

# Minutes long. BENCH_PAYMENTS, BENCH_DRAIN_EVENTS, BENCH_QBO_LATENCY, BENCH_WORKERS read by it;
# BENCH_CLUSTER=1 adds the cluster part (it needs the Temporal server build).
bench: temporal
	@if [ -n "$$BENCH_CLUSTER" ]; then $(RUN) python -m devstack.temporal_server >/dev/null; fi
	@$(RUN) python -m bench $(BENCH_ARGS)

# About 17 minutes, on the cluster: BENCH_A_EVENTS (default 1000) read by it.
bench-cluster: temporal temporal-server
	@$(RUN) python -m bench.fairness

# Not part of `make test`: minutes long. CHAOS_EVENTS / CHAOS_SEED / CHAOS_COMPANIES are read by it.
chaos: temporal
	@$(RUN) python -m devstack.chaos

# Not part of `make test`: minutes long. BENCH_EVENTS is read by it.
bench-limits: temporal
	@$(RUN) python -m bench.shared_limits

# Not part of `make test`: about a minute. Counts the sandbox's request log per event type.
bench-calls: temporal
	@$(RUN) python -m bench.qbo_calls

# Seconds. The store's hot-path operations alone on a fresh SQLite store (--database-url for another).
bench-store: install
	@$(RUN) python -m bench.store_ops

# The contract as files for the billing backend; tests/test_schema_files.py fails until rerun.
schema: install
	@$(RUN) python -m starter.schema_files

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: install
	$(RUN) mypy .

# The suite in PYTEST_WORKERS processes (pytest-xdist; 0 = one process), a whole file per process:
# each has its own Temporal dev server, sandbox and PostgreSQL, and a file's tests stay together.
PYTEST_WORKERS ?= 2
PYTEST := $(RUN) pytest -n $(PYTEST_WORKERS) --dist loadfile

test-only:
	$(PYTEST) $(PYTEST_ARGS)

# The cluster tests (tests/test_cluster.py) need the Temporal server build; without Go they skip.
test: temporal lint typecheck
	@$(RUN) python -m devstack.temporal_server >/dev/null || \
		echo "No Temporal server build: tests/test_cluster.py will skip (see the message above)"
	$(PYTEST) $(PYTEST_ARGS)

format: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

clean:
	rm -rf .data/demo .data/stack .data/chaos .data/bench .data/bench-dev .data/bench-limits .data/bench-calls .pytest_cache .mypy_cache .ruff_cache
