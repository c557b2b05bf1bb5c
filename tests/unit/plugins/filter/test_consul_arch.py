# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release naming and version-aware configuration for the consul role."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.filter.consul_arch import (
    FilterModule,
    consul_arch,
    consul_config,
    parse_version,
)

SETTINGS = {
    'datacenter': 'lab',
    'domain': 'consul',
    'node_name': 'n1',
    'data_dir': '/opt/consul',
    'server': True,
    'servers': ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
    'bind_addr': '10.0.0.1',
    'encrypt': 'k' * 44,
    'http_local': False,
    'tls': {'ca_file': '/etc/consul.d/tls/ca.pem', 'cert_file': '/etc/consul.d/tls/consul.pem',
            'key_file': '/etc/consul.d/tls/consul-key.pem'},
}


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {'consul_arch', 'consul_config'}


@pytest.mark.parametrize('text, parsed', [
    ('1.8.7', (1, 8, 7)), ('v1.12.0+ent', (1, 12, 0)), ('1.11.0-rc1', (1, 11, 0)), ('1.16', (1, 16, 0)),
])
def test_parse_version(text, parsed):
    assert parse_version(text) == parsed


def test_parse_version_refuses_text():
    with pytest.raises(AnsibleFilterError, match="'latest' is not a Consul version"):
        parse_version('latest')


@pytest.mark.parametrize('arch, version, suffix', [
    ('amd64', '1.8.7', 'linux_amd64'),
    ('arm64', '1.8.7', 'linux_arm64'),
    ('i386', '1.8.7', 'linux_386'),
    ('armhf', '1.8.7', 'linux_armhfv6'),
    ('armel', '1.8.7', 'linux_armelv5'),
    ('armhf', '1.10.12', 'linux_armhfv6'),
    ('armhf', '1.11.0', 'linux_arm'),
    ('armel', '1.11.0', 'linux_arm'),
    ('armhf', '1.16.2', 'linux_arm'),
    ('arm64', '1.16.2', 'linux_arm64'),
])
def test_consul_arch_follows_hashicorp_naming_per_version(arch, version, suffix):
    assert consul_arch(arch, version) == suffix


def test_consul_arch_refuses_unknown_architecture():
    with pytest.raises(AnsibleFilterError, match="no Linux build of Consul 1.8.7 for Debian architecture 'riscv64'"):
        consul_arch('riscv64', '1.8.7')


def test_legacy_tls_keys_before_1_12():
    config = consul_config(SETTINGS, '1.8.7')
    assert 'tls' not in config
    assert config['ca_file'] == '/etc/consul.d/tls/ca.pem'
    assert config['cert_file'] == '/etc/consul.d/tls/consul.pem'
    assert config['key_file'] == '/etc/consul.d/tls/consul-key.pem'
    assert config['verify_incoming'] is True
    assert config['verify_outgoing'] is True
    assert config['verify_server_hostname'] is True


def test_tls_stanza_from_1_12():
    config = consul_config(SETTINGS, '1.12.0')
    for legacy in ('ca_file', 'cert_file', 'key_file', 'verify_incoming', 'verify_outgoing', 'verify_server_hostname'):
        assert legacy not in config
    assert config['tls']['defaults'] == {
        'ca_file': '/etc/consul.d/tls/ca.pem', 'cert_file': '/etc/consul.d/tls/consul.pem',
        'key_file': '/etc/consul.d/tls/consul-key.pem', 'verify_incoming': True, 'verify_outgoing': True,
    }
    assert config['tls']['internal_rpc'] == {'verify_server_hostname': True}
    assert config['tls']['https'] == {'verify_incoming': True}


def test_server_expects_every_server_and_joins_them():
    config = consul_config(SETTINGS, '1.8.7')
    assert config['server'] is True
    assert config['bootstrap_expect'] == 3
    assert config['retry_join'] == ['10.0.0.1', '10.0.0.2', '10.0.0.3']
    assert config['datacenter'] == config['primary_datacenter'] == 'lab'


def test_client_has_no_bootstrap_expect():
    config = consul_config(dict(SETTINGS, server=False), '1.8.7')
    assert config['server'] is False
    assert 'bootstrap_expect' not in config
    assert config['retry_join'] == ['10.0.0.1', '10.0.0.2', '10.0.0.3']


def test_acl_deny_with_token_persistence():
    assert consul_config(SETTINGS, '1.8.7')['acl'] == {
        'enabled': True, 'default_policy': 'deny', 'down_policy': 'extend-cache', 'enable_token_persistence': True,
    }


def test_http_disabled_by_default_and_https_on_8501():
    config = consul_config(SETTINGS, '1.8.7')
    assert config['ports']['http'] == -1
    assert config['ports']['https'] == 8501
    assert 'http' not in config['addresses']
    assert config['client_addr'] == '127.0.0.1'


def test_http_local_binds_plain_http_to_loopback_only():
    config = consul_config(dict(SETTINGS, http_local=True), '1.8.7')
    assert config['ports']['http'] == 8500
    assert config['addresses']['http'] == '127.0.0.1'


def test_gossip_encryption_is_enforced_both_ways():
    config = consul_config(SETTINGS, '1.8.7')
    assert config['encrypt'] == 'k' * 44
    assert config['encrypt_verify_incoming'] is True and config['encrypt_verify_outgoing'] is True


def test_script_checks_only_when_asked():
    assert consul_config(SETTINGS, '1.8.7')['enable_local_script_checks'] is False
    assert consul_config(dict(SETTINGS, local_script_checks=True), '1.8.7')['enable_local_script_checks'] is True
    assert consul_config(SETTINGS, '1.8.7')['enable_script_checks'] is False


def test_extra_is_merged_last():
    config = consul_config(dict(SETTINGS, extra={'log_level': 'DEBUG', 'ui': True}), '1.8.7')
    assert config['log_level'] == 'DEBUG' and config['ui'] is True


def test_no_servers_is_refused():
    with pytest.raises(AnsibleFilterError, match='no servers'):
        consul_config(dict(SETTINGS, servers=[]), '1.8.7')
