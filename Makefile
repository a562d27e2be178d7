# ontap.virtualization — one entry point for people and CI.
#   make test    sanity, lint, unit tests, then the lab's own tests, the collection's integration tests
#                and Molecule scenarios, each against a fresh lab
#   make demo    start the lab and run playbooks/site.yml against it (see README)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SITE := $(VENV)/lib/python3.11/site-packages
BUILD := build
COLLECTION_VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := $(BUILD)/ontap-virtualization-$(COLLECTION_VERSION).tar.gz
# Outside the checkout: ansible-test would otherwise take this repository's git file list.
SANITY_DIR := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/ontap-virtualization-sanity
SANITY_ROOT := $(SANITY_DIR)/ansible_collections
ANSIBLE_TEST_CACHE := $(HOME)/.ansible/test/cache
PIP_FOR_ANSIBLE_TEST := 24.2
# This checkout as ansible_collections/ontap/virtualization, beside the collections of the ansible package.
COLLECTIONS := $(BUILD)/collections
export PYTHONPATH := $(CURDIR)/tests
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(COLLECTIONS):$(CURDIR)/$(SITE)

.PHONY: demo test venv collection sanity lint units lab-tests integration molecule bench build lab-build lab-up lab-down lab-status clean

test: sanity lint units lab-tests integration molecule

# The main job against the local lab: start it, run playbooks/site.yml, print what it made.
PLAYBOOK := $(VENV)/bin/ansible-playbook -i inventories/lab
demo: venv collection
	$(PY) -m lab up
	$(PLAYBOOK) playbooks/site.yml
	$(PLAYBOOK) playbooks/report.yml

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-test.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

collection: $(COLLECTIONS)/ansible_collections/ontap/virtualization
$(COLLECTIONS)/ansible_collections/ontap/virtualization:
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

build: $(TARBALL)
$(TARBALL): venv $(shell git ls-files -co --exclude-standard 2>/dev/null | grep -vE '^(tests/(lab|integration|bench)/)' | sed 's/ /\\ /g')
	mkdir -p $(BUILD)
	$(VENV)/bin/ansible-galaxy collection build --force --output-path $(BUILD) .

# ansible-test checks what ships: the built collection, unpacked beside the collections it builds on.
sanity: build
	rm -rf $(SANITY_DIR) && mkdir -p $(SANITY_ROOT)/ontap/virtualization $(SANITY_ROOT)/kubernetes $(SANITY_ROOT)/kubevirt $(SANITY_ROOT)/netapp
	tar -xzf $(TARBALL) -C $(SANITY_ROOT)/ontap/virtualization
	ln -s $(CURDIR)/$(SITE)/ansible_collections/kubernetes/core $(SANITY_ROOT)/kubernetes/core
	ln -s $(CURDIR)/$(SITE)/ansible_collections/kubevirt/core $(SANITY_ROOT)/kubevirt/core
	ln -s $(CURDIR)/$(SITE)/ansible_collections/netapp/ontap $(SANITY_ROOT)/netapp/ontap
	mkdir -p $(ANSIBLE_TEST_CACHE)
	ls $(ANSIBLE_TEST_CACHE)/pip-$(PIP_FOR_ANSIBLE_TEST)-*.whl >/dev/null 2>&1 || \
		$(PY) -m pip download --quiet --no-deps pip==$(PIP_FOR_ANSIBLE_TEST) -d $(ANSIBLE_TEST_CACHE)
	cp tests/tooling/get_pip.py $(ANSIBLE_TEST_CACHE)/get_pip_$(subst .,_,$(PIP_FOR_ANSIBLE_TEST)).py
	cd $(SANITY_ROOT)/ontap/virtualization && PATH=$(CURDIR)/$(VENV)/bin:$$PATH \
		ansible-test sanity --python 3.11 --requirements --color no

# Its own ANSIBLE_HOME: ansible-lint puts ~/.ansible/collections first, where an installed (older) copy of this
# collection would shadow the checkout.
lint: venv collection
	ANSIBLE_HOME=$(CURDIR)/$(BUILD)/ansible-home $(VENV)/bin/ansible-lint --profile production --offline

units: venv
	$(PY) -m pytest tests/unit -q

# The lab's Go programs are built (once, cached per version) before any test timeout starts.
lab-build: venv
	$(PY) -m lab build

# pytest exits 5 when a stage has no test yet; that is not a failure. The tests start a lab of their
# own, beside the one `make demo` leaves running. The lab's own tests (tests/lab/tests) hold the lab
# to upstream behaviour; the collection's tests (tests/integration) then get a fresh lab of their own:
# they install cluster-wide defaults (default classes, the operator, a VM) as a user would.
LAB_TEST_DIR = $${LAB_STATE_DIR:-$(CURDIR)/.lab-test}
PYTEST_NO_TESTS_OK = || { rc=$$?; [ $$rc -eq 5 ] && echo "no tests collected"; [ $$rc -eq 5 ]; }
lab-tests: venv lab-build
	LAB_STATE_DIR=$(LAB_TEST_DIR) $(PY) -m pytest tests/lab/tests -q $(PYTEST_NO_TESTS_OK)

integration: venv collection lab-build
	LAB_STATE_DIR=$(LAB_TEST_DIR) $(PY) -m pytest tests/integration -q $(PYTEST_NO_TESTS_OK)

# The roles as their users test them: each scenario under extensions/molecule starts a lab of its own.
molecule: venv collection lab-build
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH molecule test --all

bench: venv collection lab-build
	$(PY) tests/bench/wait_latency.py
	LAB_STATE_DIR=$(CURDIR)/.lab-bench $(PY) tests/bench/drain.py
	LAB_STATE_DIR=$(CURDIR)/.lab-bench $(PY) tests/bench/snapshots.py

lab-up: venv
	$(PY) -m lab up

lab-down: venv
	$(PY) -m lab down

lab-status: venv
	$(PY) -m lab status

clean:
	rm -rf $(BUILD)
