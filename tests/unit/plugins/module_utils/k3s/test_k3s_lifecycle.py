# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The k3s verify table, the stale Node objects of re-flashed nodes and the etcd quorum gate, over Node lists
shaped as `kubectl get nodes -o json` prints them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import lifecycle as k3s


def node(name, machine, ready=True, server=False, cordoned=False, removed=False, address=None):
    labels = {'kubernetes.io/hostname': name}
    annotations = {}
    if server:
        labels.update({k3s.CONTROL_PLANE_LABEL: 'true', k3s.ETCD_LABEL: 'true', 'node-role.kubernetes.io/master': 'true'})
        annotations[k3s.ETCD_MEMBER] = '%s-%s' % (name, machine[:8])
        if removed:
            annotations[k3s.ETCD_REMOVED] = annotations[k3s.ETCD_MEMBER]
    return {'apiVersion': 'v1', 'kind': 'Node',
            'metadata': {'name': name, 'labels': labels, 'annotations': annotations},
            'spec': {'unschedulable': True} if cordoned else {},
            'status': {'conditions': [{'type': 'MemoryPressure', 'status': 'False'},
                                      {'type': 'Ready', 'status': 'True' if ready else 'Unknown'}],
                       'addresses': [{'type': 'InternalIP', 'address': address or '10.0.0.%d' % (len(name) + ord(name[-1]) % 40)},
                                     {'type': 'Hostname', 'address': name}],
                       'nodeInfo': {'machineID': machine, 'kubeletVersion': 'v1.33.4+k3s1'}}}


def listing(*items):
    return {'apiVersion': 'v1', 'kind': 'List', 'items': list(items)}


CLUSTER = listing(node('s1', 'm-s1'), node('s2', 'm-s2'), node('s3', 'm-s3'), node('a1', 'm-a1'))
for item in CLUSTER['items'][:3]:
    item.update(node(item['metadata']['name'], item['status']['nodeInfo']['machineID'], server=True))
EXPECTED = {'s1': 'server', 's2': 'server', 's3': 'server', 'a1': 'agent'}
MACHINES = {'s1': 'm-s1', 's2': 'm-s2', 's3': 'm-s3', 'a1': 'm-a1'}


def test_a_healthy_cluster_has_no_problem_and_counts_its_etcd_members():
    report = k3s.verify_report(json.dumps(CLUSTER), EXPECTED, machine_ids=MACHINES)
    assert report['problems'] == []
    assert (report['etcd_voters'], report['etcd_ready']) == (3, 3)
    assert report['lines'][-1] == 'etcd: 3 of 3 members Ready; the cluster tolerates 1 more server failure(s)'
    assert [line.split()[:3] for line in report['lines'][1:5]] == [
        ['a1', 'agent', 'Ready'], ['s1', 'server', 'Ready'], ['s2', 'server', 'Ready'], ['s3', 'server', 'Ready']]


def test_the_old_object_of_a_reflashed_agent_is_down_and_stale():
    cluster = listing(*(CLUSTER['items'][:3] + [node('a1', 'm-old', ready=False)]))
    report = k3s.verify_report(cluster, EXPECTED, machine_ids=dict(MACHINES, a1='m-new'))
    assert report['problems'] == ['DOWN a1 (agent)', 'STALE a1 (agent)']
    assert any('stale object (the node is machine m-new now)' in line for line in report['lines'])


def test_unknown_missing_cordoned_and_role_problems():
    cluster = listing(CLUSTER['items'][0], CLUSTER['items'][1], node('s3', 'm-s3'), node('x9', 'm-x', cordoned=True))
    report = k3s.verify_report(cluster, EXPECTED, machine_ids=MACHINES)
    assert report['problems'] == ['ROLE s3 (agent)', 'UNKNOWN x9 (agent)', 'CORDONED x9 (agent)',
                                  'MISSING a1 (in the inventory, not in the cluster)']


def test_two_servers_down_is_no_quorum():
    cluster = listing(CLUSTER['items'][0], node('s2', 'm-s2', ready=False, server=True),
                      node('s3', 'm-s3', ready=False, server=True))
    report = k3s.verify_report(cluster, {'s1': 'server', 's2': 'server', 's3': 'server'},
                               machine_ids={'s1': 'm-s1', 's2': None, 's3': None})
    assert 'NO QUORUM: 1 of 3 etcd members Ready, 2 needed' in report['problems']
    assert sum('NOT ANSWERING  DOWN' in line for line in report['lines']) == 2


def test_an_unreadable_list_is_one_problem():
    assert k3s.verify_report('', EXPECTED, error='connection refused')['problems'] == ['NODES UNREADABLE: connection refused']


def test_a_member_removed_already_no_longer_counts():
    cluster = listing(*(CLUSTER['items'][:2] + [node('s3', 'm-s3', ready=False, server=True, removed=True)]))
    assert k3s.etcd_group(cluster) == {'s1': True, 's2': True}


def test_bad_lists_are_refused_with_the_field():
    with pytest.raises(K3sError, match='nodes: not the JSON of kubectl get nodes -o json'):
        k3s.nodes_of('{')
    with pytest.raises(K3sError, match='nodes: expected a List of Node objects'):
        k3s.nodes_of({'kind': 'Node'})
    with pytest.raises(K3sError, match='nodes: a Node without metadata.name'):
        k3s.nodes_of({'items': [{'metadata': {}}]})


# --- stale objects of re-flashed nodes, before they join again -----------------------------------------------

HOSTS = dict((h, {'role': r, 'machine_id': MACHINES[h]}) for h, r in EXPECTED.items())


def test_a_healthy_cluster_has_nothing_to_clean():
    assert k3s.ghost_plan(CLUSTER, HOSTS) == {'etcd_remove': [], 'delete': [], 'waiting': [], 'refused': []}


def test_a_reflashed_agent_loses_its_old_object_only():
    cluster = listing(*(CLUSTER['items'][:3] + [node('a1', 'm-old', ready=False)]))
    plan = k3s.ghost_plan(cluster, dict(HOSTS, a1={'role': 'agent', 'machine_id': 'm-new'}))
    assert plan == {'etcd_remove': [], 'delete': ['a1'], 'waiting': [], 'refused': []}


def test_a_reflashed_server_loses_its_etcd_member_then_its_object():
    cluster = listing(CLUSTER['items'][0], node('s2', 'm-old', ready=False, server=True), CLUSTER['items'][2])
    plan = k3s.ghost_plan(cluster, dict(HOSTS, s2={'role': 'server', 'machine_id': 'm-new'}))
    assert plan == {'etcd_remove': ['s2'], 'delete': ['s2'], 'waiting': [], 'refused': []}


def test_a_ready_object_is_never_removed():
    plan = k3s.ghost_plan(CLUSTER, dict(HOSTS, a1={'role': 'agent', 'machine_id': 'm-new'}))
    assert plan['delete'] == [] and plan['waiting'] == [
        'a1: the Node object a1 is Ready although the host is another machine now; it is never removed']


def test_a_node_that_is_only_down_keeps_its_object():
    cluster = listing(*(CLUSTER['items'][:3] + [node('a1', 'm-a1', ready=False)]))
    assert k3s.ghost_plan(cluster, HOSTS)['delete'] == []
    assert k3s.ghost_plan(cluster, dict((h, v) for h, v in HOSTS.items() if h != 'a1'))['delete'] == []


def test_no_etcd_member_is_removed_without_quorum_but_a_stale_agent_still_goes():
    cluster = listing(node('s1', 'm-s1', ready=False, server=True), node('s2', 'm-old', ready=False, server=True),
                      CLUSTER['items'][2], node('a1', 'm-old-a', ready=False))
    plan = k3s.ghost_plan(cluster, {'s2': {'role': 'server', 'machine_id': 'm-new'}, 'a1': {'role': 'agent', 'machine_id': 'm-new-a'}})
    assert plan['etcd_remove'] == [] and plan['delete'] == ['a1']
    assert plan['refused'] == ['the group has 1 of 3 etcd members answering and needs 2 to change its membership: '
                               'etcd member s2 cannot be removed until a majority answers again']


def test_a_server_may_reboot_while_two_others_are_ready_and_an_agent_always():
    assert k3s.departure(CLUSTER, 's1') == {'ok': True, 'reason': ''}
    assert k3s.departure(CLUSTER, 'a1')['ok']
    cluster = listing(CLUSTER['items'][0], node('s2', 'm-s2', ready=False, server=True), CLUSTER['items'][2])
    got = k3s.departure(cluster, 's1')
    assert not got['ok'] and 'without s1 1 of 3 would' in got['reason']
