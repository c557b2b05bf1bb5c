# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The picocloud.edge.consul inventory plugin against the site's real Consul (1.8.7: HTTPS with verify_incoming,
ACLs default deny), as docs/inventory.md tells an operator to set it up: a Consul client bundle from pki's client
entry point (issued by the site's consul CA; made on a copy of the site's CAs, so the site's secrets dir is left as
it is) and a token of the documented read-only policy, made for the test and deleted after it. The inventory it
builds has the same `picocloud` hosts (by their Consul node name, the hostname, and by address) and the same
`consul_servers` as the site plugin's inventory of the lab."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.request

import pytest
import yaml

from picocloud_test import plain

CONSUL_PORT = 8501
PURPOSES = ('root', 'consul', 'docker', 'operator', 'registry')
BUNDLE = 'consul-inventory-test'
READ_RULES = 'node_prefix "" { policy = "read" }\nservice_prefix "" { policy = "read" }\n'
SERVICES_ONLY_RULES = 'service_prefix "" { policy = "read" }\n'
CLIENT_PLAY = [{
    'name': 'Write a Consul client bundle through picocloud.edge.pki',
    'hosts': 'localhost',
    'gather_facts': False,
    'tasks': [
        {'name': 'Write the bundle (the client entry point)',
         'ansible.builtin.import_role': {'name': 'picocloud.edge.pki', 'tasks_from': 'client'}},
    ],
}]


def consul_name(site, host):
    """A node's name in Consul: its hostname (picocloud_hostname, default the inventory name)."""
    return site.hostvars(host).get('picocloud_hostname', host)


def private_dir(path):
    path.mkdir(parents=True)
    path.chmod(0o700)
    return path


class Api(object):
    """Consul's HTTP API from the controller, with a client bundle and the management token."""

    def __init__(self, url, bundle, token):
        self.url = url
        self.token = token
        self.context = ssl.create_default_context(cafile=str(bundle / 'ca.pem'))
        self.context.load_cert_chain(str(bundle / 'cert.pem'), str(bundle / 'key.pem'))

    def __call__(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={'X-Consul-Token': self.token})
        with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
            return json.loads(response.read().decode() or 'null')


@pytest.fixture(scope='module')
def consul_inventory(site, tmp_path_factory):
    """The plugin's `ansible-inventory --list` of the site's Consul with a read token (plain values), and the
    finished process of a run with a token that lacks node:read."""
    tmp = tmp_path_factory.mktemp('consul-inventory')
    secrets = private_dir(tmp / 'secrets')
    private_dir(secrets / 'pki')
    for purpose in PURPOSES:
        shutil.copytree(os.path.join(site.secrets_dir, 'pki', purpose), str(secrets / 'pki' / purpose))
    book = tmp / 'client.yml'
    book.write_text('---\n' + yaml.safe_dump(CLIENT_PLAY, sort_keys=False))
    run = site.playbook(str(book), extra_vars={'picocloud_secrets_dir': str(secrets), 'pki_client_name': BUNDLE,
                                               'pki_client_ca': 'consul', 'pki_client_trust': ['consul']})
    assert run.ok(), run.failure_text()
    bundle = secrets / 'pki' / 'clients' / BUNDLE

    url = 'https://%s:%d' % (site.address(site.hosts('consul_servers')[0]), CONSUL_PORT)
    with open(os.path.join(site.secrets_dir, 'consul', 'management.token')) as handle:
        api = Api(url, bundle, handle.read().strip())
    name = 'inventory-test-%d' % int(time.time())
    policies, tokens = [], []
    try:
        for suffix, rules in (('read', READ_RULES), ('services-only', SERVICES_ONLY_RULES)):
            policies.append(api('PUT', '/v1/acl/policy', {'Name': '%s-%s' % (name, suffix), 'Rules': rules}))
            body = {'Description': '%s-%s' % (name, suffix), 'Policies': [{'ID': policies[-1]['ID']}]}
            tokens.append(api('PUT', '/v1/acl/token', body))

        def inventory(token):
            token_file = tmp / 'inventory.token'
            token_file.write_text(token['SecretID'])
            token_file.chmod(0o600)
            config = tmp / 'site.consul.yml'
            config.write_text(yaml.safe_dump({
                'plugin': 'picocloud.edge.consul', 'url': url, 'ca_path': str(bundle / 'ca.pem'),
                'client_cert': str(bundle / 'cert.pem'), 'client_key': str(bundle / 'key.pem'),
                'token_file': str(token_file)}))
            env = dict(os.environ, ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED='true')
            proc = subprocess.run(['ansible-inventory', '-i', str(config), '--list'], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, universal_newlines=True,
                                  timeout=120, check=False)
            # the token never shows, not even in a warning or an error
            assert token['SecretID'] not in proc.stdout + proc.stderr
            return proc

        proc = inventory(tokens[0])
        assert proc.returncode == 0, proc.stderr
        refused = inventory(tokens[1])
        yield {'read': plain(json.loads(proc.stdout)), 'services_only': refused}
    finally:
        for token in tokens:
            api('DELETE', '/v1/acl/token/%s' % token['AccessorID'])
        for policy in policies:
            api('DELETE', '/v1/acl/policy/%s' % policy['ID'])


def test_a_token_without_node_read_gets_a_clear_error_not_an_empty_inventory(consul_inventory):
    refused = consul_inventory['services_only']
    assert refused.returncode != 0
    assert 'lacks node:read' in ' '.join(refused.stderr.split()), refused.stderr


def test_the_consul_plugin_has_the_site_plugins_picocloud_hosts_by_name_and_address(site, consul_inventory):
    expected = dict((consul_name(site, host), site.address(host)) for host in site.hosts('picocloud'))
    assert sorted(consul_inventory['read']['picocloud']['hosts']) == sorted(expected)
    found = dict((host, consul_inventory['read']['_meta']['hostvars'][host]['ansible_host']) for host in expected)
    assert found == expected


def test_the_consul_plugin_has_the_site_plugins_consul_servers(site, consul_inventory):
    expected = sorted(consul_name(site, host) for host in site.hosts('consul_servers'))
    assert expected
    assert sorted(consul_inventory['read']['consul_servers']['hosts']) == expected
    # the keyed group of the `consul` service (the servers) and each service's health as a var
    assert sorted(consul_inventory['read']['consul']['hosts']) == expected
    for host in expected:
        hostvars = consul_inventory['read']['_meta']['hostvars'][host]
        assert hostvars['consul_catalog_health']['consul'] in ('passing', 'warning', 'critical')
        assert sorted(hostvars['consul_catalog_health']) == sorted(hostvars['consul_catalog_service_names'])
