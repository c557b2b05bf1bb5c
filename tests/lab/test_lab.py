# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab for real: Docker engine, systemd nodes, SSH, qemu-user arm64.

Each test uses its own lab name and subnet, so it never meets `make demo`'s lab.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import subprocess

import pytest
import yaml

from conftest import Lab, changed_tasks, failure_messages, total_changed


def pi_facts(lab):
    """picocloud.edge.pi_facts on every node of a lab, over SSH: {host: facts}."""
    # --tags nodes: the node table only (these labs never ran site.yml, so there is no swarm or Consul to check)
    rc, result = lab.playbook('picocloud.edge.verify', '-i', lab.inventory, '--tags', 'nodes')
    assert rc == 0, failure_messages(result)
    facts = {}
    for task in result['plays'][0]['tasks']:
        if task['task']['name'] == 'Gather Pi facts':
            for host, res in task['hosts'].items():
                facts[host] = res['ansible_facts']['picocloud']
    return facts


def digest(path):
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.mark.parametrize('count', [0, 21])
def test_node_count_outside_1_to_20_is_refused_and_creates_nothing(state_root, count):
    lab = Lab('picobad', '172.30.21.0/24', state_root)
    rc, result = lab.run('-e', 'lab_nodes=%d' % count)
    assert rc != 0
    assert 'lab_nodes=%d is refused: a lab has 1 to 20 nodes' % count in failure_messages(result)
    assert lab.objects() == {'containers': [], 'networks': [], 'volumes': []}


def test_check_mode_on_a_fresh_lab_reports_changes_and_creates_nothing(state_root):
    lab = Lab('picocheck', '172.30.26.0/24', state_root)
    rc, result = lab.run('-e', 'lab_nodes=2', '--check')
    assert rc == 0, failure_messages(result)
    assert total_changed(result) > 0
    assert lab.objects() == {'containers': [], 'networks': [], 'volumes': []}


def test_name_clash_with_foreign_container_is_refused_and_foreign_container_survives(state_root):
    lab = Lab('picoclash', '172.30.22.0/24', state_root)
    subprocess.run(['docker', 'rm', '-f', 'picoclash-01'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    subprocess.run(['docker', 'create', '--name', 'picoclash-01', 'picocloud-lab-node:amd64', 'sleep', 'infinity'],
                   stdout=subprocess.DEVNULL, check=True)
    try:
        rc, result = lab.run('-e', 'lab_nodes=1')
        assert rc != 0
        assert 'never touches Docker objects it did not create' in failure_messages(result)
        assert 'container picoclash-01' in failure_messages(result)
        # lab down removes only what carries the lab's label
        lab.down()
        assert subprocess.run(['docker', 'inspect', 'picoclash-01'], stdout=subprocess.DEVNULL, check=False).returncode == 0
    finally:
        subprocess.run(['docker', 'rm', '-f', 'picoclash-01'], stdout=subprocess.DEVNULL, check=False)


def test_three_node_lab_up_twice_is_a_noop_then_down_leaves_nothing(state_root):
    lab = Lab('picotest', '172.30.23.0/24', state_root)
    try:
        lab.up()
        inventory = yaml.safe_load(open(lab.inventory))
        key = digest(lab.state_dir + '/id_ed25519')
        hosts = inventory['all']['children']['picocloud']['hosts']
        assert sorted(hosts) == ['picotest-01', 'picotest-02', 'picotest-03']
        assert [hosts[h]['ansible_host'] for h in sorted(hosts)] == ['172.30.23.11', '172.30.23.12', '172.30.23.13']
        groups = inventory['all']['children']
        assert list(groups['swarm_managers']['hosts']) == ['picotest-01']
        assert sorted(groups['swarm_workers']['hosts']) == ['picotest-02', 'picotest-03']
        assert sorted(groups['consul_servers']['hosts']) == ['picotest-01', 'picotest-02', 'picotest-03']

        second = lab.up()
        assert total_changed(second) == 0, changed_tasks(second)
        rc, checked = lab.run('--check')
        assert rc == 0, failure_messages(checked)
        assert total_changed(checked) == 0, changed_tasks(checked)
        assert yaml.safe_load(open(lab.inventory)) == inventory
        assert digest(lab.state_dir + '/id_ed25519') == key

        facts = pi_facts(lab)
        assert sorted(facts) == sorted(hosts)
        for host in hosts:
            assert facts[host]['arch']['machine'] == 'x86_64'
            assert facts[host]['boot']['cmdline_path'] == '/boot/firmware/cmdline.txt'
    finally:
        lab.down()
    assert lab.objects() == {'containers': [], 'networks': [], 'volumes': []}
    assert subprocess.run(['docker', 'image', 'inspect', 'picocloud-lab-node:amd64'],
                          stdout=subprocess.DEVNULL, check=False).returncode == 0


def test_mixed_lab_arm64_node_and_single_node_arm64_lab_report_aarch64(state_root):
    mixed = Lab('picomix', '172.30.24.0/24', state_root)
    arm = Lab('picoarm', '172.30.25.0/24', state_root)
    try:
        mixed.up('-e', 'lab_nodes=2', '-e', 'lab_arm64_nodes=1')
        facts = pi_facts(mixed)
        assert facts['picomix-01']['arch'] == {'machine': 'x86_64', 'debian_arch': 'amd64', 'arm_version': None}
        assert facts['picomix-02']['arch'] == {'machine': 'aarch64', 'debian_arch': 'arm64', 'arm_version': 8}

        arm.up('-e', 'lab_nodes=1', '-e', 'lab_arch=arm64')
        facts = pi_facts(arm)
        assert facts['picoarm-01']['arch'] == {'machine': 'aarch64', 'debian_arch': 'arm64', 'arm_version': 8}
    finally:
        mixed.down()
        arm.down()
    assert mixed.objects() == {'containers': [], 'networks': [], 'volumes': []}
    assert arm.objects() == {'containers': [], 'networks': [], 'volumes': []}
