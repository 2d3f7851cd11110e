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

.PHONY: demo test emulator lint unit venv clean pipeline-demo

# The virtualenv is rebuilt whenever requirements.txt changes.
$(STAMP): requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "orgiam needs $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

venv: $(STAMP)

## make demo: start (or reuse) the emulator, seed the demo organization, show the inventory, sync twice
demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

## make pipeline-demo: deploy cicd/ into the emulator, list the stacks' resources, run one plan build
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

## make lint: ansible-lint on playbooks and the collection
lint: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" ANSIBLE_INVENTORY=$(CURDIR)/tests/fixtures/static-inventory.yml ANSIBLE_INVENTORY_ENABLED=ansible.builtin.yaml \
	  $(BIN)/ansible-lint playbooks collections/ansible_collections/orgiam/aws

clean:
	rm -rf $(VENV) out .orgiam
