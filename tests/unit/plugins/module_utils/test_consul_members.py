# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Consul verify table and the stale entries of re-flashed nodes, over the agent API's answers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.picocloud.edge.plugins.module_utils import consul_members as cm


def member(name, node_id, status=1, server=True, addr=None):
    return {'Name': name, 'Addr': addr or '10.0.0.%d' % (ord(name[-1]) % 50), 'Port': 8301, 'Status': status,
            'Tags': {'role': 'consul' if server else 'node', 'id': node_id}}


def peer(name, node_id, leader=False, voter=True, addr=None):
    return {'ID': node_id, 'Node': name, 'Address': '%s:8300' % (addr or '10.0.0.%d' % (ord(name[-1]) % 50)),
            'Leader': leader, 'Voter': voter}


def agent(name, node_id):
    return {'Config': {'NodeName': name, 'NodeID': node_id}}


MEMBERS = [member('s1', 'id-s1'), member('s2', 'id-s2'), member('s3', 'id-s3'), member('c1', 'id-c1', server=False)]
RAFT = {'Servers': [peer('s1', 'id-s1', leader=True), peer('s2', 'id-s2'), peer('s3', 'id-s3')]}
OWN = dict((m['Name'], agent(m['Name'], m['Tags']['id'])) for m in MEMBERS)
SERVERS, CLIENTS = ['s1', 's2', 's3'], ['c1']


def test_a_healthy_cluster_has_no_problem_and_one_row_per_member():
    report = cm.verify_report(MEMBERS, RAFT, SERVERS, CLIENTS, own=OWN)
    assert report['problems'] == []
    assert report['leader'] == 's1' and (report['voters'], report['voters_alive']) == (3, 3)
    assert len(report['lines']) == 1 + 4 + 2
    assert report['lines'][-1] == 'raft: 3 of 3 voters alive; the cluster tolerates 1 more server failure(s)'
    row = [line for line in report['lines'] if line.startswith('s1 ')][0]
    assert row.split()[1:5] == ['10.0.0.49:8301', 'alive', 'server', 'leader']


def test_failed_left_and_unknown_members_are_flagged():
    members = MEMBERS[:3] + [member('c1', 'id-c1', status=4, server=False), member('stray', 'id-x', status=3, server=False)]
    report = cm.verify_report(members, RAFT, SERVERS, CLIENTS, own=dict(OWN, c1=None))
    assert report['problems'] == ['FAILED c1 (client, node id-c1)', 'LEFT stray (client, node id-x)',
                                  'UNKNOWN stray (client, node id-x)']
    assert any('NOT ANSWERING  FAILED' in line for line in report['lines'])


def test_a_member_left_over_from_the_old_identity_is_stale_and_a_missing_host_is_flagged():
    members = MEMBERS[:3] + [member('c1', 'id-old', status=4, server=False)]
    report = cm.verify_report(members, RAFT, SERVERS, CLIENTS + ['c2'], own=dict(OWN, c1=agent('c1', 'id-new')))
    assert report['problems'] == ['FAILED c1 (client, node id-old)', 'STALE c1 (client, node id-old)',
                                  'MISSING c2 (in the inventory, not a Consul member)']


def test_a_name_listed_twice_is_a_duplicate():
    report = cm.verify_report(MEMBERS + [member('c1', 'id-c1b', status=4, server=False)], RAFT, SERVERS, CLIENTS)
    assert 'DUPLICATE c1 (client, node id-c1)' in report['problems']
    assert 'DUPLICATE c1 (client, node id-c1b)' in report['problems']


def test_a_raft_peer_without_an_alive_member_is_a_stale_peer():
    raft = {'Servers': RAFT['Servers'] + [peer('s2', 'id-old-s2')]}
    report = cm.verify_report(MEMBERS, raft, SERVERS, CLIENTS, own=OWN)
    assert report['problems'] == ['STALE PEER s2 (raft id id-old-s, 10.0.0.0:8300)']
    assert report['lines'][-1] == 'raft: 3 of 4 voters alive; the cluster tolerates 0 more server failure(s)'


def test_a_server_that_runs_as_a_client_is_a_role_problem():
    members = MEMBERS[:2] + [member('s3', 'id-s3', server=False), MEMBERS[3]]
    report = cm.verify_report(members, {'Servers': RAFT['Servers'][:2]}, SERVERS, CLIENTS, own=OWN)
    assert report['problems'] == ['ROLE s3 (client, node id-s3)']


def test_no_leader_and_no_quorum_when_two_of_three_servers_are_gone():
    members = [MEMBERS[0], member('s2', 'id-s2', status=4), member('s3', 'id-s3', status=4), MEMBERS[3]]
    raft = {'Servers': [peer('s1', 'id-s1'), peer('s2', 'id-s2'), peer('s3', 'id-s3')]}
    report = cm.verify_report(members, raft, SERVERS, CLIENTS)
    assert 'NO LEADER: the servers have no raft leader' in report['problems']
    assert 'NO QUORUM: 1 of 3 voters alive, 2 needed' in report['problems']


def test_unreadable_members_are_one_problem_with_the_reason():
    report = cm.verify_report([], {}, SERVERS, CLIENTS, error='HTTP 500: No cluster leader')
    assert report['problems'] == ['MEMBERS UNREADABLE: HTTP 500: No cluster leader']


def test_node_names_that_are_not_inventory_names_are_matched():
    members = [member('pi-s1', 'id-s1')]
    report = cm.verify_report(members, {'Servers': [peer('pi-s1', 'id-s1', leader=True)]}, ['s1'], [], names={'s1': 'pi-s1'},
                              own={'s1': agent('pi-s1', 'id-s1')})
    assert report['problems'] == []


# --- stale entries of re-flashed nodes -----------------------------------------------------------------------

def test_a_healthy_cluster_has_nothing_to_clean():
    assert cm.ghost_plan(MEMBERS, RAFT, OWN) == {'force_leave': [], 'remove_peers': [], 'refused': []}


def test_a_failed_member_of_a_reflashed_name_is_force_left():
    members = MEMBERS[:3] + [member('c1', 'id-old', status=4, server=False)]
    plan = cm.ghost_plan(members, RAFT, dict(OWN, c1=agent('c1', 'id-new')))
    assert plan['force_leave'] == ['c1']


def test_a_failed_member_whose_node_simply_is_down_is_kept():
    members = MEMBERS[:3] + [member('c1', 'id-c1', status=4, server=False)]
    assert cm.ghost_plan(members, RAFT, dict((h, a) for h, a in OWN.items() if h != 'c1'))['force_leave'] == []
    assert cm.ghost_plan(members, RAFT, OWN)['force_leave'] == []  # same identity: it is down, not replaced


def test_an_alive_member_is_never_force_left():
    assert cm.ghost_plan(MEMBERS, RAFT, dict(OWN, s2=agent('s2', 'id-other')))['force_leave'] == []


def test_the_old_raft_peer_of_a_reflashed_server_is_removed():
    members = [MEMBERS[0], member('s2', 'id-new'), MEMBERS[2], MEMBERS[3]]
    raft = {'Servers': [peer('s1', 'id-s1', leader=True), peer('s2', 'id-s2'), peer('s3', 'id-s3'), peer('s2', 'id-new')]}
    plan = cm.ghost_plan(members, raft, dict(OWN, s2=agent('s2', 'id-new')))
    assert plan == {'force_leave': [], 'remove_peers': [{'id': 'id-s2', 'node': 's2', 'address': '10.0.0.0:8300'}],
                    'refused': []}


def test_an_old_peer_at_the_replaced_servers_address_under_another_name_is_removed():
    members = [MEMBERS[0], member('s2', 'id-new', addr='10.0.0.9'), MEMBERS[2]]
    raft = {'Servers': [peer('s1', 'id-s1', leader=True), peer('old', 'id-s2', addr='10.0.0.9'), peer('s3', 'id-s3'),
                        peer('s2', 'id-new', addr='10.0.0.9')]}
    plan = cm.ghost_plan(members, raft, {'s1': OWN['s1'], 's2': agent('s2', 'id-new'), 's3': OWN['s3']})
    assert [p['id'] for p in plan['remove_peers']] == ['id-s2']


def test_a_peer_of_a_server_that_is_only_down_is_kept():
    members = [MEMBERS[0], member('s2', 'id-s2', status=4), MEMBERS[2]]
    assert cm.ghost_plan(members, RAFT, {'s1': OWN['s1'], 's3': OWN['s3']})['remove_peers'] == []


def test_no_peer_is_removed_from_a_raft_group_without_quorum():
    members = [member('s1', 'id-s1', status=4), member('s2', 'id-new'), member('s3', 'id-s3', status=4)]
    raft = {'Servers': [peer('s1', 'id-s1'), peer('s2', 'id-s2'), peer('s3', 'id-s3'), peer('s2', 'id-new')]}
    plan = cm.ghost_plan(members, raft, {'s2': agent('s2', 'id-new')})
    assert plan['remove_peers'] == []
    assert plan['refused'] == ['the group has 1 of 4 servers answering and needs 3 to change its membership: server id-s2 '
                               'cannot be removed until a majority answers again']


def test_a_server_may_reboot_while_the_other_two_answer_and_a_client_always():
    assert cm.departure(MEMBERS, RAFT, 's2') == {'ok': True, 'reason': ''}
    assert cm.departure(MEMBERS, RAFT, 'c1')['ok']
    members = [MEMBERS[0], member('s2', 'id-s2', status=4), MEMBERS[2], MEMBERS[3]]
    got = cm.departure(members, RAFT, 's3')
    assert not got['ok'] and got['reason'].startswith('2 of 3 servers answer; without s3 1 of 3 would')
