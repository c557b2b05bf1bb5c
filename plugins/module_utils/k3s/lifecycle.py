# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The k3s cluster as its API lists it: the verify table, the stale Node objects of re-flashed nodes, and the
etcd quorum gate for reboots and removals.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Pure functions over ``kubectl get nodes -o json`` (the core/v1 Node: ``metadata.name``, ``labels``,
``annotations``, ``spec.unschedulable``, ``status.conditions`` (Ready), ``status.addresses``,
``status.nodeInfo.machineID`` and ``kubeletVersion``). k3s's embedded etcd: every server Node carries
``node-role.kubernetes.io/etcd=true`` and its etcd member name in the ``etcd.k3s.cattle.io/node-name``
annotation; annotating a Node with ``etcd.k3s.cattle.io/remove=true`` makes k3s's member controller remove
that member, which it confirms with ``etcd.k3s.cattle.io/removed-node-name`` (k3s pkg/etcd). A re-flashed
node has a new ``/etc/machine-id``, so the old Node object of its name carries another machineID.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.picocloud.edge.plugins.module_utils import quorum
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError
from ansible_collections.picocloud.edge.plugins.module_utils.k3s.nodes import load_nodes

ETCD_LABEL = 'node-role.kubernetes.io/etcd'
CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane'
ETCD_MEMBER = 'etcd.k3s.cattle.io/node-name'
ETCD_REMOVE = 'etcd.k3s.cattle.io/remove'
ETCD_REMOVED = 'etcd.k3s.cattle.io/removed-node-name'
ROW = '{:<20} {:<7} {:<9} {:<16} {:<16} {}'


def nodes_of(nodes):
    """{name: {ready, server, etcd, member, removed, machine_id, address, version, cordoned}} from the Node list."""
    found = {}
    for item in load_nodes(nodes):
        metadata = (item or {}).get('metadata') or {}
        status = (item or {}).get('status') or {}
        name = metadata.get('name')
        if not isinstance(name, str) or not name:
            raise K3sError('nodes: a Node without metadata.name: %r' % (item,))
        labels = metadata.get('labels') or {}
        annotations = metadata.get('annotations') or {}
        ready = [c for c in status.get('conditions') or [] if isinstance(c, dict) and c.get('type') == 'Ready']
        addresses = [a.get('address') for a in status.get('addresses') or [] if isinstance(a, dict) and a.get('type') == 'InternalIP']
        found[name] = {
            'ready': bool(ready) and ready[0].get('status') == 'True',
            'server': labels.get(CONTROL_PLANE_LABEL) == 'true' or labels.get(ETCD_LABEL) == 'true',
            'etcd': labels.get(ETCD_LABEL) == 'true' and not annotations.get(ETCD_REMOVED),
            'member': annotations.get(ETCD_MEMBER, ''),
            'removed': annotations.get(ETCD_REMOVED, ''),
            'machine_id': (status.get('nodeInfo') or {}).get('machineID', ''),
            'version': (status.get('nodeInfo') or {}).get('kubeletVersion', ''),
            'address': addresses[0] if addresses else '',
            'cordoned': bool(((item or {}).get('spec') or {}).get('unschedulable')),
        }
    return found


def etcd_group(nodes):
    """The embedded etcd's members as quorum counts them: {node name: Ready}."""
    return dict((name, node['ready']) for name, node in nodes_of(nodes).items() if node['etcd'])


def verify_report(nodes, expected, names=None, machine_ids=None, error=None):
    """The cluster's own Node list checked against the inventory.

    `expected`: {host: 'server' or 'agent'}; `names`: {host: node name} where it is not the inventory name;
    `machine_ids`: {host: the node's /etc/machine-id, or None when it did not answer}; `error`: why the list
    could not be read. Every Node is a row, flagged DOWN (NotReady), UNKNOWN (no inventory host), STALE (the
    host is another machine now: a re-flashed node whose old object is still there), CORDONED, or ROLE (a
    server without the control-plane role); an inventory host without a Node is MISSING. With embedded etcd,
    fewer Ready members than a majority is NO QUORUM. Returns {'lines', 'problems', 'etcd_voters',
    'etcd_ready'}.
    """
    if error:
        return {'lines': ['the nodes could not be read: %s' % error], 'problems': ['NODES UNREADABLE: %s' % error],
                'etcd_voters': 0, 'etcd_ready': 0}
    found = nodes_of(nodes)
    names = dict((host, (names or {}).get(host) or host) for host in expected)
    by_name = dict((name, host) for host, name in names.items())
    machine_ids = machine_ids or {}
    lines = [ROW.format('NODE', 'ROLE', 'STATUS', 'VERSION', 'ADDRESS', 'MACHINE (as the node itself says)')]
    problems = []
    for name in sorted(found):
        node = found[name]
        host = by_name.get(name)
        flags = []
        if not node['ready']:
            flags.append('DOWN')
        if host is None:
            flags.append('UNKNOWN')
            machine = '-'
        elif host in machine_ids and machine_ids[host] is None:
            machine = 'NOT ANSWERING'
        elif machine_ids.get(host) and node['machine_id'] and machine_ids[host] != node['machine_id']:
            machine = 'stale object (the node is machine %s now)' % machine_ids[host][:8]
            flags.append('STALE')
        else:
            machine = 'same machine' if machine_ids.get(host) else 'not asked'
        if node['cordoned']:
            flags.append('CORDONED')
        if host is not None and expected[host] == 'server' and not node['server']:
            flags.append('ROLE')
        role = 'server' if node['server'] else 'agent'
        lines.append(ROW.format(name, role, 'Ready' if node['ready'] else 'NotReady', node['version'] or '-',
                                node['address'] or '-', machine + ('  ' + ' '.join(flags) if flags else '')))
        for flag in flags:
            problems.append('%s %s (%s)' % (flag, name, role))
    for host in expected:
        if names[host] not in found:
            lines.append(ROW.format(names[host], expected[host], 'absent', '-', '-', 'MISSING from the cluster'))
            problems.append('MISSING %s (in the inventory, not in the cluster)' % names[host])
    counts = quorum.state(etcd_group(nodes))
    if counts['voters']:
        lines.append('etcd: %d of %d members Ready; the cluster tolerates %d more server failure(s)'
                     % (counts['healthy'], counts['voters'], counts['tolerance']))
        if not counts['writable']:
            problems.append('NO QUORUM: %d of %d etcd members Ready, %d needed'
                            % (counts['healthy'], counts['voters'], counts['majority']))
    return {'lines': lines, 'problems': problems, 'etcd_voters': counts['voters'], 'etcd_ready': counts['healthy']}


def ghost_plan(nodes, hosts, names=None):
    """The Node objects a re-flashed node left behind, to clean up BEFORE it joins again.

    `hosts`: {host: {'role': 'server' or 'agent', 'machine_id': its /etc/machine-id now}} for the hosts that
    answered this run. The Node object of a host's name is stale when it is NotReady and carries another
    machineID: the old identity. A stale server's etcd member is removed first (annotation, confirmed by
    k3s), while the etcd members stay writable (module_utils quorum); then the object is deleted, which also
    drops its node password, so the new node can register under the old name. Ready objects are never
    touched. Returns {'etcd_remove': [names], 'delete': [names], 'waiting': [...], 'refused': [reasons]}.
    """
    found = nodes_of(nodes)
    names = dict((host, (names or {}).get(host) or host) for host in hosts)
    stale, waiting = [], []
    for host in sorted(hosts):
        node = found.get(names[host])
        machine_id = (hosts[host] or {}).get('machine_id') or ''
        if node is None or not machine_id or not node['machine_id'] or node['machine_id'] == machine_id:
            continue
        if node['ready']:
            waiting.append('%s: the Node object %s is Ready although the host is another machine now; it is never '
                           'removed' % (host, names[host]))
            continue
        stale.append(names[host])
    etcd = [name for name in stale if found[name]['etcd']]
    plan = quorum.remove_unhealthy(etcd_group(nodes), etcd, what='etcd member')
    if not plan['ok']:
        return {'etcd_remove': [], 'delete': [name for name in stale if not found[name]['server']],
                'waiting': waiting, 'refused': plan['reasons']}
    return {'etcd_remove': etcd, 'delete': stale, 'waiting': waiting, 'refused': []}


def departure(nodes, name, permanent=False):
    """Whether the node `name` may go down for a while (reboot, upgrade) or leave for good with the embedded
    etcd still writable; agents (and servers on an external datastore) may always go. {'ok', 'reason'}."""
    got = quorum.take_down(etcd_group(nodes), name, permanent=permanent, what='etcd member')
    return {'ok': got['ok'], 'reason': got['reason']}
