# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operating-system facts from recorded file texts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils import node

RPIOS_32 = '''PRETTY_NAME="Raspbian GNU/Linux 12 (bookworm)"
NAME="Raspbian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=raspbian
ID_LIKE=debian
'''

SID = 'PRETTY_NAME="Debian GNU/Linux trixie/sid"\nNAME="Debian GNU/Linux"\nID=debian\n'

MEMINFO_PI4_1GB = '''MemTotal:         944268 kB
MemFree:          512000 kB
MemAvailable:     700416 kB
SwapTotal:        102396 kB
SwapFree:         102396 kB
'''

SWAPS = '''Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority
/var/swap                               file\t\t102396\t\t0\t\t-2
/dev/zram0                              partition\t511996\t\t1024\t\t100
/srv/my\\040swap                        file\t\t2048\t\t0\t\t-3
'''


def test_32_bit_raspberry_pi_os_says_raspbian_like_debian():
    assert node.os_facts(RPIOS_32) == {'id': 'raspbian', 'id_like': ['debian'], 'version_id': '12',
                                       'version_codename': 'bookworm',
                                       'pretty_name': 'Raspbian GNU/Linux 12 (bookworm)'}


def test_sid_without_codename_or_version_keeps_them_null():
    facts = node.os_facts(SID)
    assert facts['id'] == 'debian'
    assert facts['version_codename'] is None and facts['version_id'] is None


def test_no_os_release_gives_nulls_not_an_error():
    assert node.os_facts(None) == {'id': None, 'id_like': [], 'version_id': None, 'version_codename': None,
                                   'pretty_name': None}


def test_os_release_values_lose_their_quotes_and_comments_are_skipped():
    text = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_CODENAME=\'bookworm\'\n# c\n\n'
    assert node.parse_os_release(text) == {'PRETTY_NAME': 'Debian GNU/Linux 12 (bookworm)', 'ID': 'debian',
                                           'VERSION_CODENAME': 'bookworm'}


def test_memory_of_a_1gb_pi_is_nominal_1024_while_the_kernel_manages_less():
    assert node.memory_facts(MEMINFO_PI4_1GB, 1024) == {'total_mb': 922, 'available_mb': 684,
                                                        'nominal_mb': 1024, 'swap_total_mb': 99}


def test_memory_of_a_machine_that_is_not_a_pi_is_nominally_its_total():
    assert node.memory_facts(MEMINFO_PI4_1GB, None)['nominal_mb'] == 922


def test_memory_without_meminfo_is_null():
    assert node.memory_facts(None) == {'total_mb': None, 'available_mb': None, 'nominal_mb': None,
                                       'swap_total_mb': None}


def test_swap_areas_are_parsed_with_zram_flagged_and_escaped_spaces_decoded():
    facts = node.swap_facts(SWAPS)
    assert facts['host_kernel'] is False
    assert facts['areas'] == [
        {'path': '/var/swap', 'type': 'file', 'size_mb': 99, 'used_mb': 0, 'priority': -2, 'zram': False},
        {'path': '/dev/zram0', 'type': 'partition', 'size_mb': 499, 'used_mb': 1, 'priority': 100, 'zram': True},
        {'path': '/srv/my swap', 'type': 'file', 'size_mb': 2, 'used_mb': 0, 'priority': -3, 'zram': False},
    ]


@pytest.mark.parametrize('container', ['docker', 'lxc'])
def test_swap_inside_a_container_is_the_hosts_and_is_never_listed(container):
    assert node.swap_facts(SWAPS, container) == {'host_kernel': True, 'areas': []}


def test_no_swap_at_all_is_an_empty_list():
    assert node.swap_facts('Filename\tType\tSize\tUsed\tPriority\n') == {'host_kernel': False, 'areas': []}


@pytest.mark.parametrize('comm, container, expected', [
    ('systemd\n', None, {'system': 'systemd', 'systemd': True, 'container': None}),
    ('systemd\n', 'docker\n', {'system': 'systemd', 'systemd': True, 'container': 'docker'}),
    ('init\n', None, {'system': 'init', 'systemd': False, 'container': None}),
    (None, None, {'system': None, 'systemd': False, 'container': None}),
])
def test_init_system_is_the_name_of_pid_1(comm, container, expected):
    assert node.init_facts(comm, container) == expected


def test_own_addresses_put_the_default_route_first_and_skip_container_and_overlay_interfaces():
    facts = {
        'default_ipv4': {'address': '10.0.0.5'},
        'interfaces': ['lo', 'eth0', 'wlan0', 'docker0', 'docker_gwbridge', 'br-1a2b', 'veth12', 'vxlan0', 'cni0',
                       'flannel.1', 'tun0', 'eth1'],
        'eth0': {'ipv4': {'address': '10.0.0.5'}},
        'wlan0': {'ipv4': {'address': '192.168.1.20'}},
        'docker0': {'ipv4': {'address': '172.17.0.1'}},
        'docker_gwbridge': {'ipv4': {'address': '172.18.0.1'}},
        'br_1a2b': {'ipv4': {'address': '172.19.0.1'}},
        'cni0': {'ipv4': {'address': '10.42.0.1'}},
        'tun0': {'ipv4': {'address': '10.8.0.2'}},
        'eth1': {},
    }
    assert node.own_ipv4_addresses(facts) == ['10.0.0.5', '192.168.1.20']


def test_own_addresses_without_a_default_route_still_list_the_interfaces():
    assert node.own_ipv4_addresses({'interfaces': ['end0'], 'end0': {'ipv4': {'address': '10.1.1.1'}}}) == ['10.1.1.1']
    assert node.own_ipv4_addresses({}) == []


def test_node_address_is_the_inventorys_when_set_else_the_default_route_from_facts():
    facts = {'ansible_facts': {'default_ipv4': {'address': '10.0.0.5'}}, 'ansible_host': 'pi1.local'}
    assert node.node_address(facts) == '10.0.0.5'
    assert node.node_address(dict(facts, picocloud_node_address='192.168.7.7')) == '192.168.7.7'
    assert node.node_address({'ansible_host': 'pi1.local'}) == ''
    assert node.node_address({'ansible_facts': {}, 'picocloud_node_address': ''}) == ''


def test_the_registry_endpoint_names_the_certs_d_files_of_the_orchestrators_runtime():
    swarm = node.registry_endpoint('10.0.0.11', '5000', 'swarm')
    assert swarm == {'host': '10.0.0.11', 'port': 5000, 'address': '10.0.0.11:5000', 'url': 'https://10.0.0.11:5000',
                     'certs_dir': '/etc/docker/certs.d/10.0.0.11:5000',
                     'tls': {'ca_file': '/etc/docker/certs.d/10.0.0.11:5000/ca.crt',
                             'cert_file': '/etc/docker/certs.d/10.0.0.11:5000/client.cert',
                             'key_file': '/etc/docker/certs.d/10.0.0.11:5000/client.key'}}
    assert node.registry_endpoint('reg.site', 443, 'k3s')['certs_dir'] == '/etc/picocloud/registry/certs.d/reg.site:443'


@pytest.mark.parametrize('name', ['registry.site:5000', 'https://registry.site', 'Registry.Site', 'reg istry',
                                  'fd00::1', '[fd00::1]', 'registry.site.', 'a' * 64 + '.site', 'reg\nistry'])
def test_a_registry_name_that_no_image_name_can_spell_is_refused_naming_picocloud_registry_name(name):
    with pytest.raises(ValueError) as caught:
        node.registry_endpoint(name, 5000, 'swarm')
    assert str(caught.value) == (
        'picocloud_registry_name=%r is refused: use a lower-case host name or an IPv4 address, without scheme or port '
        '(image names and certs.d directories spell it so; the port is picocloud_registry_port)' % (name,))


def test_a_site_without_a_registry_has_an_empty_endpoint_and_a_bad_port_is_refused_by_name():
    assert node.registry_endpoint('', 5000, 'swarm') == {}
    with pytest.raises(ValueError, match=r"^picocloud_registry_port=70000 is not a TCP port$"):
        node.registry_endpoint('10.0.0.11', 70000, 'swarm')
