# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DHCP lease files of dnsmasq and ISC dhcpd, read into observations (see neighbours.py).

Private to the picocloud.edge collection: no compatibility promise to other collections.

- dnsmasq (``/var/lib/misc/dnsmasq.leases``): one lease a line,
  ``<expiry epoch> <mac> <ip> <hostname or *> <client-id or *>``; an expiry of 0 never ends. The
  DHCPv6 part starts with a ``duid`` line and carries IAIDs, not MACs, so it gives no observation.
- ISC dhcpd (``/var/lib/dhcp/dhcpd.leases``, dhcpd.leases(5)): ``lease <ip> { ... }`` blocks appended
  as leases change, so the last block of an address wins. A lease counts when its ``binding state``
  is ``active`` (or, without one, when it has not ended); ``ends`` is ``never``, ``epoch N`` or
  ``<weekday> YYYY/MM/DD HH:MM:SS`` in UTC.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import ipaddress
import re
import time

from ansible_collections.picocloud.edge.plugins.module_utils.inventory.neighbours import observation
from ansible_collections.picocloud.edge.plugins.module_utils.inventory.sitefile import normalise_mac

HOSTNAME = re.compile(r'[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?')
ISC_TOKEN = re.compile(r'\s*(?:(#[^\n]*)|("(?:[^"\\]|\\.)*")|([{};])|([^\s{};"#]+))', re.DOTALL)
ISC_TIME = re.compile(r'\d (\d{4})/(\d{1,2})/(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2})')
MAX_LEASE_FILE_BYTES = 64 * 1024 * 1024


class LeaseError(Exception):
    """A lease file that cannot be read or parsed."""


def short_hostname(name):
    """'Pico-01.lan' -> 'pico-01'; None for names that are not host names."""
    if not name:
        return None
    short = name.strip().rstrip('.').split('.')[0].lower()
    return short if HOSTNAME.fullmatch(short) else None


def _mac(text):
    try:
        return normalise_mac(text)
    except ValueError:
        return None


def parse_dnsmasq(text, now):
    """dnsmasq lease file -> observations of the leases that have not expired."""
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[0] == 'duid':
            continue
        try:
            expiry = int(fields[0])
            address = ipaddress.ip_address(fields[2])
        except ValueError:
            continue
        mac = _mac(fields[1])
        if mac is None or (expiry and expiry < now):
            continue
        hostname = short_hostname(fields[3]) if fields[3] != '*' else None
        found.append(observation(mac, str(address), 'leases', hostname=hostname))
    return found


def _isc_tokens(text):
    pos = 0
    while pos < len(text):
        match = ISC_TOKEN.match(text, pos)
        if not match or match.end() == pos:
            if text[pos:].strip():
                raise LeaseError('unexpected text at offset %d: %r' % (pos, text[pos:pos + 20]))
            return
        pos = match.end()
        comment, string, punct, word = match.groups()
        if comment:
            continue
        if string is not None:
            yield ('string', re.sub(r'\\(.)', r'\1', string[1:-1]))
        elif punct:
            yield (punct, punct)
        elif word:
            yield ('word', word)


def _isc_statements(tokens):
    """Top-level (words, block statements or None) pairs."""
    words = []
    for kind, value in tokens:
        if kind == ';':
            yield words, None
            words = []
        elif kind == '{':
            yield words, list(_isc_block(tokens))
            words = []
        elif kind == '}':
            raise LeaseError('unbalanced }')
        else:
            words.append(value)


def _isc_block(tokens):
    words = []
    statements = []
    for kind, value in tokens:
        if kind == ';':
            statements.append(words)
            words = []
        elif kind == '{':
            list(_isc_block(tokens))
            words = []
        elif kind == '}':
            return statements
        else:
            words.append(value)
    raise LeaseError('a { block is not closed')


def isc_time(words):
    """The words after starts/ends -> epoch seconds, or None for never."""
    if words and words[0] == 'never':
        return None
    if len(words) >= 2 and words[0] == 'epoch':
        return int(words[1])
    match = ISC_TIME.fullmatch(' '.join(words[:3]))
    if not match:
        raise LeaseError('cannot read the time %r' % ' '.join(words))
    return calendar.timegm(tuple(int(part) for part in match.groups()) + (0, 0, 0))


def parse_isc(text, now):
    """ISC dhcpd.leases -> observations of the active leases (the last block of an address wins)."""
    leases = {}
    tokens = _isc_tokens(text)
    for words, block in _isc_statements(tokens):
        if block is None or len(words) != 2 or words[0] != 'lease':
            continue
        try:
            address = str(ipaddress.ip_address(words[1]))
        except ValueError:
            continue
        lease = {'mac': None, 'hostname': None, 'state': None, 'ends': None}
        for statement in block:
            if statement[:2] == ['hardware', 'ethernet'] and len(statement) == 3:
                lease['mac'] = _mac(statement[2])
            elif statement[:1] == ['client-hostname'] and len(statement) == 2:
                lease['hostname'] = short_hostname(statement[1])
            elif statement[:2] == ['binding', 'state'] and len(statement) == 3:
                lease['state'] = statement[2]
            elif statement[:1] == ['ends']:
                lease['ends'] = isc_time(statement[1:])
        leases.pop(address, None)
        leases[address] = lease
    found = []
    for address, lease in leases.items():
        if lease['mac'] is None:
            continue
        if lease['state'] is not None and lease['state'] != 'active':
            continue
        if lease['state'] is None and lease['ends'] is not None and lease['ends'] < now:
            continue
        found.append(observation(lease['mac'], address, 'leases', hostname=lease['hostname']))
    return found


def detect_format(text):
    """'isc' when the text has lease blocks, else 'dnsmasq'."""
    return 'isc' if re.search(r'^\s*lease\s+\S+\s*\{', text, re.MULTILINE) else 'dnsmasq'


def parse_leases(text, fmt='auto', now=None):
    """Lease file text in `fmt` (auto, dnsmasq or isc) -> observations."""
    now = time.time() if now is None else now
    if fmt == 'auto':
        fmt = detect_format(text)
    if fmt == 'isc':
        return parse_isc(text, now)
    return parse_dnsmasq(text, now)


def read_lease_file(path, fmt='auto', now=None):
    """Read and parse one lease file; LeaseError names the file on any problem."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read(MAX_LEASE_FILE_BYTES + 1)
    except (IOError, OSError) as exc:
        raise LeaseError('%s: cannot read the lease file: %s' % (path, exc))
    if len(data) > MAX_LEASE_FILE_BYTES:
        raise LeaseError('%s: the lease file is larger than %d bytes' % (path, MAX_LEASE_FILE_BYTES))
    try:
        return parse_leases(data.decode('utf-8', 'replace'), fmt, now)
    except (LeaseError, ValueError) as exc:
        raise LeaseError('%s: %s' % (path, exc))
