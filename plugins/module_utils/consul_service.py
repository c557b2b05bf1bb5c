# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Consul service and check definitions (the agent's config-file format) from the consul role's data.

Private to the picocloud.edge collection. Pure functions: the consul role writes what they return as JSON, so
no operator value is ever spliced into text, and a bad value fails naming its field.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Service names: letters, digits and dashes (a DNS label), so `<name>.service.<domain>` answers.
NAME_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9-]{0,62}')
# Consul's own limits on service meta (agent/structs: metaKeyFormat, 64 pairs, 128/512 characters).
META_KEY_RE = re.compile(r'[A-Za-z0-9_-]{1,128}')
META_MAX_PAIRS = 64
META_VALUE_MAX = 512
TAG_RE = re.compile(r'[^\x00-\x1f\x7f]{1,255}')
DURATION_RE = re.compile(r'[0-9]{1,6}(ms|s|m|h)')
CONTROL_RE = re.compile(r'[\x00-\x1f\x7f]')
CHECK_KINDS = ('http', 'tcp', 'script')
# Meta keys Consul reserves for itself.
RESERVED_META_PREFIX = ('consul-', 'rfc1035-')


class ConsulServiceError(ValueError):
    """A service or check definition Consul would refuse, or that would not mean what it says."""


def _text(value, field, pattern=None, max_length=None):
    if not isinstance(value, str) or not value:
        raise ConsulServiceError('%s must be a non-empty string, got %r' % (field, value))
    if CONTROL_RE.search(value):
        raise ConsulServiceError('%s must not hold control characters, got %r' % (field, value))
    if max_length is not None and len(value) > max_length:
        raise ConsulServiceError('%s is longer than %d characters: %r' % (field, max_length, value))
    if pattern is not None and not pattern.fullmatch(value):
        raise ConsulServiceError('%s is not valid: %r' % (field, value))
    return value


def _port(value, field):
    if isinstance(value, bool):
        raise ConsulServiceError('%s must be a port number (1-65535), got %r' % (field, value))
    try:
        port = int(str(value), 10)
    except ValueError:
        raise ConsulServiceError('%s must be a port number (1-65535), got %r' % (field, value))
    if not 1 <= port <= 65535:
        raise ConsulServiceError('%s must be a port number (1-65535), got %r' % (field, value))
    return port


def _duration(value, field, default):
    if value is None:
        return default
    return _text(str(value), field, DURATION_RE)


def meta(values, field='meta'):
    """Service meta as Consul accepts it: string keys of letters, digits, '_' and '-' (not consul-*), string values."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConsulServiceError('%s must be a mapping, got %r' % (field, values))
    if len(values) > META_MAX_PAIRS:
        raise ConsulServiceError('%s has %d keys; Consul allows %d' % (field, len(values), META_MAX_PAIRS))
    result = {}
    for key, value in values.items():
        _text(key, '%s key' % field, META_KEY_RE)
        if key.lower().startswith(RESERVED_META_PREFIX):
            raise ConsulServiceError('%s key %r is reserved by Consul' % (field, key))
        if not isinstance(value, str):
            raise ConsulServiceError('%s.%s must be a string, got %r' % (field, key, value))
        if CONTROL_RE.search(value) or len(value) > META_VALUE_MAX:
            raise ConsulServiceError('%s.%s must be at most %d characters without control characters, got %r'
                                     % (field, key, META_VALUE_MAX, value))
        result[key] = value
    return result


def check_definition(check, name, field='check'):
    """One check (http URL, tcp host:port or a local script) with interval and timeout, or None without one."""
    if not check:
        return None
    if not isinstance(check, dict):
        raise ConsulServiceError('%s must be a mapping, got %r' % (field, check))
    kinds = [kind for kind in CHECK_KINDS if check.get(kind)]
    if len(kinds) != 1:
        raise ConsulServiceError('%s needs exactly one of http, tcp or script, got %s' % (field, sorted(kinds) or 'none'))
    kind = kinds[0]
    definition = {
        'name': '%s %s' % (name, kind),
        'interval': _duration(check.get('interval'), '%s.interval' % field, '10s'),
        'timeout': _duration(check.get('timeout'), '%s.timeout' % field, '5s'),
    }
    value = _text(check[kind], '%s.%s' % (field, kind))
    if kind == 'http':
        if not re.fullmatch(r'https?://[^\s]+', value):
            raise ConsulServiceError('%s.http must be an http(s) URL, got %r' % (field, value))
        definition['http'] = value
    elif kind == 'tcp':
        if not re.fullmatch(r'([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):[0-9]{1,5}', value):
            raise ConsulServiceError('%s.tcp must be host:port, got %r' % (field, value))
        definition['tcp'] = value
    else:
        definition['args'] = ['/bin/sh', '-c', value]
    return definition


def service_definition(service, token):
    """The agent's `service` definition of one consul_services entry: id = name, port, tags, meta, one check and
    the ACL token the agent registers it with."""
    if not isinstance(service, dict):
        raise ConsulServiceError('a service must be a mapping, got %r' % (service,))
    name = _text(service.get('name'), 'name', NAME_RE)
    definition = {
        'name': name,
        'id': name,
        'port': _port(service.get('port'), '%s: port' % name),
        'tags': [_text(tag, '%s: tags' % name, TAG_RE) for tag in (service.get('tags') or [])],
        'token': _text(token, '%s: token' % name),
    }
    service_meta = meta(service.get('meta'), '%s: meta' % name)
    if service_meta:
        definition['meta'] = service_meta
    if service.get('address'):
        definition['address'] = _text(service['address'], '%s: address' % name, re.compile(r'[A-Za-z0-9.:-]{1,253}'))
    check = check_definition(service.get('check'), name, '%s: check' % name)
    if check:
        definition['check'] = check
    return definition


def node_check_definition(check_id, name, script, interval, token, notes=''):
    """A node-level script check (not bound to a service) the agent runs with enable_local_script_checks."""
    definition = {
        'id': _text(check_id, 'check id', re.compile(r'[a-z0-9][a-z0-9._-]{0,63}')),
        'name': _text(name, '%s: name' % check_id, max_length=64),
        'args': [_text(arg, '%s: args' % check_id) for arg in script],
        'interval': _duration(interval, '%s: interval' % check_id, '30s'),
        'timeout': '10s',
        'token': _text(token, '%s: token' % check_id),
    }
    if notes:
        definition['notes'] = _text(notes, '%s: notes' % check_id, max_length=255)
    return definition
