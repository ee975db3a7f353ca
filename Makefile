# The two commands a newcomer needs: `make demo` and `make test`.
PY := .venv/bin/python

.PHONY: bootstrap demo test lint unit integration down bench

bootstrap:
	@scripts/bootstrap

demo: bootstrap
	$(PY) -m tests.testbed demo

down:
	$(PY) -m tests.testbed down

lint:
	$(PY) -m ruff check provisioner tests benchmarks
	$(PY) -m ruff format --check provisioner tests benchmarks
	$(PY) -m mypy
	shellcheck scripts/bootstrap .ci/run examples/onboarding.sh .github/actions/provision/run.sh

unit:
	$(PY) -m pytest -q tests/unit

integration:
	$(PY) -m pytest -q tests/integration

test: bootstrap
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest -q --durations=15 tests

# BENCH_QUICK=1 make bench: the plan benchmark at 1,000/2,000 models and a 1,000-model server.
bench: bootstrap
	$(PY) benchmarks/bench_manifest.py
	$(PY) -m benchmarks.bench_plan_scale
	$(PY) -m benchmarks.bench_startup
	$(PY) -m benchmarks.bench_noop_apply
	$(PY) -m benchmarks.bench_blobs
