# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the swarm role: node labels, the anchor manager, the verify table and the stale entries to remove.

Private to the picocloud.edge collection. Pure functions over the shapes community.docker returns
(docker_host_info's host_info.Swarm, docker_swarm_info's nodes), so each is unit-tested.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.picocloud.edge.plugins.module_utils import quorum

# The swarm-level label naming the site a swarm belongs to.
SITE_LABEL = 'io.picocloud.site'


def node_labels(picocloud_facts, extra=None):
    """The labels every node carries: arch, board and memory_mb from pi_facts, then `extra` (inventory wins).

    Docker labels are strings. memory_mb is the node's nominal memory; it is left out (never removed) when
    the facts do not tell it.
    """
    facts = picocloud_facts or {}
    labels = {
        'arch': (facts.get('arch') or {}).get('debian_arch') or 'unknown',
        'board': (facts.get('board') or {}).get('type') or 'none',
    }
    memory = (facts.get('memory') or {}).get('nominal_mb')
    if memory:
        labels['memory_mb'] = memory
    labels.update(extra or {})
    return dict((str(key), str(value)) for key, value in labels.items())


def choose_anchor(managers, states, site):
    """The manager that leads the run, or '' when none can.

    `managers`: the inventory's present managers that are in the play, in inventory order; `states`:
    {host: {'engine_ok': bool, 'node': host_info.Swarm}}. In order of preference: a manager of this
    site's swarm, a manager of an unlabelled swarm (made before the label existed), then a free engine
    (not in any swarm) to create the swarm on. A manager of another site's swarm is never chosen.
    """
    ours, unlabelled, free = [], [], []
    for host in managers:
        state = states.get(host) or {}
        if not state.get('engine_ok'):
            continue
        node = state.get('node') or {}
        labels = ((node.get('Cluster') or {}).get('Spec') or {}).get('Labels') or {}
        if node.get('ControlAvailable') and labels.get(SITE_LABEL, '') == site:
            ours.append(host)
        elif node.get('ControlAvailable') and labels.get(SITE_LABEL, '') == '':
            unlabelled.append(host)
        elif node.get('LocalNodeState', 'inactive') == 'inactive':
            free.append(host)
    return (ours + unlabelled + free + [''])[0]


ROW = '{:<20} {:<8} {:<8} {:<8} {:<12} {}'


def verify_report(swarm_nodes, inventory_managers, inventory_workers, own_states, hostnames=None, error=None):
    """The swarm as its managers list it, checked against the inventory.

    `swarm_nodes`: docker_swarm_info's nodes (the swarm's own list); `own_states`: {host: host_info.Swarm, or
    None when the host's engine did not answer}; `hostnames`: {host: the node's hostname} when it differs from
    the inventory name. An entry belongs to the inventory host whose engine says it is that node (its NodeID),
    else to the host of that hostname. Every entry is a row, flagged DOWN (not ready), UNKNOWN (no inventory
    host), DUPLICATE (a hostname listed twice: the ghost of a re-flashed node) or STALE (the host's engine is
    another node now); an inventory host with no entry is MISSING. Returns {'lines', 'problems', 'leader',
    'managers_reachable'}.
    """
    inventory = list(dict.fromkeys(list(inventory_managers) + list(inventory_workers)))
    hostnames = dict((host, (hostnames or {}).get(host) or host) for host in inventory)
    by_hostname = dict((name, host) for host, name in hostnames.items())
    own_ids = dict((host, (state or {}).get('NodeID')) for host, state in own_states.items() if state)
    by_id = dict((node_id, host) for host, node_id in own_ids.items() if node_id)
    names = [node.get('Hostname', '') for node in swarm_nodes]
    lines = [ROW.format('NODE', 'ROLE', 'STATUS', 'AVAIL', 'MANAGER', 'ENGINE (as the node itself says)')]
    problems = []
    claimed = set()
    for node in sorted(swarm_nodes, key=lambda n: (n.get('Hostname', ''), n.get('ID', ''))):
        name = node.get('Hostname', '')
        host = by_id.get(node.get('ID')) or by_hostname.get(name)
        manager_status = node.get('ManagerStatus') or ''
        role = 'manager' if manager_status else 'worker'
        status = node.get('Status', 'unknown')
        flags = []
        if status != 'ready':
            flags.append('DOWN')
        if host is None:
            flags.append('UNKNOWN')
        if names.count(name) > 1:
            flags.append('DUPLICATE')
        if host is None:
            engine = '-'
        elif own_states.get(host) is None:
            engine = 'NOT ANSWERING'
        elif own_ids.get(host) and own_ids[host] != node.get('ID'):
            engine = 'stale entry (the node is %s now)' % own_ids[host][:12]
            flags.append('STALE')
        else:
            engine = 'swarm %s' % own_states[host].get('LocalNodeState', '?')
            claimed.add(host)
        label = name if host in (None, name) else '%s (%s)' % (name, host)
        lines.append(ROW.format(label, role, status, node.get('Availability', '-'), manager_status or '-',
                                engine + ('  ' + ' '.join(flags) if flags else '')))
        for flag in flags:
            problems.append('%s %s (%s, node %s)' % (flag, name, role, node.get('ID', '?')[:12]))
    for host in inventory:
        if error:
            own = own_states.get(host)
            lines.append(ROW.format(host, '-', '?', '-', '-', 'NOT ANSWERING' if own is None
                                    else 'swarm %s (the node list could not be read)' % own.get('LocalNodeState', '?')))
        elif host not in claimed and hostnames[host] not in names:
            lines.append(ROW.format(host, '-', 'absent', '-', '-', 'MISSING from the swarm'))
            problems.append('MISSING %s (in the inventory, not in the swarm)' % host)
    leaders = [n.get('Hostname', '') for n in swarm_nodes if n.get('ManagerStatus') == 'Leader']
    group = manager_group(swarm_nodes)
    counts = quorum.state(group)
    lines.append('leader: %s' % (', '.join(leaders) if leaders else 'NONE'))
    lines.append('managers: %d of %d reachable; the swarm tolerates %d more manager failure(s)'
                 % (counts['healthy'], counts['voters'], counts['tolerance']))
    if error:
        lines.append('NO QUORUM: no manager could list the swarm (%s)' % error)
        problems.append('NO QUORUM: no manager could list the swarm (%s)' % error)
    elif not leaders:
        problems.append('NO LEADER: a majority of managers is down')
    if swarm_nodes and counts['voters'] and not counts['writable'] and not error:
        problems.append('NO QUORUM: %d of %d managers reachable, %d needed'
                        % (counts['healthy'], counts['voters'], counts['majority']))
    return {'lines': lines, 'problems': problems, 'leader': leaders[0] if leaders else '',
            'managers_reachable': counts['healthy']}


def _reachable(node):
    return node.get('ManagerStatus') in ('Leader', 'Reachable', 'reachable') and node.get('Status') == 'ready'


def manager_group(swarm_nodes):
    """The managers' raft group as quorum counts it: {node ID: reachable}."""
    return dict((n.get('ID'), _reachable(n)) for n in swarm_nodes if n.get('ManagerStatus'))


def ghost_plan(swarm_nodes, node_ids, hostnames=None):
    """The stale entries of re-flashed nodes, and what to do with each: demote (a manager) then remove.

    `swarm_nodes`: the swarm's own list (docker_swarm_info nodes); `node_ids`: {inventory host: the NodeID its
    engine reports now, '' when it is in no swarm}; `hostnames`: {host: hostname} where it is not the inventory
    name. An entry is stale when its hostname is an inventory host's whose engine is another node of this swarm
    now, that new entry is ready (and reachable, for a manager), and the stale entry is not: the node was
    re-flashed and joined again under its old name. Entries of hosts that did not answer, of nodes that are
    still down without a replacement, or that the inventory does not know are never touched (verify flags
    them). Ghost managers are demoted one at a time while the managers' group stays writable (module_utils
    quorum), then every ghost is removed. Returns {'ghosts': [{'id', 'hostname', 'host', 'manager'}], 'demote':
    [ids in order], 'remove': [ids], 'waiting': ['<host>: ...'], 'refused': [reasons]}.
    """
    hostnames = dict((host, (hostnames or {}).get(host) or host) for host in node_ids)
    by_id = dict((n.get('ID'), n) for n in swarm_nodes)
    ghosts, waiting = [], []
    for host, own_id in sorted(node_ids.items()):
        name = hostnames[host]
        stale = [n for n in swarm_nodes if n.get('Hostname') == name and n.get('ID') != own_id]
        if not stale or not own_id:
            continue
        new = by_id.get(own_id)
        if new is None or new.get('Status') != 'ready' or (new.get('ManagerStatus') and not _reachable(new)):
            state = 'in the list' if new is None else 'ready and reachable'
            waiting.append('%s: its new node %s is not %s yet' % (host, own_id[:12], state))
            continue
        for entry in stale:
            if entry.get('Status') == 'ready' or _reachable(entry):
                waiting.append('%s: the entry %s still answers; it is never removed' % (host, entry.get('ID', '?')[:12]))
                continue
            ghosts.append({'id': entry.get('ID'), 'hostname': name, 'host': host,
                           'manager': bool(entry.get('ManagerStatus'))})
    demote = [g['id'] for g in ghosts if g['manager']]
    group = manager_group(swarm_nodes)
    if ghosts and not quorum.state(group)['writable']:
        counts = quorum.state(group)
        return {'ghosts': ghosts, 'demote': [], 'remove': [], 'waiting': waiting,
                'refused': ['%d of %d managers reachable (%d needed): the swarm cannot change its membership, so no '
                            'stale entry is removed' % (counts['healthy'], counts['voters'], counts['majority'])]}
    plan = quorum.remove_unhealthy(group, demote, what='manager')
    return {'ghosts': ghosts, 'demote': demote if plan['ok'] else [],
            'remove': [g['id'] for g in ghosts if plan['ok'] or not g['manager']],
            'waiting': waiting, 'refused': plan['reasons']}


def departure(swarm_nodes, node_id, permanent=False):
    """Whether the node `node_id` may go down for a while (`permanent` false: a reboot, an upgrade) or leave
    for good, with the managers' group still writable. Workers may always go. Returns {'ok', 'reason'}."""
    node = dict((n.get('ID'), n) for n in swarm_nodes).get(node_id)
    if node is None or not node.get('ManagerStatus'):
        return {'ok': True, 'reason': ''}
    managers = [n for n in swarm_nodes if n.get('ManagerStatus')]
    names = [n.get('Hostname', '') for n in managers]

    def label(entry):
        name = entry.get('Hostname', '')
        return name if names.count(name) == 1 else '%s/%s' % (name, entry.get('ID', '?')[:12])
    group = dict((label(n), _reachable(n)) for n in managers)
    got = quorum.take_down(group, label(node), permanent=permanent, what='manager')
    return {'ok': got['ok'], 'reason': got['reason']}
