# ovirt_ha.core — every entry point for developers and CI.
#   make demo        bring up the lab and run the collection's playbooks against it
#   make test        set up everything, then run every test layer (what CI runs)
#   make test-quick  sanity + unit tests (inner loop)
#   make bench       benchmarks (ratios against a baseline measured in the same run)
#   make docs        build the HTML documentation site (user guide + module and role reference) under .build/docs-site
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON_BASE ?= python3.11
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-stamp
COLLECTIONS := $(CURDIR)/.build
TEST_TREE := $(CURDIR)/.build/test/ansible_collections/ovirt_ha/core
LAYER := scripts/run-layer.sh
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export PATH := $(BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup venv system-deps build-tree test test-quick sanity lint mypy units changelog-lint docs-lint \
        integration scenarios molecule ee package demo bench docs clean lab-down

help:
	@sed -n '2,7p' Makefile | sed 's/^# *//'

## ---- set-up -------------------------------------------------------------------------------------------
$(PY):
	$(PYTHON_BASE) -m venv $(VENV)

$(STAMP): requirements.txt requirements-test.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

venv: $(STAMP)

system-deps:
	bash scripts/install-debian-deps.sh

build-tree:
	@bash scripts/sync-build-tree.sh >/dev/null

setup: venv system-deps build-tree
	@bash scripts/install-get-pip-standin.sh $(PY)

## ---- test layers --------------------------------------------------------------------------------------
test: setup
	@rm -f .build/layers.tsv && date +%s > .build/layers.start
	@bash scripts/run-static-layers.sh
	@bash $(LAYER) units      $(MAKE) --no-print-directory units
	@bash $(LAYER) integration $(MAKE) --no-print-directory integration
	@bash $(LAYER) scenarios  $(MAKE) --no-print-directory scenarios
	@bash $(LAYER) molecule   $(MAKE) --no-print-directory molecule
	@bash $(LAYER) ee         $(MAKE) --no-print-directory ee
	@bash $(LAYER) package    $(MAKE) --no-print-directory package
	@bash $(LAYER) --summary

test-quick: setup
	@rm -f .build/layers.tsv && date +%s > .build/layers.start
	@bash $(LAYER) sanity $(MAKE) --no-print-directory sanity
	@bash $(LAYER) units  $(MAKE) --no-print-directory units
	@bash $(LAYER) --summary

sanity: build-tree
	cd $(TEST_TREE) && $(BIN)/ansible-test sanity --python 3.11 --color no $(if $(TEST),--test $(TEST),)

lint:
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production

mypy:
	@bash scripts/mypy-module-utils.sh

units: build-tree
	$(BIN)/pytest -p no:cacheprovider -n 2 tests/unit $(PYTEST_ARGS)

changelog-lint:
	$(BIN)/antsibull-changelog lint

# The plugin and role docs, then the documentation site built (warnings are errors) and checked (tests/docs_tests).
docs-lint: build-tree
	cd $(TEST_TREE) && $(BIN)/antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck .
	$(BIN)/pytest -p no:cacheprovider tests/docs_tests $(PYTEST_ARGS)

integration: build-tree
	@bash scripts/run-integration.sh $(TEST_TREE)

# HA scenarios on the lab's virtual clock (tests/scenarios/NNN-*/; UPDATE_SCENARIOS=1 rewrites expected.log) and a reduced chaos run
scenarios: build-tree
	$(BIN)/pytest -p no:cacheprovider -n 2 tests/scenarios tests/chaos $(PYTEST_ARGS)

molecule:
	@bash scripts/run-molecule.sh

ee:
	rm -rf .build/ee-context .build/ee-collection
	$(BIN)/ansible-galaxy collection build --force --output-path .build/ee-collection .
	mv .build/ee-collection/ovirt_ha-core-*.tar.gz .build/ee-collection/ovirt_ha-core.tar.gz
	$(BIN)/ansible-builder create -f meta/execution-environment.yml --context .build/ee-context --output-filename Containerfile
	@test -s .build/ee-context/Containerfile && test -s .build/ee-context/_build/collections/ovirt_ha-core.tar.gz \
		&& echo "ee: Containerfile and the collection written to .build/ee-context"

package:
	rm -rf .build/dist .build/installed
	$(BIN)/ansible-galaxy collection build --output-path .build/dist .
	$(BIN)/ansible-galaxy collection install --offline --force -p .build/installed .build/dist/ovirt_ha-core-*.tar.gz
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/.build/installed $(BIN)/ansible-doc -l ovirt_ha.core | tee .build/dist/modules.txt
	@test "$$(wc -l < .build/dist/modules.txt)" -eq "$$(ls plugins/modules/*.py | wc -l)"

## ---- user entry points --------------------------------------------------------------------------------
demo: setup
	@bash scripts/demo.sh

bench: setup
	@bash scripts/run-benchmarks.sh

docs: venv build-tree
	@bash scripts/build-docs-site.sh $(CURDIR)/.build/docs-site

lab-down:
	-$(PY) -m tests.lab down

clean: lab-down
	rm -rf .build tests/output .mypy_cache .pytest_cache .hypothesis
