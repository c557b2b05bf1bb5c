# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.site discovery on a LAN of network namespaces the test creates (veth pairs with Raspberry Pi
MACs, python-zeroconf responders inside them). ansible-inventory runs inside the controller namespace, so the
plugin sees only that LAN: nothing here reaches the machine's own network. Needs root (ip netns)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys
import time

import pytest

from inventory_helpers import write_config
from netns_lan import Lan, unwrap

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='network namespaces need root')

ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), 'ansible-inventory')
INVENTORY_TIMEOUT = 60


@pytest.fixture
def lan():
    lans = []

    def make(subnet):
        lans.append(Lan(subnet))
        return lans[-1]

    yield make
    for item in lans:
        item.close()


def inventory(lan, tmp_path, config):
    """ansible-inventory --list of a site file, run inside the LAN's controller namespace; (data, seconds, stderr)."""
    path = write_config(tmp_path / 'lan.picocloud.yml', dict({'plugin': 'picocloud.edge.site', 'site': 'lan'}, **config))
    env = dict(os.environ, ANSIBLE_INVENTORY_ENABLED='picocloud.edge.site', ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED='true',
               ANSIBLE_NOCOLOR='1')
    start = time.monotonic()
    result = lan.run(lan.controller, [ANSIBLE_INVENTORY, '-i', path, '--list'], timeout=INVENTORY_TIMEOUT, env=env)
    seconds = time.monotonic() - start
    assert result.returncode == 0, result.stderr
    return unwrap(json.loads(result.stdout)), seconds, result.stderr


def hostvars(data, name):
    return data['_meta']['hostvars'][name]


def members(data, group):
    return sorted(data.get(group, {}).get('hosts', []))


def test_the_controller_namespace_has_only_the_test_lan(lan):
    net = lan('198.18.10')
    net.add_pi('dc:a6:32:10:00:11', 11)
    assert net.controller_links() == sorted(['lo', 'br0', 'v%s1' % net.tag])


def test_neighbour_table_finds_a_node_by_mac(lan, tmp_path):
    net = lan('198.18.11')
    namespace, address = net.add_pi('dc:a6:32:11:00:11', 11)
    net.say_hello(namespace)
    assert any(entry.get('lladdr') == 'dc:a6:32:11:00:11' for entry in net.neighbours())
    data, seconds, stderr = inventory(net, tmp_path, {
        'discovery': {'sources': ['neighbours']},
        'nodes': [{'name': 'pico-01', 'mac': 'dc:a6:32:11:00:11', 'roles': ['swarm_manager', 'consul_server']}]})
    assert hostvars(data, 'pico-01')['ansible_host'] == address
    assert hostvars(data, 'pico-01')['picocloud_address_source'] == 'neighbours'


def test_arp_probe_finds_silent_pis_inside_the_named_network_only(lan, tmp_path):
    net = lan('198.18.12')
    dummy, first = net.add_pi('dc:a6:32:12:00:11', 11)
    dummy, second = net.add_pi('e4:5f:01:12:00:12', 12)
    # on the same link but outside the /28 (.0 to .15): never asked, so never found
    dummy, outside = net.add_pi('dc:a6:32:12:00:20', 20)
    assert net.neighbours() == []
    data, seconds, stderr = inventory(net, tmp_path, {
        'discovery': {'sources': ['neighbours'], 'probe': {'cidr': '198.18.12.0/28', 'method': 'arp', 'timeout': 3}},
        'nodes': [{'name': 'pico-01', 'mac': 'dc:a6:32:12:00:11', 'roles': ['swarm_manager', 'consul_server']},
                  {'name': 'pico-02', 'mac': 'e4:5f:01:12:00:12'},
                  {'name': 'pico-03', 'mac': 'dc:a6:32:12:00:20'}]})
    assert hostvars(data, 'pico-01')['ansible_host'] == first
    assert hostvars(data, 'pico-02')['ansible_host'] == second
    assert 'ansible_host' not in hostvars(data, 'pico-03'), outside
    assert not any(entry['dst'] == outside for entry in net.neighbours())
    assert seconds < 3 + INVENTORY_TIMEOUT / 10


def test_ping_probe_fills_the_kernel_neighbour_table(lan, tmp_path):
    net = lan('198.18.13')
    dummy, address = net.add_pi('d8:3a:dd:13:00:11', 11)
    data, seconds, stderr = inventory(net, tmp_path, {
        'discovery': {'sources': ['neighbours'], 'probe': {'cidr': '198.18.13.0/28', 'method': 'ping', 'timeout': 3}},
        'nodes': [{'name': 'pico-01', 'mac': 'd8:3a:dd:13:00:11', 'roles': ['swarm_manager', 'consul_server']}]})
    assert hostvars(data, 'pico-01')['ansible_host'] == address
    assert any(entry.get('lladdr') == 'd8:3a:dd:13:00:11' and entry['dst'] == address for entry in net.neighbours())


def test_probe_outside_the_controller_links_is_refused_with_a_warning(lan, tmp_path):
    net = lan('198.18.14')
    data, seconds, stderr = inventory(net, tmp_path, {
        'discovery': {'sources': ['neighbours'], 'probe': {'cidr': '198.19.14.0/28'}},
        'nodes': [{'name': 'pico-01', 'roles': ['swarm_manager', 'consul_server'], 'address': '198.18.14.11'}]})
    assert '198.19.14.0/28 is not on a link of this controller' in stderr


def test_mdns_finds_nodes_by_workstation_mac_by_ssh_host_name_and_by_name_lookup(lan, tmp_path):
    net = lan('198.18.15')
    ns1, ip1 = net.add_pi('dc:a6:32:15:00:11', 11)
    ns2, ip2 = net.add_pi('e4:5f:01:15:00:12', 12)
    ns3, ip3 = net.add_pi('2c:cf:67:15:00:13', 13)
    net.respond(ns1, [{'type': '_workstation._tcp.local.', 'name': 'raspberrypi [dc:a6:32:15:00:11]',
                       'host': 'raspberrypi', 'address': ip1}])
    net.respond(ns2, [{'type': '_ssh._tcp.local.', 'name': 'pico-02', 'host': 'pico-02', 'address': ip2, 'port': 22}])
    # pico-03 publishes no browsed service: only its host name answers (<name>.local)
    net.respond(ns3, [{'type': '_http._tcp.local.', 'name': 'pico-03 web', 'host': 'pico-03', 'address': ip3,
                       'port': 80}])
    data, seconds, stderr = inventory(net, tmp_path, {
        'discovery': {'sources': ['mdns'], 'mdns_timeout': 2},
        'nodes': [{'name': 'pico-01', 'mac': 'dc:a6:32:15:00:11', 'roles': ['swarm_manager', 'consul_server']},
                  {'name': 'pico-02'}, {'name': 'pico-03'}]})
    assert [hostvars(data, name)['ansible_host'] for name in ('pico-01', 'pico-02', 'pico-03')] == [ip1, ip2, ip3]
    assert all(hostvars(data, name)['picocloud_address_source'] == 'mdns' for name in ('pico-01', 'pico-02', 'pico-03'))
    assert hostvars(data, 'pico-01')['picocloud_discovered_hostname'] == 'raspberrypi'
    assert seconds < 2 + INVENTORY_TIMEOUT / 10


def test_undeclared_pi_is_unclaimed_and_a_non_pi_is_not(lan, tmp_path):
    net = lan('198.18.16')
    ns1, ip1 = net.add_pi('dc:a6:32:16:00:11', 11)
    pi, pi_ip = net.add_pi('d8:3a:dd:16:00:21', 21)
    laptop, laptop_ip = net.add_pi('00:1b:21:16:00:31', 31)
    for namespace in (ns1, pi, laptop):
        net.say_hello(namespace)
    net.respond(pi, [{'type': '_workstation._tcp.local.', 'name': 'raspberrypi [d8:3a:dd:16:00:21]',
                      'host': 'raspberrypi', 'address': pi_ip}])
    data, seconds, stderr = inventory(net, tmp_path, {
        'discovery': {'sources': ['neighbours', 'mdns'], 'mdns_timeout': 2},
        'nodes': [{'name': 'pico-01', 'mac': 'dc:a6:32:16:00:11', 'roles': ['swarm_manager', 'consul_server']}]})
    assert members(data, 'unclaimed') == ['unclaimed-d83add160021']
    pi_vars = hostvars(data, 'unclaimed-d83add160021')
    assert pi_vars['ansible_host'] == pi_ip
    assert pi_vars['picocloud_vendor'] == 'Raspberry Pi Trading Ltd'
    assert pi_vars['picocloud_board_family'] == 'Pi 5'
    assert pi_vars['picocloud_discovered_hostname'] == 'raspberrypi'
    assert members(data, 'picocloud') == ['pico-01']
