# picocloud.edge — set-up, test and lab entry points.
# `make test` is what CI runs (.ci/run); every target depends on `setup`,
# so a fresh clone needs nothing else.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
SITE_PACKAGES := $(VENV)/lib/python3.11/site-packages
# The collection is installed into .venv/collections, which a .pth file puts
# on the venv's sys.path: ansible-playbook and ansible-doc from the venv find
# it from any directory, and ansible-test gets the
# ansible_collections/picocloud/edge layout it insists on.
COLLECTIONS_ROOT := $(VENV)/collections
COLLECTION := $(COLLECTIONS_ROOT)/ansible_collections/picocloud/edge
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL := .build/picocloud-edge-$(VERSION).tar.gz
SOURCES := $(wildcard $(shell git ls-files --cached --others --exclude-standard 2>/dev/null))

export PATH := $(BIN):$(PATH)
# Our installed copy first (a stale ~/.ansible/collections copy must not shadow it),
# then the collections the ansible package bundles (found on sys.path).
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS_ROOT)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := true
export ANSIBLE_NOCOLOR := 1
export PY_COLORS := 0
export NO_COLOR := 1
export ANSIBLE_LOCALHOST_WARNING := false
# A site file the picocloud.edge.site plugin cannot read stops the run, instead of leaving an empty inventory.
export ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED := true

.PHONY: help system-packages setup test images lint yamllint ansible-lint sanity units integration firmware clean \
        docker lab-image lab-up lab-down demo lab-tests molecule consul-artifacts catalog-images catalog-tests \
        test-all lifecycle-tests k3s-tests

help:
	@echo "make setup   - create .venv (Python 3.11), install pinned requirements, build+install the collection"
	@echo "make test    - what CI runs: lint, sanity, unit and integration tests, the lab, the catalogue and the site"
	@echo "               scenario's verifier without the node lifecycle and k3s stand-in tests (make test-all: with them)"
	@echo "make demo    - lab up (3 nodes), then picocloud.edge.site (base, pki, docker, swarm, registry, consul, apps) and picocloud.edge.verify"
	@echo "               (BENCH=1: then picocloud.edge.bench, report in .lab/<name>/bench/)"
	@echo "make lab-up  - bring the lab up (LAB_ARGS='-e lab_nodes=5 -e lab_arm64_nodes=1' to change it)"
	@echo "make lab-down- remove the lab's nodes, network and volumes (the cached image stays)"
	@echo "make clean   - remove .venv, build output and test output"

# --- set-up -----------------------------------------------------------------

# The Debian packages every other target needs (scripts/system-packages.sh holds the one list);
# only the missing ones are installed, so on a set-up machine this is one dpkg-query.
system-packages:
	@scripts/system-packages.sh install

$(BIN)/python: | system-packages
	$(PYTHON) -m venv $(VENV)

$(VENV)/.requirements.stamp: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(TARBALL): $(SOURCES) $(VENV)/.requirements.stamp
	mkdir -p .build
	$(BIN)/ansible-galaxy collection build --force --output-path .build >/dev/null

$(COLLECTION)/MANIFEST.json: $(TARBALL)
	echo "$(COLLECTIONS_ROOT)" > $(SITE_PACKAGES)/picocloud-collections.pth
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_ROOT) $(BIN)/ansible-galaxy collection install --offline --no-deps --force \
	    -p $(COLLECTIONS_ROOT) $(TARBALL) >/dev/null
	@echo "installed picocloud.edge $(VERSION) into $(COLLECTION)"

setup: system-packages $(COLLECTION)/MANIFEST.json

# --- tests ------------------------------------------------------------------

# Each stage is a make target of its own; `make test` runs them in order, timed, and prints a table of the
# stage times at the end (also when a stage fails). docs/testing.md keeps a recent table.
TEST_STAGES ?= lint sanity units integration catalog-tests lab-tests molecule
# The lab's node images (amd64 and arm64, each built once and kept by a hash of its recipe) build in the background
# while lint, sanity, units and integration run (none of them needs Docker); lab-tests waits for them.
test: setup
	@scripts/stages.sh $(if $(filter lab-tests,$(TEST_STAGES)),--background images lab-tests) $(TEST_STAGES)

images: setup docker
	ansible-playbook picocloud.edge.lab $(LAB_VARS) -e lab_state=image -e lab_arm64_nodes=1

lint: yamllint ansible-lint

yamllint: setup
	yamllint --strict .

ansible-lint: setup
	ansible-lint --profile production --offline

# ansible-test bootstraps pip in each sanity venv with a get-pip.py it
# downloads from a host we cannot reach; seed its cache with our stand-in.
sanity: setup
	python scripts/ansible_test_pip_bootstrap.py --seed
	cd $(COLLECTION) && ANSIBLE_TEST_CONTENT_ROOT=$(COLLECTION) ansible-test sanity --venv --requirements --python 3.11 --color no

# Real Raspberry Pi boot files (Debian's raspi-firmware) for image fixtures and lab nodes.
FIRMWARE_DIR := $(CURDIR)/.cache/raspi-firmware
export PICOCLOUD_RASPI_FIRMWARE := $(FIRMWARE_DIR)/root/usr/lib/raspi-firmware

firmware: $(FIRMWARE_DIR)/root

$(FIRMWARE_DIR)/root:
	roles/lab/files/debian-fetch.sh bookworm "main non-free-firmware" all raspi-firmware $(FIRMWARE_DIR)

# The lab's Consul: Debian bullseye's real 1.8.7, zipped like a HashiCorp release (the inventory plugin's
# and the portal's tests run it on loopback; the lab installs it through the consul role's artifact path).
CONSUL_ARTIFACTS := $(CURDIR)/.cache/consul-artifacts
export PICOCLOUD_CONSUL_ARTIFACTS := $(CONSUL_ARTIFACTS)

consul-artifacts: setup
	scripts/consul-artifacts.sh $(CONSUL_ARTIFACTS)

units: setup firmware consul-artifacts
	cd $(COLLECTION) && python -m pytest -p no:cacheprovider -n auto tests/unit \
	    --cov=plugins --cov-report=term-missing:skip-covered --durations=15

# ansible-test integration targets (tests/integration/targets), run on this
# machine: each one runs check mode, apply, re-apply and check mode again.
integration: setup firmware
	printf -- '---\npicocloud_raspi_firmware: %s\n' "$(PICOCLOUD_RASPI_FIRMWARE)" > $(COLLECTION)/tests/integration/integration_config.yml
	cd $(COLLECTION) && ANSIBLE_TEST_CONTENT_ROOT=$(COLLECTION) ansible-test integration --allow-destructive --python 3.11 --color no

# --- the lab -------------------------------------------------------------------

LAB_NAME ?= pico
LAB_ARGS ?=
# The lab writes a site file for the picocloud.edge.site inventory plugin, as a real site has one.
LAB_INVENTORY := $(CURDIR)/inventories/lab/lab.picocloud.yml
LAB_VARS := -e lab_name=$(LAB_NAME) -e lab_state_dir=$(CURDIR)/.lab/$(LAB_NAME) -e lab_inventory_file=$(LAB_INVENTORY) \
            -e lab_cache_dir=$(CURDIR)/.cache/lab

docker: system-packages
	@scripts/ensure-docker.sh

lab-image: setup docker
	ansible-playbook picocloud.edge.lab $(LAB_VARS) -e lab_state=image $(LAB_ARGS)

lab-up: setup docker
	ansible-playbook picocloud.edge.lab $(LAB_VARS) $(LAB_ARGS)

lab-down: setup docker
	ansible-playbook picocloud.edge.lab $(LAB_VARS) -e lab_state=absent

# The lab is offline: Consul comes from the local artifacts dir (Debian bullseye's 1.8.7, the lab's own
# version, set explicitly), through the role's real `artifact` path.
# The registry is seeded from the same dir's images/ (the catalogue, built once) and the demo publishes three apps
# and the portal, whose URL verify shows at the end.
DEMO_APPS ?= ["static", "mosquitto", "webapp", "portal"]
DEMO_VARS ?= -e consul_install_source=artifact -e consul_version=1.8.7 -e picocloud_artifacts_dir=$(CONSUL_ARTIFACTS) \
             -e '{"picocloud_apps": $(DEMO_APPS)}'
# make demo prints one line per play (picocloud.edge.progress) and the verify tables; the full log is here:
DEMO_LOG := $(CURDIR)/.lab/$(LAB_NAME)/demo.log
DEMO_ENV := ANSIBLE_STDOUT_CALLBACK=picocloud.edge.progress PICOCLOUD_PROGRESS_LOG=$(DEMO_LOG)

# `make demo BENCH=1` also runs picocloud.edge.bench on the lab after verify (its images are the catalogue's)
# with the default output, so its progress lines show; the report goes to
# .lab/<name>/bench/<run id>/ (docs/bench.md). BENCH_VARS sizes it.
BENCH ?= 0
BENCH_VARS ?=
demo: setup docker consul-artifacts catalog-images
	@mkdir -p $(dir $(DEMO_LOG)) && : > $(DEMO_LOG)
	@$(DEMO_ENV) ansible-playbook picocloud.edge.lab $(LAB_VARS) $(LAB_ARGS)
	@$(DEMO_ENV) ansible-playbook -i $(LAB_INVENTORY) picocloud.edge.site $(DEMO_VARS)
	@$(DEMO_ENV) ansible-playbook -i $(LAB_INVENTORY) picocloud.edge.verify
	@if [ "$(BENCH)" = 1 ]; then \
	    ansible-playbook -i $(LAB_INVENTORY) picocloud.edge.bench -e bench_output_dir=$(CURDIR)/.lab/$(LAB_NAME)/bench $(BENCH_VARS); \
	fi

# The lab for real (Docker engine, systemd nodes, SSH, qemu-user arm64): bad input,
# name clashes, idempotence, an arm64 lab (the mixed amd64/arm64 lab is the site scenario's) and lab down. Each test uses
# its own lab name and subnet.
lab-tests: setup docker
	cd $(COLLECTION) && python -m pytest -p no:cacheprovider tests/lab -v

# The catalogue images (static site, MQTT broker, web app, portal) for amd64 and arm64, from Debian packages,
# built once (kept by a hash of their inputs), and their tests: a loopback TLS registry, the portal in headless
# Chromium against a real Consul.
# The images/ directory of the local artifacts dir, which site.yml seeds the site registry from (built once).
CATALOG_IMAGES := $(CONSUL_ARTIFACTS)/images
export PICOCLOUD_CATALOG_IMAGES := $(CATALOG_IMAGES)

catalog-images: setup
	scripts/catalog-images.sh $(CATALOG_IMAGES)

catalog-tests: setup docker consul-artifacts catalog-images
	cd $(COLLECTION) && python -m pytest -p no:cacheprovider tests/catalog -v

# The test spine: the `site` scenario converges the whole stack on one lab (molecule/site, created by
# picocloud.edge.lab itself). Every task on the emulated arm64 node runs Python under qemu-user (seconds per module),
# so the check step on the fresh lab runs on the native nodes; the converge runs on every node at once (it takes as
# long as the emulated node needs, and the native nodes' tasks fit beside it on the other core), and the verifier's
# first test re-runs site.yml on every node (changed=0): molecule's idempotence step with the scenario's own checks.
# `molecule test -s site` runs every step on every node. The node images (amd64, arm64) are built once, here.
SITE_CHECK_LIMIT := --limit '!lab_emulated'
# Which verifier tests run (a pytest -m expression). The lifecycle tests (marker `lifecycle`: re-flash, verify
# flags, node loss, reboot, upgrade, decommission, backup and restore, a 0.1.0 site's trust migration, the registry's
# runtime switch) take about
# 55 minutes on a 2-core machine,
# more than CI's budget leaves: `make test` runs the verifier without them, `make test-all` with them, and
# `make lifecycle-tests` runs only them on the lab `make test` left up (docs/testing.md, "What CI runs"). The k3s
# role's contract tests against the k3s-stand-in (marker `k3s_stand_in`: about 23 minutes; k3s itself cannot run
# here) are outside `make test` too: `make k3s-tests` runs them on that lab, `make test-all` with the rest.
SITE_TESTS ?= not lifecycle and not k3s_stand_in
molecule: setup docker consul-artifacts catalog-images
	ansible-playbook picocloud.edge.lab $(LAB_VARS) -e lab_state=image -e lab_arm64_nodes=1
	molecule destroy -s site
	molecule create -s site  # create runs the scenario's prepare too
	molecule converge -s site -- --check --diff $(SITE_CHECK_LIMIT)  # `molecule check` takes no ansible args
	molecule converge -s site
	PYTEST_ADDOPTS="-m '$(SITE_TESTS)'" molecule verify -s site

test-all:
	$(MAKE) test SITE_TESTS='lifecycle or not lifecycle'

k3s-tests: setup docker
	PYTEST_ADDOPTS="-m k3s_stand_in" molecule verify -s site

lifecycle-tests: setup docker
	PYTEST_ADDOPTS="-m lifecycle" molecule verify -s site
	molecule destroy -s site

clean:
	rm -rf $(VENV) .build tests/output
