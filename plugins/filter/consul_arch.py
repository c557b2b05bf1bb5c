# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers for the consul role: HashiCorp release naming and version-aware agent configuration."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError

# Debian architecture -> HashiCorp's release suffix. 32-bit ARM depends on the Consul version:
# linux_arm from 1.11 on; linux_armhfv6 (armhf) and linux_armelv5 (armel) before.
_PLAIN = {'amd64': 'linux_amd64', 'arm64': 'linux_arm64', 'i386': 'linux_386'}
_ARM32_LEGACY = {'armhf': 'linux_armhfv6', 'armel': 'linux_armelv5'}
# The first version with the tls {} stanza (older keys were deprecated then).
TLS_STANZA_VERSION = (1, 12)
ARM_RENAME_VERSION = (1, 11)


def parse_version(version):
    """'1.8.7', 'v1.12.0+ent', '1.12.0-rc1' -> (1, 8, 7)."""
    match = re.match(r'^v?(\d+)\.(\d+)(?:\.(\d+))?', str(version).strip())
    if not match:
        raise AnsibleFilterError('consul: %r is not a Consul version (expected e.g. 1.8.7)' % (version,))
    return tuple(int(part or 0) for part in match.groups())


def consul_arch(debian_arch, version):
    """Debian architecture of a node -> the suffix of HashiCorp's zip name for that Consul version."""
    arch = str(debian_arch).strip()
    parsed = parse_version(version)
    if arch in _PLAIN:
        return _PLAIN[arch]
    if arch in _ARM32_LEGACY:
        return 'linux_arm' if parsed[:2] >= ARM_RENAME_VERSION else _ARM32_LEGACY[arch]
    raise AnsibleFilterError('consul_arch: HashiCorp publishes no Linux build of Consul %s for Debian architecture %r'
                             % (version, debian_arch))


def _tls_settings(settings, parsed):
    tls = settings.get('tls')
    if not tls:
        return {}
    files = {'ca_file': tls['ca_file'], 'cert_file': tls['cert_file'], 'key_file': tls['key_file']}
    if parsed[:2] >= TLS_STANZA_VERSION:
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


def consul_config(settings, version):
    """Role settings -> the agent configuration dict for Consul `version` (rendered as JSON by the role).

    settings keys: datacenter, domain, node_name, data_dir, server (bool), servers (list of addresses),
    bind_addr, encrypt, http_local (bool), local_script_checks (bool), ports (https, dns, serf_lan, serf_wan, server), log_level,
    tls (ca_file, cert_file, key_file) and extra (merged last, for site-specific keys).
    """
    parsed = parse_version(version)
    servers = list(settings.get('servers') or [])
    if not servers:
        raise AnsibleFilterError('consul_config: no servers; consul_servers must name at least one host')
    ports = dict(settings.get('ports') or {})
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
            'http': 8500 if settings.get('http_local') else -1,
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
    if settings.get('http_local'):
        config['addresses']['http'] = '127.0.0.1'
    if config['server']:
        config['bootstrap_expect'] = len(servers)
    config.update(_tls_settings(settings, parsed))
    config.update(settings.get('extra') or {})
    return config


class FilterModule(object):
    def filters(self):
        return {'consul_arch': consul_arch, 'consul_config': consul_config}
