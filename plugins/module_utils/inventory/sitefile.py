# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read and check a picocloud site file (``*.picocloud.yml``) into plain data.

Private to the picocloud.edge collection: no compatibility promise to other collections.

``parse_site(config, path)`` takes the loaded YAML mapping and returns a dict with the site, the
orchestrator, the defaults, the site image, the discovery settings and the nodes, each checked and
normalised (MACs lower case with colons, roles as a list, ...). Every error is a ``SiteError`` whose
message names the file, the node (its name and index) and the field, and shows the bad value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.picocloud.edge.plugins.module_utils.board import BOARD_TYPES
from ansible_collections.picocloud.edge.plugins.module_utils.image.flavor import FLAVORS

ORCHESTRATORS = ('swarm', 'k3s')
# role -> (inventory group, the orchestrator it needs or None)
ROLES = {
    'swarm_manager': ('swarm_managers', 'swarm'),
    'swarm_worker': ('swarm_workers', 'swarm'),
    'k3s_server': ('k3s_servers', 'k3s'),
    'k3s_agent': ('k3s_agents', 'k3s'),
    'consul_server': ('consul_servers', None),
    'registry': ('registry', None),
}
STATES = ('present', 'absent')
SOURCES = ('neighbours', 'leases', 'mdns')
LEASE_FORMATS = ('auto', 'dnsmasq', 'isc')
PROBE_METHODS = ('arp', 'ping')
ARCHES = ('amd64', 'arm64', 'armhf', 'armel', 'i386')
BOARDS = tuple(sorted(set(name for name in BOARD_TYPES.values() if name != 'Internal')))
IMAGE_FLAVORS = ('auto',) + FLAVORS
NODE_FIELDS = ('name', 'mac', 'address', 'roles', 'board', 'arch', 'state', 'image', 'network', 'vars')
DISCOVERY_FIELDS = ('sources', 'lease_files', 'mdns_timeout', 'probe', 'unclaimed', 'registry_dirs')
PROBE_FIELDS = ('cidr', 'method', 'max_hosts', 'timeout')
IMAGE_FIELDS = ('url', 'sha256', 'flavor')

# Host variables the plugin sets from a site-file field (or from discovery): `vars` and `defaults`
# may not set them, so each value has one place in the file.
RESERVED_VARS = {
    'ansible_host': "the node's 'address' field",
    'picocloud_site': "the top-level 'site'",
    'picocloud_orchestrator': "the top-level 'orchestrator'",
    'picocloud_mac': "the node's 'mac' field",
    'picocloud_roles': "the node's 'roles' field",
    'picocloud_state': "the node's 'state' field",
    'picocloud_board': "the node's 'board' field",
    'picocloud_arch': "the node's 'arch' field",
    'picocloud_base_image': "the node's (or the site's) 'image'",
    'picocloud_network': "the node's 'network' field",
    'picocloud_address_source': 'discovery (it is set by the plugin)',
    'picocloud_vendor': 'discovery (it is set by the plugin)',
    'picocloud_board_family': 'discovery (it is set by the plugin)',
    'picocloud_discovered_hostname': 'discovery (it is set by the plugin)',
}

HOSTNAME = re.compile(r'[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?')
SITE_NAME = re.compile(r'[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?')
MAC = re.compile(r'[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}|[0-9a-f]{12}')
VAR_NAME = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')
SHA256 = re.compile(r'[0-9a-f]{64}')
CONTROL = re.compile(r'[\x00-\x1f\x7f]')

DEFAULT_DISCOVERY = {
    'sources': list(SOURCES),
    'lease_files': [],
    'mdns_timeout': 2.0,
    'probe': None,
    'unclaimed': True,
    'registry_dirs': None,
}
PROBE_DEFAULTS = {'method': 'arp', 'max_hosts': 256, 'timeout': 5.0}
MAX_PROBE_HOSTS = 4096
MAX_MDNS_TIMEOUT = 30.0
MAX_PROBE_TIMEOUT = 60.0


class SiteError(ValueError):
    """A site file that cannot be used; the message names the file, node and field."""


class _Where(object):
    """Where a value sits in the site file, for messages."""

    def __init__(self, path, node=None, index=None):
        self.path = path
        self.node = node
        self.index = index

    def error(self, field, message):
        if self.index is not None:
            label = 'node %r (nodes[%d])' % (self.node, self.index) if self.node else 'nodes[%d]' % self.index
            return SiteError('%s: %s: %s: %s' % (self.path, label, field, message))
        return SiteError('%s: %s: %s' % (self.path, field, message))


def normalise_mac(value):
    """'DC-A6-32-00-00-01', 'dca632000001' -> 'dc:a6:32:00:00:01'; ValueError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError('%r was read by YAML as a number: quote MAC addresses ("dc:a6:32:00:00:01")' % (value,))
    if not isinstance(value, str) or not MAC.fullmatch(value.strip().lower()):
        raise ValueError('%r is not a MAC address (six hex pairs, e.g. "dc:a6:32:00:00:01")' % (value,))
    digits = re.sub('[:-]', '', value.strip().lower())
    return ':'.join(digits[pos:pos + 2] for pos in range(0, 12, 2))


def _text(where, field, value, pattern=None, hint=''):
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise where.error(field, '%r is not a string' % (value,))
    text = str(value).strip()
    if not text or CONTROL.search(str(value)):
        raise where.error(field, '%r is empty or holds control characters' % (value,))
    if pattern is not None and not pattern.fullmatch(text):
        raise where.error(field, '%r is not valid%s' % (value, hint))
    return text


def _choice(where, field, value, choices):
    if value not in choices:
        raise where.error(field, '%r is not one of %s' % (value, ', '.join(choices)))
    return value


def _number(where, field, value, low, high, integer=False):
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low < value <= high:
        raise where.error(field, '%r is not a %s above %s and at most %s'
                          % (value, 'whole number' if integer else 'number', low, high))
    return value if integer else float(value)


def _mapping(where, field, value, allowed=None):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise where.error(field, 'expected a mapping, got %r' % (value,))
    if allowed is not None:
        unknown = sorted(str(key) for key in value if key not in allowed)
        if unknown:
            raise where.error(field, 'unknown key(s) %s (known: %s)' % (', '.join(unknown), ', '.join(allowed)))
    return value


def _list(where, field, value):
    if value is None:
        return []
    if not isinstance(value, list):
        raise where.error(field, 'expected a list, got %r' % (value,))
    return value


def _address(where, field, value):
    text = _text(where, field, value)
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise where.error(field, '%r is not an IP address' % (value,))


def _host_vars(where, field, value):
    variables = _mapping(where, field, value)
    for key in variables:
        if not isinstance(key, str) or not VAR_NAME.fullmatch(key):
            raise where.error(field, '%r is not a valid variable name' % (key,))
        if key in RESERVED_VARS:
            raise where.error('%s.%s' % (field, key), 'is set from %s; set it there' % RESERVED_VARS[key])
    return dict(variables)


def _image(where, field, value, need_source):
    image = _mapping(where, field, value, IMAGE_FIELDS)
    result = {}
    if 'url' in image:
        result['url'] = _text(where, field + '.url', image['url'])
    if 'sha256' in image:
        digest = _text(where, field + '.sha256', image['sha256']).lower()
        if not SHA256.fullmatch(digest):
            raise where.error(field + '.sha256', '%r is not a sha256 (64 hex digits)' % (image['sha256'],))
        result['sha256'] = digest
    if 'flavor' in image:
        result['flavor'] = _choice(where, field + '.flavor', image['flavor'], IMAGE_FLAVORS)
    if need_source and result and ('url' in result) != ('sha256' in result):
        missing = 'sha256' if 'url' in result else 'url'
        raise where.error(field, 'has no %s (an image needs both url and sha256)' % missing)
    return result


def _network(where, value):
    network = _mapping(where, 'network', value)
    if 'address' in network:
        text = _text(where, 'network.address', network['address'])
        try:
            interface = ipaddress.ip_interface(text)
        except ValueError:
            raise where.error('network.address', '%r is not an address with a prefix length (e.g. 10.42.0.11/24)'
                              % (network['address'],))
        if '/' not in text:
            raise where.error('network.address', '%r has no prefix length (e.g. 10.42.0.11/24)' % (text,))
        network = dict(network, address=str(interface))
    return dict(network)


def _cidr(where, field, value):
    text = _text(where, field, value)
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise where.error(field, '%r is not a CIDR (e.g. 192.168.1.0/24)' % (value,))
    if '/' not in text:
        raise where.error(field, '%r has no prefix length (e.g. %s/24)' % (value, text))
    if str(network) != text:
        raise where.error(field, '%r has host bits set; the network is %s' % (value, network))
    if network.version != 4:
        raise where.error(field, '%r is not IPv4 (ARP and the neighbour probe are IPv4 only)' % (value,))
    return network


def probe_targets(network, max_hosts):
    """The addresses a probe of `network` asks, or ValueError when there are more than max_hosts."""
    count = network.num_addresses - 2 if network.prefixlen < 31 else network.num_addresses
    if count > max_hosts:
        raise ValueError('%s holds %d host addresses, more than max_hosts (%d): name a smaller network'
                         % (network, count, max_hosts))
    return [str(address) for address in network.hosts()]


def _probe(where, value):
    probe = _mapping(where, 'discovery.probe', value, PROBE_FIELDS)
    if not probe:
        return None
    if 'cidr' not in probe:
        raise where.error('discovery.probe.cidr', 'is required: probing asks only inside a network you name')
    result = dict(PROBE_DEFAULTS)
    result['method'] = _choice(where, 'discovery.probe.method', probe.get('method', 'arp'), PROBE_METHODS)
    result['max_hosts'] = _number(where, 'discovery.probe.max_hosts', probe.get('max_hosts', PROBE_DEFAULTS['max_hosts']),
                                  0, MAX_PROBE_HOSTS, integer=True)
    result['timeout'] = _number(where, 'discovery.probe.timeout', probe.get('timeout', PROBE_DEFAULTS['timeout']),
                                0, MAX_PROBE_TIMEOUT)
    network = _cidr(where, 'discovery.probe.cidr', probe['cidr'])
    try:
        probe_targets(network, result['max_hosts'])
    except ValueError as exc:
        raise where.error('discovery.probe.cidr', str(exc))
    result['cidr'] = str(network)
    return result


def _lease_files(where, value):
    files = []
    for pos, item in enumerate(_list(where, 'discovery.lease_files', value)):
        field = 'discovery.lease_files[%d]' % pos
        if isinstance(item, dict):
            entry = _mapping(where, field, item, ('path', 'format'))
            if 'path' not in entry:
                raise where.error(field, 'has no path')
            files.append({'path': _text(where, field + '.path', entry['path']),
                          'format': _choice(where, field + '.format', entry.get('format', 'auto'), LEASE_FORMATS)})
        else:
            files.append({'path': _text(where, field, item), 'format': 'auto'})
    return files


def _discovery(where, value):
    discovery = _mapping(where, 'discovery', value, DISCOVERY_FIELDS)
    result = dict(DEFAULT_DISCOVERY)
    if 'sources' in discovery:
        sources = _list(where, 'discovery.sources', discovery['sources'])
        for pos, source in enumerate(sources):
            _choice(where, 'discovery.sources[%d]' % pos, source, SOURCES)
        # Sources are always tried in the documented order; the list only selects them.
        result['sources'] = [source for source in SOURCES if source in sources]
    result['lease_files'] = _lease_files(where, discovery.get('lease_files'))
    if 'leases' in result['sources'] and 'lease_files' in discovery and not result['lease_files']:
        result['sources'].remove('leases')
    if 'mdns_timeout' in discovery:
        result['mdns_timeout'] = _number(where, 'discovery.mdns_timeout', discovery['mdns_timeout'], 0, MAX_MDNS_TIMEOUT)
    result['probe'] = _probe(where, discovery.get('probe'))
    if result['probe'] and 'neighbours' not in result['sources']:
        raise where.error('discovery.probe', 'only feeds the neighbours source; add neighbours to discovery.sources')
    if 'unclaimed' in discovery:
        if not isinstance(discovery['unclaimed'], bool):
            raise where.error('discovery.unclaimed', '%r is not true or false' % (discovery['unclaimed'],))
        result['unclaimed'] = discovery['unclaimed']
    if discovery.get('registry_dirs') is not None:
        result['registry_dirs'] = [_text(where, 'discovery.registry_dirs[%d]' % pos, item)
                                   for pos, item in enumerate(_list(where, 'discovery.registry_dirs',
                                                                    discovery['registry_dirs']))]
    return result


def _roles(where, value, orchestrator):
    roles = []
    for pos, role in enumerate(_list(where, 'roles', value)):
        field = 'roles[%d]' % pos
        if role not in ROLES:
            raise where.error(field, 'unknown role %r (known roles: %s)' % (role, ', '.join(sorted(ROLES))))
        needs = ROLES[role][1]
        if needs and needs != orchestrator:
            raise where.error(field, 'role %r needs orchestrator %s; this site runs %s' % (role, needs, orchestrator))
        if role in roles:
            raise where.error(field, 'role %r is listed twice' % (role,))
        roles.append(role)
    for manager, worker in (('swarm_manager', 'swarm_worker'), ('k3s_server', 'k3s_agent')):
        if manager in roles and worker in roles:
            raise where.error('roles', 'a node is either %s or %s, not both' % (manager, worker))
    return roles


def _node(path, index, value, orchestrator):
    where = _Where(path, index=index)
    if not isinstance(value, dict):
        raise where.error('node', 'expected a mapping with at least a name, got %r' % (value,))
    name = _text(where, 'name', value.get('name'), HOSTNAME,
                 ' (a host name: letters, digits and inner hyphens, at most 63)') if 'name' in value else None
    if name is None:
        raise where.error('name', 'is required')
    where = _Where(path, name, index)
    unknown = sorted(str(key) for key in value if key not in NODE_FIELDS)
    if unknown:
        raise where.error(unknown[0], 'unknown field (known: %s); host variables go under vars' % ', '.join(NODE_FIELDS))
    node = {'name': name, 'index': index}
    node['mac'] = None
    if value.get('mac') is not None:
        try:
            node['mac'] = normalise_mac(value['mac'])
        except ValueError as exc:
            raise where.error('mac', str(exc))
    node['state'] = _choice(where, 'state', value.get('state', 'present'), STATES)
    node['roles'] = _roles(where, value.get('roles'), orchestrator)
    node['board'] = _choice(where, 'board', str(value['board']), BOARDS) if value.get('board') is not None else None
    node['arch'] = _choice(where, 'arch', value['arch'], ARCHES) if value.get('arch') is not None else None
    node['image'] = _image(where, 'image', value.get('image'), need_source=False)
    node['network'] = _network(where, value.get('network'))
    node['vars'] = _host_vars(where, 'vars', value.get('vars'))
    node['address'] = _address(where, 'address', value['address']) if value.get('address') is not None else None
    static = node['network'].get('address')
    if static:
        static_ip = static.split('/')[0]
        if node['address'] is None:
            node['address'] = static_ip
        elif node['address'] != static_ip:
            raise where.error('address', '%s differs from network.address %s; give one address' % (node['address'], static))
    node['hostname'] = str(node['vars'].get('picocloud_hostname') or name).lower()
    return node, where


def _unique(nodes, key, what):
    seen = {}
    for node, where in nodes:
        value = node[key]
        if value is None:
            continue
        folded = value.lower()
        if folded in seen:
            raise where.error(key, '%s %r is already the %s of node %r (nodes[%d])'
                              % (what, value, what, seen[folded]['name'], seen[folded]['index']))
        seen[folded] = node


def parse_site(config, path):
    """The loaded site file (a mapping) -> the checked site dict; SiteError on any bad value."""
    where = _Where(path)
    if not isinstance(config, dict):
        raise where.error('file', 'expected a mapping, got %r' % (config,))
    if config.get('site') is None:
        raise where.error('site', 'is required (the name of the site, e.g. lab)')
    site = _text(where, 'site', config['site'], SITE_NAME,
                 ' (lower-case letters, digits, "-" and "_", at most 63)')
    orchestrator = _choice(where, 'orchestrator', config.get('orchestrator') or 'swarm', ORCHESTRATORS)
    defaults = _host_vars(where, 'defaults', config.get('defaults'))
    image = _image(where, 'image', config.get('image'), need_source=True)
    discovery = _discovery(where, config.get('discovery'))
    nodes = [_node(path, index, value, orchestrator) for index, value in enumerate(_list(where, 'nodes', config.get('nodes')))]
    _unique(nodes, 'name', 'name')
    _unique(nodes, 'mac', 'MAC')
    _unique(nodes, 'address', 'address')
    checked = []
    for node, node_where in nodes:
        if node['image']:
            merged = dict(image)
            merged.update(node['image'])
            if ('url' in merged) != ('sha256' in merged):
                raise node_where.error('image', 'has no %s (an image needs both url and sha256, here or in the site image)'
                                       % ('sha256' if 'url' in merged else 'url'))
        checked.append(node)
    return {
        'path': path,
        'site': site,
        'orchestrator': orchestrator,
        'defaults': defaults,
        'image': image,
        'discovery': discovery,
        'nodes': checked,
    }
