# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading and checking a site file: normalised values, and errors that name the file, node and field."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.inventory.sitefile import (
    SiteError,
    normalise_mac,
    parse_site,
)

PATH = 'lab.picocloud.yml'
SHA = '62d025b9bc7ca0e1facfec74ae56ac13978b6745c58177f081d39fbb8041ed45'


def site(**changes):
    config = {
        'site': 'lab',
        'orchestrator': 'swarm',
        'defaults': {'ansible_user': 'pico'},
        'nodes': [
            {'name': 'pico-01', 'mac': 'DC-A6-32-00-00-01', 'roles': ['swarm_manager', 'consul_server']},
            {'name': 'pico-02', 'mac': 'dca632000002', 'address': '198.18.0.12'},
            {'name': 'pico-03', 'roles': ['registry'], 'board': '4B', 'arch': 'arm64'},
        ],
    }
    config.update(changes)
    return config


def with_node(index, **fields):
    config = site()
    config['nodes'] = copy.deepcopy(config['nodes'])
    config['nodes'][index].update(fields)
    return config


def error_of(config):
    with pytest.raises(SiteError) as error:
        parse_site(config, PATH)
    return str(error.value)


def test_macs_are_normalised_to_lower_case_with_colons():
    parsed = parse_site(site(), PATH)
    assert [node['mac'] for node in parsed['nodes']] == ['dc:a6:32:00:00:01', 'dc:a6:32:00:00:02', None]


def test_defaults_of_a_node_and_of_discovery():
    parsed = parse_site(site(), PATH)
    node = parsed['nodes'][2]
    assert (node['state'], node['roles'], node['board'], node['arch'], node['hostname']) == \
        ('present', ['registry'], '4B', 'arm64', 'pico-03')
    assert parsed['discovery']['sources'] == ['neighbours', 'leases', 'mdns']
    assert parsed['discovery']['mdns_timeout'] == 2.0
    assert parsed['discovery']['probe'] is None


def test_sources_run_in_the_documented_order_whatever_the_list_order():
    parsed = parse_site(site(discovery={'sources': ['mdns', 'neighbours']}), PATH)
    assert parsed['discovery']['sources'] == ['neighbours', 'mdns']


def test_network_address_pins_the_node_address():
    parsed = parse_site(with_node(2, network={'address': '10.42.0.13/24', 'gateway': '10.42.0.1'}), PATH)
    assert parsed['nodes'][2]['address'] == '10.42.0.13'
    assert parsed['nodes'][2]['network']['address'] == '10.42.0.13/24'


def test_probe_settings_are_checked_and_defaulted():
    parsed = parse_site(site(discovery={'probe': {'cidr': '198.18.0.0/24'}}), PATH)
    assert parsed['discovery']['probe'] == {'cidr': '198.18.0.0/24', 'method': 'arp', 'max_hosts': 256, 'timeout': 5.0}


@pytest.mark.parametrize('value', ['dc:a6:32:00:00', 'dc:a6:32:00:00:0g', 'dc:a6-32:00:00:01', 'pico'])
def test_malformed_mac_names_file_node_and_field(value):
    message = error_of(with_node(1, mac=value))
    assert message.startswith("lab.picocloud.yml: node 'pico-02' (nodes[1]): mac: ")
    assert 'is not a MAC address' in message


def test_mac_that_yaml_read_as_a_number_says_to_quote_it():
    assert 'quote MAC addresses' in error_of(with_node(1, mac=1234567890))


def test_duplicate_name_is_an_error():
    message = error_of(with_node(2, name='PICO-01'))
    assert "node 'PICO-01' (nodes[2]): name: name 'PICO-01' is already the name of node 'pico-01' (nodes[0])" in message


def test_duplicate_mac_is_an_error():
    message = error_of(with_node(2, mac='dc:a6:32:00:00:01'))
    assert "node 'pico-03' (nodes[2]): mac: MAC 'dc:a6:32:00:00:01' is already the MAC of node 'pico-01'" in message


def test_duplicate_address_is_an_error_also_through_network():
    message = error_of(with_node(2, network={'address': '198.18.0.12/24'}))
    assert "node 'pico-03' (nodes[2]): address: address '198.18.0.12' is already the address of node 'pico-02'" in message


def test_unknown_role_lists_the_known_roles():
    message = error_of(with_node(0, roles=['swarm_manager', 'dns']))
    assert "node 'pico-01' (nodes[0]): roles[1]: unknown role 'dns' (known roles: consul_server, k3s_agent," in message


def test_role_of_the_other_orchestrator_is_an_error():
    message = error_of(with_node(2, roles=['k3s_server']))
    assert "roles[0]: role 'k3s_server' needs orchestrator k3s; this site runs swarm" in message


def test_manager_and_worker_at_once_is_an_error():
    assert 'either swarm_manager or swarm_worker' in error_of(with_node(0, roles=['swarm_manager', 'swarm_worker']))


@pytest.mark.parametrize('cidr, words', [
    ('198.18.0/24', 'is not a CIDR'),
    ('198.18.0.1/24', 'has host bits set; the network is 198.18.0.0/24'),
    ('198.18.0.0', 'has no prefix length'),
    ('fd00::/120', 'is not IPv4'),
    ('198.18.0.0/16', 'holds 65534 host addresses, more than max_hosts (256)'),
])
def test_malformed_or_too_big_probe_cidr_is_an_error(cidr, words):
    message = error_of(site(discovery={'probe': {'cidr': cidr}}))
    assert message.startswith('lab.picocloud.yml: discovery.probe.cidr: ') and words in message


def test_probe_without_cidr_is_an_error():
    assert 'discovery.probe.cidr: is required' in error_of(site(discovery={'probe': {'method': 'ping'}}))


def test_probe_without_the_neighbour_source_is_an_error():
    config = site(discovery={'sources': ['mdns'], 'probe': {'cidr': '198.18.0.0/24'}})
    assert 'only feeds the neighbours source' in error_of(config)


@pytest.mark.parametrize('probe, field', [
    ({'cidr': '198.18.0.0/24', 'method': 'nmap'}, 'discovery.probe.method'),
    ({'cidr': '198.18.0.0/24', 'max_hosts': 5000}, 'discovery.probe.max_hosts'),
    ({'cidr': '198.18.0.0/24', 'timeout': 0}, 'discovery.probe.timeout'),
])
def test_probe_bounds_are_checked(probe, field):
    assert '%s: ' % field in error_of(site(discovery={'probe': probe}))


def test_mdns_timeout_is_bounded():
    assert 'discovery.mdns_timeout: 120 is not a number above 0 and at most 30' in \
        error_of(site(discovery={'mdns_timeout': 120}))


def test_unknown_node_field_points_to_vars():
    assert "node 'pico-03' (nodes[2]): ansible_port: unknown field" in error_of(with_node(2, ansible_port=2222))


def test_vars_may_not_set_what_a_field_sets():
    message = error_of(with_node(2, vars={'ansible_host': '10.0.0.1'}))
    assert "node 'pico-03' (nodes[2]): vars.ansible_host: is set from the node's 'address' field" in message
    assert "defaults.picocloud_mac: is set from the node's 'mac' field" in error_of(site(defaults={'picocloud_mac': 'x'}))


def test_missing_site_name_and_bad_orchestrator_are_errors():
    config = site()
    del config['site']
    assert error_of(config) == 'lab.picocloud.yml: site: is required (the name of the site, e.g. lab)'
    assert "orchestrator: 'nomad' is not one of swarm, k3s" in error_of(site(orchestrator='nomad'))


def test_bad_node_name_and_missing_name_are_errors():
    assert "nodes[2]: name: 'pico_03' is not valid" in error_of(with_node(2, name='pico_03'))
    config = site()
    config['nodes'][2] = {'mac': 'dc:a6:32:00:00:09'}
    assert 'lab.picocloud.yml: nodes[2]: name: is required' in error_of(config)


def test_image_needs_url_and_sha256_and_a_known_flavour():
    assert "image: has no sha256" in error_of(site(image={'url': 'https://example.org/x.img'}))
    assert "node 'pico-03' (nodes[2]): image: has no url" in error_of(with_node(2, image={'sha256': SHA}))
    assert "image.flavor: 'raspbian' is not one of auto, hypriot" in \
        error_of(with_node(2, image={'url': 'https://example.org/x.img', 'sha256': SHA, 'flavor': 'raspbian'}))
    assert 'is not a sha256' in error_of(site(image={'url': 'https://example.org/x.img', 'sha256': 'abc'}))


def test_node_image_may_complete_the_site_image():
    parsed = parse_site(with_node(2, image={'flavor': 'hypriot'}), PATH)
    assert parsed['nodes'][2]['image'] == {'flavor': 'hypriot'}
    config = with_node(2, image={'sha256': SHA})
    config['image'] = {'url': 'https://example.org/x.img', 'sha256': SHA}
    assert parse_site(config, PATH)['nodes'][2]['image'] == {'sha256': SHA}


def test_address_and_network_address_must_agree():
    message = error_of(with_node(1, network={'address': '198.18.0.99/24'}))
    assert "address: 198.18.0.12 differs from network.address 198.18.0.99/24" in message


def test_control_characters_are_refused():
    assert 'holds control characters' in error_of(site(site='lab\n'))


def test_unknown_board_arch_and_state_are_errors():
    assert "board: '4C' is not one of" in error_of(with_node(2, board='4C'))
    assert "arch: 'riscv64' is not one of" in error_of(with_node(2, arch='riscv64'))
    assert "state: 'gone' is not one of present, absent" in error_of(with_node(2, state='gone'))


def test_normalise_mac_accepts_the_usual_spellings():
    assert normalise_mac('DC:A6:32:00:00:01') == normalise_mac('dc-a6-32-00-00-01') == normalise_mac('dca632000001')
