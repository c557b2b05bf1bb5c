# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Consul catalog as inventory data: fetch it over Consul's HTTP API and turn it into hosts.

Private to the picocloud.edge collection: no compatibility promise to other collections.

The HTTP client is Ansible's own ``open_url`` (TLS with a CA, a client certificate and key), so the
controller needs no Consul client library (python-consul, the one the old contrib script used, is
abandoned). The token travels only in the ``X-Consul-Token`` header; no message here contains it.

Consul answers a token that may not read nodes with an empty catalog, not with an error. A
cluster with a leader has at least one server node, so an empty unfiltered node list next to a
known leader means the token lacks ``node:read``; ``fetch`` raises ``ConsulError`` then.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import socket

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote, urlencode
from ansible.module_utils.urls import open_url

STATUS_ORDER = {'passing': 0, 'warning': 1, 'critical': 2, 'maintenance': 2}
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


class ConsulError(Exception):
    """The catalog cannot be read (connection, TLS, ACL or an answer that is not the catalog)."""


def read_token(token=None, token_file=None):
    """The token from the option/env value, else from the file; None when neither is set."""
    if token:
        return token.strip()
    if token_file:
        try:
            with open(token_file) as handle:
                value = handle.read().strip()
        except (IOError, OSError) as exc:
            raise ConsulError('cannot read the token file %s: %s' % (token_file, exc.strerror or exc))
        if not value:
            raise ConsulError('the token file %s is empty' % token_file)
        return value
    return None


def worst(statuses, default='passing'):
    """'passing' < 'warning' < 'critical' (maintenance counts as critical)."""
    result = default
    for status in statuses:
        status = 'critical' if status == 'maintenance' else status
        if STATUS_ORDER.get(status, 2) > STATUS_ORDER[result]:
            result = status if status in STATUS_ORDER else 'critical'
    return result


class Client(object):
    """GET requests to one Consul agent's HTTP API; JSON in, ConsulError out."""

    def __init__(self, url, token=None, ca_path=None, client_cert=None, client_key=None, validate_certs=True,
                 timeout=10, use_proxy=False, opener=open_url):
        self.url = url.rstrip('/')
        self._token = token
        self.ca_path = ca_path
        self.client_cert = client_cert
        self.client_key = client_key
        self.validate_certs = validate_certs
        self.timeout = timeout
        self.use_proxy = use_proxy
        self._open = opener

    def get(self, path, params=()):
        query = urlencode([(key, value) for key, value in params if value is not None])
        url = self.url + path + ('?' + query if query else '')
        headers = {'Accept': 'application/json'}
        if self._token:
            headers['X-Consul-Token'] = self._token
        try:
            response = self._open(url, method='GET', headers=headers, validate_certs=self.validate_certs,
                                  ca_path=self.ca_path, client_cert=self.client_cert, client_key=self.client_key,
                                  timeout=self.timeout, use_proxy=self.use_proxy, follow_redirects='none')
            body = response.read(MAX_RESPONSE_BYTES + 1)
        except HTTPError as exc:
            detail = exc.read(300).decode('utf-8', 'replace').strip() if exc.fp else ''
            hint = ''
            if exc.code == 403:
                hint = ' (the token is missing, unknown or lacks the permission; see consul acl token read -self)'
            raise ConsulError('GET %s: HTTP %d %s%s%s' % (url, exc.code, exc.reason, ': ' + detail if detail else '', hint))
        except URLError as exc:
            raise ConsulError('cannot reach Consul at %s: %s' % (self.url, exc.reason))
        except (socket.error, socket.timeout, ValueError) as exc:
            raise ConsulError('cannot reach Consul at %s: %s' % (self.url, exc))
        if len(body) > MAX_RESPONSE_BYTES:
            raise ConsulError('GET %s: the answer is larger than %d bytes' % (url, MAX_RESPONSE_BYTES))
        try:
            return json.loads(body.decode('utf-8'))
        except ValueError:
            raise ConsulError('GET %s: the answer is not JSON (is %s a Consul HTTP API?)' % (url, self.url))


def _meta_params(node_meta):
    return [('node-meta', '%s:%s' % (key, value)) for key, value in sorted((node_meta or {}).items())]


def fetch(client, datacenters=None, services=None, node_meta=None):
    """The raw catalog of each datacenter: {'datacenters': [{'datacenter', 'leader', 'nodes', 'checks',
    'services': {name: health entries}, 'service_read': bool}]}."""
    result = []
    for datacenter in datacenters or [None]:
        params = [('dc', datacenter)]
        leader = client.get('/v1/status/leader', params)
        filtered = params + _meta_params(node_meta)
        nodes = client.get('/v1/catalog/nodes', filtered)
        if not isinstance(nodes, list):
            raise ConsulError('GET /v1/catalog/nodes: expected a list of nodes, got %r' % (type(nodes).__name__,))
        if not nodes and leader:
            if not node_meta or not client.get('/v1/catalog/nodes', params):
                raise ConsulError(
                    'the catalog of datacenter %s shows no node although the cluster has a leader (%s): the token '
                    'lacks node:read (Consul hides what a token may not read). Give the token a policy with '
                    'node_prefix "" { policy = "read" } and service_prefix "" { policy = "read" }'
                    % (datacenter or "of the agent", leader))
        catalog_services = client.get('/v1/catalog/services', filtered) if nodes else {}
        wanted = sorted(name for name in catalog_services if not services or name in services)
        entries = {}
        for name in wanted:
            entries[name] = client.get('/v1/health/service/' + quote(name, safe=''), filtered)
        checks = client.get('/v1/health/state/any', params) if nodes else []
        result.append({
            'datacenter': datacenter,
            'leader': leader,
            'nodes': nodes,
            'checks': checks,
            'services': entries,
            'service_read': bool(catalog_services) or not nodes,
        })
    return {'datacenters': result}


def _node_health(checks):
    health = {}
    for check in checks or []:
        if not check.get('ServiceID'):
            node = check.get('Node')
            health[node] = worst([health.get(node, 'passing'), check.get('Status')])
    return health


def build(data, passing_only=False, services=None, prefix='consul_catalog_'):
    """Fetched catalog -> {'hosts': {node name: vars}, 'consul_servers': [names], 'warnings': [...]}.

    Host vars (with `prefix`): node, datacenter, meta, tagged_addresses, node_health, services
    ({name: [instances]}), health ({service: worst status of its instances}), service_names and
    service_tags (``<service>_<tag>``); plus ansible_host from the node address.
    """
    hosts, servers, warnings = {}, [], []
    for catalog in data['datacenters']:
        node_health = _node_health(catalog['checks'])
        if not catalog['service_read']:
            warnings.append('datacenter %s: the token sees nodes but no service (not even consul): it lacks '
                            'service:read, so there are no service groups or health vars'
                            % (catalog['datacenter'] or 'of the agent'))
        for node in catalog['nodes']:
            name = node['Node']
            health = node_health.get(name, 'passing')
            if passing_only and health != 'passing':
                continue
            hosts[name] = {
                'ansible_host': node.get('Address'),
                prefix + 'node': name,
                prefix + 'datacenter': node.get('Datacenter') or catalog['datacenter'],
                prefix + 'meta': dict(node.get('Meta') or {}),
                prefix + 'tagged_addresses': dict(node.get('TaggedAddresses') or {}),
                prefix + 'node_health': health,
                prefix + 'services': {},
                prefix + 'health': {},
                prefix + 'service_names': [],
                prefix + 'service_tags': [],
            }
        for service_name, entries in sorted(catalog['services'].items()):
            for entry in entries or []:
                name = (entry.get('Node') or {}).get('Node')
                if name not in hosts:
                    continue
                service = entry.get('Service') or {}
                status = worst(check.get('Status') for check in entry.get('Checks') or [])
                if passing_only and status != 'passing':
                    continue
                host = hosts[name]
                tags = list(service.get('Tags') or [])
                host[prefix + 'services'].setdefault(service_name, []).append({
                    'id': service.get('ID'), 'tags': tags, 'port': service.get('Port'),
                    'address': service.get('Address') or None, 'meta': dict(service.get('Meta') or {}),
                    'health': status,
                })
                host[prefix + 'health'][service_name] = worst([host[prefix + 'health'].get(service_name, 'passing'),
                                                               status])
                if service_name not in host[prefix + 'service_names']:
                    host[prefix + 'service_names'].append(service_name)
                for tag in tags:
                    group = '%s_%s' % (service_name, tag)
                    if group not in host[prefix + 'service_tags']:
                        host[prefix + 'service_tags'].append(group)
    if services:
        hosts = dict((name, host) for name, host in hosts.items() if host[prefix + 'service_names'])
    for name in sorted(hosts):
        if 'consul' in hosts[name][prefix + 'service_names']:
            servers.append(name)
    return {'hosts': hosts, 'consul_servers': servers, 'warnings': warnings}
