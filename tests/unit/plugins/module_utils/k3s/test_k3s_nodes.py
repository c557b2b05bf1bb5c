# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node list of kubectl get nodes -o json, read into states and checked against the inventory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import nodes


def _node(name, ready='True', roles=('control-plane', 'etcd', 'master'), version='v1.33.4+k3s1', address='10.0.0.1',
          unschedulable=False):
    labels = dict(('node-role.kubernetes.io/%s' % role, 'true') for role in roles)
    labels['kubernetes.io/hostname'] = name
    item = {'apiVersion': 'v1', 'kind': 'Node', 'metadata': {'name': name, 'labels': labels},
            'spec': {'unschedulable': True} if unschedulable else {},
            'status': {'addresses': [{'type': 'InternalIP', 'address': address}, {'type': 'Hostname', 'address': name}],
                       'conditions': [{'type': 'MemoryPressure', 'status': 'False'},
                                      {'type': 'Ready', 'status': ready, 'reason': 'KubeletReady'}],
                       'nodeInfo': {'kubeletVersion': version}}}
    return item


def _list(*items):
    return json.dumps({'apiVersion': 'v1', 'kind': 'List', 'items': list(items)})


def test_states_read_ready_roles_version_address_and_cordon_as_kubectl_prints_them():
    text = _list(_node('pi-1'), _node('pi-2', ready='Unknown', roles=(), address='10.0.0.2', unschedulable=True))
    assert nodes.states(text) == {
        'pi-1': {'ready': True, 'roles': ['control-plane', 'etcd', 'master'], 'version': 'v1.33.4+k3s1',
                 'address': '10.0.0.1', 'unschedulable': False},
        'pi-2': {'ready': False, 'roles': [], 'version': 'v1.33.4+k3s1', 'address': '10.0.0.2', 'unschedulable': True}}


def test_a_node_without_a_ready_condition_is_not_ready():
    item = _node('pi-1')
    item['status']['conditions'] = []
    assert nodes.states({'items': [item]})['pi-1']['ready'] is False


def test_a_healthy_cluster_that_matches_the_inventory_has_no_problems():
    text = _list(_node('pi-1'), _node('pi-2', roles=()))
    assert nodes.problems(text, {'pi-1': 'server', 'pi-2': 'agent'}, version='v1.33.4+k3s1') == []


def test_problems_name_missing_not_ready_roleless_cordoned_stale_and_unknown_nodes():
    text = _list(_node('pi-1', ready='False'), _node('pi-2', roles=(), unschedulable=True),
                 _node('pi-3', version='v1.32.9+k3s1'), _node('ghost', roles=()))
    assert nodes.problems(text, {'pi-1': 'server', 'pi-2': 'server', 'pi-3': 'agent', 'pi-4': 'agent'},
                          version='v1.33.4+k3s1') == [
        'pi-1: NotReady',
        'pi-2: is a server in the inventory but has no control-plane role',
        'pi-2: cordoned (SchedulingDisabled)',
        'pi-3: runs v1.32.9+k3s1, not v1.33.4+k3s1',
        'pi-4: not in the cluster',
        'ghost: in the cluster but not in k3s_servers or k3s_agents']


@pytest.mark.parametrize('text, message', [
    ('not json', 'nodes: not the JSON of kubectl get nodes -o json'),
    ('{"kind": "Node"}', 'nodes: expected a List of Node objects'),
    (json.dumps({'items': [{'metadata': {}}]}), 'nodes: a Node without metadata.name'),
    (json.dumps({'items': ['pi-1']}), "nodes: an item is not a Node object: 'pi-1'"),
])
def test_text_that_is_not_a_node_list_is_refused(text, message):
    with pytest.raises(K3sError, match=message):
        nodes.states(text)


def test_an_inventory_that_is_not_a_mapping_is_refused():
    with pytest.raises(K3sError, match='expected: .* must map node names to server or agent'):
        nodes.problems(_list(), ['pi-1'])
