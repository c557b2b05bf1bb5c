# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mDNS answer names into observations (the network part runs in test_site_discovery_netns.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.picocloud.edge.plugins.module_utils.inventory import mdns


def test_avahi_workstation_name_carries_host_and_mac():
    assert mdns.parse_workstation('pico-01 [DC:A6:32:00:00:01]._workstation._tcp.local.') == ('pico-01', 'dc:a6:32:00:00:01')


def test_other_names_carry_no_mac():
    assert mdns.parse_workstation('pico-01._ssh._tcp.local.') == (None, None)


def test_service_observation_uses_the_server_host_name_and_each_address():
    found = mdns.service_observations('Pico 01 SSH._ssh._tcp.local.', 'Pico-01.local.', ['198.18.0.11', '198.18.1.11'])
    assert [(item['hostname'], item['address'], item['mac'], item['source']) for item in found] == [
        ('pico-01', '198.18.0.11', None, 'mdns'), ('pico-01', '198.18.1.11', None, 'mdns')]


def test_workstation_observation_ranks_before_ssh():
    with_mac = mdns.service_observations('pico-01 [dc:a6:32:00:00:01]._workstation._tcp.local.', 'pico-01.local.',
                                         ['198.18.0.11'])[0]
    without = mdns.service_observations('pico-01._ssh._tcp.local.', 'pico-01.local.', ['198.18.0.11'])[0]
    assert with_mac['mac'] == 'dc:a6:32:00:00:01' and with_mac['rank'] < without['rank']


def test_server_name_that_is_no_host_name_falls_back_to_the_instance_host():
    found = mdns.service_observations('pico-01 [dc:a6:32:00:00:01]._workstation._tcp.local.', '{{ x }}.local.',
                                      ['198.18.0.11'])
    assert found[0]['hostname'] == 'pico-01'
