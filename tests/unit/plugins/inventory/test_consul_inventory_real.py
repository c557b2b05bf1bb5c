# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.consul against a real Consul 1.8.7 on 127.0.0.1 (TLS with verify_incoming, ACLs default deny).

The catalog: the server pico-01 (node meta rack=r1) runs web (tags v1, primary; TTL check passing) and db
(tag v2; TTL check never passed: critical); external nodes registered through the catalog API: pico-02
(rack=r2) with web (v1) whose check warns, and pico-03 (rack=r2) whose own disk check is critical and
whose web passes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible.errors import AnsibleParserError

import consul_server
from inventory_helpers import run_plugin, write_config

PLUGIN = 'picocloud.edge.consul'
READ_ALL = ['node_prefix "" { policy = "read" }', 'service_prefix "" { policy = "read" }']


@pytest.fixture(scope='module')
def consul(tmp_path_factory):
    server = consul_server.ConsulServer(str(tmp_path_factory.mktemp('consul')), consul_server.find_artifacts())
    try:
        server.start()
        server.request('PUT', '/v1/agent/service/register', {
            'Name': 'web', 'ID': 'web', 'Tags': ['v1', 'primary'], 'Port': 8080,
            'Check': {'CheckID': 'web-ttl', 'TTL': '10m'}})
        server.request('PUT', '/v1/agent/check/pass/web-ttl')
        server.request('PUT', '/v1/agent/service/register', {
            'Name': 'db', 'ID': 'db', 'Tags': ['v2'], 'Port': 5432, 'Check': {'CheckID': 'db-ttl', 'TTL': '10m'}})
        server.request('PUT', '/v1/catalog/register', {
            'Node': 'pico-02', 'Address': '127.0.0.2', 'Datacenter': consul_server.DATACENTER,
            'NodeMeta': {'rack': 'r2', 'note': "{{ lookup('pipe', 'id') }}"},
            'Service': {'ID': 'web', 'Service': 'web', 'Tags': ['v1'], 'Port': 8080},
            'Check': {'CheckID': 'web-http', 'Name': 'web http', 'ServiceID': 'web', 'Status': 'warning'}})
        server.request('PUT', '/v1/catalog/register', {
            'Node': 'pico-03', 'Address': '127.0.0.3', 'Datacenter': consul_server.DATACENTER,
            'NodeMeta': {'rack': 'r2'},
            'Service': {'ID': 'web', 'Service': 'web', 'Tags': ['v1'], 'Port': 8080},
            'Check': {'CheckID': 'disk', 'Name': 'disk', 'Status': 'critical'}})

        def synced():
            nodes = dict((node['Node'], node) for node in server.request('GET', '/v1/catalog/nodes'))
            checks = server.request('GET', '/v1/health/checks/web')
            return (nodes.get(consul_server.NODE, {}).get('Meta') or {}).get('rack') == 'r1' and \
                any(check['CheckID'] == 'web-ttl' and check['Status'] == 'passing' for check in checks)

        server.wait_for(synced, 'the agent syncing its node meta and the web check')
        server.tokens = {
            'reader': server.token(READ_ALL, 'reader'),
            'services_only': server.token(['service_prefix "" { policy = "read" }'], 'services-only'),
            'nodes_only': server.token(['node_prefix "" { policy = "read" }'], 'nodes-only'),
        }
        yield server
    finally:
        server.stop()


def config(consul, **overrides):
    base = {
        'plugin': PLUGIN, 'url': consul.url, 'ca_path': consul.pki['ca'], 'client_cert': consul.pki['client'],
        'client_key': consul.pki['client_key'], 'token': consul.tokens['reader'],
    }
    base.update(overrides)
    return dict((key, value) for key, value in base.items() if value is not None)


def run(consul, tmp_path, monkeypatch, flush=False, **overrides):
    """Write site.consul.yml with these options and parse it (flush: as --flush-cache does)."""
    path = write_config(tmp_path / 'site.consul.yml', config(consul, **overrides))
    return run_plugin(PLUGIN, path, monkeypatch, cache=not flush)


def test_catalog_nodes_are_hosts_with_ansible_host_from_the_node_address(consul, tmp_path, monkeypatch):
    result = run(consul, tmp_path, monkeypatch)
    assert result.hosts == ['pico-01', 'pico-02', 'pico-03']
    assert result.host_vars('pico-01')['ansible_host'] == '127.0.0.1'
    assert result.host_vars('pico-02')['ansible_host'] == '127.0.0.2'
    assert result.host_vars('pico-02')['consul_catalog_datacenter'] == consul_server.DATACENTER
    assert result.warnings == []


def test_default_keyed_groups_group_by_service_tag_datacenter_and_node_meta(consul, tmp_path, monkeypatch):
    result = run(consul, tmp_path, monkeypatch)
    assert result.group('web') == ['pico-01', 'pico-02', 'pico-03']
    assert result.group('db') == ['pico-01']
    assert result.group('web_v1') == ['pico-01', 'pico-02', 'pico-03']
    assert result.group('web_primary') == ['pico-01']
    assert result.group('db_v2') == ['pico-01']
    assert result.group('dc_pico') == ['pico-01', 'pico-02', 'pico-03']
    assert result.group('meta_rack_r1') == ['pico-01']
    assert result.group('meta_rack_r2') == ['pico-02', 'pico-03']


def test_picocloud_and_consul_servers_groups_match_the_site_plugin_names(consul, tmp_path, monkeypatch):
    result = run(consul, tmp_path, monkeypatch)
    assert result.group('picocloud') == ['pico-01', 'pico-02', 'pico-03']
    assert result.group('consul_servers') == ['pico-01']
    plain = run(consul, tmp_path, monkeypatch, picocloud_groups=False)
    assert plain.group('picocloud') is None and plain.group('consul_servers') is None


def test_keyed_groups_can_be_replaced_by_the_user(consul, tmp_path, monkeypatch):
    result = run(consul, tmp_path, monkeypatch, keyed_groups=[{'key': 'consul_catalog_meta.rack', 'prefix': 'rack'}])
    assert result.group('rack_r2') == ['pico-02', 'pico-03']
    assert result.group('web_v1') is None


def test_health_per_service_is_in_host_vars(consul, tmp_path, monkeypatch):
    result = run(consul, tmp_path, monkeypatch)
    assert result.host_vars('pico-01')['consul_catalog_health'] == {'consul': 'passing', 'web': 'passing', 'db': 'critical'}
    assert result.host_vars('pico-02')['consul_catalog_health'] == {'web': 'warning'}
    # pico-03's own disk check is critical, so each of its services is too (as Consul's ?passing sees it)
    assert result.host_vars('pico-03')['consul_catalog_node_health'] == 'critical'
    assert result.host_vars('pico-03')['consul_catalog_health'] == {'web': 'critical'}
    web = result.host_vars('pico-01')['consul_catalog_services']['web'][0]
    assert (web['id'], web['port'], web['tags'], web['health']) == ('web', 8080, ['v1', 'primary'], 'passing')


def test_passing_only_leaves_out_failing_nodes_and_instances(consul, tmp_path, monkeypatch):
    result = run(consul, tmp_path, monkeypatch, passing_only=True)
    assert result.hosts == ['pico-01', 'pico-02']
    assert result.group('web') == ['pico-01']
    assert result.group('db') is None
    assert result.host_vars('pico-02')['consul_catalog_services'] == {}


def test_services_filter_keeps_nodes_running_a_listed_service(consul, tmp_path, monkeypatch):
    result = run(consul, tmp_path, monkeypatch, services=['db'])
    assert result.hosts == ['pico-01']
    assert result.host_vars('pico-01')['consul_catalog_service_names'] == ['db']
    assert result.group('web') is None


def test_node_meta_filter_keeps_matching_nodes(consul, tmp_path, monkeypatch):
    result = run(consul, tmp_path, monkeypatch, node_meta={'rack': 'r2'})
    assert result.hosts == ['pico-02', 'pico-03']


def test_node_meta_filter_matching_nothing_is_an_empty_inventory_not_an_acl_error(consul, tmp_path, monkeypatch):
    result = run(consul, tmp_path, monkeypatch, node_meta={'rack': 'nowhere'})
    assert result.hosts == []


def test_datacenter_filter_reads_the_named_datacenter(consul, tmp_path, monkeypatch):
    result = run(consul, tmp_path, monkeypatch, datacenters=[consul_server.DATACENTER])
    assert result.hosts == ['pico-01', 'pico-02', 'pico-03']


def test_unknown_datacenter_is_a_clear_error(consul, tmp_path, monkeypatch):
    with pytest.raises(AnsibleParserError) as error:
        run(consul, tmp_path, monkeypatch, datacenters=['nowhere'])
    assert 'dc=nowhere' in str(error.value) and 'HTTP 500' in str(error.value)


def test_token_without_node_read_is_an_error_not_an_empty_inventory(consul, tmp_path, monkeypatch):
    with pytest.raises(AnsibleParserError) as error:
        run(consul, tmp_path, monkeypatch, token=consul.tokens['services_only'])
    message = str(error.value)
    assert 'lacks node:read' in message and 'has a leader' in message
    assert consul.tokens['services_only'] not in message


def test_no_token_under_default_deny_is_the_node_read_error(consul, tmp_path, monkeypatch):
    monkeypatch.delenv('CONSUL_HTTP_TOKEN', raising=False)
    with pytest.raises(AnsibleParserError, match='lacks node:read'):
        run(consul, tmp_path, monkeypatch, token=None)


def test_token_without_service_read_warns_and_still_lists_nodes(consul, tmp_path, monkeypatch):
    result = run(consul, tmp_path, monkeypatch, token=consul.tokens['nodes_only'])
    assert result.hosts == ['pico-01', 'pico-02', 'pico-03']
    assert any('lacks service:read' in warning for warning in result.warnings)
    assert result.group('web') is None


def test_token_comes_from_a_file_or_the_environment(consul, tmp_path, monkeypatch):
    token_file = tmp_path / 'token'
    token_file.write_text(consul.tokens['reader'] + '\n')
    assert run(consul, tmp_path, monkeypatch, token=None, token_file=str(token_file)).hosts == \
        ['pico-01', 'pico-02', 'pico-03']
    monkeypatch.setenv('CONSUL_HTTP_TOKEN', consul.tokens['reader'])
    assert run(consul, tmp_path, monkeypatch, token=None).hosts == ['pico-01', 'pico-02', 'pico-03']


def test_missing_token_file_is_named_in_the_error(consul, tmp_path, monkeypatch):
    with pytest.raises(AnsibleParserError, match='cannot read the token file .*/nope'):
        run(consul, tmp_path, monkeypatch, token=None, token_file=str(tmp_path / 'nope'))


def test_agent_refuses_a_client_without_certificate(consul, tmp_path, monkeypatch):
    with pytest.raises(AnsibleParserError, match='cannot reach Consul at https://127.0.0.1'):
        run(consul, tmp_path, monkeypatch, client_cert=None, client_key=None)


def test_a_certificate_from_another_ca_is_refused(consul, tmp_path, monkeypatch):
    with pytest.raises(AnsibleParserError, match='(?i)certificate verify failed'):
        run(consul, tmp_path, monkeypatch, ca_path=consul.pki['client'])


def test_catalog_text_is_never_templated(consul, tmp_path, monkeypatch):
    result = run(consul, tmp_path, monkeypatch)
    note = result.render('pico-02', '{{ consul_catalog_meta.note }}')
    assert note == "{{ lookup('pipe', 'id') }}"


def test_cache_serves_the_catalog_until_flushed_and_never_holds_the_token(consul, tmp_path, monkeypatch):
    cache_dir = tmp_path / 'cache'
    options = {'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile', 'cache_connection': str(cache_dir),
               'cache_timeout': 3600}
    first = run(consul, tmp_path, monkeypatch, **options)
    assert 'pico-04' not in first.hosts
    consul.request('PUT', '/v1/catalog/register', {'Node': 'pico-04', 'Address': '127.0.0.4',
                                                   'Datacenter': consul_server.DATACENTER})
    try:
        cached = run(consul, tmp_path, monkeypatch, **options)
        assert cached.hosts == first.hosts
        flushed = run(consul, tmp_path, monkeypatch, flush=True, **options)
        assert 'pico-04' in flushed.hosts
    finally:
        consul.request('PUT', '/v1/catalog/deregister', {'Node': 'pico-04', 'Datacenter': consul_server.DATACENTER})
    files = [os.path.join(str(cache_dir), name) for name in os.listdir(str(cache_dir))]
    assert files
    for path in files:
        with open(path) as handle:
            text = handle.read()
        assert consul.tokens['reader'] not in text
        # ansible-core 2.19's jsonfile cache wraps the entry as a JSON string in __payload__
        entry = json.loads(json.loads(text)['__payload__'])
        assert entry['data']['datacenters'][0]['nodes']


def test_verify_file_accepts_only_consul_file_names(consul, tmp_path, monkeypatch):
    from ansible.plugins.loader import inventory_loader
    plugin = inventory_loader.get(PLUGIN)
    for name, expected in (('consul.yml', True), ('lab.consul.yaml', True), ('hosts.yml', False),
                           ('myconsul.yml', False), ('lab.picocloud.yml', False)):
        path = write_config(tmp_path / name, config(consul))
        assert plugin.verify_file(path) is expected, name
