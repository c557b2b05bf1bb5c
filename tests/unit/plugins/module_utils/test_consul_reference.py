# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The configuration rendered for Consul 1.12 and 2.0 uses only keys Consul's agent configuration reference documents.

No Consul of these versions runs here (the lab has Debian's 1.8.7, which test_consul_validate.py checks with the real
`consul validate`), so each layout is held against the reference for its version, with the reference's own key names.
The references below were transcribed by hand on 2026-12-04 from the files named in SOURCES; for every stanza the role
writes into they list every key the page documents, so a key the role renders that the page does not name fails.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils import consul

SOURCES = {
    '1.12': ('hashicorp/web-unified-docs content/consul/v1.12.x/content/docs/agent/config/config-files.mdx '
             '(commit 03010088c5b4): General, ACL, Advertise Address, Bootstrap, DNS and Domain, Encryption, Join, '
             'Log, Node and TLS Configuration Reference sections'),
    '2.0': ('hashicorp/web-unified-docs content/consul/v2.0.x/content/docs/reference/agent/configuration-file/: '
            'general.mdx (3f637df47827), tls.mdx (f2ed9ebf7e6e), encryption.mdx (4a006c1d6a2d), join.mdx '
            '(1f2f426ce725), bootstrap.mdx (cdc068c219f9), dns.mdx (1f2f426ce725), log.mdx (79d2982a2822), node.mdx '
            '(f64e60c1e774), address.mdx (7e81f0236225); the ACL page as published on developer.hashicorp.com '
            '(consul/docs/reference/agent/configuration-file/acl), whose source is hashicorp/consul '
            'website/content/docs/reference/agent/configuration-file/acl.mdx (32857632b280)'),
}

_TLS_OVERRIDES = ('ca_file', 'ca_path', 'cert_file', 'key_file', 'tls_min_version', 'tls_cipher_suites',
                  'verify_incoming')
_ACL = ('enabled', 'policy_ttl', 'role_ttl', 'token_ttl', 'down_policy', 'default_policy', 'enable_key_list_policy',
        'enable_token_replication', 'enable_token_persistence')
_ACL_TOKENS_1_12 = ('initial_management', 'master', 'default', 'agent', 'agent_recovery', 'agent_master', 'replication',
                    'managed_service_provider')
_PORTS_1_12 = ('dns', 'http', 'https', 'grpc', 'serf_lan', 'serf_wan', 'server', 'sidecar_min_port', 'sidecar_max_port',
               'expose_min_port', 'expose_max_port')
_TOP_LEVEL = ('addresses', 'advertise_addr', 'bind_addr', 'bootstrap_expect', 'client_addr', 'data_dir', 'datacenter',
              'disable_update_check', 'domain', 'enable_local_script_checks', 'enable_script_checks', 'encrypt',
              'encrypt_verify_incoming', 'encrypt_verify_outgoing', 'log_level', 'node_name', 'ports',
              'primary_datacenter', 'retry_join', 'server', 'acl', 'tls')


def _paths(prefix, names):
    return {'%s.%s' % (prefix, name) for name in names}


DOCUMENTED = {
    '1.12': (set(_TOP_LEVEL)
             | _paths('addresses', ('dns', 'http', 'https', 'grpc'))
             | _paths('ports', _PORTS_1_12)
             | _paths('acl', _ACL + ('tokens',))
             | _paths('acl.tokens', _ACL_TOKENS_1_12)
             | _paths('tls', ('defaults', 'grpc', 'https', 'internal_rpc'))
             | _paths('tls.defaults', _TLS_OVERRIDES + ('verify_outgoing',))
             | _paths('tls.grpc', _TLS_OVERRIDES)
             | _paths('tls.https', _TLS_OVERRIDES + ('verify_outgoing',))
             | _paths('tls.internal_rpc', _TLS_OVERRIDES + ('verify_outgoing', 'verify_server_hostname'))),
    '2.0': (set(_TOP_LEVEL)
            | _paths('addresses', ('dns', 'http', 'https', 'grpc', 'grpc_tls'))
            | _paths('ports', _PORTS_1_12 + ('grpc_tls',))
            | _paths('acl', _ACL + ('tokens',))
            | _paths('acl.tokens', _ACL_TOKENS_1_12 + ('config_file_service_registration', 'dns'))
            | _paths('tls', ('defaults', 'grpc', 'https', 'internal_rpc'))
            | _paths('tls.defaults', _TLS_OVERRIDES + ('verify_outgoing', 'verify_server_hostname'))
            | _paths('tls.grpc', _TLS_OVERRIDES + ('use_auto_cert',))
            | _paths('tls.https', _TLS_OVERRIDES + ('verify_outgoing',))
            | _paths('tls.internal_rpc', _TLS_OVERRIDES + ('verify_outgoing', 'verify_server_hostname'))),
}

# Names the references mark deprecated or renamed (the role must not render them for these versions).
DEPRECATED = {
    'ca_file', 'ca_path', 'cert_file', 'key_file', 'tls_min_version', 'tls_cipher_suites',
    'tls_prefer_server_cipher_suites', 'verify_incoming', 'verify_incoming_rpc', 'verify_incoming_https',
    'verify_outgoing', 'verify_server_hostname',
    'acl_datacenter', 'acl_default_policy', 'acl_down_policy', 'acl_agent_master_token', 'acl_agent_token',
    'acl_enforce_version_8', 'acl_master_token', 'acl_replication_token', 'acl_token', 'acl_ttl',
    'enable_acl_replication', 'acl.tokens.master', 'acl.tokens.agent_master', 'start_join', 'start_join_wan',
}

DOCUMENTED_VALUES = {
    'acl.default_policy': ('allow', 'deny'),
    'acl.down_policy': ('allow', 'deny', 'extend-cache', 'async-cache'),
}
# log.mdx (2.0): "The available log levels are "trace", "debug", "info", "warn", and "error"".
LOG_LEVELS_2_0 = ('trace', 'debug', 'info', 'warn', 'error')

RELEASES = {'1.12': '1.12.0', '2.0': '2.0.4'}

BASE = {
    'datacenter': 'lab', 'domain': 'consul', 'node_name': 'n1', 'data_dir': '/opt/consul', 'server': True,
    'servers': ['10.0.0.1', '10.0.0.2', '10.0.0.3'], 'bind_addr': '10.0.0.1', 'encrypt': 'k' * 44,
    'http_local': False, 'local_script_checks': False, 'log_level': 'INFO',
    'ports': {'https': 8501, 'dns': 8600, 'serf_lan': 8301, 'serf_wan': 8302, 'server': 8300},
    'tls': {'ca_file': '/etc/consul.d/tls/ca.pem', 'cert_file': '/etc/consul.d/tls/consul.pem',
            'key_file': '/etc/consul.d/tls/consul-key.pem'},
}
VARIANTS = {
    'server': {},
    'client': {'server': False},
    'http_local': {'http_local': True},
    'script_checks': {'local_script_checks': True},
}


def flatten(config, prefix=''):
    """Dotted key paths of a configuration; a list is one key (retry_join), as the reference documents it."""
    paths = {}
    for key, value in config.items():
        path = prefix + key
        paths[path] = value
        if isinstance(value, dict):
            paths.update(flatten(value, path + '.'))
    return paths


def rendered(doc_version, variant):
    return flatten(consul.render_config(dict(BASE, **VARIANTS[variant]), RELEASES[doc_version]))


@pytest.mark.parametrize('variant', sorted(VARIANTS))
@pytest.mark.parametrize('doc_version', sorted(DOCUMENTED))
def test_every_rendered_key_is_in_the_reference_for_its_version(doc_version, variant):
    undocumented = set(rendered(doc_version, variant)) - DOCUMENTED[doc_version]
    assert undocumented == set(), 'not in %s' % SOURCES[doc_version]


@pytest.mark.parametrize('variant', sorted(VARIANTS))
@pytest.mark.parametrize('doc_version', sorted(DOCUMENTED))
def test_no_deprecated_or_renamed_key_is_rendered(doc_version, variant):
    assert set(rendered(doc_version, variant)) & DEPRECATED == set()


@pytest.mark.parametrize('doc_version', sorted(DOCUMENTED))
def test_the_tls_stanza_uses_the_references_names(doc_version):
    tls = {path for path in rendered(doc_version, 'server') if path.startswith('tls.')}
    assert tls == {'tls.defaults', 'tls.defaults.ca_file', 'tls.defaults.cert_file', 'tls.defaults.key_file',
                   'tls.defaults.verify_incoming', 'tls.defaults.verify_outgoing', 'tls.internal_rpc',
                   'tls.internal_rpc.verify_server_hostname', 'tls.https', 'tls.https.verify_incoming'}


@pytest.mark.parametrize('doc_version', sorted(DOCUMENTED))
def test_policy_values_are_values_the_reference_lists(doc_version):
    paths = rendered(doc_version, 'server')
    for path, values in DOCUMENTED_VALUES.items():
        assert paths[path] in values


def test_the_default_log_level_is_a_level_the_2_0_reference_lists():
    assert rendered('2.0', 'server')['log_level'].lower() in LOG_LEVELS_2_0


@pytest.mark.parametrize('doc_version', sorted(DOCUMENTED))
def test_acl_tokens_are_not_rendered_but_the_renamed_token_keys_merge_under_acl(doc_version):
    # The role sets tokens through the API (persisted by enable_token_persistence); a site that puts a token in
    # consul_config_extra uses the reference's names from 1.11 on (initial_management, agent_recovery), and the
    # merge keeps the role's acl keys beside them.
    assert 'acl.tokens' not in rendered(doc_version, 'server')
    settings = dict(BASE, extra={'acl': {'tokens': {'initial_management': 'm', 'agent_recovery': 'r'}}})
    paths = flatten(consul.render_config(settings, RELEASES[doc_version]))
    assert set(paths) - DOCUMENTED[doc_version] == set()
    assert paths['acl.enabled'] is True and paths['acl.default_policy'] == 'deny'


def test_the_references_are_what_the_tests_say_they_are():
    # Guards the transcription: names the 2.0 pages add to 1.12's, and one each page still calls deprecated.
    assert DOCUMENTED['2.0'] - DOCUMENTED['1.12'] == {
        'addresses.grpc_tls', 'ports.grpc_tls', 'acl.tokens.config_file_service_registration', 'acl.tokens.dns',
        'tls.defaults.verify_server_hostname', 'tls.grpc.use_auto_cert'}
    assert DOCUMENTED['1.12'] - DOCUMENTED['2.0'] == set()
    assert 'acl.tokens.master' in DOCUMENTED['1.12'] and 'acl.tokens.master' in DEPRECATED
