# ontap.virtualization — one entry point for people and CI.
#   make test    sanity, lint, unit tests and the integration tests that share a lab; beside them the lab's own
#                tests, the integration tests with labs of their own and the Molecule scenarios (fresh labs)
#   make demo    start the lab and run playbooks/site.yml against it (see README)
#   make docs    the docs site (antsibull-docs, offline) in build/docs/build/html
#   make release-check   what a Galaxy / Automation Hub upload checks, on the built tarball
#   make reliability     the long sweeps (tests marked reliability), each against a fresh lab of its own

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SITE := $(VENV)/lib/python3.11/site-packages
BUILD := build
COLLECTION_VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := $(BUILD)/ontap-virtualization-$(COLLECTION_VERSION).tar.gz
# Outside the checkout: ansible-test would otherwise take this repository's git file list. One folder per checkout
# (named by a hash of its path): two checkouts' sanity runs at once must not remove each other's tree.
SANITY_DIR := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/ontap-virtualization-sanity/$(shell printf %s '$(CURDIR)' | md5sum | cut -c1-12)
SANITY_ROOT := $(SANITY_DIR)/ansible_collections
ANSIBLE_TEST_CACHE := $(HOME)/.ansible/test/cache
PIP_FOR_ANSIBLE_TEST := 24.2
# This checkout as ansible_collections/ontap/virtualization, beside the collections of the ansible package.
COLLECTIONS := $(BUILD)/collections
export PYTHONPATH := $(CURDIR)/tests
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(COLLECTIONS):$(CURDIR)/$(SITE)

.PHONY: demo test venv collection sanity lint units packaging lab-tests integration integration-shared-lab \
	integration-own-labs molecule bench build lab-build lab-up \
	lab-down lab-status clean docs changelog release-check ee-context ee chromium reliability

# Two streams at once, each on labs of its own: much of a lab run is waiting on the simulated controllers' delays,
# which the other stream fills (on 2 cores, both end well before the two would one after the other). The second
# stream's lines carry a prefix; the target fails when either stream does.
test: venv collection lab-build
	{ $(MAKE) --no-print-directory lab-tests integration-own-labs molecule 2>&1 | sed -u 's/^/[stream 2] /'; } & \
	second=$$!; first_status=0; second_status=0; \
	$(MAKE) --no-print-directory sanity lint units packaging integration-shared-lab || first_status=$$?; \
	wait $$second || second_status=$$?; \
	echo "make test: sanity to shared-lab integration exited $$first_status; lab tests, own-lab integration and Molecule $$second_status"; \
	[ $$first_status -eq 0 ] && [ $$second_status -eq 0 ]

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
	rm -f $(BUILD)/ontap-virtualization-*.tar.gz  # one tarball, so that build/ontap-virtualization-*.tar.gz is it
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

units: venv chromium
	$(PY) -m pytest tests/unit -q

# Headless Chromium from Debian's packages, for the migration report's browser test (tests/unit/.../test_report*.py).
# Installed only when missing, so a second run does nothing; CI runs as root (else sudo).
chromium:
	command -v chromium >/dev/null || { $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq \
		--no-install-recommends chromium; }

# The tarball (installs, ships only the collection, builds the same twice, the README's install command) and the
# execution environment's build context; the image only where a container engine runs (else reported SKIPPED).
packaging: venv collection
	$(PY) -m pytest tests/packaging -q -rs

# Execution environment: the build context without a container engine, then the image where podman or docker runs.
EE_DIR := $(BUILD)/ee
EE_IMAGE := ontap-virtualization-ee:$(COLLECTION_VERSION)
ee-context: build
	rm -rf $(EE_DIR) && mkdir -p $(EE_DIR)
	cp $(TARBALL) $(EE_DIR)/ontap-virtualization.tar.gz
	$(VENV)/bin/ansible-builder create -f execution-environment.yml -c $(EE_DIR)/context --output-filename Containerfile

ee: ee-context
	engine=$$(for e in podman docker; do command -v $$e >/dev/null && $$e info >/dev/null 2>&1 && echo $$e && break; done || true); \
	if [ -z "$$engine" ]; then echo "No container engine runs here (podman, or docker with its daemon): the build context is in $(EE_DIR)/context"; exit 1; fi; \
	$(VENV)/bin/ansible-builder build -f execution-environment.yml -c $(EE_DIR)/context -t $(EE_IMAGE) --container-runtime $$engine; \
	$$engine run --rm $(EE_IMAGE) ansible-playbook --version

# The docs site, offline: antsibull-docs renders every module, filter and role argument spec, docs/playbook_pages.py
# describes the playbooks from their own files, Sphinx builds the HTML with warnings as errors; references to
# Ansible's own docs become plain links (docs/offline_refs.py) instead of intersphinx look-ups over the network.
DOCS := $(BUILD)/docs
ANTSIBULL_DOCS := PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(CURDIR)/$(VENV)/bin/antsibull-docs
docs: venv collection
	rm -rf $(DOCS) && mkdir -p $(BUILD) && mkdir -m 700 $(DOCS)
	$(ANTSIBULL_DOCS) sphinx-init --use-current --fail-on-error --dest-dir $(DOCS) --index-rst-source docs/index.rst \
		--project ontap.virtualization --copyright "ontap.virtualization contributors" --title ontap.virtualization \
		ontap.virtualization
	mkdir -p $(DOCS)/rst && chmod og-w $(DOCS)/rst
	cd $(DOCS) && $(ANTSIBULL_DOCS) --config-file antsibull-docs.cfg collection --cleanup everything --fail-on-error \
		--use-current --dest-dir rst ontap.virtualization
	$(PY) docs/playbook_pages.py playbooks $(DOCS)/rst/playbooks.rst
	PYTHONPATH=$(CURDIR)/docs $(VENV)/bin/sphinx-build -M html $(DOCS)/rst $(DOCS)/build -c $(DOCS) -W --keep-going -q \
		-D extensions=sphinx.ext.autodoc,sphinx_antsibull_ext,offline_refs
	@echo "The docs site: $(DOCS)/build/html/index.html"

# CHANGELOG.rst from the fragments: the release of galaxy.yml's version takes every fragment in changelogs/fragments
# (run again after merging work with new fragments, modules or roles: the release takes them in).
changelog: venv collection
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH antsibull-changelog lint
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH antsibull-changelog release --version $(COLLECTION_VERSION)

# What a Galaxy / Automation Hub upload checks: ansible-test sanity (make sanity), galaxy-importer on the tarball as
# Automation Hub configures it (version >= 1.0.0, a required tag, ansible-doc of every plugin, ansible-lint,
# flake8, a changelog), the docs as antsibull-docs lints them, the changelog complete for this version.
release-check: sanity build
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH antsibull-changelog lint
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) tests/tooling/release_check.py
	ANSIBLE_COLLECTIONS_PATH=$(SANITY_DIR) ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false \
		$(ANTSIBULL_DOCS) lint-collection-docs --plugin-docs $(SANITY_ROOT)/ontap/virtualization
	rm -rf $(BUILD)/importer && mkdir -p $(BUILD)/importer
	cd $(BUILD)/importer && PATH=$(CURDIR)/$(VENV)/bin:$$PATH GALAXY_IMPORTER_REQUIRE_V1_OR_GREATER=true GALAXY_IMPORTER_CHECK_REQUIRED_TAGS=true \
		GALAXY_IMPORTER_RUN_ANSIBLE_DOC=true GALAXY_IMPORTER_RUN_ANSIBLE_LINT=true GALAXY_IMPORTER_RUN_FLAKE8=true \
		GALAXY_IMPORTER_CHECK_CHANGELOG=true GALAXY_IMPORTER_RUN_ANSIBLE_TEST=false \
		GALAXY_IMPORTER_TMP_ROOT_DIR=$(CURDIR)/$(BUILD)/importer $(CURDIR)/$(PY) -m galaxy_importer.main \
		$(CURDIR)/$(TARBALL)  # writes importer_result.json beside it

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
	LAB_STATE_DIR=$(LAB_TEST_DIR)-lab $(PY) -m pytest tests/lab/tests -q $(PYTEST_NO_TESTS_OK)

# The files that share the session's lab, and those that start a lab of their own (own_lab.py): two runs, which
# `make test` runs at the same time; without the second, the session's lab would sit beside each of their labs.
OWN_LAB_TESTS := $(shell grep -l 'import own_lab' tests/integration/test_*.py)
integration: integration-shared-lab integration-own-labs

integration-shared-lab: venv collection lab-build
	LAB_STATE_DIR=$(LAB_TEST_DIR) $(PY) -m pytest tests/integration -q $(addprefix --ignore=,$(OWN_LAB_TESTS)) \
		$(PYTEST_NO_TESTS_OK)

integration-own-labs: venv collection lab-build
	LAB_STATE_DIR=$(LAB_TEST_DIR)-own $(PY) -m pytest $(OWN_LAB_TESTS) -q $(PYTEST_NO_TESTS_OK)

# The long sweeps `make test` leaves out (pytest.ini: -m "not reliability"); a fresh lab for each file, since a sweep
# needs a cluster nothing has set up yet (it removes each grant in turn, the first-install ones included). Every file
# runs even when one fails; the one table at the end gives each series' figures and outcome.
reliability: venv collection lab-build
	rm -f $(CURDIR)/.reliability-results.jsonl
	status=0; for f in $$(grep -l 'mark.reliability' tests/integration/test_*.py); do \
		FAULT_RUNS=20 RELIABILITY_RESULTS=$(CURDIR)/.reliability-results.jsonl \
			LAB_STATE_DIR=$(LAB_TEST_DIR)-reliability $(PY) -m pytest -m reliability $$f -q --timeout 14400 || status=1; \
	done; \
	RELIABILITY_RESULTS=$(CURDIR)/.reliability-results.jsonl $(PY) tests/integration/reliability_results.py && exit $$status

# The roles as their users test them: each scenario under extensions/molecule starts a lab of its own.
molecule: venv collection lab-build
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH molecule test --all

# Every benchmark runs even when one misses its goal; the one table at the end says which did.
BENCHES := wait_latency site_overhead drain snapshots assessment idempotent_rerun
bench: venv collection lab-build
	rm -f $(CURDIR)/.bench-results.jsonl
	status=0; for b in $(BENCHES); do \
		BENCH_RESULTS=$(CURDIR)/.bench-results.jsonl LAB_STATE_DIR=$(CURDIR)/.lab-bench \
			$(PY) tests/bench/$$b.py || status=1; done; \
	BENCH_RESULTS=$(CURDIR)/.bench-results.jsonl $(PY) tests/bench/results.py && exit $$status

lab-up: venv
	$(PY) -m lab up

lab-down: venv
	$(PY) -m lab down

lab-status: venv
	$(PY) -m lab status

clean:
	rm -rf $(BUILD)
