# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Raft quorum arithmetic shared by the swarm managers, the Consul servers and k3s's etcd members.

Private to the picocloud.edge collection. Pure functions: every decision that removes a member from a
raft group, or takes one down for a while, goes through here, so each quorum case has a unit test.

A raft group of ``voters`` members commits a change (a write, or a change of its own membership) only
while a majority, ``voters // 2 + 1``, of them answer. Members are given as ``{member id: healthy}``:
healthy means the member answers now (a swarm manager ``reachable``, a Consul server ``alive``, an etcd
member whose node is Ready).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class QuorumError(ValueError):
    """Members that cannot be counted (not a mapping of member id to a bool)."""


def majority(voters):
    """How many members must answer for a group of `voters` to commit (0 for an empty group)."""
    voters = int(voters)
    if voters < 0:
        raise QuorumError('voters: %d is negative' % voters)
    return voters // 2 + 1 if voters else 0


def tolerance(voters, healthy):
    """How many more members may fail before the group of `voters`, `healthy` of them answering, stops."""
    return max(0, int(healthy) - majority(voters))


def _members(members):
    if not isinstance(members, dict):
        raise QuorumError('members: expected {member id: healthy}, got %s' % type(members).__name__)
    for key, value in members.items():
        if not isinstance(value, bool):
            raise QuorumError('members[%r]: healthy must be true or false, got %r' % (key, value))
    return members


def state(members):
    """{'voters', 'healthy', 'majority', 'tolerance', 'writable'} of a group."""
    members = _members(members)
    voters = len(members)
    healthy = len([1 for value in members.values() if value])
    return {'voters': voters, 'healthy': healthy, 'majority': majority(voters),
            'tolerance': tolerance(voters, healthy), 'writable': voters > 0 and healthy >= majority(voters)}


def remove_unhealthy(members, remove, what='member'):
    """Check removing the stale members `remove` (ids) from the group, one at a time, in the given order.

    Only members that do not answer may be removed this way: a healthy member in `remove` refuses the whole
    plan. Each removal is a membership change, so the group must be writable before it; removing a member
    that does not answer never lowers the healthy count, so the group stays writable after each step and
    tolerates at least as many failures as before. Returns {'ok', 'reasons', 'steps'}: one step per removal
    with the group's state after it.
    """
    members = dict(_members(members))
    reasons = []
    for member in remove:
        if member not in members:
            reasons.append('%s %s is not in the group' % (what, member))
        elif members[member]:
            reasons.append('%s %s answers: a healthy member is never removed' % (what, member))
    if reasons:
        return {'ok': False, 'reasons': reasons, 'steps': []}
    steps = []
    for member in remove:
        before = state(members)
        if not before['writable']:
            reasons.append('the group has %d of %d %ss answering and needs %d to change its membership: %s %s cannot '
                           'be removed until a majority answers again'
                           % (before['healthy'], before['voters'], what, before['majority'], what, member))
            break
        del members[member]
        steps.append(dict(state(members), removed=member))
    return {'ok': not reasons, 'reasons': reasons, 'steps': steps}


def take_down(members, member, permanent=False, what='member'):
    """Check taking the healthy `member` down: for a while (a reboot, an upgrade) or for good (it leaves).

    For a while, the group keeps its size and must stay writable with one member fewer answering. For
    good (`permanent`), the member leaves the group first (a membership change the group must be writable
    for), and the smaller group must be writable with the remaining healthy members. Returns {'ok',
    'reason', 'after'}.
    """
    members = dict(_members(members))
    if member not in members:
        # not a voter: taking it down does not touch the group
        return {'ok': True, 'reason': '', 'after': state(members)}
    before = state(members)
    if not before['writable']:
        return {'ok': False, 'after': before,
                'reason': 'only %d of %d %ss answer (%d needed): the group has lost its quorum already'
                          % (before['healthy'], before['voters'], what, before['majority'])}
    if permanent:
        del members[member]
    else:
        members[member] = False
    after = state(members)
    if not after['writable']:
        return {'ok': False, 'after': after,
                'reason': '%d of %d %ss answer; without %s %d of %d would, fewer than the %d the group needs to stay '
                          'writable' % (before['healthy'], before['voters'], what, member, after['healthy'],
                                        after['voters'], after['majority'])}
    return {'ok': True, 'reason': '', 'after': after}
