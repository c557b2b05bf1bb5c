# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`ip -json neigh show` and `ip -json addr show` output into observations and interfaces."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import subprocess

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.inventory import neighbours

NEIGH = json.dumps([
    {'dst': '198.18.0.11', 'dev': 'br0', 'lladdr': 'dc:a6:32:00:00:01', 'state': ['REACHABLE']},
    {'dst': '198.18.0.12', 'dev': 'br0', 'lladdr': 'DC:A6:32:00:00:02', 'state': ['STALE']},
    {'dst': '198.18.0.13', 'dev': 'br0', 'state': ['FAILED']},
    {'dst': '198.18.0.14', 'dev': 'br0', 'lladdr': 'dc:a6:32:00:00:04', 'state': ['INCOMPLETE']},
    {'dst': '198.18.0.15', 'dev': 'br0', 'lladdr': '01:00:5e:00:00:fb', 'state': ['PERMANENT']},
    {'dst': 'fe80::1', 'dev': 'br0', 'lladdr': 'dc:a6:32:00:00:01', 'router': None, 'state': ['STALE']},
    {'dst': 'fd00::11', 'dev': 'br0', 'lladdr': 'dc:a6:32:00:00:01', 'state': ['REACHABLE']},
])


def test_usable_entries_become_observations_with_lower_case_macs():
    found = neighbours.parse_ip_neigh(NEIGH)
    assert [(item['address'], item['mac']) for item in found] == [
        ('198.18.0.11', 'dc:a6:32:00:00:01'), ('198.18.0.12', 'dc:a6:32:00:00:02'), ('fd00::11', 'dc:a6:32:00:00:01')]
    assert all(item['source'] == 'neighbours' and item['hostname'] is None for item in found)


def test_reachable_ranks_before_stale_and_ipv6_after_ipv4():
    ranks = dict((item['address'], item['rank']) for item in neighbours.parse_ip_neigh(NEIGH))
    assert ranks['198.18.0.11'] < ranks['198.18.0.12'] < ranks['fd00::11']


def test_output_that_is_not_json_is_an_error():
    with pytest.raises(neighbours.NeighbourError, match='printed no JSON'):
        neighbours.parse_ip_neigh('Object "neigh" is unknown')


def test_missing_ip_binary_is_an_error():
    def run(*args, **kwargs):
        raise OSError(2, 'No such file or directory')
    with pytest.raises(neighbours.NeighbourError, match='cannot run ip -json neigh show'):
        neighbours.read_neighbours(run=run)


def test_failing_ip_reports_its_stderr():
    def run(argv, **kwargs):
        return subprocess.CompletedProcess(argv, 1, '', 'RTNETLINK answers: Operation not permitted\n')
    with pytest.raises(neighbours.NeighbourError, match='rc=1.*Operation not permitted'):
        neighbours.read_neighbours(run=run)


def test_interfaces_are_up_ethernet_links_with_ipv4():
    text = json.dumps([
        {'ifname': 'lo', 'flags': ['LOOPBACK', 'UP'], 'link_type': 'loopback', 'address': '00:00:00:00:00:00',
         'addr_info': [{'family': 'inet', 'local': '127.0.0.1', 'prefixlen': 8}]},
        {'ifname': 'br0', 'flags': ['BROADCAST', 'MULTICAST', 'UP'], 'link_type': 'ether', 'address': '02:00:00:00:00:01',
         'addr_info': [{'family': 'inet', 'local': '198.18.0.1', 'prefixlen': 24},
                       {'family': 'inet6', 'local': 'fe80::1', 'prefixlen': 64}]},
        {'ifname': 'eth1', 'flags': ['BROADCAST'], 'link_type': 'ether', 'address': '02:00:00:00:00:02',
         'addr_info': [{'family': 'inet', 'local': '198.19.0.1', 'prefixlen': 24}]},
    ])
    assert neighbours.parse_ip_addr(text) == [
        {'name': 'br0', 'mac': '02:00:00:00:00:01', 'address': '198.18.0.1', 'network': '198.18.0.0/24'}]
