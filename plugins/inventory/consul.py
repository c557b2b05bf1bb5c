# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
name: consul
version_added: 0.2.0
short_description: The nodes of a Consul catalog as an inventory, grouped by service, tag, datacenter and node meta
description:
  - Reads the catalog of a Consul cluster over the HTTP API of any agent (HTTPS with a CA, a client certificate and key,
    and an ACL token) and makes each catalog node a host, with C(ansible_host) from the node's address.
  - "Host variables: C(consul_catalog_node), C(consul_catalog_datacenter), C(consul_catalog_meta) (node meta),
    C(consul_catalog_tagged_addresses), C(consul_catalog_node_health) (the node's own checks, such as serfHealth),
    C(consul_catalog_services) (service name to a list of instances with C(id), C(tags), C(port), C(address), C(meta),
    C(health)), C(consul_catalog_health) (service name to the worst status of its instances: C(passing), C(warning)
    or C(critical)), C(consul_catalog_service_names) and C(consul_catalog_service_tags) (C(<service>_<tag>)).
    They carry a C(consul_catalog_) prefix so they never override the consul role's own C(consul_*) variables."
  - Groups by service, by tag (C(<service>_<tag>)), by datacenter (C(dc_<name>)) and by node meta (C(meta_<key>_<value>))
    come from the O(keyed_groups) defaults, which you can replace.
  - With O(picocloud_groups), every host is also in C(picocloud) and the nodes that run the C(consul) service (the
    servers) in C(consul_servers), the names the picocloud.edge.site inventory uses.
  - Consul filters what a token may not read out of its answers without an error. When the catalog shows no node
    although the cluster has a leader, the plugin fails and says the token lacks C(node:read), rather than returning
    an empty inventory. A token that sees nodes but no service gets a warning (it lacks C(service:read)).
  - Everything read from Consul is marked unsafe, so catalog text is never templated.
  - It talks to Consul with Ansible's own C(open_url), so the controller needs no Consul client library.
author:
  - picocloud.edge developers (@picocloud)
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin; the file is ignored otherwise.
    type: str
    required: true
    choices: [picocloud.edge.consul]
  url:
    description: The HTTP API of any Consul agent of the cluster.
    type: str
    default: https://127.0.0.1:8501
    env:
      - name: CONSUL_HTTP_ADDR
  token:
    description:
      - The ACL token (it needs C(node:read) and C(service:read) on what you want to see). It is sent only in the
        C(X-Consul-Token) header and never shown. Prefer O(token_file) or the environment to writing it here.
    type: str
    env:
      - name: CONSUL_HTTP_TOKEN
  token_file:
    description: A file that holds the ACL token (used when O(token) is not set).
    type: path
    env:
      - name: CONSUL_HTTP_TOKEN_FILE
  ca_path:
    description: The CA certificate (PEM) that signed the agent's HTTPS certificate.
    type: path
    env:
      - name: CONSUL_CACERT
  client_cert:
    description: A client certificate (PEM), for agents with C(verify_incoming).
    type: path
    env:
      - name: CONSUL_CLIENT_CERT
  client_key:
    description: The key of O(client_cert) (PEM).
    type: path
    env:
      - name: CONSUL_CLIENT_KEY
  validate_certs:
    description: Check the agent's certificate. Leave it on outside tests.
    type: bool
    default: true
  use_proxy:
    description: Go through the C(https_proxy) of the environment (Consul agents are usually on the site's own network).
    type: bool
    default: false
  timeout:
    description: Seconds to wait for each answer.
    type: int
    default: 10
  datacenters:
    description: The datacenters to read; empty means the agent's own.
    type: list
    elements: str
    default: []
  services:
    description: Only nodes that run at least one of these services, and only these services' groups and vars.
      C(consul_servers) needs C(consul) in this list.
    type: list
    elements: str
    default: []
  node_meta:
    description: Only nodes whose node meta has all these key/value pairs (Consul's C(node-meta) filter).
    type: dict
    default: {}
  passing_only:
    description: Leave out nodes whose own checks are not all passing, and service instances that are not passing.
    type: bool
    default: false
  picocloud_groups:
    description: Put every host in C(picocloud) and the nodes running the C(consul) service in C(consul_servers).
    type: bool
    default: true
  keyed_groups:
    description: Add hosts to groups named from variables; the defaults group by service, tag, datacenter and node meta.
    type: list
    elements: dict
    default:
      - key: consul_catalog_service_names
        separator: ''
      - key: consul_catalog_service_tags
        separator: ''
      - key: consul_catalog_datacenter
        prefix: dc
      - key: consul_catalog_meta
        prefix: meta
notes:
  - The file must be named C(consul.yml), C(consul.yaml), or end in C(.consul.yml) or C(.consul.yaml).
  - The C(CONSUL_*) environment variables are the ones the consul CLI reads, so an operator shell set up for C(consul)
    works unchanged.
  - "With the cache on, the cache holds the catalog answers (never the token); C(--flush-cache) reads Consul again."
'''

EXAMPLES = r'''
# site.consul.yml: the catalog of the lab, TLS with a client certificate, token from a file
plugin: picocloud.edge.consul
url: https://10.42.0.11:8501
# a Consul client bundle (the pki role's client entry point with pki_client_ca: consul; the Docker bundle is refused)
ca_path: ~/.picocloud/lab/pki/clients/consul-operator/ca.pem
client_cert: ~/.picocloud/lab/pki/clients/consul-operator/cert.pem
client_key: ~/.picocloud/lab/pki/clients/consul-operator/key.pem
token_file: ~/.picocloud/lab/consul/inventory.token

---
# only healthy web nodes of two datacenters, grouped by rack; cached for a minute
plugin: picocloud.edge.consul
datacenters: [berlin, hamburg]
services: [web]
passing_only: true
keyed_groups:
  - {key: consul_catalog_service_tags, separator: ''}
  - {key: consul_catalog_meta.rack | default('none'), prefix: rack}
compose:
  web_port: consul_catalog_services.web[0].port
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/picocloud/inventory
cache_timeout: 60
'''

import json
import os

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.picocloud.edge.plugins.plugin_utils.unsafe import make_unsafe
from ansible_collections.picocloud.edge.plugins.module_utils.inventory import consul_catalog
from ansible_collections.picocloud.edge.plugins.module_utils.inventory.keys import NOT_PLAIN, plain_key_value

QUERY_OPTIONS = ('url', 'datacenters', 'services', 'node_meta')
NAMES = ('consul.yml', 'consul.yaml')


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = 'picocloud.edge.consul'

    def verify_file(self, path):
        name = os.path.basename(path)
        return super(InventoryModule, self).verify_file(path) and (name in NAMES or name.endswith(tuple('.' + item for item in NAMES)))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            data = self._catalog(path, cache)
            built = consul_catalog.build(data, passing_only=self.get_option('passing_only'),
                                         services=self.get_option('services'))
        except consul_catalog.ConsulError as exc:
            raise AnsibleParserError('%s: %s' % (path, to_native(exc)))
        for warning in built['warnings']:
            self.display.warning('%s: %s' % (path, warning))
        self._populate(built)

    def _compose(self, template, variables, disable_lookups=...):
        """Constructable._compose, without Jinja for a key that is one variable (see module_utils keys.py)."""
        if not (self.get_option('use_extra_vars') and self._vars):
            value = plain_key_value(template, variables)
            if value is not NOT_PLAIN:
                return value
        return super(InventoryModule, self)._compose(template, variables)

    def _client(self):
        token = consul_catalog.read_token(self.get_option('token'), self.get_option('token_file'))
        return consul_catalog.Client(
            self.get_option('url'), token=token, ca_path=self.get_option('ca_path'),
            client_cert=self.get_option('client_cert'), client_key=self.get_option('client_key'),
            validate_certs=self.get_option('validate_certs'), timeout=self.get_option('timeout'),
            use_proxy=self.get_option('use_proxy'))

    def _catalog(self, path, cache):
        """The catalog answers, from the cache when allowed: the one place the cache is read and written."""
        fingerprint = json.dumps(dict((key, self.get_option(key)) for key in QUERY_OPTIONS), sort_keys=True)
        use_cache = self.get_option('cache')
        cache_key = self.get_cache_key(path)
        if use_cache and cache:
            try:
                cached = self._cache[cache_key]
            except KeyError:
                cached = None
            if isinstance(cached, dict) and cached.get('query') == fingerprint:
                return cached['data']
        data = consul_catalog.fetch(self._client(), datacenters=self.get_option('datacenters'),
                                    services=self.get_option('services'), node_meta=self.get_option('node_meta'))
        if use_cache:
            self._cache[cache_key] = {'query': fingerprint, 'data': data}
        return data

    def _populate(self, built):
        strict = self.get_option('strict')
        picocloud = self.get_option('picocloud_groups')
        if picocloud:
            self.inventory.add_group('picocloud')
            self.inventory.add_group('consul_servers')
        for name in sorted(built['hosts']):
            host_vars = make_unsafe(built['hosts'][name])
            host = self.inventory.add_host(make_unsafe(name), group='picocloud' if picocloud else None)
            for key, value in host_vars.items():
                self.inventory.set_variable(host, key, value)
            if picocloud and name in built['consul_servers']:
                self.inventory.add_child('consul_servers', host)
            self._set_composite_vars(self.get_option('compose'), host_vars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), host_vars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), host_vars, host, strict=strict)
