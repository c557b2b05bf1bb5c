# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the consul role: release names, version advice, the agent configuration and its extras.

Private to the picocloud.edge collection. Pure functions over plain dicts and strings, so each is unit-tested;
the filters in plugins/filter/consul_arch.py and consul_config.py only wrap them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress
import re

from collections.abc import Mapping, Sequence


class ConsulError(ValueError):
    """A setting the consul role cannot turn into a configuration; the message names the setting and its value."""


# --- versions ------------------------------------------------------------------------------------------------------

_VERSION = re.compile(r'v?([0-9]{1,4})\.([0-9]{1,4})(?:\.([0-9]{1,4}))?(?:[-+][0-9A-Za-z.+-]{1,64})?')

# The first version with the tls {} stanza (the top-level TLS keys are deprecated from then on).
TLS_STANZA_VERSION = (1, 12, 0)

# The role warns below this floor. The rule (docs/consul.md): the oldest release line in HashiCorp's N-2 window,
# counted from the newest line on the day it was checked (2026-12-04: 2.0, 1.22, 1.21), and never below the fix
# releases of a known CVE in the role's threat model. 1.21 is also the last Enterprise LTS line (until 2027-04-30).
VERSION_FLOOR = (1, 21, 0)
VERSION_FLOOR_CHECKED = '2026-12-04'

# Known vulnerable ranges, as (first affected, first fixed) per release line: CVE-2021-37219 lets a non-server agent
# with a certificate from the agents' CA reach server-only Raft RPC (GHSA-ccw8-7688-vqx4, hashicorp/consul#10925).
_CVES = (
    ('CVE-2021-37219', 'a non-server agent with a CA-signed certificate reaches server-only Raft RPC',
     (((0, 0, 0), (1, 8, 15)), ((1, 9, 0), (1, 9, 9)), ((1, 10, 0), (1, 10, 2)))),
)


def parse_version(version):
    """'1.8.7', 'v1.12.0+ent', '1.12.0-rc1', '2.0' -> (1, 8, 7); anything else is a ConsulError naming the value."""
    match = _VERSION.fullmatch(version) if isinstance(version, str) else None
    if not match:
        raise ConsulError('consul_version %r is not a Consul version (expected e.g. 2.0.4)' % (version,))
    return tuple(int(part or 0) for part in match.groups())


def _dotted(parsed):
    return '.'.join(str(part) for part in parsed)


def version_advice(version):
    """Warnings for consul_version (a list of sentences; empty when the version is at or above the floor)."""
    parsed = parse_version(version)
    warnings = []
    if parsed < VERSION_FLOOR:
        warnings.append(
            'consul_version %s is below the floor %s: the oldest release line HashiCorp still supported on %s '
            '(N-2 from the newest line), so it gets no fixes; use a release at or above the floor (docs/consul.md).'
            % (version, _dotted(VERSION_FLOOR), VERSION_FLOOR_CHECKED))
    for cve, summary, ranges in _CVES:
        for first, fixed in ranges:
            if first <= parsed < fixed:
                warnings.append('consul_version %s carries %s (%s); fixed in %s.'
                                % (version, cve, summary, ', '.join(_dotted(f) for _first, f in ranges)))
    return warnings


# --- release names -------------------------------------------------------------------------------------------------

# Debian architecture -> HashiCorp's release suffix. 32-bit ARM depends on the Consul version (docs/consul.md):
# before 1.6.2 one linux_arm build; from 1.6.2 linux_armelv5 (armel) and linux_armhfv6 (armhf); from the new
# release pipeline on (1.10.4, and every 1.11+) one linux_arm build (GOARM=5) again.
_PLAIN = {'amd64': 'linux_amd64', 'arm64': 'linux_arm64', 'i386': 'linux_386'}
_ARM32_SPLIT = {'armhf': 'linux_armhfv6', 'armel': 'linux_armelv5'}
ARM_SPLIT_VERSION = (1, 6, 2)
ARM_JOINED_VERSION = (1, 10, 4)


def release_arch(debian_arch, version):
    """Debian architecture of a node -> the suffix of HashiCorp's zip name for that Consul version."""
    parsed = parse_version(version)
    arch = debian_arch if isinstance(debian_arch, str) else None
    if arch in _PLAIN:
        return _PLAIN[arch]
    if arch in _ARM32_SPLIT:
        if ARM_SPLIT_VERSION <= parsed < ARM_JOINED_VERSION:
            return _ARM32_SPLIT[arch]
        return 'linux_arm'
    raise ConsulError('HashiCorp publishes no Linux build of Consul %s for Debian architecture %r' % (version, debian_arch))


# --- the agent configuration ---------------------------------------------------------------------------------------

def _tls_settings(tls, parsed):
    if not tls:
        return {}
    files = {'ca_file': tls['ca_file'], 'cert_file': tls['cert_file'], 'key_file': tls['key_file']}
    if parsed >= TLS_STANZA_VERSION:
        defaults = dict(files)
        defaults.update({'verify_incoming': True, 'verify_outgoing': True})
        return {'tls': {
            'defaults': defaults,
            'internal_rpc': {'verify_server_hostname': True},
            'https': {'verify_incoming': True},
        }}
    legacy = dict(files)
    legacy.update({'verify_incoming': True, 'verify_outgoing': True, 'verify_server_hostname': True})
    return legacy


def _is_recursor(value):
    """An IPv4 or IPv6 address, with an optional port (`10.0.0.1:53`, `[fd00::1]:53`): Consul's recursors form."""
    if not isinstance(value, str):
        return False
    host, port = value, None
    bracketed = re.fullmatch(r'\[([0-9A-Fa-f:.]+)\](?::([0-9]{1,5}))?', value)
    if bracketed:
        host, port = bracketed.groups()
    elif value.count(':') == 1:
        host, port = value.split(':')
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return port is None or (port.isdigit() and 0 < int(port) < 65536)


def base_config(settings, version):
    """The role's own agent configuration for Consul `version`, before consul_config_extra is merged in."""
    parsed = parse_version(version)
    servers = list(settings.get('servers') or [])
    if not servers:
        raise ConsulError('consul_servers is empty: it must name at least one host (the retry_join addresses)')
    ports = dict(settings.get('ports') or {})
    http_local = bool(settings.get('http_local'))
    config = {
        'datacenter': settings['datacenter'],
        'primary_datacenter': settings['datacenter'],
        'domain': settings['domain'],
        'node_name': settings['node_name'],
        'data_dir': settings['data_dir'],
        'server': bool(settings.get('server')),
        'bind_addr': settings['bind_addr'],
        'advertise_addr': settings['bind_addr'],
        'client_addr': '127.0.0.1',
        'addresses': {'https': '0.0.0.0', 'dns': '127.0.0.1'},
        'retry_join': servers,
        'encrypt': settings['encrypt'],
        'encrypt_verify_incoming': True,
        'encrypt_verify_outgoing': True,
        'disable_update_check': True,
        'enable_local_script_checks': bool(settings.get('local_script_checks')),
        'enable_script_checks': False,
        'log_level': settings.get('log_level', 'INFO'),
        'ports': {
            'https': int(ports.get('https', 8501)),
            'http': 8500 if http_local else -1,
            'dns': int(ports.get('dns', 8600)),
            'serf_lan': int(ports.get('serf_lan', 8301)),
            'serf_wan': int(ports.get('serf_wan', 8302)),
            'server': int(ports.get('server', 8300)),
        },
        'acl': {
            'enabled': True,
            'default_policy': 'deny',
            'down_policy': 'extend-cache',
            'enable_token_persistence': True,
        },
    }
    if http_local:
        config['addresses']['http'] = '127.0.0.1'
    recursors = list(settings.get('recursors') or [])
    for recursor in recursors:
        if not _is_recursor(recursor):
            raise ConsulError('consul_recursors: %r is not an IPv4 or IPv6 address (with an optional :port)' % (recursor,))
    if recursors:
        config['recursors'] = recursors
    if config['server']:
        config['bootstrap_expect'] = len(servers)
    config.update(_tls_settings(settings.get('tls'), parsed))
    return config


def _kind(value):
    if isinstance(value, Mapping):
        return 'a mapping'
    if isinstance(value, (str, bytes)):
        return 'a string'
    if isinstance(value, Sequence):
        return 'a list'
    if isinstance(value, bool):
        return 'a boolean'
    if isinstance(value, int):
        return 'an integer'
    if value is None:
        return 'null'
    return 'a %s' % type(value).__name__


def _merge(base, extra, path, conflicts):
    merged = dict(base)
    for key, value in extra.items():
        where = '%s.%s' % (path, key)
        if key in merged and isinstance(merged[key], Mapping) != isinstance(value, Mapping):
            conflicts.append('%s is %s, but the role renders %s as %s; give %s (only mappings are merged key by key)'
                             % (where, _kind(value), where, _kind(merged[key]), _kind(merged[key])))
            continue
        if key in merged and isinstance(value, Mapping):
            merged[key] = _merge(merged[key], value, where, conflicts)
        else:
            merged[key] = value
    return merged


def merge_extra(base, extra, name='consul_config_extra'):
    """`base` with `extra` merged in recursively: mappings key by key, lists and scalars replace the role's value.

    A mapping where the role renders a non-mapping (or the other way round) is refused: Consul reads a list of one
    mapping as the mapping, so `acl: [{...}]` would otherwise replace the whole acl stanza.
    """
    if extra is None:
        return copy.deepcopy(base)
    if not isinstance(extra, Mapping):
        raise ConsulError('%s must be a mapping, got %s' % (name, _kind(extra)))
    conflicts = []
    merged = _merge(copy.deepcopy(base), copy.deepcopy(extra), name, conflicts)
    if conflicts:
        raise ConsulError('; '.join(conflicts))
    return merged


def render_config(settings, version):
    """Role settings -> the agent configuration dict for Consul `version`, settings['extra'] merged in recursively.

    settings keys: datacenter, domain, node_name, data_dir, server (bool), servers (list of addresses), bind_addr,
    encrypt, http_local (bool), local_script_checks (bool), ports (https, dns, serf_lan, serf_wan, server), log_level,
    tls (ca_file, cert_file, key_file) and extra (consul_config_extra). Whether the extras weaken the configuration is
    decided by weaker_settings(), which the role runs before anything changes.
    """
    return merge_extra(base_config(settings, version), settings.get('extra'))


# --- extras that weaken the configuration --------------------------------------------------------------------------

# Values Consul reads as true in a configuration file (Go's strconv.ParseBool, which its decoder applies to strings).
_TRUE_STRINGS = ('1', 't', 'T', 'TRUE', 'true', 'True')
# Down policies that never allow what the default policy denies (Consul's ACL reference: allow, deny, extend-cache,
# async-cache; the two cache policies fall back to default_policy for anything not cached).
_SAFE_DOWN_POLICIES = ('deny', 'extend-cache', 'async-cache')
_VERIFY_KEYS = ('verify_incoming', 'verify_outgoing', 'verify_server_hostname', 'verify_incoming_rpc',
                'verify_incoming_https')
_GOSSIP_VERIFY_KEYS = ('encrypt_verify_incoming', 'encrypt_verify_outgoing')
_LOOPBACK = ('127.0.0.1', '::1', 'localhost')

# A shape of the settings, for checking extras against the role's configuration before the real values exist.
_SHAPE = {
    'datacenter': 'dc', 'domain': 'consul', 'node_name': 'node', 'data_dir': '/opt/consul', 'server': True,
    'servers': ['192.0.2.1'], 'bind_addr': '192.0.2.1', 'encrypt': 'key', 'http_local': False,
    'tls': {'ca_file': 'ca.pem', 'cert_file': 'cert.pem', 'key_file': 'key.pem'},
}


def _is_true(value):
    return value is True or (isinstance(value, str) and value in _TRUE_STRINGS)


def _is_minus_one(value):
    return value == '-1' or (isinstance(value, int) and not isinstance(value, bool) and value == -1)


def _walk(value, path, keys):
    """Yield (shown path, key path without list indexes, value) for every entry of `value`, lists included."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            key = str(key)
            yield '%s.%s' % (path, key), keys + (key,), item
            yield from _walk(item, '%s.%s' % (path, key), keys + (key,))
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        for index, item in enumerate(value):
            yield from _walk(item, '%s[%d]' % (path, index), keys)


def _weakness(keys, value, parsed, http_local):
    """Why `value` at key path `keys` weakens the role's configuration, or None."""
    leaf = keys[-1]
    top = len(keys) == 1
    if keys == ('acl', 'enabled') and not _is_true(value):
        return 'turns ACLs off (the role keeps acl.enabled = true)'
    if (keys == ('acl', 'default_policy') or (top and leaf == 'acl_default_policy')) and value != 'deny':
        return 'allows what no policy grants (the role keeps default_policy = "deny")'
    if (keys == ('acl', 'down_policy') or (top and leaf == 'acl_down_policy')) and value not in _SAFE_DOWN_POLICIES:
        return 'allows everything while the servers cannot be reached (safe: %s)' % ', '.join(_SAFE_DOWN_POLICIES)
    tls_key = top or (len(keys) == 3 and keys[0] == 'tls')
    if tls_key and leaf in _VERIFY_KEYS and not _is_true(value):
        return 'turns TLS verification off (the role sets every verify_* to true)'
    if top and leaf in _GOSSIP_VERIFY_KEYS and not _is_true(value):
        return 'accepts or sends unencrypted gossip (the role sets encrypt_verify_* to true)'
    if top and leaf == 'verify_incoming' and parsed >= TLS_STANZA_VERSION:
        return ('is deprecated since Consul 1.12, which maps it to tls.defaults.verify_incoming and turns '
                'tls.grpc.verify_incoming off; set tls.defaults.verify_incoming instead')
    if keys == ('ports', 'http') and not _is_minus_one(value) and not http_local:
        return 're-opens the plain HTTP port (the role keeps ports.http = -1 unless consul_http_local is true)'
    if keys == ('addresses', 'http') and http_local and value not in _LOOPBACK:
        return 'binds plain HTTP beyond loopback (consul_http_local serves it on 127.0.0.1 only)'
    return None


def weaker_settings(extra, version, http_local=False, name='consul_config_extra'):
    """Check consul_config_extra against the role's configuration for Consul `version`.

    Returns {'errors': [...], 'weaker': [...]}: errors are extras the role cannot merge (a list or scalar where it
    renders a mapping); weaker are extras that would turn off ACL default deny, TLS or gossip verification, or
    re-open the disabled HTTP port. Each entry names the key path and the value.
    """
    parsed = parse_version(version)
    if extra is None:
        return {'errors': [], 'weaker': []}
    if not isinstance(extra, Mapping):
        return {'errors': ['%s must be a mapping, got %s' % (name, _kind(extra))], 'weaker': []}
    shape = base_config(dict(_SHAPE, http_local=bool(http_local)), version)
    errors = []
    _merge(shape, extra, name, errors)
    weaker = []
    for shown, keys, value in _walk(extra, name, ()):
        why = _weakness(keys, value, parsed, bool(http_local))
        if why:
            weaker.append('%s = %r %s' % (shown, value, why))
    return {'errors': errors, 'weaker': weaker}
