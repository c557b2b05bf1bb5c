# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of pi_image options, before anything is read or written.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Every operator value ends up in a file that another program parses at first boot: a shell script,
a sudoers line, cloud-config YAML, config.txt, cmdline.txt, or an argument of raspi-config, which
itself splices some of them into ``sed`` expressions. So, before anything is rendered:
- control characters are refused in every string option, at any depth: C0 (NUL, tab, line feed,
  carriage return ...), DEL, C1 (NEL ...), the Unicode line and paragraph separators, and lone
  surrogates. Only the two options that are file contents by design are exempt, ``files[].content``
  and ``user_data``: they are written as data (verbatim, or YAML-dumped and read back);
- every pattern is matched whole (``re.fullmatch``), never with ``re.match`` and ``$``, which
  accepts a trailing newline;
- SSH public keys are parsed: known type, base64 that decodes, and the type inside the key blob
  equal to the stated one.
Errors name the option and show the value's ``repr`` (secrets are named but never shown).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import ipaddress
import re
import unicodedata

HOSTNAME_LABEL = r'[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
HOSTNAME_RE = re.compile(r'%s(?:\.%s)*' % (HOSTNAME_LABEL, HOSTNAME_LABEL))
USER_RE = re.compile(r'[a-z_][a-z0-9_-]{0,31}')
COUNTRY_RE = re.compile(r'[A-Za-z]{2}')
# Linux refuses '/', ':' and white space in interface names (dev_valid_name), and '.' and '..'.
INTERFACE_RE = re.compile(r'(?!\.{1,2}\Z)[A-Za-z0-9_.-]{1,15}')
# IANA tz names: Europe/Berlin, America/Argentina/Buenos_Aires, Etc/GMT+5, UTC.
TIMEZONE_RE = re.compile(r'[A-Za-z][A-Za-z0-9_+-]{0,30}(?:/[A-Za-z0-9][A-Za-z0-9_+-]{0,30}){0,3}')
# XKB layout names (us, gb, de, ch ...), optionally several separated by commas as XKBLAYOUT allows.
KEYMAP_RE = re.compile(r'[A-Za-z0-9_-]{1,32}(?:,[A-Za-z0-9_-]{1,32}){0,3}')
# glibc locale names: C, POSIX, C.UTF-8, en_GB.UTF-8, sr_RS@latin, ca_ES.UTF-8@valencia.
LOCALE_RE = re.compile(r'[A-Za-z]{1,8}(?:_[A-Za-z0-9]{2,3})?(?:\.[A-Za-z0-9-]{1,20})?(?:@[A-Za-z0-9_-]{1,20})?')
BASE64_RE = re.compile(r'[A-Za-z0-9+/]+={0,2}')

SSH_KEY_TYPES = frozenset([
    'ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
    'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com',
])
# Unicode categories refused in operator text: controls (C0, DEL, C1), lone surrogates, and the
# line and paragraph separators that YAML and many parsers treat as line breaks.
REFUSED_CATEGORIES = frozenset(['Cc', 'Cs', 'Zl', 'Zp'])
# Options whose values are file contents, written as data and never parsed as a line.
DATA_OPTIONS = frozenset(['user_data', 'files[].content'])
SECRET_OPTIONS = frozenset(['user.password', 'user.password_hash', 'wifi.password'])
# Optional string options where an empty string would silently mean "not set" (an empty dest would
# even mean "customise src in place"): refused, so a template that renders empty fails loudly.
NON_EMPTY_OPTIONS = ('dest', 'checksum', 'hostname', 'timezone', 'keymap', 'locale', 'user.password',
                     'user.password_hash', 'wifi.password', 'network.gateway')
REPR_LIMIT = 120


class OptionError(Exception):
    """An option value is invalid; str() names the option."""


def shown(value):
    """repr of a value for an error message, shortened when long (repr escapes every control character)."""
    text = repr(value)
    return text if len(text) <= REPR_LIMIT else text[:REPR_LIMIT] + '...'


def refused_character(text):
    """(index, character) of the first refused character in text, or None."""
    for index, char in enumerate(text):
        if unicodedata.category(char) in REFUSED_CATEGORIES:
            return index, char
    return None


def check_text(name, value, secret=False):
    """Raise OptionError when the string value holds a control character (see REFUSED_CATEGORIES)."""
    found = refused_character(value)
    if found is None:
        return
    index, char = found
    what = 'a lone surrogate (not valid Unicode text)' if unicodedata.category(char) == 'Cs' else 'a control character'
    detail = '%s (U+%04X at index %d)' % (what, ord(char), index)
    if secret:
        raise OptionError('%s contains %s; the value is not shown because it is secret. Line breaks, tabs, NUL '
                          'and other control characters are refused in every option' % (name, detail))
    raise OptionError('%s=%s contains %s. Line breaks, tabs, NUL and other control characters are refused in '
                      'every option' % (name, shown(value), detail))


def _generic(name):
    return re.sub(r'\[\d+\]', '[]', name)


def _strings(name, value):
    """(option name, string) for every string in value, dict keys included; data options are skipped."""
    if _generic(name) in DATA_OPTIONS:
        return
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, dict):
        for key in value:
            label = key if isinstance(key, str) and refused_character(key) is None else shown(key)
            child = '%s.%s' % (name, label) if name else label
            if name and isinstance(key, str):
                yield '%s (a key of %s)' % (child, name), key
            yield from _strings(child, value[key])
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _strings('%s[%d]' % (name, index), item)


def refuse_control_characters(config):
    """Check every string option, at every depth, except the data options."""
    for name, text in _strings('', config):
        check_text(name, text, secret=_generic(name) in SECRET_OPTIONS)


def refuse_empty(config):
    """An empty string in an optional option is an error, not "unset"."""
    for name in NON_EMPTY_OPTIONS:
        parent, dummy, key = name.rpartition('.')
        holder = config.get(parent) if parent else config
        if isinstance(holder, dict) and holder.get(key) == '':
            raise OptionError('%s is an empty string; omit the option (or set it to null) instead' % name)


def _pattern(name, value, pattern, hint):
    if value is not None and not pattern.fullmatch(value):
        raise OptionError('%s=%s is not allowed: %s' % (name, shown(value), hint))


def parse_ssh_key(name, key):
    """Check one authorized key line: ``<type> <base64 blob> [comment]``; returns the key unchanged.

    The blob must be valid base64, and its first field (a uint32 length, then the type string, as
    RFC 4253 section 6.6 encodes public keys) must equal the stated type. authorized_keys options
    (``from="..."``, ``command="..."``) before the type are refused: the module documents a key list,
    not authorized_keys lines, and an option such as ``command=`` would change what the key may do.
    """
    if not isinstance(key, str) or not key:
        raise OptionError('%s=%s is empty; give an OpenSSH public key such as "ssh-ed25519 AAAA... user@host"'
                          % (name, shown(key)))
    check_text(name, key)
    key_type, sep, rest = key.partition(' ')
    if key_type not in SSH_KEY_TYPES:
        if any(field in SSH_KEY_TYPES for field in key.split()[1:]):
            raise OptionError('%s=%s starts with authorized_keys options; they are not supported: give the bare '
                              'public key "<type> <base64> [comment]"' % (name, shown(key)))
        raise OptionError('%s=%s does not start with a known key type (%s), followed by one space'
                          % (name, shown(key), ', '.join(sorted(SSH_KEY_TYPES))))
    blob_text, sep, comment = rest.partition(' ')
    if not BASE64_RE.fullmatch(blob_text):
        raise OptionError('%s=%s: the key data after "%s " is not base64' % (name, shown(key), key_type))
    try:
        blob = base64.b64decode(blob_text.encode('ascii'), validate=True)
    except (binascii.Error, ValueError):
        raise OptionError('%s=%s: the key data after "%s " is not valid base64 (length or padding)'
                          % (name, shown(key), key_type))
    length = int.from_bytes(blob[:4], 'big') if len(blob) >= 4 else -1
    embedded = blob[4:4 + length] if 0 <= length <= len(blob) - 4 else None
    if embedded != key_type.encode('ascii'):
        raise OptionError('%s=%s: the key data does not encode a %s key (the type inside the key is %s)'
                          % (name, shown(key), key_type, shown(embedded) if embedded is not None else 'unreadable'))
    return key


def _hostname(value):
    if value is None:
        return
    if len(value) > 253 or not HOSTNAME_RE.fullmatch(value):
        raise OptionError('hostname=%s is not a valid host name (RFC 1123 labels: letters, digits, hyphens, '
                          'dot-separated, at most 253 characters)' % shown(value))


def _user(user):
    if not user:
        return
    name = user.get('name')
    if not isinstance(name, str) or not USER_RE.fullmatch(name):
        raise OptionError('user.name=%s is not a valid user name (lower case letters, digits, _ and -, starting '
                          'with a letter or _, at most 32 characters)' % shown(name))
    for index, key in enumerate(user.get('ssh_authorized_keys') or []):
        parse_ssh_key('user.ssh_authorized_keys[%d]' % index, key)
    for index, group in enumerate(user.get('groups') or []):
        if not isinstance(group, str) or not USER_RE.fullmatch(group):
            raise OptionError('user.groups[%d]=%s is not a valid group name' % (index, shown(group)))


def _wifi(wifi):
    if not wifi or wifi.get('ssid') is None:
        return
    ssid = wifi['ssid']
    if not 1 <= len(ssid.encode('utf-8')) <= 32:
        raise OptionError('wifi.ssid=%s must be 1 to 32 bytes (UTF-8)' % shown(ssid))
    if not wifi.get('country'):
        raise OptionError('wifi.country is required with wifi.ssid (the regulatory domain, e.g. DE)')
    if not COUNTRY_RE.fullmatch(wifi['country']):
        raise OptionError('wifi.country=%s must be a two-letter ISO 3166 code such as DE' % shown(wifi['country']))
    wifi['country'] = wifi['country'].upper()


def _ip(name, value):
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise OptionError('%s=%s is not an IP address' % (name, shown(value)))


def _network(network):
    if not network:
        return
    interface = network.get('interface')
    if not isinstance(interface, str) or not INTERFACE_RE.fullmatch(interface):
        raise OptionError('network.interface=%s is not a valid interface name (1 to 15 letters, digits, _, . '
                          'and -)' % shown(interface))
    address = network.get('address') or ''
    try:
        parsed = ipaddress.ip_interface(address)
    except ValueError:
        raise OptionError('network.address=%s is not a valid CIDR address such as 192.168.1.10/24' % shown(address))
    if '/' not in address:
        raise OptionError('network.address=%s needs a prefix length (CIDR), such as 192.168.1.10/24' % shown(address))
    if parsed.ip == parsed.network.network_address and parsed.network.prefixlen < parsed.max_prefixlen - 1:
        raise OptionError('network.address=%s is a network address, not a host address' % shown(address))
    network['address'] = str(parsed)
    gateway = network.get('gateway')
    if gateway:
        gateway_ip = _ip('network.gateway', gateway)
        if gateway_ip not in parsed.network:
            raise OptionError('network.gateway %s is outside %s' % (gateway, parsed.network))
        network['gateway'] = str(gateway_ip)
    network['dns'] = [str(_ip('network.dns[%d]' % index, server)) for index, server in enumerate(network.get('dns') or [])]


def _files(files):
    for index, item in enumerate(files or []):
        path = item.get('path') or ''
        parts = [part for part in path.replace('\\', '/').split('/') if part]
        if not parts or any(part in ('.', '..') for part in parts):
            raise OptionError('files[%d].path=%s must be a relative path on the boot partition' % (index, shown(path)))


def validate(config):
    """Check a normalised option dict; returns it with network values canonicalised.

    Canonical forms: wifi.country upper case, network addresses as Python's ipaddress prints them.
    """
    refuse_control_characters(config)
    refuse_empty(config)
    _hostname(config.get('hostname'))
    _pattern('timezone', config.get('timezone'), TIMEZONE_RE,
             'a time zone name is letters, digits, _, + and -, in up to four /-separated parts, such as Europe/Berlin')
    _pattern('keymap', config.get('keymap'), KEYMAP_RE,
             'a keyboard layout is letters, digits, _ and -, such as de or gb (several: us,de)')
    _pattern('locale', config.get('locale'), LOCALE_RE,
             'a locale looks like en_GB.UTF-8, C.UTF-8 or sr_RS@latin')
    _user(config.get('user'))
    _wifi(config.get('wifi'))
    _network(config.get('network'))
    _files(config.get('files'))
    return config
