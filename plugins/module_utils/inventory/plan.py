# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory a site file describes: hosts, their variables, groups and the quorum checks.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Group rules (DESIGN.md's names):
- ``picocloud``: every declared node, present or absent;
- ``absent``: declared nodes with ``state: absent`` (kept for decommissioning); they join no role group;
- a role's group (``swarm_managers``, ``k3s_servers``, ``consul_servers``, ``registry``, ...): the present
  nodes that list the role;
- ``swarm_workers`` (a swarm site) or ``k3s_agents`` (a k3s site): every other present node, so a node
  that is not a manager/server is a worker/agent without saying so;
- ``unclaimed``: Raspberry Pis that discovery saw but the file does not declare.
Every group is created even when empty, so ``groups['k3s_agents']`` always exists.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.picocloud.edge.plugins.module_utils.inventory.sitefile import ROLES, SiteError

STANDARD_GROUPS = ('picocloud', 'absent', 'swarm_managers', 'swarm_workers', 'k3s_servers', 'k3s_agents',
                   'consul_servers', 'registry', 'unclaimed')
# orchestrator -> (its control-plane group, the group of every other present node)
ORCHESTRATOR_GROUPS = {'swarm': ('swarm_managers', 'swarm_workers'), 'k3s': ('k3s_servers', 'k3s_agents')}
QUORUM_GROUPS = ('consul_servers', 'k3s_servers', 'swarm_managers')


def role_groups(site):
    """{group: [node names]} for the declared nodes, in file order."""
    groups = dict((name, []) for name in STANDARD_GROUPS)
    control, rest = ORCHESTRATOR_GROUPS[site['orchestrator']]
    for node in site['nodes']:
        groups['picocloud'].append(node['name'])
        if node['state'] == 'absent':
            groups['absent'].append(node['name'])
            continue
        for role in node['roles']:
            group = ROLES[role][0]
            if group != rest:
                groups[group].append(node['name'])
        if node['name'] not in groups[control]:
            groups[rest].append(node['name'])
    return groups


def quorum_problems(site, groups):
    """(errors, warnings): a missing control plane is an error; an even number of Raft voters a warning."""
    errors, warnings = [], []
    present = [name for name in groups['picocloud'] if name not in groups['absent']]
    if not present:
        return errors, warnings
    control = ORCHESTRATOR_GROUPS[site['orchestrator']][0]
    if not groups[control]:
        role = 'swarm_manager' if control == 'swarm_managers' else 'k3s_server'
        errors.append('%s: roles: orchestrator %s needs at least one present node with role %s'
                      % (site['path'], site['orchestrator'], role))
    for group in QUORUM_GROUPS:
        members = groups[group]
        if group in ('k3s_servers', 'swarm_managers') and ORCHESTRATOR_GROUPS[site['orchestrator']][0] != group:
            continue
        if not members and group != 'consul_servers':
            continue
        if len(members) % 2 == 0:
            warnings.append('%s: roles: %s has %d present node(s)%s; Raft needs an odd number (1, 3 or 5) to keep '
                            'a majority' % (site['path'], group, len(members),
                                            ' (%s)' % ', '.join(members) if members else ''))
    return errors, warnings


def check_quorum(site, groups, strict):
    """Raise SiteError for errors (and for warnings when strict); return the warnings otherwise."""
    errors, warnings = quorum_problems(site, groups)
    if errors:
        raise SiteError(errors[0])
    if strict and warnings:
        raise SiteError(warnings[0] + ' (an error because strict is true)')
    return warnings


def node_vars(node, found):
    """The host variables of one declared node; `found` is its discovery match or None.

    Declared values are the operator's own and stay as they are; discovered values are returned
    separately so that the caller can mark them unsafe.
    """
    declared = {
        'picocloud_roles': list(node['roles']),
        'picocloud_state': node['state'],
    }
    for field, var in (('mac', 'picocloud_mac'), ('board', 'picocloud_board'), ('arch', 'picocloud_arch')):
        if node[field] is not None:
            declared[var] = node[field]
    if node['network']:
        declared['picocloud_network'] = dict(node['network'])
    discovered = {}
    if node['address']:
        declared['ansible_host'] = node['address']
        declared['picocloud_address_source'] = 'pinned'
    elif found:
        discovered['ansible_host'] = found['address']
        discovered['picocloud_address_source'] = found['source']
    else:
        declared['picocloud_address_source'] = 'none'
    if found:
        if node['mac'] is None and found.get('mac'):
            discovered['picocloud_mac'] = found['mac']
        if found.get('hostname'):
            discovered['picocloud_discovered_hostname'] = found['hostname']
    declared.update(node['vars'])
    return declared, discovered


def node_image(site, node):
    """The node's image (site image with the node's keys over it), or None when it has none of its own."""
    if not node['image']:
        return None
    image = dict(site['image'])
    image.update(node['image'])
    return image


def unclaimed_name(mac):
    """Inventory name of an unclaimed Pi: 'unclaimed-dca632000001'."""
    return 'unclaimed-' + mac.replace(':', '')


def unclaimed_vars(pi):
    """Host variables of one unclaimed Pi (all discovered)."""
    variables = {
        'picocloud_mac': pi['mac'],
        'picocloud_vendor': pi['vendor'],
        'picocloud_board_family': pi['board_family'],
        'picocloud_address_source': pi['source'],
    }
    if pi.get('address'):
        variables['ansible_host'] = pi['address']
    if pi.get('hostname'):
        variables['picocloud_discovered_hostname'] = pi['hostname']
    return variables
