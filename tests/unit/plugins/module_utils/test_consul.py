# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The consul role's decisions: versions and their advice, release names, the configuration, extras and weakening."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils import consul
from ansible_collections.picocloud.edge.plugins.module_utils.consul import ConsulError

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


def render(version='2.0.4', **changes):
    return consul.render_config(dict(SETTINGS, **changes), version)


# --- versions ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('text, parsed', [
    ('1.8.7', (1, 8, 7)), ('v1.12.0+ent', (1, 12, 0)), ('1.11.0-rc1', (1, 11, 0)), ('1.16', (1, 16, 0)),
    ('2.0.4', (2, 0, 4)), ('2.0.5-beta1', (2, 0, 5)), ('1.21.2+ent.fips1402', (1, 21, 2)),
])
def test_parse_version_reads_release_and_prerelease_names(text, parsed):
    assert consul.parse_version(text) == parsed


@pytest.mark.parametrize('text', ['latest', '1', '', '1.8.7\n', ' 1.8.7', '1.8.7 ', '1.8.7;touch /x', '1.8.7/../x',
                                  '1.8.7\r', '1..8', None, 187])
def test_parse_version_refuses_anything_but_a_whole_version(text):
    with pytest.raises(ConsulError, match=r'consul_version .* is not a Consul version \(expected e\.g\. 2\.0\.4\)'):
        consul.parse_version(text)


def test_default_version_gets_no_advice():
    assert consul.version_advice('2.0.4') == []


def test_the_floor_itself_gets_no_advice():
    assert consul.version_advice('1.21.0') == []


def test_a_version_below_the_floor_is_warned_about_with_the_floor_and_the_date():
    advice = consul.version_advice('1.20.9')
    assert len(advice) == 1
    assert 'consul_version 1.20.9 is below the floor 1.21.0' in advice[0]
    assert 'supported on 2026-12-04' in advice[0] and 'N-2' in advice[0]


def test_the_labs_debian_release_is_warned_about_with_its_cve():
    advice = consul.version_advice('1.8.7')
    assert len(advice) == 2
    assert 'below the floor 1.21.0' in advice[0]
    assert advice[1] == ('consul_version 1.8.7 carries CVE-2021-37219 (a non-server agent with a CA-signed certificate '
                         'reaches server-only Raft RPC); fixed in 1.8.15, 1.9.9, 1.10.2.')


@pytest.mark.parametrize('version, vulnerable', [
    ('1.8.14', True), ('1.8.15', False), ('1.9.0', True), ('1.9.8', True), ('1.9.9', False),
    ('1.10.0', True), ('1.10.1', True), ('1.10.2', False), ('1.11.0', False), ('1.6.0', True),
])
def test_cve_2021_37219_is_named_exactly_in_its_vulnerable_ranges(version, vulnerable):
    assert any('CVE-2021-37219' in line for line in consul.version_advice(version)) is vulnerable


def test_version_advice_refuses_a_bad_version():
    with pytest.raises(ConsulError, match="consul_version 'stable' is not a Consul version"):
        consul.version_advice('stable')


# --- release names -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('arch, version, suffix', [
    ('amd64', '1.8.7', 'linux_amd64'),
    ('arm64', '1.8.7', 'linux_arm64'),
    ('i386', '1.8.7', 'linux_386'),
    ('armhf', '1.6.1', 'linux_arm'),
    ('armel', '1.6.1', 'linux_arm'),
    ('armhf', '1.6.2', 'linux_armhfv6'),
    ('armel', '1.6.2', 'linux_armelv5'),
    ('armhf', '1.8.7', 'linux_armhfv6'),
    ('armel', '1.8.7', 'linux_armelv5'),
    ('armhf', '1.10.3', 'linux_armhfv6'),
    ('armhf', '1.10.4', 'linux_arm'),
    ('armel', '1.10.4', 'linux_arm'),
    ('armhf', '1.11.0', 'linux_arm'),
    ('armhf', '2.0.4', 'linux_arm'),
    ('armel', '2.0.4', 'linux_arm'),
    ('arm64', '2.0.4', 'linux_arm64'),
    ('amd64', '2.0.4', 'linux_amd64'),
])
def test_release_arch_follows_hashicorp_naming_per_version(arch, version, suffix):
    assert consul.release_arch(arch, version) == suffix


@pytest.mark.parametrize('arch', ['riscv64', 'armhf\n', ' amd64', '', None])
def test_release_arch_refuses_an_architecture_without_a_build(arch):
    with pytest.raises(ConsulError, match=re.escape('no Linux build of Consul 2.0.4 for Debian architecture %r' % (arch,))):
        consul.release_arch(arch, '2.0.4')


def test_release_arch_refuses_a_bad_version_before_the_architecture():
    with pytest.raises(ConsulError, match="consul_version '2.x' is not a Consul version"):
        consul.release_arch('amd64', '2.x')


# --- the role's configuration --------------------------------------------------------------------------------------

def test_legacy_tls_keys_before_1_12():
    config = render('1.8.7')
    assert 'tls' not in config
    assert config['ca_file'] == '/etc/consul.d/tls/ca.pem'
    assert config['cert_file'] == '/etc/consul.d/tls/consul.pem'
    assert config['key_file'] == '/etc/consul.d/tls/consul-key.pem'
    assert config['verify_incoming'] is True
    assert config['verify_outgoing'] is True
    assert config['verify_server_hostname'] is True


@pytest.mark.parametrize('version', ['1.12.0', '2.0.4'])
def test_tls_stanza_from_1_12(version):
    config = render(version)
    for legacy in ('ca_file', 'cert_file', 'key_file', 'verify_incoming', 'verify_outgoing', 'verify_server_hostname'):
        assert legacy not in config
    assert config['tls'] == {
        'defaults': {'ca_file': '/etc/consul.d/tls/ca.pem', 'cert_file': '/etc/consul.d/tls/consul.pem',
                     'key_file': '/etc/consul.d/tls/consul-key.pem', 'verify_incoming': True, 'verify_outgoing': True},
        'internal_rpc': {'verify_server_hostname': True},
        'https': {'verify_incoming': True},
    }


def test_server_expects_every_server_and_joins_them():
    config = render()
    assert config['server'] is True
    assert config['bootstrap_expect'] == 3
    assert config['retry_join'] == ['10.0.0.1', '10.0.0.2', '10.0.0.3']
    assert config['datacenter'] == config['primary_datacenter'] == 'lab'


def test_client_has_no_bootstrap_expect():
    config = render(server=False)
    assert config['server'] is False
    assert 'bootstrap_expect' not in config
    assert config['retry_join'] == ['10.0.0.1', '10.0.0.2', '10.0.0.3']


def test_acl_deny_with_token_persistence():
    assert render()['acl'] == {
        'enabled': True, 'default_policy': 'deny', 'down_policy': 'extend-cache', 'enable_token_persistence': True,
    }


def test_http_disabled_by_default_and_https_on_8501():
    config = render()
    assert config['ports']['http'] == -1
    assert config['ports']['https'] == 8501
    assert 'http' not in config['addresses']
    assert config['client_addr'] == '127.0.0.1'


def test_http_local_binds_plain_http_to_loopback_only():
    config = render(http_local=True)
    assert config['ports']['http'] == 8500
    assert config['addresses']['http'] == '127.0.0.1'


def test_gossip_encryption_is_enforced_both_ways():
    config = render()
    assert config['encrypt'] == 'k' * 44
    assert config['encrypt_verify_incoming'] is True and config['encrypt_verify_outgoing'] is True


def test_script_checks_only_when_asked():
    assert render()['enable_local_script_checks'] is False
    assert render(local_script_checks=True)['enable_local_script_checks'] is True
    assert render()['enable_script_checks'] is False


def test_no_servers_is_refused():
    with pytest.raises(ConsulError, match='consul_servers is empty'):
        render(servers=[])


# --- merging consul_config_extra -----------------------------------------------------------------------------------

def test_acl_tokens_extra_keeps_acl_enabled_and_default_deny():
    acl = render(extra={'acl': {'tokens': {'initial_management': 'secret'}}})['acl']
    assert acl == {'enabled': True, 'default_policy': 'deny', 'down_policy': 'extend-cache',
                   'enable_token_persistence': True, 'tokens': {'initial_management': 'secret'}}


def test_grpc_port_extra_keeps_plain_http_closed_and_every_other_port():
    ports = render(extra={'ports': {'grpc': 8502}})['ports']
    assert ports == {'https': 8501, 'http': -1, 'dns': 8600, 'serf_lan': 8301, 'serf_wan': 8302, 'server': 8300,
                     'grpc': 8502}


def test_nested_extras_merge_two_levels_down_and_keep_the_certificates():
    tls = render(extra={'tls': {'defaults': {'tls_min_version': 'TLSv1_3'}, 'grpc': {'use_auto_cert': False}}})['tls']
    assert tls['defaults']['tls_min_version'] == 'TLSv1_3'
    assert tls['defaults']['ca_file'] == '/etc/consul.d/tls/ca.pem'
    assert tls['defaults']['verify_incoming'] is True
    assert tls['grpc'] == {'use_auto_cert': False}
    assert tls['internal_rpc'] == {'verify_server_hostname': True}


def test_a_list_extra_replaces_the_roles_list():
    config = render(extra={'retry_join': ['10.0.0.9']})
    assert config['retry_join'] == ['10.0.0.9']


def test_scalars_replace_and_new_keys_are_added():
    config = render(extra={'log_level': 'DEBUG', 'ui_config': {'enabled': True}, 'node_meta': {'rack': 'r1'}})
    assert config['log_level'] == 'DEBUG'
    assert config['ui_config'] == {'enabled': True}
    assert config['node_meta'] == {'rack': 'r1'}


def test_merging_leaves_the_extras_and_the_base_untouched():
    extra = {'acl': {'tokens': {'agent': 'a'}}, 'ports': {'grpc': 8502}}
    before = copy.deepcopy(extra)
    base = consul.base_config(SETTINGS, '2.0.4')
    base_before = copy.deepcopy(base)
    merged = consul.merge_extra(base, extra)
    assert extra == before and base == base_before
    merged['acl']['tokens']['agent'] = 'changed'
    merged['tls']['defaults']['verify_incoming'] = False
    assert extra == before and base == base_before


def test_no_extra_renders_the_base():
    assert render(extra=None) == consul.base_config(SETTINGS, '2.0.4') == render(extra={})


def test_a_list_of_one_mapping_for_a_stanza_is_refused_naming_the_path():
    with pytest.raises(ConsulError) as error:
        render(extra={'acl': [{'tokens': {'agent': 'a'}}]})
    assert str(error.value) == ('consul_config_extra.acl is a list, but the role renders consul_config_extra.acl as a '
                                'mapping; give a mapping (only mappings are merged key by key)')


def test_every_unmergeable_key_is_named_at_once():
    with pytest.raises(ConsulError) as error:
        render(extra={'ports': 8502, 'server': {'enabled': True}, 'tls': {'defaults': ['x']}})
    message = str(error.value)
    assert 'consul_config_extra.ports is an integer, but the role renders consul_config_extra.ports as a mapping' in message
    assert 'consul_config_extra.server is a mapping, but the role renders consul_config_extra.server as a boolean' in message
    assert 'consul_config_extra.tls.defaults is a list' in message


def test_extras_that_are_not_a_mapping_are_refused():
    with pytest.raises(ConsulError, match='consul_config_extra must be a mapping, got a list'):
        render(extra=['acl'])


# --- extras that weaken the configuration --------------------------------------------------------------------------

def findings(extra, version='2.0.4', http_local=False):
    return consul.weaker_settings(extra, version, http_local)


def weaker(extra, version='2.0.4', http_local=False):
    result = findings(extra, version, http_local)
    assert result['errors'] == []
    return result['weaker']


@pytest.mark.parametrize('extra', [
    {},
    None,
    {'acl': {'tokens': {'agent': 'a', 'initial_management': 'b'}, 'enabled': True, 'default_policy': 'deny'}},
    {'acl': {'down_policy': 'async-cache'}},
    {'acl': {'down_policy': 'deny'}},
    {'ports': {'grpc': 8502, 'http': -1}},
    {'ports': {'http': '-1'}},
    {'tls': {'defaults': {'verify_incoming': True, 'tls_min_version': 'TLSv1_3'}, 'grpc': {'verify_incoming': 'true'}}},
    {'encrypt_verify_incoming': True},
    {'retry_join': ['10.0.0.9'], 'node_meta': {'verify_incoming': 'just a label'}},
    {'log_level': 'DEBUG'},
])
def test_extras_that_keep_the_guarantees_pass(extra):
    assert findings(extra) == {'errors': [], 'weaker': []}


@pytest.mark.parametrize('extra, shown', [
    ({'acl': {'enabled': False}}, "consul_config_extra.acl.enabled = False turns ACLs off"),
    ({'acl': {'enabled': 'false'}}, "consul_config_extra.acl.enabled = 'false' turns ACLs off"),
    ({'acl': {'default_policy': 'allow'}}, "consul_config_extra.acl.default_policy = 'allow' allows what no policy grants"),
    ({'acl': {'down_policy': 'allow'}},
     "consul_config_extra.acl.down_policy = 'allow' allows everything while the servers cannot be reached"),
    ({'acl_default_policy': 'allow'}, "consul_config_extra.acl_default_policy = 'allow' allows what no policy grants"),
    ({'acl_down_policy': 'allow'}, "consul_config_extra.acl_down_policy = 'allow' allows everything"),
])
def test_extras_that_weaken_acl_default_deny_are_named_with_their_value(extra, shown):
    found = weaker(extra)
    assert len(found) == 1 and found[0].startswith(shown)


@pytest.mark.parametrize('stanza', ['defaults', 'internal_rpc', 'https', 'grpc'])
@pytest.mark.parametrize('key', ['verify_incoming', 'verify_outgoing', 'verify_server_hostname'])
def test_a_false_verify_key_in_any_tls_sub_stanza_is_refused(stanza, key):
    found = weaker({'tls': {stanza: {key: False}}})
    assert found == ['consul_config_extra.tls.%s.%s = False turns TLS verification off (the role sets every verify_* '
                     'to true)' % (stanza, key)]


@pytest.mark.parametrize('version', ['1.8.7', '1.12.0', '2.0.4'])
@pytest.mark.parametrize('key', ['verify_incoming', 'verify_outgoing', 'verify_server_hostname', 'verify_incoming_rpc',
                                 'verify_incoming_https'])
def test_a_false_legacy_verify_key_is_refused_in_every_version(version, key):
    found = weaker({key: False}, version)
    assert found == ['consul_config_extra.%s = False turns TLS verification off (the role sets every verify_* to '
                     'true)' % key]


@pytest.mark.parametrize('value', [0, None, 'no', '', 'False'])
def test_anything_but_true_counts_as_turning_verification_off(value):
    assert weaker({'tls': {'https': {'verify_incoming': value}}}) == [
        'consul_config_extra.tls.https.verify_incoming = %r turns TLS verification off (the role sets every verify_* '
        'to true)' % (value,)]


def test_the_deprecated_top_level_verify_incoming_is_refused_from_1_12_because_it_turns_grpc_verification_off():
    found = weaker({'verify_incoming': True}, '1.12.0')
    assert found == ['consul_config_extra.verify_incoming = True is deprecated since Consul 1.12, which maps it to '
                     'tls.defaults.verify_incoming and turns tls.grpc.verify_incoming off; set '
                     'tls.defaults.verify_incoming instead']
    assert weaker({'verify_incoming': True}, '1.8.7') == []


@pytest.mark.parametrize('key', ['encrypt_verify_incoming', 'encrypt_verify_outgoing'])
def test_gossip_verification_off_is_refused(key):
    assert weaker({key: False}) == ['consul_config_extra.%s = False accepts or sends unencrypted gossip (the role sets '
                                    'encrypt_verify_* to true)' % key]


@pytest.mark.parametrize('value', [8500, '8500', 0, True])
def test_reopening_the_plain_http_port_is_refused(value):
    assert weaker({'ports': {'http': value}}) == [
        'consul_config_extra.ports.http = %r re-opens the plain HTTP port (the role keeps ports.http = -1 unless '
        'consul_http_local is true)' % (value,)]


def test_the_plain_http_port_may_move_when_consul_http_local_binds_it_to_loopback():
    assert weaker({'ports': {'http': 8600}}, http_local=True) == []


def test_binding_plain_http_beyond_loopback_is_refused_with_consul_http_local():
    assert weaker({'addresses': {'http': '0.0.0.0'}}, http_local=True) == [
        "consul_config_extra.addresses.http = '0.0.0.0' binds plain HTTP beyond loopback (consul_http_local serves it "
        "on 127.0.0.1 only)"]
    assert weaker({'addresses': {'http': '127.0.0.1'}}, http_local=True) == []


def test_weakening_inside_a_list_is_found_and_the_list_is_refused():
    result = findings({'acl': [{'default_policy': 'allow'}]})
    assert result['errors'] == ['consul_config_extra.acl is a list, but the role renders consul_config_extra.acl as a '
                                'mapping; give a mapping (only mappings are merged key by key)']
    assert result['weaker'] == ["consul_config_extra.acl[0].default_policy = 'allow' allows what no policy grants "
                                "(the role keeps default_policy = \"deny\")"]


def test_weakening_in_a_list_inside_a_new_tls_sub_stanza_is_found():
    assert weaker({'tls': {'grpc': [{'verify_incoming': False}]}}) == [
        'consul_config_extra.tls.grpc[0].verify_incoming = False turns TLS verification off (the role sets every '
        'verify_* to true)']


def test_every_weakening_is_listed_not_only_the_first():
    found = weaker({'acl': {'enabled': False, 'default_policy': 'allow'}, 'ports': {'http': 8500},
                    'tls': {'internal_rpc': {'verify_server_hostname': False}}})
    assert [line.split(' = ')[0] for line in found] == [
        'consul_config_extra.acl.enabled', 'consul_config_extra.acl.default_policy', 'consul_config_extra.ports.http',
        'consul_config_extra.tls.internal_rpc.verify_server_hostname']


def test_the_check_names_extras_that_cannot_be_merged():
    assert findings({'ports': 8502})['errors'] == [
        'consul_config_extra.ports is an integer, but the role renders consul_config_extra.ports as a mapping; give a mapping '
        '(only mappings are merged key by key)']
    assert findings(['acl']) == {'errors': ['consul_config_extra must be a mapping, got a list'], 'weaker': []}


def test_the_check_knows_the_layout_of_the_version():
    # the legacy layout has no tls stanza, so a tls mapping is a new key there (consul validate refuses it later)
    assert findings({'tls': {'defaults': {'tls_min_version': 'TLSv1_2'}}}, '1.8.7') == {'errors': [], 'weaker': []}
    assert findings({'verify_incoming': {'x': 1}}, '1.8.7')['errors'] == [
        'consul_config_extra.verify_incoming is a mapping, but the role renders consul_config_extra.verify_incoming '
        'as a boolean; give a boolean (only mappings are merged key by key)']


def test_the_check_refuses_a_bad_version():
    with pytest.raises(ConsulError, match="consul_version '2' is not a Consul version"):
        findings({}, '2')


def test_recursors_go_into_the_agent_config_only_when_given():
    assert 'recursors' not in consul.base_config(dict(SETTINGS), '1.8.7')
    given = dict(SETTINGS, recursors=['127.0.0.11', '192.168.1.1:53', '[fd00::1]:53', 'fd00::2'])
    assert consul.base_config(given, '1.8.7')['recursors'] == ['127.0.0.11', '192.168.1.1:53', '[fd00::1]:53', 'fd00::2']


@pytest.mark.parametrize('bad', ['dns.example', '10.0.0.1:0', '10.0.0.1:99999', '10.0.0.1; rm -rf /', '', 53])
def test_a_recursor_that_is_not_an_address_is_refused_naming_the_field(bad):
    with pytest.raises(ConsulError, match=r"^consul_recursors: .* is not an IPv4 or IPv6 address \(with an optional :port\)$"):
        consul.base_config(dict(SETTINGS, recursors=[bad]), '1.8.7')
