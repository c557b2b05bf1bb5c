# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the discovery sources of a site file in their documented order and collect observations.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Order: 1. the opt-in probe (it only feeds step 2); 2. the neighbour table; 3. the DHCP lease
files; 4. mDNS (browsing, then ``<name>.local`` for the nodes still without an address); 5. the
neighbour table once more when mDNS ran, since its exchanges teach the kernel new neighbours.
A source that fails gives a warning and the others still run. The functions that touch the system
come in through ``Sources`` so tests can replace them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import time

from ansible_collections.picocloud.edge.plugins.module_utils.inventory import leases, mdns, neighbours, probe
from ansible_collections.picocloud.edge.plugins.module_utils.inventory.match import enrich, match_nodes
from ansible_collections.picocloud.edge.plugins.module_utils.inventory.sitefile import probe_targets


class Sources(object):
    """The system-facing functions discovery calls."""

    def __init__(self, read_neighbours=neighbours.read_neighbours, read_interfaces=neighbours.read_ipv4_interfaces,
                 read_lease_file=leases.read_lease_file, mdns_discover=mdns.discover,
                 arp_probe=probe.arp_probe, ping_probe=probe.ping_probe, clock=time.monotonic):
        self.read_neighbours = read_neighbours
        self.read_interfaces = read_interfaces
        self.read_lease_file = read_lease_file
        self.mdns_discover = mdns_discover
        self.arp_probe = arp_probe
        self.ping_probe = ping_probe
        self.clock = clock


def _probe(settings, sources):
    network = ipaddress.ip_network(settings['cidr'])
    interface = probe.interface_for(network, sources.read_interfaces())
    targets = probe_targets(network, settings['max_hosts'])
    if settings['method'] == 'arp':
        return sources.arp_probe(targets, interface, settings['timeout'])
    sources.ping_probe(targets, settings['timeout'])
    return []


def needs_lookup(nodes, observations):
    """Host names of present-or-absent nodes without a pinned address that nothing matched yet."""
    found = match_nodes(nodes, enrich(observations))[0]
    return [node['hostname'] for node in nodes if not node['address'] and node['name'] not in found]


def discover(discovery, nodes, sources=None):
    """{'observations': [...], 'warnings': [...], 'seconds': {step: duration}} for a site's discovery
    settings (sitefile's normalised dict) and its nodes."""
    sources = sources or Sources()
    observations, warnings, seconds = [], [], {}
    enabled = discovery['sources']

    def step(name, function):
        start = sources.clock()
        try:
            result = function()
        except (probe.ProbeError, neighbours.NeighbourError, leases.LeaseError, mdns.MdnsError, ValueError) as exc:
            warnings.append('discovery %s: %s' % (name, exc))
            result = []
        seconds[name] = round(sources.clock() - start, 3)
        observations.extend(result or [])

    if discovery['probe'] and 'neighbours' in enabled:
        step('probe', lambda: _probe(discovery['probe'], sources))
    if 'neighbours' in enabled:
        step('neighbours', sources.read_neighbours)
    if 'leases' in enabled:
        for lease_file in discovery['lease_files']:
            step('leases', lambda lease_file=lease_file: sources.read_lease_file(lease_file['path'], lease_file['format']))
    if 'mdns' in enabled:
        missing = needs_lookup(nodes, observations)
        if missing or discovery['unclaimed']:
            step('mdns', lambda: sources.mdns_discover(discovery['mdns_timeout'], missing))
            if 'neighbours' in enabled:
                step('neighbours_after_mdns', sources.read_neighbours)
    unique, seen = [], set()
    for item in observations:
        key = (item['mac'], item['address'], item['hostname'], item['source'])
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return {'observations': unique, 'warnings': warnings, 'seconds': seconds}
