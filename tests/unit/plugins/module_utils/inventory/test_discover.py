# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The order of the discovery sources, what mDNS is asked, and failing sources (replaced through Sources)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.picocloud.edge.plugins.module_utils.inventory import discover, mdns, neighbours
from ansible_collections.picocloud.edge.plugins.module_utils.inventory.neighbours import observation
from ansible_collections.picocloud.edge.plugins.module_utils.inventory.sitefile import parse_site


def site(discovery, nodes=None):
    return parse_site({'site': 'lab', 'discovery': discovery, 'nodes': nodes or [
        {'name': 'pico-01', 'mac': 'dc:a6:32:00:00:01'}, {'name': 'pico-02'}, {'name': 'pico-03', 'address': '198.18.0.13'}]},
        'lab.picocloud.yml')


def recorder(calls, result=None, name=None):
    def call(*args):
        calls.append((name, args))
        return list(result or [])
    return call


def test_sources_run_in_order_and_mdns_is_asked_only_for_unmatched_nodes():
    parsed = site({'lease_files': ['/leases'], 'probe': {'cidr': '198.18.0.0/24', 'method': 'arp', 'timeout': 1}})
    calls = []
    sources = discover.Sources(
        read_interfaces=lambda: [{'name': 'br0', 'mac': '02:00:00:00:00:01', 'address': '198.18.0.1',
                                  'network': '198.18.0.0/24'}],
        arp_probe=recorder(calls, [observation('dc:a6:32:00:00:01', '198.18.0.11', 'neighbours')], 'arp'),
        read_neighbours=recorder(calls, [], 'neighbours'),
        read_lease_file=recorder(calls, [], 'leases'),
        mdns_discover=recorder(calls, [], 'mdns'))
    result = discover.discover(parsed['discovery'], parsed['nodes'], sources)
    assert [name for name, args in calls] == ['arp', 'neighbours', 'leases', 'mdns', 'neighbours']
    assert len(calls[0][1][0]) == 254 and calls[0][1][2] == 1.0
    # pico-01 was found by MAC through the probe, pico-03 is pinned: only pico-02 is looked up
    assert calls[3][1] == (2.0, ['pico-02'])
    assert result['observations'] == [observation('dc:a6:32:00:00:01', '198.18.0.11', 'neighbours')]


def test_ping_probe_only_feeds_the_neighbour_table():
    parsed = site({'sources': ['neighbours'], 'probe': {'cidr': '198.18.0.0/30', 'method': 'ping'}})
    calls = []
    sources = discover.Sources(
        read_interfaces=lambda: [{'name': 'br0', 'mac': '02:00:00:00:00:01', 'address': '198.18.0.1',
                                  'network': '198.18.0.0/24'}],
        ping_probe=recorder(calls, None, 'ping'), read_neighbours=recorder(calls, [], 'neighbours'))
    discover.discover(parsed['discovery'], parsed['nodes'], sources)
    assert calls == [('ping', (['198.18.0.1', '198.18.0.2'], 5.0)), ('neighbours', ())]


def test_a_failing_source_warns_and_the_others_still_run():
    parsed = site({'sources': ['neighbours', 'mdns']})

    def broken():
        raise neighbours.NeighbourError('cannot run ip -json neigh show (iproute2): No such file')

    def no_zeroconf(timeout, hostnames):
        raise mdns.MdnsError('mDNS discovery needs the python zeroconf library')

    result = discover.discover(parsed['discovery'], parsed['nodes'],
                               discover.Sources(read_neighbours=broken, mdns_discover=no_zeroconf))
    assert result['warnings'] == [
        'discovery neighbours: cannot run ip -json neigh show (iproute2): No such file',
        'discovery mdns: mDNS discovery needs the python zeroconf library',
        'discovery neighbours_after_mdns: cannot run ip -json neigh show (iproute2): No such file']


def test_mdns_is_skipped_when_every_node_is_found_and_unclaimed_is_off():
    parsed = site({'sources': ['neighbours', 'mdns'], 'unclaimed': False},
                  nodes=[{'name': 'pico-01', 'mac': 'dc:a6:32:00:00:01'}])
    calls = []
    sources = discover.Sources(read_neighbours=recorder(calls, [observation('dc:a6:32:00:00:01', '198.18.0.11',
                                                                            'neighbours')], 'neighbours'),
                               mdns_discover=recorder(calls, [], 'mdns'))
    discover.discover(parsed['discovery'], parsed['nodes'], sources)
    assert [name for name, args in calls] == ['neighbours']


def test_repeated_observations_are_kept_once():
    parsed = site({'sources': ['neighbours', 'mdns']})
    same = observation('dc:a6:32:00:00:01', '198.18.0.11', 'neighbours')
    result = discover.discover(parsed['discovery'], parsed['nodes'],
                               discover.Sources(read_neighbours=lambda: [same], mdns_discover=lambda t, h: []))
    assert result['observations'] == [same]
