# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's node list and its foreign-object check."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils import lab


def test_three_node_lab_has_one_manager_three_consul_servers_the_registry_on_the_first_and_pi_macs():
    nodes = lab.node_list('pico', 3)
    assert [n['name'] for n in nodes] == ['pico-01', 'pico-02', 'pico-03']
    assert [n['address'] for n in nodes] == ['172.30.10.11', '172.30.10.12', '172.30.10.13']
    assert [n['roles'] for n in nodes] == [['swarm_manager', 'consul_server', 'registry'],
                                           ['swarm_worker', 'consul_server'], ['swarm_worker', 'consul_server']]
    assert all(n['mac'].startswith('dc:a6:32:') for n in nodes)
    assert len({n['mac'] for n in nodes}) == 3
    assert [n['volume'] for n in nodes] == ['pico-01-docker', 'pico-02-docker', 'pico-03-docker']


def test_the_last_nodes_are_arm64_and_emulated_on_an_amd64_host():
    nodes = lab.node_list('mix', 5, arm64_nodes=1, managers=3, consul_servers=3, subnet='172.30.40.0/24')
    assert [n['arch'] for n in nodes] == ['amd64'] * 4 + ['arm64']
    assert [n['emulated'] for n in nodes] == [False] * 4 + [True]
    assert [n['roles'][0] for n in nodes] == ['swarm_manager'] * 3 + ['swarm_worker'] * 2
    assert ['consul_server' in n['roles'] for n in nodes] == [True] * 3 + [False] * 2


def test_an_all_arm64_lab_on_an_arm64_host_is_not_emulated():
    assert [n['emulated'] for n in lab.node_list('arm', 2, arch='arm64', host_arch='arm64')] == [False, False]


def test_a_one_node_lab_has_one_consul_server_whatever_is_asked():
    assert lab.node_list('one', 1, consul_servers=3)[0]['roles'] == ['swarm_manager', 'consul_server', 'registry']


def test_macs_differ_between_labs_and_are_stable():
    assert lab.lab_mac('pico', 1) == lab.lab_mac('pico', 1)
    assert lab.lab_mac('pico', 1) != lab.lab_mac('other', 1)


@pytest.mark.parametrize('subnet, message', [
    ('172.30.10.0/29', 'has no room for 3 nodes'),
    ('172.30.10.5/24', 'is not an IPv4 network'),
    ('not-a-net', 'is not an IPv4 network'),
])
def test_a_subnet_that_cannot_hold_the_lab_is_refused(subnet, message):
    with pytest.raises(lab.LabError, match=message):
        lab.node_list('pico', 3, subnet=subnet)


def test_objects_with_the_labs_names_but_not_its_label_are_foreign():
    label = 'io.picocloud.lab'
    containers = [{'exists': True, 'item': {'name': 'pico-01'}, 'container': {'Config': {'Labels': {label: 'pico'}}}},
                  {'exists': True, 'item': {'name': 'pico-02'}, 'container': {'Config': {'Labels': None}}},
                  {'exists': False, 'item': {'name': 'pico-03'}}]
    network = {'exists': True, 'network': {'Name': 'pico-net', 'Labels': None}}
    volumes = [{'exists': True, 'item': {'volume': 'pico-01-docker'}, 'volume': {'Labels': {label: 'other'}}}]
    assert lab.foreign_objects(label, 'pico', containers, network, volumes) == [
        'container pico-02', 'network pico-net', 'volume pico-01-docker']
    assert lab.foreign_objects(label, 'pico', [], {'exists': False}, []) == []


def test_the_site_file_pins_each_node_with_its_pi_mac_arch_roles_and_lab_vars():
    nodes = lab.node_list('pico', 4, arm64_nodes=1, managers=3)
    site = lab.site_file(nodes, 'lab', 'swarm', 'pico', '/s/id_ed25519', '/s/known_hosts', '/s/secrets')
    assert (site['plugin'], site['site'], site['orchestrator']) == ('picocloud.edge.site', 'lab', 'swarm')
    assert site['nodes'][3] == {'name': 'pico-04', 'mac': nodes[3]['mac'], 'address': '172.30.10.14', 'arch': 'arm64',
                                'roles': [],
                                'vars': {'picocloud_lab_arch': 'arm64', 'picocloud_lab_emulated': True,
                                         'swarm_node_availability': 'drain'}}
    assert [n['roles'] for n in site['nodes']] == [['swarm_manager', 'consul_server', 'registry']] + [['swarm_manager', 'consul_server']] * 2 + [[]]
    assert site['nodes'][0]['vars'] == {'picocloud_lab_arch': 'amd64', 'picocloud_lab_emulated': False}
    assert all(n['mac'].startswith('dc:a6:32:') for n in site['nodes'])
    assert site['groups'] == {'lab_emulated': 'picocloud_lab_emulated'}


def test_the_site_file_names_no_worker_role_the_plugin_makes_workers():
    site = lab.site_file(lab.node_list('pico', 3), 'lab', 'swarm', 'pico', 'k', 'kh', 's')
    assert [n['roles'] for n in site['nodes']] == [
        ['swarm_manager', 'consul_server', 'registry'], ['consul_server'], ['consul_server']]


def test_a_k3s_lab_declares_its_managers_as_k3s_servers():
    site = lab.site_file(lab.node_list('pico', 3), 'lab', 'k3s', 'pico', 'k', 'kh', 's')
    assert site['nodes'][0]['roles'] == ['k3s_server', 'consul_server', 'registry']
    with pytest.raises(lab.LabError, match='lab_orchestrator=nomad is not one of k3s, swarm'):
        lab.site_file(lab.node_list('pico', 1), 'lab', 'nomad', 'pico', 'k', 'kh', 's')


def test_the_site_file_discovers_by_neighbours_only_and_claims_no_other_labs_pis():
    site = lab.site_file(lab.node_list('pico', 1), 'lab', 'swarm', 'pico', 'k', 'kh', 's')
    assert site['discovery'] == {'sources': ['neighbours'], 'unclaimed': False}


def test_the_site_file_defaults_turn_on_pipelining_and_controlpersist_and_keep_secrets_in_the_lab():
    defaults = lab.site_file(lab.node_list('pico', 1), 'lab', 'swarm', 'pico', '/s/id_ed25519', '/s/known_hosts',
                             '/s/secrets')['defaults']
    assert defaults['ansible_ssh_pipelining'] is True
    assert 'ControlPersist=' in defaults['ansible_ssh_args']
    assert defaults['picocloud_lab'] is True and defaults['picocloud_secrets_dir'] == '/s/secrets'
    assert defaults['ansible_user'] == 'pico' and defaults['ansible_ssh_private_key_file'] == '/s/id_ed25519'
    assert 'UserKnownHostsFile=/s/known_hosts -o StrictHostKeyChecking=yes' in defaults['ansible_ssh_common_args']


def test_the_one_node_spec_lists_every_capability_except_those_that_fail_on_docker_20_10_and_restricted_vms():
    import os
    import yaml
    root = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')
    with open(os.path.join(root, 'roles', 'lab', 'vars', 'main.yml')) as handle:
        caps = yaml.safe_load(handle)['__lab_capabilities']
    assert len(caps) == len(set(caps))
    for missing in ('MAC_OVERRIDE', 'BPF', 'PERFMON', 'CHECKPOINT_RESTORE', 'SYS_RESOURCE'):
        assert missing not in caps
    assert 'SYS_ADMIN' in caps and 'NET_ADMIN' in caps
