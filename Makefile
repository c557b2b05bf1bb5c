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

.PHONY: help setup test lint yamllint ansible-lint sanity units integration firmware clean \
        docker lab-image lab-up lab-down demo lab-tests molecule

help:
	@echo "make setup   - create .venv (Python 3.11), install pinned requirements, build+install the collection"
	@echo "make test    - yamllint, ansible-lint (production), ansible-test sanity, unit tests, integration targets"
	@echo "make demo    - lab up (3 nodes), then picocloud.edge.site (base, pki, docker, swarm, consul) and picocloud.edge.verify"
	@echo "make lab-up  - bring the lab up (LAB_ARGS='-e lab_nodes=5 -e lab_arm64_nodes=1' to change it)"
	@echo "make lab-down- remove the lab's nodes, network and volumes (the cached image stays)"
	@echo "make clean   - remove .venv, build output and test output"

# --- set-up -----------------------------------------------------------------

$(BIN)/python:
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

setup: $(COLLECTION)/MANIFEST.json

# --- tests ------------------------------------------------------------------

test: setup lint sanity units integration lab-tests molecule

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

units: setup firmware
	cd $(COLLECTION) && python -m pytest -p no:cacheprovider tests/unit \
	    --cov=ansible_collections.picocloud.edge.plugins --cov-report=term-missing

# ansible-test integration targets (tests/integration/targets), run on this
# machine: each one runs check mode, apply, re-apply and check mode again.
integration: setup firmware
	printf -- '---\npicocloud_raspi_firmware: %s\n' "$(PICOCLOUD_RASPI_FIRMWARE)" > $(COLLECTION)/tests/integration/integration_config.yml
	cd $(COLLECTION) && ANSIBLE_TEST_CONTENT_ROOT=$(COLLECTION) ansible-test integration --allow-destructive --python 3.11 --color no

# --- the lab -------------------------------------------------------------------

LAB_NAME ?= pico
LAB_ARGS ?=
LAB_INVENTORY := $(CURDIR)/inventories/lab/hosts.yml
LAB_VARS := -e lab_name=$(LAB_NAME) -e lab_state_dir=$(CURDIR)/.lab/$(LAB_NAME) -e lab_inventory_file=$(LAB_INVENTORY)

docker:
	scripts/ensure-docker.sh

lab-image: setup docker
	ansible-playbook picocloud.edge.lab $(LAB_VARS) -e lab_state=image $(LAB_ARGS)

lab-up: setup docker
	ansible-playbook picocloud.edge.lab $(LAB_VARS) $(LAB_ARGS)

lab-down: setup docker
	ansible-playbook picocloud.edge.lab $(LAB_VARS) -e lab_state=absent

# The lab is offline: Consul comes from the local artifacts dir (Debian bullseye's 1.8.7, zipped
# like a HashiCorp release by scripts/consul-artifacts.sh), through the role's real `artifact` path.
CONSUL_ARTIFACTS := $(CURDIR)/.cache/consul-artifacts
DEMO_VARS ?= -e consul_install_source=artifact -e picocloud_artifacts_dir=$(CONSUL_ARTIFACTS)

demo: lab-up
	scripts/consul-artifacts.sh $(CONSUL_ARTIFACTS)
	ansible-playbook -i $(LAB_INVENTORY) picocloud.edge.site $(DEMO_VARS)
	ansible-playbook -i $(LAB_INVENTORY) picocloud.edge.verify

# The lab for real (Docker engine, systemd nodes, SSH, qemu-user arm64): bad input,
# name clashes, idempotence, a mixed amd64/arm64 lab and lab down. Each test uses
# its own lab name and subnet.
lab-tests: setup docker
	cd $(COLLECTION) && python -m pytest -p no:cacheprovider tests/lab -v

# Role scenarios on lab nodes (molecule docker driver, the lab's node images, built once here and
# shared by every scenario). One scenario alone: make molecule MOLECULE_SCENARIOS=consul
MOLECULE_SCENARIOS ?= default pki base swarm consul
molecule: setup docker
	ansible-playbook picocloud.edge.lab $(LAB_VARS) -e lab_state=image -e lab_arm64_nodes=1
	for scenario in $(MOLECULE_SCENARIOS); do molecule test -s $$scenario || exit 1; done

clean:
	rm -rf $(VENV) .build tests/output
