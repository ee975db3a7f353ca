# The two commands a newcomer needs: `make demo` and `make test`.
PY := .venv/bin/python

.PHONY: bootstrap demo test lint chart unit integration down bench reliability dist

bootstrap:
	@scripts/bootstrap

# The demo builds only what it uses (one Ollama build); the tests build the rest.
demo:
	@scripts/bootstrap --demo
	$(PY) -m tests.testbed demo

down:
	$(PY) -m tests.testbed down

lint:
	$(PY) -m ruff check provisioner tests benchmarks
	$(PY) -m ruff format --check provisioner tests benchmarks
	$(PY) -m mypy
	.venv/bin/lint-imports --no-cache
	shellcheck scripts/bootstrap .ci/run examples/onboarding.sh .github/actions/provision/run.sh

# The Helm chart, checked by the real helm (no cluster here: lint and render only);
# tests/integration/test_helm.py checks the rendered objects and runs the Job's command.
CHART := deploy/helm/ollama-provision
chart:
	@helm=$$($(PY) -c 'from tests.testbed.build import ensure_go_tool; print(ensure_go_tool("helm"))') && \
	$$helm lint --strict $(CHART) && \
	$$helm lint --strict $(CHART) -f $(CHART)/examples/values-example.yaml && \
	echo "helm template (example values) renders:" && \
	$$helm template demo $(CHART) -f $(CHART)/examples/values-example.yaml | grep -E '^kind:' | sort | uniq -c

unit:
	$(PY) -m pytest -q tests/unit

integration:
	$(PY) -m pytest -q tests/integration

test: bootstrap
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory chart
	$(PY) -m pytest -q --durations=15 tests

# BENCH_QUICK=1 make bench: the plan benchmark at 1,000/2,000 models and a 1,000-model server.
bench: bootstrap
	$(PY) benchmarks/bench_manifest.py
	$(PY) -m benchmarks.bench_plan_scale
	$(PY) -m benchmarks.bench_startup
	$(PY) -m benchmarks.bench_noop_apply
	$(PY) -m benchmarks.bench_blobs
	$(PY) -m benchmarks.bench_fleet
	$(PY) -m benchmarks.bench_mirror

# Crashes, faults, fuzz and a full disk against the real test bed (issue 12); prints a
# table. Not part of `make test`. RELIABILITY_ARGS=--quick for a few runs of each.
reliability: bootstrap
	$(PY) -m benchmarks.reliability $(RELIABILITY_ARGS)

# The wheel and the sdist in dist/, versioned from the git tags (a clone with
# its tags; uncommitted changes add .d<date> to the version). Needs the 'build' package
# (the dev extras): `make bootstrap` first, or `make dist PY=python3`.
dist:
	@$(PY) -c 'import build' 2>/dev/null || { echo "make dist: $(PY) cannot import 'build': run make bootstrap, or: python3 -m pip install build && make dist PY=python3" >&2; exit 2; }
	rm -rf dist
	$(PY) -m build --outdir dist .
	@ls -l dist
