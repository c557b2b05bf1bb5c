# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Quorum arithmetic: every size from 1 to 7 voters, every healthy count, removals and departures."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils import quorum


def group(healthy, down):
    members = dict(('h%d' % i, True) for i in range(healthy))
    members.update(('d%d' % i, False) for i in range(down))
    return members


@pytest.mark.parametrize('voters, needed', [(0, 0), (1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (7, 4)])
def test_majority_of_each_group_size(voters, needed):
    assert quorum.majority(voters) == needed


def test_a_negative_size_is_refused_with_the_value():
    with pytest.raises(quorum.QuorumError, match='voters: -1 is negative'):
        quorum.majority(-1)


@pytest.mark.parametrize('voters', range(1, 8))
def test_writable_exactly_while_a_majority_answers_and_tolerance_counts_the_spare(voters):
    for healthy in range(voters + 1):
        got = quorum.state(group(healthy, voters - healthy))
        assert got['writable'] == (healthy >= voters // 2 + 1), (voters, healthy)
        assert got['tolerance'] == max(0, healthy - (voters // 2 + 1)), (voters, healthy)


def test_an_empty_group_is_not_writable():
    assert quorum.state({})['writable'] is False


def test_members_must_map_ids_to_booleans():
    with pytest.raises(quorum.QuorumError, match=r"members\['m1'\]: healthy must be true or false, got 'yes'"):
        quorum.state({'m1': 'yes'})
    with pytest.raises(quorum.QuorumError, match='expected {member id: healthy}, got list'):
        quorum.state(['m1'])


# --- removing stale (unhealthy) members ----------------------------------------------------------------------

def test_a_ghost_manager_beside_its_replacement_is_removed_and_three_remain_with_one_spare():
    # 3 managers, one re-flashed: the new one joined (4 voters, 3 answering), the ghost is removed
    plan = quorum.remove_unhealthy(group(3, 1), ['d0'])
    assert plan['ok'] and plan['reasons'] == []
    assert plan['steps'] == [{'removed': 'd0', 'voters': 3, 'healthy': 3, 'majority': 2, 'tolerance': 1, 'writable': True}]


def test_a_ghost_is_removed_before_the_replacement_joined_from_two_answering_of_three():
    plan = quorum.remove_unhealthy(group(2, 1), ['d0'])
    assert plan['ok'] and plan['steps'][-1]['voters'] == 2 and plan['steps'][-1]['writable']


def test_two_ghosts_in_a_five_group_are_removed_one_at_a_time_each_step_writable():
    plan = quorum.remove_unhealthy(group(3, 2), ['d0', 'd1'])
    assert plan['ok']
    assert [(s['removed'], s['voters'], s['healthy']) for s in plan['steps']] == [('d0', 4, 3), ('d1', 3, 3)]
    assert all(s['writable'] for s in plan['steps'])


def test_a_healthy_member_is_never_removed_and_nothing_else_is_planned():
    plan = quorum.remove_unhealthy(group(3, 1), ['d0', 'h1'], what='manager')
    assert not plan['ok'] and plan['steps'] == []
    assert plan['reasons'] == ['manager h1 answers: a healthy member is never removed']


def test_an_unknown_member_is_refused():
    plan = quorum.remove_unhealthy(group(3, 0), ['x9'], what='server')
    assert plan['reasons'] == ['server x9 is not in the group'] and not plan['ok']


def test_no_removal_while_the_group_has_lost_its_quorum():
    # 1 of 3 answering: a membership change cannot commit, so nothing is removed
    plan = quorum.remove_unhealthy(group(1, 2), ['d0'], what='manager')
    assert not plan['ok'] and plan['steps'] == []
    assert plan['reasons'] == ['the group has 1 of 3 managers answering and needs 2 to change its membership: '
                               'manager d0 cannot be removed until a majority answers again']


@pytest.mark.parametrize('voters', range(1, 8))
def test_removing_every_ghost_of_a_writable_group_keeps_it_writable_at_each_step(voters):
    for healthy in range(voters // 2 + 1, voters + 1):
        down = voters - healthy
        plan = quorum.remove_unhealthy(group(healthy, down), ['d%d' % i for i in range(down)])
        assert plan['ok'], (voters, healthy)
        assert len(plan['steps']) == down
        assert all(s['writable'] and s['healthy'] == healthy for s in plan['steps'])


# --- taking a healthy member down (reboot, upgrade) or out (decommission) ------------------------------------

def test_one_of_three_may_reboot_but_not_when_another_is_down():
    assert quorum.take_down(group(3, 0), 'h0')['ok']
    refused = quorum.take_down(group(2, 1), 'h0', what='server')
    assert not refused['ok']
    assert refused['reason'] == ('2 of 3 servers answer; without h0 1 of 3 would, fewer than the 2 the group needs '
                                 'to stay writable')


def test_a_single_manager_cannot_reboot_without_losing_quorum():
    got = quorum.take_down({'m1': True}, 'm1', what='manager')
    assert not got['ok'] and 'fewer than the 1 the group needs' in got['reason']


def test_leaving_for_good_shrinks_the_group_three_to_two_is_writable_two_to_one_too():
    assert quorum.take_down(group(3, 0), 'h0', permanent=True)['after'] == {
        'voters': 2, 'healthy': 2, 'majority': 2, 'tolerance': 0, 'writable': True}
    assert quorum.take_down(group(2, 0), 'h0', permanent=True)['ok']


def test_the_last_member_cannot_leave():
    assert not quorum.take_down({'m1': True}, 'm1', permanent=True)['ok']


def test_leaving_for_good_is_refused_when_the_rest_could_not_commit():
    # 5 voters, 2 down: h0 leaving leaves 4 voters with 2 answering (3 needed)
    got = quorum.take_down(group(3, 2), 'h0', permanent=True)
    assert not got['ok'] and got['after']['voters'] == 4 and got['after']['healthy'] == 2


def test_nothing_is_taken_down_from_a_group_without_quorum():
    got = quorum.take_down(group(1, 2), 'h0', what='manager')
    assert not got['ok'] and got['reason'] == 'only 1 of 3 managers answer (2 needed): the group has lost its quorum already'


def test_a_node_that_is_not_a_voter_may_always_go_down():
    assert quorum.take_down(group(1, 2), 'worker-1') == {'ok': True, 'reason': '', 'after': quorum.state(group(1, 2))}


@pytest.mark.parametrize('voters', range(1, 8))
def test_a_reboot_is_allowed_exactly_when_one_more_failure_is_tolerated(voters):
    for healthy in range(1, voters + 1):
        got = quorum.take_down(group(healthy, voters - healthy), 'h0')
        assert got['ok'] == (quorum.tolerance(voters, healthy) >= 1), (voters, healthy)
