# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The swarm role's decisions: labels, the anchor manager, the verify report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.picocloud.edge.plugins.module_utils import swarm

PI4 = {'arch': {'debian_arch': 'arm64'}, 'board': {'type': '4B'}, 'memory': {'nominal_mb': 4096}}


def manager(site=None, state='active'):
    labels = {swarm.SITE_LABEL: site} if site is not None else {}
    return {'engine_ok': True, 'node': {'ControlAvailable': True, 'LocalNodeState': state,
                                        'Cluster': {'Spec': {'Labels': labels}}}}


FREE = {'engine_ok': True, 'node': {'ControlAvailable': False, 'LocalNodeState': 'inactive'}}
WORKER_ELSEWHERE = {'engine_ok': True, 'node': {'ControlAvailable': False, 'LocalNodeState': 'active'}}


def test_labels_come_from_facts_as_strings_and_inventory_labels_win():
    assert swarm.node_labels(PI4, {'zone': 'shelf-2', 'board': 'pi4-poe'}) == {
        'arch': 'arm64', 'board': 'pi4-poe', 'memory_mb': '4096', 'zone': 'shelf-2'}


def test_labels_of_a_machine_that_is_not_a_pi_and_of_unknown_memory():
    assert swarm.node_labels({'arch': {'debian_arch': 'amd64'}, 'board': {'type': None}, 'memory': {}}) == {
        'arch': 'amd64', 'board': 'none'}


def test_anchor_prefers_a_manager_of_this_sites_swarm_over_unlabelled_and_free_engines():
    states = {'m1': FREE, 'm2': manager(site=''), 'm3': manager(site='lab')}
    assert swarm.choose_anchor(['m1', 'm2', 'm3'], states, 'lab') == 'm3'


def test_anchor_adopts_an_unlabelled_swarm_before_creating_a_new_one():
    assert swarm.choose_anchor(['m1', 'm2'], {'m1': FREE, 'm2': manager()}, 'lab') == 'm2'


def test_anchor_is_a_free_engine_on_a_fresh_site_in_inventory_order():
    assert swarm.choose_anchor(['m1', 'm2'], {'m1': FREE, 'm2': FREE}, 'lab') == 'm1'


def test_anchor_never_takes_another_sites_swarm_or_a_worker_or_a_dead_engine():
    states = {'m1': manager(site='other'), 'm2': WORKER_ELSEWHERE, 'm3': {'engine_ok': False}}
    assert swarm.choose_anchor(['m1', 'm2', 'm3'], states, 'lab') == ''


def node(name, node_id, status='ready', manager_status=None, availability='active'):
    return {'ID': node_id, 'Hostname': name, 'Status': status, 'Availability': availability,
            'ManagerStatus': manager_status}


HEALTHY = [node('m1', 'id-m1', manager_status='Leader'), node('w1', 'id-w1'), node('w2', 'id-w2')]
OWN = {'m1': {'NodeID': 'id-m1', 'LocalNodeState': 'active'}, 'w1': {'NodeID': 'id-w1', 'LocalNodeState': 'active'},
       'w2': {'NodeID': 'id-w2', 'LocalNodeState': 'active'}}


def test_a_healthy_swarm_has_no_problem_and_names_its_leader():
    report = swarm.verify_report(HEALTHY, ['m1'], ['w1', 'w2'], OWN)
    assert report['problems'] == []
    assert report['leader'] == 'm1'
    assert report['lines'][-2:] == ['leader: m1', 'managers: 1 of 1 reachable; the swarm tolerates 0 more manager failure(s)']
    assert len(report['lines']) == 1 + 3 + 2


def test_the_ghost_of_a_reflashed_node_is_flagged_down_and_duplicate_and_stale():
    nodes = HEALTHY + [node('w2', 'id-old-w2', status='down')]
    report = swarm.verify_report(nodes, ['m1'], ['w1', 'w2'], OWN)
    assert report['problems'] == ['DOWN w2 (worker, node id-old-w2)', 'DUPLICATE w2 (worker, node id-old-w2)',
                                  'STALE w2 (worker, node id-old-w2)', 'DUPLICATE w2 (worker, node id-w2)']
    ghost = [line for line in report['lines'] if 'stale entry' in line]
    assert len(ghost) == 1 and ghost[0].endswith('DOWN DUPLICATE STALE')


def test_a_node_the_inventory_does_not_know_and_a_host_missing_from_the_swarm_are_flagged():
    nodes = [node('m1', 'id-m1', manager_status='Leader'), node('stray', 'id-s')]
    report = swarm.verify_report(nodes, ['m1'], ['w1'], {'m1': OWN['m1'], 'w1': None})
    assert report['problems'] == ['UNKNOWN stray (worker, node id-s)', 'MISSING w1 (in the inventory, not in the swarm)']


def test_a_swarm_without_leader_is_a_problem_and_counts_unreachable_managers():
    nodes = [node('m1', 'id-m1', status='down', manager_status='unreachable'),
             node('m2', 'id-m2', status='down', manager_status='unreachable'),
             node('m3', 'id-m3', manager_status='reachable')]
    report = swarm.verify_report(nodes, ['m1', 'm2', 'm3'], [], {'m1': None, 'm2': None, 'm3': {'NodeID': 'id-m3'}})
    assert 'NO LEADER: a majority of managers is down' in report['problems']
    assert report['managers_reachable'] == 1
    assert 'managers: 1 of 3 reachable; the swarm tolerates 0 more manager failure(s)' in report['lines']
    assert any('NOT ANSWERING' in line for line in report['lines'])


def test_a_node_whose_hostname_is_not_its_inventory_name_is_matched_by_its_node_id():
    nodes = [node('m1', 'id-m1', manager_status='Leader'), node('pi-w1', 'id-w1')]
    report = swarm.verify_report(nodes, ['m1'], ['w1'], {'m1': OWN['m1'], 'w1': OWN['w1']}, {'w1': 'pi-w1'})
    assert report['problems'] == []
    assert any(line.startswith('pi-w1 (w1)') for line in report['lines'])


def test_an_unreachable_host_is_still_matched_by_its_hostname_and_shown_not_answering():
    nodes = [node('m1', 'id-m1', manager_status='Leader'), node('w1', 'id-w1', status='down')]
    report = swarm.verify_report(nodes, ['m1'], ['w1'], {'m1': OWN['m1'], 'w1': None})
    assert report['problems'] == ['DOWN w1 (worker, node id-w1)']
    assert any('NOT ANSWERING  DOWN' in line for line in report['lines'])


def test_a_swarm_whose_managers_cannot_list_it_is_a_quorum_problem_with_the_reason():
    report = swarm.verify_report([], ['m1'], [], {'m1': {'NodeID': 'id-m1'}}, error='rpc error: The swarm does not have a leader')
    assert report['problems'] == ['NO QUORUM: no manager could list the swarm (rpc error: The swarm does not have a leader)']
    assert report['lines'][-1].startswith('NO QUORUM: no manager could list the swarm')


def test_a_lost_quorum_is_named_with_the_counts():
    nodes = [node('m1', 'id-m1', manager_status='reachable'), node('m2', 'id-m2', status='down', manager_status='unreachable'),
             node('m3', 'id-m3', status='down', manager_status='unreachable')]
    report = swarm.verify_report(nodes, ['m1', 'm2', 'm3'], [], {'m1': {'NodeID': 'id-m1'}, 'm2': None, 'm3': None})
    assert 'NO QUORUM: 1 of 3 managers reachable, 2 needed' in report['problems']


# --- stale entries of re-flashed nodes -----------------------------------------------------------------------

THREE = [node('m1', 'id-m1', manager_status='Leader'), node('m2', 'id-m2', manager_status='reachable'),
         node('m3', 'id-m3', manager_status='reachable'), node('w1', 'id-w1')]
IDS = {'m1': 'id-m1', 'm2': 'id-m2', 'm3': 'id-m3', 'w1': 'id-w1'}


def test_a_healthy_swarm_has_no_ghost():
    assert swarm.ghost_plan(THREE, IDS) == {'ghosts': [], 'demote': [], 'remove': [], 'waiting': [], 'refused': []}


def test_the_ghost_of_a_reflashed_worker_is_removed_once_the_new_entry_is_ready():
    nodes = THREE[:3] + [node('w1', 'id-old', status='down'), node('w1', 'id-new')]
    plan = swarm.ghost_plan(nodes, dict(IDS, w1='id-new'))
    assert plan == {'ghosts': [{'id': 'id-old', 'hostname': 'w1', 'host': 'w1', 'manager': False}],
                    'demote': [], 'remove': ['id-old'], 'waiting': [], 'refused': []}


def test_the_ghost_of_a_reflashed_manager_is_demoted_then_removed():
    nodes = [THREE[0], node('m2', 'id-old', status='down', manager_status='unreachable'),
             node('m2', 'id-new', manager_status='reachable')] + THREE[2:]
    plan = swarm.ghost_plan(nodes, dict(IDS, m2='id-new'))
    assert plan['demote'] == ['id-old'] and plan['remove'] == ['id-old'] and plan['refused'] == []


def test_nothing_is_removed_while_the_new_node_is_not_ready_yet():
    nodes = THREE[:3] + [node('w1', 'id-old', status='down'), node('w1', 'id-new', status='unknown')]
    plan = swarm.ghost_plan(nodes, dict(IDS, w1='id-new'))
    assert plan['remove'] == [] and plan['waiting'] == ['w1: its new node id-new is not ready and reachable yet']


def test_a_new_manager_that_is_not_reachable_yet_holds_the_removal():
    nodes = [THREE[0], node('m2', 'id-old', status='down', manager_status='unreachable'),
             node('m2', 'id-new', manager_status='unreachable')] + THREE[2:]
    assert swarm.ghost_plan(nodes, dict(IDS, m2='id-new'))['remove'] == []


def test_a_down_entry_without_a_replacement_is_never_touched():
    # the node is down (power cut, docker stop): its host did not answer, so there is no new identity
    nodes = THREE[:3] + [node('w1', 'id-w1', status='down')]
    assert swarm.ghost_plan(nodes, dict(IDS, w1=''))['remove'] == []
    assert swarm.ghost_plan(nodes, dict((h, i) for h, i in IDS.items() if h != 'w1'))['remove'] == []


def test_an_entry_of_the_same_name_that_still_answers_is_never_removed():
    nodes = THREE[:3] + [node('w1', 'id-twin'), node('w1', 'id-w1')]
    plan = swarm.ghost_plan(nodes, IDS)
    assert plan['remove'] == [] and plan['waiting'] == ['w1: the entry id-twin still answers; it is never removed']


def test_a_ghost_manager_is_kept_when_the_managers_lost_their_quorum():
    nodes = [node('m1', 'id-m1', status='down', manager_status='unreachable'),
             node('m2', 'id-old', status='down', manager_status='unreachable'),
             node('m2', 'id-new', manager_status='reachable'),
             node('m3', 'id-m3', status='down', manager_status='unreachable')]
    plan = swarm.ghost_plan(nodes, {'m2': 'id-new'})
    assert plan['demote'] == [] and plan['remove'] == []
    assert plan['refused'] == ['1 of 4 managers reachable (3 needed): the swarm cannot change its membership, so no stale '
                               'entry is removed']


def test_a_ghost_whose_host_has_another_hostname_is_found_by_that_hostname():
    nodes = THREE[:3] + [node('pi-w1', 'id-old', status='down'), node('pi-w1', 'id-new')]
    plan = swarm.ghost_plan(nodes, dict(IDS, w1='id-new'), {'w1': 'pi-w1'})
    assert plan['remove'] == ['id-old'] and plan['ghosts'][0]['host'] == 'w1'


def test_a_worker_may_always_leave_and_a_manager_only_while_the_rest_keep_quorum():
    assert swarm.departure(THREE, 'id-w1') == {'ok': True, 'reason': ''}
    assert swarm.departure(THREE, 'id-m2')['ok']
    assert swarm.departure(THREE, 'id-m2', permanent=True)['ok']
    one_down = [THREE[0], node('m2', 'id-m2', status='down', manager_status='unreachable')] + THREE[2:]
    refused = swarm.departure(one_down, 'id-m3')
    assert refused == {'ok': False, 'reason': '2 of 3 managers answer; without m3 1 of 3 would, fewer than the 2 the '
                                              'group needs to stay writable'}
