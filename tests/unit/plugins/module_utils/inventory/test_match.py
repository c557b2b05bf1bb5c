# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Matching observations to declared nodes (MAC first, then host name) and finding unclaimed Pis."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.picocloud.edge.plugins.module_utils.inventory import match
from ansible_collections.picocloud.edge.plugins.module_utils.inventory.neighbours import observation
from ansible_collections.picocloud.edge.plugins.module_utils.inventory.sitefile import parse_site
from ansible_collections.picocloud.edge.plugins.module_utils.inventory.vendor import Registry


def nodes(*entries):
    return parse_site({'site': 'lab', 'nodes': list(entries)}, 'lab.picocloud.yml')['nodes']


def test_mac_match_wins_over_host_name():
    declared = nodes({'name': 'pico-01', 'mac': 'dc:a6:32:00:00:01'})
    seen = match.enrich([observation(None, '198.18.0.99', 'mdns', hostname='pico-01'),
                         observation('dc:a6:32:00:00:01', '198.18.0.11', 'leases', hostname='raspberrypi')])
    found, warnings = match.match_nodes(declared, seen)
    assert found['pico-01']['address'] == '198.18.0.11' and warnings == []


def test_earlier_source_wins_for_the_same_mac():
    declared = nodes({'name': 'pico-01', 'mac': 'dc:a6:32:00:00:01'})
    seen = match.enrich([observation('dc:a6:32:00:00:01', '198.18.0.50', 'leases'),
                         observation('dc:a6:32:00:00:01', '198.18.0.11', 'neighbours', rank=2)])
    assert match.match_nodes(declared, seen)[0]['pico-01']['source'] == 'neighbours'


def test_host_name_match_when_no_mac_is_declared():
    declared = nodes({'name': 'pico-02'})
    seen = match.enrich([observation(None, '198.18.0.12', 'mdns', hostname='pico-02')])
    assert match.match_nodes(declared, seen)[0]['pico-02']['address'] == '198.18.0.12'


def test_observation_without_mac_borrows_the_neighbour_mac_of_its_address():
    seen = match.enrich([observation(None, '198.18.0.12', 'mdns', hostname='pico-02'),
                         observation('dc:a6:32:00:00:02', '198.18.0.12', 'neighbours')])
    assert [item['mac'] for item in seen] == ['dc:a6:32:00:00:02', 'dc:a6:32:00:00:02']


def test_host_name_answer_from_another_mac_is_ignored_with_a_warning():
    declared = nodes({'name': 'pico-02', 'mac': 'dc:a6:32:00:00:02'})
    seen = match.enrich([observation(None, '198.18.0.77', 'mdns', hostname='pico-02'),
                         observation('b8:27:eb:00:00:77', '198.18.0.77', 'neighbours')])
    found, warnings = match.match_nodes(declared, seen)
    assert 'pico-02' not in found
    assert warnings == ["node 'pico-02': 198.18.0.77 (mdns) answers to its host name but has MAC "
                        "b8:27:eb:00:00:77, not the declared dc:a6:32:00:00:02; ignored"]


def test_host_name_answer_that_is_another_declared_node_is_ignored():
    declared = nodes({'name': 'pico-01', 'mac': 'dc:a6:32:00:00:01'}, {'name': 'pico-02'})
    seen = match.enrich([observation('dc:a6:32:00:00:01', '198.18.0.11', 'leases', hostname='pico-02')])
    found, warnings = match.match_nodes(declared, seen)
    assert 'pico-02' not in found and "is node 'pico-01' by MAC" in warnings[0]


def test_pinned_address_answered_by_another_mac_warns():
    declared = nodes({'name': 'pico-01', 'mac': 'dc:a6:32:00:00:01', 'address': '198.18.0.11'})
    seen = match.enrich([observation('dc:a6:32:00:00:99', '198.18.0.11', 'neighbours')])
    found, warnings = match.match_nodes(declared, seen)
    assert found == {} and 'answers with MAC dc:a6:32:00:00:99, not the declared' in warnings[0]


def test_unclaimed_lists_undeclared_pis_only():
    declared = nodes({'name': 'pico-01', 'mac': 'dc:a6:32:00:00:01'}, {'name': 'pico-02', 'address': '198.18.0.12'})
    seen = match.enrich([
        observation('dc:a6:32:00:00:01', '198.18.0.11', 'neighbours'),
        observation('e4:5f:01:00:00:02', '198.18.0.12', 'neighbours'),   # pico-02 by its pinned address
        observation('2c:cf:67:00:00:03', '198.18.0.13', 'neighbours'),
        observation(None, '198.18.0.13', 'mdns', hostname='raspberrypi'),
        observation('00:1b:21:00:00:04', '198.18.0.14', 'neighbours'),   # an Intel card: not a Pi
    ])
    found = match.match_nodes(declared, seen)[0]
    pis = match.unclaimed(declared, seen, found, Registry())
    assert pis == [{'mac': '2c:cf:67:00:00:03', 'address': '198.18.0.13', 'hostname': 'raspberrypi',
                    'source': 'neighbours', 'vendor': 'Raspberry Pi (Trading) Ltd', 'board_family': 'Pi 5'}]
