# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's node list, its site file and its refusal to touch Docker objects it did not create.

Private to the picocloud.edge collection. Pure functions, unit-tested.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import ipaddress

# Raspberry Pi Ltd's OUI for the Pi 4 generation (IEEE MA-L DC-A6-32): lab nodes look like Pi 4s on the LAN.
LAB_OUI = 'dc:a6:32'
# Node N gets the subnet's host address (FIRST_HOST + N); .1 is the gateway.
FIRST_HOST = 10


class LabError(ValueError):
    """A lab setting that cannot make a lab."""


def lab_mac(lab_name, index):
    """A stable, locally unique MAC in the Raspberry Pi OUI block for node `index` of lab `lab_name`.

    The fourth byte comes from the lab's name, so two labs on one machine do not share MACs; the last two
    are the node's index.
    """
    salt = int(hashlib.sha256(lab_name.encode('utf-8')).hexdigest()[:2], 16)
    return '%s:%02x:%02x:%02x' % (LAB_OUI, salt, (index >> 8) & 0xff, index & 0xff)


def node_list(name, count, arch='amd64', arm64_nodes=0, subnet='172.30.10.0/24', managers=1, consul_servers=3,
              host_arch='amd64'):
    """The lab's nodes: name, index, address, mac, arch, emulated, volume and roles.

    The last `arm64_nodes` nodes are arm64 (all of them with arch=arm64); a node whose arch is not the
    host's runs under qemu-user (`emulated`). The first `managers` nodes are swarm managers (the others
    workers), the first `consul_servers` nodes are Consul servers (never more than the lab has) and the first
    node is the site registry.
    """
    try:
        network = ipaddress.ip_network(subnet, strict=True)
    except ValueError as exc:
        raise LabError('lab_subnet=%s is not an IPv4 network: %s' % (subnet, exc))
    if network.version != 4 or network.num_addresses < count + FIRST_HOST + 2:
        raise LabError('lab_subnet=%s has no room for %d nodes from .%d on' % (subnet, count, FIRST_HOST + 1))
    nodes = []
    for index in range(1, count + 1):
        node_arch = 'arm64' if (arch == 'arm64' or index > count - arm64_nodes) else arch
        node_name = '%s-%02d' % (name, index)
        roles = ['swarm_manager' if index <= managers else 'swarm_worker']
        if index <= min(consul_servers, count):
            roles.append('consul_server')
        if index == 1:
            # the site registry runs on the first node (an amd64 one in a mixed lab)
            roles.append('registry')
        nodes.append({
            'name': node_name,
            'index': index,
            'address': str(network.network_address + FIRST_HOST + index),
            'mac': lab_mac(name, index),
            'arch': node_arch,
            'emulated': node_arch != host_arch,
            'volume': node_name + '-docker',
            'roles': roles,
        })
    return nodes


def foreign_objects(label, lab_name, containers, network, volumes):
    """Docker objects that carry the lab's names without its label, as 'kind name' strings.

    `containers` and `volumes` are docker_container_info / docker_volume_info results (each with `exists`,
    `item` and the object), `network` a docker_network_info result.
    """
    found = []
    for result in containers:
        config = (result.get('container') or {}).get('Config') or {}
        if result.get('exists') and (config.get('Labels') or {}).get(label) != lab_name:
            found.append('container ' + result['item']['name'])
    if network.get('exists') and ((network.get('network') or {}).get('Labels') or {}).get(label) != lab_name:
        found.append('network ' + network['network']['Name'])
    for result in volumes:
        if result.get('exists') and ((result.get('volume') or {}).get('Labels') or {}).get(label) != lab_name:
            found.append('volume ' + result['item']['volume'])
    return found


# The lab's Swarm manager becomes the orchestrator's control-plane role; workers (agents) are every other
# node, which the site plugin makes without being told.
CONTROL_ROLES = {'swarm': 'swarm_manager', 'k3s': 'k3s_server'}


def site_roles(node, orchestrator):
    """The site-file roles of one lab node: its control-plane, Consul server and registry roles; workers are
    not named (the plugin makes them)."""
    roles = []
    if 'swarm_manager' in node['roles']:
        roles.append(CONTROL_ROLES[orchestrator])
    if 'consul_server' in node['roles']:
        roles.append('consul_server')
    if 'registry' in node['roles']:
        roles.append('registry')
    return roles


def site_file(nodes, site, orchestrator, admin_user, key, known_hosts, secrets_dir):
    """The lab's site file for the picocloud.edge.site inventory plugin, as data (written with to_nice_yaml,
    never templated as text), so the lab and real hardware take one inventory path.

    Each node is pinned to its address and declares the Raspberry Pi OUI MAC its container carries, its arch
    and its roles; discovery reads the controller's neighbour table (the lab bridge is on the controller), so a
    node whose address is taken out of the file is found by its MAC. Undeclared Pis are not reported: the
    controller sees every lab on the machine, and another lab's nodes are not this site's to claim. The
    connection settings turn on SSH pipelining and a persistent master connection (ControlPersist), which
    roughly halve a no-op run. The site's secrets live in the lab's own state directory, so two labs never
    share a CA or tokens, and `lab down` takes them with the nodes.
    """
    if orchestrator not in CONTROL_ROLES:
        raise LabError('lab_orchestrator=%s is not one of %s' % (orchestrator, ', '.join(sorted(CONTROL_ROLES))))
    entries = []
    for node in nodes:
        entries.append({
            'name': node['name'],
            'mac': node['mac'],
            'address': node['address'],
            'arch': node['arch'],
            'roles': site_roles(node, orchestrator),
            'vars': dict({'picocloud_lab_arch': node['arch'], 'picocloud_lab_emulated': bool(node.get('emulated'))},
                         # qemu-user cannot start a container's runc shim ("failed to start shim: ... invalid argument"):
                         # an emulated node is a swarm member that runs no tasks (docs/lab.md)
                         **({'swarm_node_availability': 'drain'} if node.get('emulated') else {})),
        })
    return {
        'plugin': 'picocloud.edge.site',
        'site': site,
        'orchestrator': orchestrator,
        'discovery': {'sources': ['neighbours'], 'unclaimed': False},
        'defaults': {
            'picocloud_lab': True,
            'picocloud_secrets_dir': secrets_dir,
            'ansible_user': admin_user,
            'ansible_ssh_private_key_file': key,
            'ansible_ssh_common_args': '-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'
                                       % known_hosts,
            'ansible_ssh_args': '-o ControlMaster=auto -o ControlPersist=300s',
            'ansible_ssh_pipelining': True,
            'ansible_python_interpreter': '/usr/bin/python3',
        },
        # nodes under qemu-user: every task on them runs Python emulated, so a test run may join them later
        'groups': {'lab_emulated': 'picocloud_lab_emulated'},
        'nodes': entries,
    }
