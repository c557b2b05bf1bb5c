# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Match discovery observations to the declared nodes (MAC first, then host name) and list the
Raspberry Pis nobody declared.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Observations (see neighbours.py) are ranked by source in the documented order: neighbours, leases,
mdns; within a source by ``rank``. An observation without a MAC (an ``_ssh._tcp`` answer, a name
look-up) borrows the MAC the neighbour table gives its address.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.picocloud.edge.plugins.module_utils.inventory import vendor as vendor_data

SOURCE_ORDER = {'neighbours': 0, 'leases': 1, 'mdns': 2}


def _key(item):
    return (SOURCE_ORDER.get(item['source'], 9), item['rank'], ':' in item['address'])


def enrich(observations):
    """Sorted copies of the observations; those without a MAC get the neighbour table's MAC of
    their address."""
    by_address = {}
    for item in observations:
        if item['source'] == 'neighbours' and item['mac']:
            by_address.setdefault(item['address'], item['mac'])
    enriched = []
    for item in observations:
        item = dict(item)
        if item['mac'] is None:
            item['mac'] = by_address.get(item['address'])
        enriched.append(item)
    return sorted(enriched, key=_key)


def match_nodes(nodes, observations):
    """({node name: observation}, [warnings]) for the declared nodes; `observations` from enrich().

    Nodes with a pinned address are matched too (to learn a MAC they do not declare), by the
    observations at their address.
    """
    declared_macs = dict((node['mac'], node['name']) for node in nodes if node['mac'])
    by_mac, by_host, by_address = {}, {}, {}
    for item in observations:
        if item['mac']:
            by_mac.setdefault(item['mac'], item)
        if item['hostname']:
            by_host.setdefault(item['hostname'], []).append(item)
        by_address.setdefault(item['address'], item)
    found, warnings = {}, []
    for node in nodes:
        if node['address']:
            item = by_address.get(node['address'])
            if item and node['mac'] and item['mac'] and item['mac'] != node['mac']:
                warnings.append('node %r: its pinned address %s answers with MAC %s, not the declared %s'
                                % (node['name'], node['address'], item['mac'], node['mac']))
            elif item:
                found[node['name']] = item
            continue
        if node['mac'] and node['mac'] in by_mac:
            found[node['name']] = by_mac[node['mac']]
            continue
        for item in by_host.get(node['hostname'], []):
            owner = declared_macs.get(item['mac'])
            if node['mac'] and item['mac'] and item['mac'] != node['mac']:
                warnings.append('node %r: %s (%s) answers to its host name but has MAC %s, not the declared %s; ignored'
                                % (node['name'], item['address'], item['source'], item['mac'], node['mac']))
                continue
            if owner and owner != node['name']:
                warnings.append('node %r: %s (%s) answers to its host name but is node %r by MAC; ignored'
                                % (node['name'], item['address'], item['source'], owner))
                continue
            found[node['name']] = item
            break
    return found, warnings


def unclaimed(nodes, observations, found, registry):
    """Raspberry Pis (by the IEEE registries and the Pi block table) that no declared node is or holds:
    [{'mac', 'address', 'hostname', 'source', 'vendor', 'board_family'}] in MAC order."""
    claimed_macs = set(node['mac'] for node in nodes if node['mac'])
    claimed_addresses = set(node['address'] for node in nodes if node['address'])
    for item in found.values():
        claimed_addresses.add(item['address'])
        if item['mac']:
            claimed_macs.add(item['mac'])
    pis = {}
    vendors = {}
    for item in observations:
        mac = item['mac']
        if not mac or mac in claimed_macs or item['address'] in claimed_addresses:
            continue
        if mac not in vendors:
            vendors[mac] = registry.lookup(mac)[0]
        if not vendor_data.is_raspberry_pi(vendors[mac], mac):
            continue
        entry = pis.get(mac)
        if entry is None:
            pis[mac] = {'mac': mac, 'address': item['address'], 'hostname': item['hostname'], 'source': item['source'],
                        'vendor': vendors[mac], 'board_family': vendor_data.board_family(mac)}
        elif entry['hostname'] is None and item['hostname']:
            entry['hostname'] = item['hostname']
    return [pis[mac] for mac in sorted(pis)]
