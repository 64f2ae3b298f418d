# The two set-up commands: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
RUNSTAMP := $(VENV)/.installed

# The export round trip at scale (long; not in `make test`): 50 hosts, 500 VMs.
export-roundtrip-large: $(STAMP)
	EXPORT_ROUNDTRIP_HOSTS=50 EXPORT_ROUNDTRIP_VMS=500 $(BIN)/python -m pytest -q -s \
	  -p no:cacheprovider tests/e2e/test_export_roundtrip.py

.PHONY: run test lint typecheck unit sim e2e crds bench bench-1000 faults clean fmt sysdeps \
	wheel-demo policy manifests export-roundtrip-large ansible

# System packages the dev extra builds against: ovirt-engine-sdk-python (the conformance
# client) ships only as source with a C extension over libxml2. Installed when missing.
SYSTEM_PACKAGES := gcc libxml2-dev python3-venv

sysdeps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q $$missing; fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Three distributions live here: the operator (.), the simulator and the test bed
# (packaging/*). The `demo` extra is what `make run` needs (no C build of the test-only SDK).
PACKAGES := -e packaging/rhevsim -e packaging/rhev-testbed
PYPROJECTS := constraints.txt pyproject.toml packaging/rhevsim/pyproject.toml packaging/rhev-testbed/pyproject.toml

$(RUNSTAMP): $(PYPROJECTS) | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt $(PACKAGES) -e '.[demo]'
	touch $@

$(STAMP): $(PYPROJECTS) | sysdeps $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt $(PACKAGES) -e '.[dev]'
	touch $@ $(RUNSTAMP)

run: $(RUNSTAMP)
	$(BIN)/rhev-operator demo

lint: $(STAMP)
	$(BIN)/ruff check operator tests
	$(BIN)/ruff format --check operator tests
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff format operator tests
	$(BIN)/ruff check --fix operator tests

crds: $(STAMP)
	$(BIN)/rhev-operator crds

# manifests/deploy/ rendered from the chart (the one source); tests fail when they differ.
manifests: $(STAMP)
	$(BIN)/python -m rhev_testbed.render_manifests

# checkov pins old versions of common packages, so it lives in a venv of its own; the policy
# test (tests/unit/test_deploy_policy.py) uses it when present. Findings kept: .checkov.yaml.
POLICY_VENV := .venv-policy
CHECKOV_VERSION := 3.3.30

$(POLICY_VENV)/bin/checkov:
	$(PYTHON) -m venv $(POLICY_VENV)
	$(POLICY_VENV)/bin/pip install -q checkov==$(CHECKOV_VERSION)

policy: $(STAMP) $(POLICY_VENV)/bin/checkov
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit/test_deploy_policy.py

test: $(STAMP) lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not fault and not long" --durations=15

# The fault suite (README "Reliability"): the short fault tests (tests/*/test_fault_*.py, also
# in `make test`) and the long ones marked `fault` (50 kills with 50 VMs, 60 s outages, peering
# take-over, edits in flight, IPMI faults), each printing its figures.
faults: $(STAMP)
	$(BIN)/python -m pytest -q -s -p no:cacheprovider tests/e2e/test_fault_*.py \
	  tests/sim/test_fault_*.py -m "fault or not fault"
	$(BIN)/python -m pytest -q -p no:cacheprovider -m fault --ignore-glob='*/test_fault_*.py'

# The oVirt Ansible collection against the simulator (also part of `make test`, ~1.5 min):
# tests/ansible/*.yml build, read back and tear down the seed's environment, each run twice.
ansible: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/sim/test_sim_ansible.py -m "long or not long"

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

sim: $(STAMP)
	$(BIN)/python -m pytest -q tests/sim

e2e: $(STAMP)
	$(BIN)/python -m pytest -q tests/e2e

# The long benchmarks (their short versions run in `make test`): figures, never thresholds.
# BENCH_ARGS go to `rhev-operator bench`, e.g. BENCH_ARGS="--json vms.json --operator-arg=-v".
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python -m rhevsim.bench --hosts 50 --vms 1000
	$(BIN)/python -m rhev_testbed.bench.kubeapi --objects 1000
	$(BIN)/python -m rhev_testbed.bench.rhevm --parse-only --vms 1000
	$(BIN)/python -m rhev_testbed.bench.ipmi --bmcs 8 --rounds 1000
	$(BIN)/rhev-operator bench --vms 100 $(BENCH_ARGS)

# The operator with 1000 VMs: long (the operator's creations, then the SDK's on a fresh simulator).
bench-1000: $(STAMP)
	$(BIN)/rhev-operator bench --vms 1000 $(BENCH_ARGS)

# The operator from wheels in a fresh venv: `pip install .` alone holds no simulator, test bed
# or kmock; with the demo extra (wheels of the three distributions) `rhev-operator demo --once`
# converges the seed's environment.
wheel-demo: $(BIN)/python
	rm -rf .wheel-demo && mkdir -p .wheel-demo
	$(BIN)/pip wheel -q --no-deps -w .wheel-demo/dist . packaging/rhevsim packaging/rhev-testbed
	$(PYTHON) -m venv .wheel-demo/venv
	.wheel-demo/venv/bin/pip install -q .wheel-demo/dist/rhev_operator-*.whl
	.wheel-demo/venv/bin/rhev-operator run --help >/dev/null
	! .wheel-demo/venv/bin/python -c 'import kmock' 2>/dev/null
	! .wheel-demo/venv/bin/python -c 'import rhev_testbed' 2>/dev/null
	.wheel-demo/venv/bin/pip install -q --find-links .wheel-demo/dist \
	  "$$(ls .wheel-demo/dist/rhev_operator-*.whl)[demo]"
	cd .wheel-demo && venv/bin/rhev-operator demo --once --time-scale 50

clean:
	rm -rf $(VENV) $(POLICY_VENV) .mypy_cache .ruff_cache
