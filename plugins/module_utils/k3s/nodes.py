# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster's node list (``kubectl get nodes -o json``) read into states and checked, private to picocloud.edge.

Private to the picocloud.edge collection: no compatibility promise to other collections.

The Node object is the Kubernetes core/v1 Node (kubernetes.io API reference): ``metadata.name`` and
``labels`` (``node-role.kubernetes.io/<role>``), ``spec.unschedulable``, ``status.conditions`` (the
``Ready`` condition's ``status`` is ``"True"`` when the kubelet is ready), ``status.addresses`` and
``status.nodeInfo.kubeletVersion`` (k3s reports its own version there, e.g. ``v1.33.4+k3s1``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError

ROLE_PREFIX = 'node-role.kubernetes.io/'


def load_nodes(nodes):
    """The items of `kubectl get nodes -o json` (its text or the parsed List); K3sError when it is not one."""
    if isinstance(nodes, str):
        try:
            nodes = json.loads(nodes)
        except ValueError as exc:
            raise K3sError('nodes: not the JSON of kubectl get nodes -o json (%s)' % exc)
    if not isinstance(nodes, dict) or not isinstance(nodes.get('items'), list):
        raise K3sError('nodes: expected a List of Node objects (kubectl get nodes -o json)')
    return nodes['items']


def states(nodes):
    """``{name: {ready, roles, version, address, unschedulable}}`` for every node in the list."""
    result = {}
    for item in load_nodes(nodes):
        if not isinstance(item, dict):
            raise K3sError('nodes: an item is not a Node object: %r' % (item,))
        metadata = item.get('metadata') or {}
        status = item.get('status') or {}
        name = metadata.get('name')
        if not isinstance(name, str):
            raise K3sError('nodes: a Node without metadata.name')
        ready = [condition for condition in status.get('conditions') or []
                 if isinstance(condition, dict) and condition.get('type') == 'Ready']
        addresses = [entry.get('address') for entry in status.get('addresses') or []
                     if isinstance(entry, dict) and entry.get('type') == 'InternalIP']
        result[name] = {
            'ready': bool(ready) and ready[0].get('status') == 'True',
            'roles': sorted(key[len(ROLE_PREFIX):] for key in (metadata.get('labels') or {}) if key.startswith(ROLE_PREFIX)),
            'version': (status.get('nodeInfo') or {}).get('kubeletVersion'),
            'address': addresses[0] if addresses else None,
            'unschedulable': bool((item.get('spec') or {}).get('unschedulable')),
        }
    return result


def problems(nodes, expected, version=None):
    """What is wrong with the cluster against the inventory: one message per node.

    ``expected`` maps each inventory node to ``server`` or ``agent``. Reports nodes that are missing or not
    Ready, servers without the control-plane role, cordoned nodes, nodes on another version than
    ``version`` (when given), and nodes the inventory does not know.
    """
    found = states(nodes)
    if not isinstance(expected, dict):
        raise K3sError('expected: %r must map node names to server or agent' % (expected,))
    messages = []
    for name, role in expected.items():
        node = found.get(name)
        if node is None:
            messages.append('%s: not in the cluster' % name)
            continue
        if not node['ready']:
            messages.append('%s: NotReady' % name)
        if role == 'server' and 'control-plane' not in node['roles']:
            messages.append('%s: is a server in the inventory but has no control-plane role' % name)
        if node['unschedulable']:
            messages.append('%s: cordoned (SchedulingDisabled)' % name)
        if version is not None and node['version'] != version:
            messages.append('%s: runs %s, not %s' % (name, node['version'], version))
    for name in sorted(set(found) - set(expected)):
        messages.append('%s: in the cluster but not in k3s_servers or k3s_agents' % name)
    return messages
