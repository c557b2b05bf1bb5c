# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Molecule platforms run the same node spec as the lab role."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
LAB_VARS = yaml.safe_load(open(os.path.join(ROOT, 'roles', 'lab', 'vars', 'main.yml')))
SCENARIOS = sorted(glob.glob(os.path.join(ROOT, 'molecule', '*', 'molecule.yml')))


def test_there_is_a_default_scenario():
    assert os.path.join(ROOT, 'molecule', 'default', 'molecule.yml') in SCENARIOS


def test_lab_capabilities_exclude_what_fails_on_docker_20_10_and_restricted_vms():
    caps = LAB_VARS['lab_capabilities']
    assert len(caps) == len(set(caps))
    for missing in ('MAC_OVERRIDE', 'BPF', 'PERFMON', 'CHECKPOINT_RESTORE', 'SYS_RESOURCE'):
        assert missing not in caps
    assert 'SYS_ADMIN' in caps and 'NET_ADMIN' in caps


@pytest.mark.parametrize('scenario', SCENARIOS, ids=lambda p: p.split(os.sep)[-2])
def test_molecule_platforms_use_the_lab_node_spec(scenario):
    config = yaml.safe_load(open(scenario))
    assert config['driver']['name'] == 'docker'
    assert config['prerun'] is False, 'molecule must test the installed copy, not install its own'
    for platform in config['platforms']:
        assert platform['image'].startswith('picocloud-lab-node:'), platform['name']
        assert platform['pre_build_image'] is True
        assert platform['capabilities'] == LAB_VARS['lab_capabilities'], platform['name']
        assert platform['cgroupns_mode'] == 'host'
        assert platform['restart_policy'] == 'always', 'a reboot inside a node must bring it back'
        assert '/sys/fs/cgroup:/sys/fs/cgroup:rw' in platform['volumes']
        assert '/var/lib/docker' in platform['volumes']
        assert set(platform['security_opts']) == {'seccomp=unconfined', 'apparmor=unconfined'}
        assert 'privileged' not in platform
