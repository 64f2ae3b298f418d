# The two set-up commands: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
RUNSTAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit sim e2e crds bench faults clean fmt sysdeps

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

$(RUNSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(STAMP): pyproject.toml | sysdeps $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(RUNSTAMP)

run: $(RUNSTAMP)
	$(BIN)/rhev-operator demo

lint: $(STAMP)
	$(BIN)/ruff check operator tests bench
	$(BIN)/ruff format --check operator tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff format operator tests bench
	$(BIN)/ruff check --fix operator tests bench

crds: $(STAMP)
	$(BIN)/rhev-operator crds

test: $(STAMP) lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not fault"

# Fault runs: slow, timing-heavy failure scenarios kept out of `make test`.
faults: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m fault

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

sim: $(STAMP)
	$(BIN)/python -m pytest -q tests/sim

e2e: $(STAMP)
	$(BIN)/python -m pytest -q tests/e2e

# The long benchmarks (their short versions run in `make test`): figures, never thresholds.
bench: $(STAMP)
	$(BIN)/python -m rhevsim.bench --hosts 50 --vms 1000
	$(BIN)/python -m rhev_operator.devapi.bench --objects 1000
	$(BIN)/python -m rhev_operator.rhevm.bench --parse-only --vms 1000
	$(BIN)/python -m rhev_operator.ipmi.bench --bmcs 8 --rounds 1000
	$(BIN)/python bench/operator_scale.py --resources 10 100 300 --window 20

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
