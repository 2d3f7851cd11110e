# orgiam: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export ORGIAM_EMULATOR_PORT ?= 5000
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
PYTEST_ARGS ?=
# tests of one file share fixtures (and moto's process-wide state): one worker runs a whole file
TEST_WORKERS ?= 2

.PHONY: demo test emulator lint unit venv runtime lock clean pipeline-demo bench

# Dependencies (requirements/README.md): runtime.txt is what orgiam runs on, dev.txt adds the test
# and lint tools, both locked with hashes; collections.txt locks the ansible wheel that
# scripts/install_collections.py takes amazon.aws from (PyPI has no amazon.aws of its own).
LOCKS := requirements/runtime.txt requirements/dev.txt requirements/collections.txt

# The virtualenv is brought up to date whenever a lock (or the collections installer) changes.
# An existing venv is updated in place, not recreated; `make clean venv` starts from nothing.
$(STAMP): $(LOCKS) scripts/install_collections.py scripts/install_browser.sh
	@command -v $(PYTHON) >/dev/null || { echo "orgiam needs $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev.txt
	$(BIN)/python scripts/install_collections.py
	bash scripts/install_browser.sh
	@! $(BIN)/pip show --quiet ansible 2>/dev/null || echo "note: $(VENV) still holds the full ansible package of the old requirements.txt; make clean venv drops it"
	@touch $(STAMP)

venv: $(STAMP)

## make runtime VENV=DIR: only what orgiam runs on (runtime.txt, amazon.aws) into DIR, as the pipeline installs it
runtime:
	@test "$(origin VENV)" = "command line" || { echo "usage: make runtime VENV=DIR"; exit 2; }
	PYTHON=$(PYTHON) bash scripts/install_runtime.sh $(VENV)

## make lock: resolve requirements/*.in again into the hashed locks (LOCK_ARGS=--upgrade to move every pin)
PIP_TOOLS_VENV ?= /tmp/orgiam-pip-tools
LOCK_ARGS ?=
lock:
	test -x $(PIP_TOOLS_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(PIP_TOOLS_VENV) && $(PIP_TOOLS_VENV)/bin/pip install --quiet pip-tools; }
	cd requirements && for set in runtime dev; do \
	  CUSTOM_COMPILE_COMMAND="make lock" $(abspath $(PIP_TOOLS_VENV))/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	    --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS) --output-file $$set.txt $$set.in || exit 1; \
	done

## make demo: start (or reuse) the emulator, seed the demo organization, show the inventory, sync twice
demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

## make pipeline-demo: bootstrap the emulated organization, then run the pipeline once (plan, approval, apply)
pipeline-demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/pipeline_demo.sh

## make emulator: the emulated organization in the foreground, for ansible and the AWS CLI by hand
emulator: $(STAMP)
	$(BIN)/python -m emulator serve --port $(ORGIAM_EMULATOR_PORT)

## make test: the whole suite (unit, emulator, integration, molecule)
test: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS) tests

unit: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q tests/unit

## make bench [N=100] [OUS=] [RUNS=3]: orgiam against a naive playbook on N emulated accounts (not part of make test);
## writes benchmarks/results.json, docs/images/bench.png and its section of docs/performance.md. BENCH_ARGS: more options
N ?= 100
OUS ?=
RUNS ?= 3
BENCH_ARGS ?=
bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/bench.py --accounts $(N) $(if $(OUS),--ous $(OUS)) --runs $(RUNS) $(BENCH_ARGS)

## make lint: ansible-lint on playbooks and the collection
lint: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" ANSIBLE_INVENTORY=$(CURDIR)/tests/fixtures/static-inventory.yml ANSIBLE_INVENTORY_ENABLED=ansible.builtin.yaml \
	  $(BIN)/ansible-lint playbooks collections/ansible_collections/orgiam/aws

clean:
	rm -rf $(VENV) out .orgiam
