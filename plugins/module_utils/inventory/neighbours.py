# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's neighbour table (ARP and NDP), read with ``ip -json neigh show``.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Every observation this package makes is a dict: ``mac`` (lower case with colons, or None),
``address``, ``hostname`` (short, lower case, or None), ``source`` (neighbours, leases or mdns) and
``rank`` (lower is fresher within its source).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import subprocess

from ansible_collections.picocloud.edge.plugins.module_utils.inventory.sitefile import normalise_mac

# Kernel NUD states with a usable link-layer address, freshest first.
STATE_RANK = {'REACHABLE': 0, 'PERMANENT': 0, 'DELAY': 1, 'PROBE': 1, 'STALE': 2}
IP_TIMEOUT = 10


class NeighbourError(Exception):
    """The neighbour table cannot be read."""


def observation(mac, address, source, hostname=None, rank=0):
    return {'mac': mac, 'address': address, 'hostname': hostname, 'source': source, 'rank': rank}


def _usable_mac(lladdr):
    try:
        mac = normalise_mac(lladdr)
    except ValueError:
        return None
    first = int(mac[:2], 16)
    if first & 0x01 or mac == '00:00:00:00:00:00':
        return None
    return mac


def parse_ip_neigh(text):
    """`ip -json neigh show` output -> observations; entries without a unicast MAC or in FAILED,
    INCOMPLETE or NOARP state are left out, as are IPv6 link-local addresses."""
    try:
        entries = json.loads(text or '[]')
    except ValueError as exc:
        raise NeighbourError('ip -json neigh show printed no JSON: %s' % exc)
    if not isinstance(entries, list):
        raise NeighbourError('ip -json neigh show printed %r, not a list' % (type(entries).__name__,))
    found = []
    for entry in entries:
        if not isinstance(entry, dict) or 'dst' not in entry or 'lladdr' not in entry:
            continue
        states = entry.get('state') or []
        ranks = [STATE_RANK[state] for state in states if state in STATE_RANK]
        if not ranks:
            continue
        mac = _usable_mac(entry['lladdr'])
        try:
            address = ipaddress.ip_address(entry['dst'])
        except ValueError:
            continue
        if mac is None or address.is_link_local or address.is_multicast:
            continue
        # IPv4 first: an IPv6 entry of the same MAC only ranks behind it.
        rank = min(ranks) + (10 if address.version == 6 else 0)
        found.append(observation(mac, str(address), 'neighbours', rank=rank))
    return found


def read_ip_neigh(run=subprocess.run, timeout=IP_TIMEOUT):
    """The JSON text of `ip -json neigh show`; NeighbourError when ip is missing or fails."""
    try:
        result = run(['ip', '-json', 'neigh', 'show'], capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NeighbourError('cannot run ip -json neigh show (iproute2): %s' % exc)
    if result.returncode != 0:
        raise NeighbourError('ip -json neigh show failed (rc=%d): %s' % (result.returncode, result.stderr.strip()))
    return result.stdout


def read_neighbours(run=subprocess.run):
    """Observations from the controller's neighbour table."""
    return parse_ip_neigh(read_ip_neigh(run=run))


def read_ipv4_interfaces(run=subprocess.run, timeout=IP_TIMEOUT):
    """[{'name', 'mac', 'address', 'network'}] for every IPv4 address of an interface that is up."""
    try:
        result = run(['ip', '-json', 'addr', 'show'], capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NeighbourError('cannot run ip -json addr show (iproute2): %s' % exc)
    if result.returncode != 0:
        raise NeighbourError('ip -json addr show failed (rc=%d): %s' % (result.returncode, result.stderr.strip()))
    return parse_ip_addr(result.stdout)


def parse_ip_addr(text):
    """`ip -json addr show` output -> IPv4 addresses of interfaces that are up and have a MAC."""
    try:
        links = json.loads(text or '[]')
    except ValueError as exc:
        raise NeighbourError('ip -json addr show printed no JSON: %s' % exc)
    found = []
    for link in links if isinstance(links, list) else []:
        if 'UP' not in (link.get('flags') or []) or link.get('link_type') != 'ether':
            continue
        mac = _usable_mac(link.get('address', ''))
        for info in link.get('addr_info') or []:
            if info.get('family') != 'inet' or mac is None:
                continue
            network = ipaddress.ip_interface('%s/%s' % (info['local'], info['prefixlen'])).network
            found.append({'name': link['ifname'], 'mac': mac, 'address': info['local'], 'network': str(network)})
    return found
