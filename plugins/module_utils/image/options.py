# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of pi_image options, before anything is read or written.

Private to the picocloud.edge collection: no compatibility promise to other collections.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

HOSTNAME_RE = re.compile(r'^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
                         r'(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$')
USER_RE = re.compile(r'^[a-z_][a-z0-9_-]{0,31}$')
COUNTRY_RE = re.compile(r'^[A-Z]{2}$')
INTERFACE_RE = re.compile(r'^[A-Za-z0-9_.:-]{1,15}$')
TEXT_RE = re.compile(r'^[^\x00-\x1f\'"\\$`]+$')


class OptionError(Exception):
    """An option value is invalid; str() names the option."""


def _text_option(name, value):
    if value is not None and not TEXT_RE.match(value):
        raise OptionError('%s=%r contains characters that are not allowed (quotes, $, backslash, control)'
                          % (name, value))


def validate(config):
    """Check a normalised option dict; returns it with network values canonicalised."""
    hostname = config.get('hostname')
    if hostname is not None and not HOSTNAME_RE.match(hostname):
        raise OptionError('hostname %r is not a valid host name (RFC 1123 labels: letters, digits, hyphens)'
                          % hostname)
    for name in ('timezone', 'keymap', 'locale'):
        _text_option(name, config.get(name))
    user = config.get('user')
    if user:
        if not USER_RE.match(user.get('name') or ''):
            raise OptionError('user.name %r is not a valid user name (lower case, digits, _ and -, '
                              'starting with a letter)' % user.get('name'))
        for key in user.get('ssh_authorized_keys') or []:
            if '\n' in key or not key.strip():
                raise OptionError('user.ssh_authorized_keys entries must be single non-empty lines')
        for group in user.get('groups') or []:
            if not USER_RE.match(group):
                raise OptionError('user.groups entry %r is not a valid group name' % group)
    wifi = config.get('wifi')
    if wifi and wifi.get('ssid') is not None:
        if not wifi.get('country'):
            raise OptionError('wifi.country is required with wifi.ssid (the regulatory domain, e.g. DE)')
        if not COUNTRY_RE.match(wifi['country'].upper()):
            raise OptionError('wifi.country %r must be a two-letter ISO 3166 code such as DE' % wifi['country'])
        wifi['country'] = wifi['country'].upper()
        if not 1 <= len(wifi['ssid'].encode('utf-8')) <= 32 or '\n' in wifi['ssid']:
            raise OptionError('wifi.ssid must be 1 to 32 bytes on one line')
    network = config.get('network')
    if network:
        if not INTERFACE_RE.match(network.get('interface') or ''):
            raise OptionError('network.interface %r is not a valid interface name' % network.get('interface'))
        try:
            interface = ipaddress.ip_interface(network.get('address') or '')
        except ValueError:
            raise OptionError('network.address %r is not a valid CIDR address such as 192.168.1.10/24'
                              % network.get('address'))
        if '/' not in network['address']:
            raise OptionError('network.address %r needs a prefix length (CIDR), such as 192.168.1.10/24'
                              % network['address'])
        if interface.ip == interface.network.network_address and interface.network.prefixlen < interface.max_prefixlen - 1:
            raise OptionError('network.address %r is a network address, not a host address' % network['address'])
        network['address'] = str(interface)
        gateway = network.get('gateway')
        if gateway:
            try:
                gateway_ip = ipaddress.ip_address(gateway)
            except ValueError:
                raise OptionError('network.gateway %r is not an IP address' % gateway)
            if gateway_ip not in interface.network:
                raise OptionError('network.gateway %s is outside %s' % (gateway, interface.network))
            network['gateway'] = str(gateway_ip)
        dns = []
        for server in network.get('dns') or []:
            try:
                dns.append(str(ipaddress.ip_address(server)))
            except ValueError:
                raise OptionError('network.dns entry %r is not an IP address' % server)
        network['dns'] = dns
    for item in config.get('files') or []:
        path = item.get('path') or ''
        parts = [part for part in path.replace('\\', '/').split('/') if part]
        if not parts or any(part in ('.', '..') for part in parts):
            raise OptionError('files: path %r must be a relative path on the boot partition' % path)
    return config
