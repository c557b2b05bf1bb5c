# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Consul cluster as its servers list it: the verify table, and the stale entries of re-flashed nodes.

Private to the picocloud.edge collection. Pure functions over the agent HTTP API's answers:
``/v1/agent/members`` (serf members: ``Name``, ``Addr``, ``Status``, ``Tags`` with ``role`` and the node's
``id``), ``/v1/operator/raft/configuration`` (``Servers``: ``ID``, ``Node``, ``Address``, ``Leader``,
``Voter``) and each node's ``/v1/agent/self`` (``Config.NodeName``, ``Config.NodeID``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.picocloud.edge.plugins.module_utils import quorum

# serf member states, as /v1/agent/members numbers them (consul/agent/structs: SerfMemberStatus)
STATUS = {0: 'none', 1: 'alive', 2: 'leaving', 3: 'left', 4: 'failed'}
ALIVE = 1
ROW = '{:<20} {:<22} {:<8} {:<7} {:<9} {}'


def _status(member):
    return STATUS.get(member.get('Status'), 'status %s' % member.get('Status'))


def _role(member):
    return 'server' if (member.get('Tags') or {}).get('role') == 'consul' else 'client'


def _node_id(member):
    return (member.get('Tags') or {}).get('id', '')


def _own_id(own):
    return ((own or {}).get('Config') or {}).get('NodeID', '')


def verify_report(members, raft, servers, clients, names=None, own=None, error=None):
    """The Consul members checked against the inventory, and the servers' raft group.

    `members`: /v1/agent/members as a server sees them; `raft`: /v1/operator/raft/configuration; `servers`,
    `clients`: the inventory hosts; `names`: {host: Consul node name} where it is not the inventory name;
    `own`: {host: /v1/agent/self, or None when the agent did not answer}; `error`: why the members could not
    be read. Every member is a row, flagged FAILED, LEFT or LEAVING (not alive), UNKNOWN (no inventory host of
    that name), DUPLICATE (a name listed twice), STALE (the host's agent is another node ID now) or ROLE (a
    server in the inventory that is a client, or the other way); an inventory host with no member is MISSING;
    a raft server with no alive member of its node ID is a STALE PEER. Returns {'lines', 'problems', 'leader',
    'voters', 'voters_alive'}.
    """
    hosts = list(dict.fromkeys(list(servers) + list(clients)))
    names = dict((host, (names or {}).get(host) or host) for host in hosts)
    by_name = dict((name, host) for host, name in names.items())
    own = own or {}
    problems, lines = [], []
    if error:
        problems.append('MEMBERS UNREADABLE: %s' % error)
        return {'lines': ['members could not be read: %s' % error], 'problems': problems, 'leader': '',
                'voters': 0, 'voters_alive': 0}
    servers_by_id = dict((s.get('ID'), s) for s in (raft or {}).get('Servers') or [])
    alive_ids = set(_node_id(m) for m in members if m.get('Status') == ALIVE)
    member_names = [m.get('Name', '') for m in members]
    lines.append(ROW.format('NODE', 'ADDRESS', 'STATUS', 'ROLE', 'RAFT', 'AGENT (as the node itself says)'))
    for member in sorted(members, key=lambda m: (m.get('Name', ''), _node_id(m))):
        name = member.get('Name', '')
        host = by_name.get(name)
        flags = []
        status = _status(member)
        if member.get('Status') != ALIVE:
            flags.append(status.upper())
        if host is None:
            flags.append('UNKNOWN')
        if member_names.count(name) > 1:
            flags.append('DUPLICATE')
        peer = servers_by_id.get(_node_id(member))
        raft_text = '-' if peer is None else ('leader' if peer.get('Leader') else ('voter' if peer.get('Voter') else 'nonvoter'))
        if host is None:
            agent = '-'
        elif own.get(host) is None and host in own:
            agent = 'NOT ANSWERING'
        elif _own_id(own.get(host)) and _own_id(own.get(host)) != _node_id(member):
            agent = 'stale entry (the node is %s now)' % _own_id(own[host])[:8]
            flags.append('STALE')
        else:
            agent = 'agent %s' % ('answers' if own.get(host) is not None else 'not asked')
        if host is not None and _role(member) != ('server' if host in servers else 'client'):
            flags.append('ROLE')
            agent += ' (a %s in the inventory)' % ('server' if host in servers else 'client')
        lines.append(ROW.format(name, '%s:%s' % (member.get('Addr', '?'), member.get('Port', '?')), status, _role(member),
                                raft_text, agent + ('  ' + ' '.join(flags) if flags else '')))
        for flag in flags:
            problems.append('%s %s (%s, node %s)' % (flag, name, _role(member), _node_id(member)[:8] or '?'))
    for host in hosts:
        if names[host] not in member_names:
            lines.append(ROW.format(names[host], '-', 'absent', '-', '-', 'MISSING from the members'))
            problems.append('MISSING %s (in the inventory, not a Consul member)' % names[host])
    voters = dict((s.get('ID'), s.get('ID') in alive_ids) for s in servers_by_id.values() if s.get('Voter'))
    for peer in sorted(servers_by_id.values(), key=lambda s: (s.get('Node', ''), s.get('ID', ''))):
        if peer.get('ID') not in alive_ids:
            lines.append('raft peer %s (%s, id %s) has no alive member: STALE PEER'
                         % (peer.get('Node', '?'), peer.get('Address', '?'), (peer.get('ID') or '?')[:8]))
            problems.append('STALE PEER %s (raft id %s, %s)' % (peer.get('Node', '?'), (peer.get('ID') or '?')[:8],
                                                                peer.get('Address', '?')))
    counts = quorum.state(voters)
    leaders = [s.get('Node', '') for s in servers_by_id.values() if s.get('Leader')]
    lines.append('leader: %s' % (', '.join(leaders) if leaders else 'NONE'))
    lines.append('raft: %d of %d voters alive; the cluster tolerates %d more server failure(s)'
                 % (counts['healthy'], counts['voters'], counts['tolerance']))
    if not leaders:
        problems.append('NO LEADER: the servers have no raft leader')
    if counts['voters'] and not counts['writable']:
        problems.append('NO QUORUM: %d of %d voters alive, %d needed' % (counts['healthy'], counts['voters'], counts['majority']))
    return {'lines': lines, 'problems': problems, 'leader': leaders[0] if leaders else '',
            'voters': counts['voters'], 'voters_alive': counts['healthy']}


def ghost_plan(members, raft, own, names=None):
    """The stale entries a re-flashed node left, which Consul 1.8 did not clean up by itself.

    `own`: {host: /v1/agent/self} of the agents that answered this run (the new identities); `names`: {host:
    node name}. A failed member of a host's name whose node ID is not the ID the host's agent has now is
    force-left (prune). A raft server whose ID no alive member has, on a replaced server's node name or
    address, is removed from the peers, one at a time while the voters stay writable (module_utils quorum).
    Alive members, and raft servers of alive members, are never touched. Returns {'force_leave': [names],
    'remove_peers': [{'id', 'node', 'address'}], 'refused': [reasons]}.
    """
    names = dict((host, (names or {}).get(host) or host) for host in own)
    new_ids = dict((names[host], _own_id(agent)) for host, agent in own.items() if _own_id(agent))
    alive_ids = set(_node_id(m) for m in members if m.get('Status') == ALIVE)
    force_leave = sorted(set(m.get('Name', '') for m in members
                             if m.get('Status') == 4 and m.get('Name') in new_ids and _node_id(m) != new_ids[m['Name']]))
    addresses = dict((m.get('Name'), m.get('Addr')) for m in members if m.get('Status') == ALIVE and _node_id(m) in new_ids.values())
    stale = []
    for peer in (raft or {}).get('Servers') or []:
        if peer.get('ID') in alive_ids:
            continue
        node = peer.get('Node', '')
        host_address = (peer.get('Address') or '').rsplit(':', 1)[0]
        if (node in new_ids and new_ids[node] != peer.get('ID')) or host_address in addresses.values():
            stale.append({'id': peer.get('ID'), 'node': node, 'address': peer.get('Address', '')})
    voters = dict((s.get('ID'), s.get('ID') in alive_ids) for s in (raft or {}).get('Servers') or [] if s.get('Voter'))
    plan = quorum.remove_unhealthy(voters, [s['id'] for s in stale if s['id'] in voters], what='server')
    return {'force_leave': force_leave, 'remove_peers': stale if plan['ok'] else [], 'refused': plan['reasons']}


def departure(members, raft, name, permanent=False):
    """Whether the agent `name` may go down for a while (a reboot, an upgrade) or leave for good with the
    servers' raft group still writable; clients may always go. Returns {'ok', 'reason'}."""
    alive = dict((m.get('Name'), _node_id(m)) for m in members if m.get('Status') == ALIVE)
    group = dict((s.get('Node') or s.get('ID'), s.get('ID') in alive.values())
                 for s in (raft or {}).get('Servers') or [] if s.get('Voter'))
    got = quorum.take_down(group, name, permanent=permanent, what='server')
    return {'ok': got['ok'], 'reason': got['reason']}
