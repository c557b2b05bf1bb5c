# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who made a network card, from the IEEE registries, and which Raspberry Pi family an OUI block implies.

Private to the picocloud.edge collection: no compatibility promise to other collections.

The IEEE assigns MAC address blocks in four registries: MA-L (24-bit OUI), MA-M (28-bit), MA-S
(36-bit, the successor of the closed 36-bit IAB registry) and IAB. An MA-M, MA-S or IAB block sits
inside a 24-bit OUI that MA-L lists as "IEEE Registration Authority" (IAB: 00-50-C2 and 40-D8-55),
so a lookup asks MA-L first and the longer registries only under such a parent.

Sources:
- netaddr (a pinned requirement) ships MA-L (``oui.txt``) and IAB (``iab.txt``); netaddr 1.3 ships no
  MA-M and no MA-S registry;
- the IEEE's CSV files ``oui.csv``, ``mam.csv``, ``oui36.csv`` and ``iab.csv`` in a registry directory,
  by default those of Debian's ``ieee-data`` package (``/var/lib/ieee-data`` after ``update-ieee-data``,
  else ``/usr/share/ieee-data``); any directory holding the IEEE's CSV downloads works.

The registries name the organisation, not the board. Which Raspberry Pi family a block implies is the
one hand-kept table here (``PI_BOARD_FAMILY``); it is a hint, not a fact about one board.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import os
import re

try:
    import netaddr
    HAS_NETADDR = True
except ImportError:
    HAS_NETADDR = False

DEFAULT_REGISTRY_DIRS = ('/var/lib/ieee-data', '/usr/share/ieee-data')

# The IEEE's own wording for a 24-bit block that it split into MA-M/MA-S/IAB blocks.
IEEE_RA = 'IEEE Registration Authority'
IAB_PARENTS = ('0050c2', '40d855')

# OUI block -> the Raspberry Pi boards that ship with it, as far as the block tells.
# B8:27:EB: Pi 1, 2, 3 and Zero (W); DC:A6:32, E4:5F:01, 28:CD:C1: Pi 4 generation (4B, 400, CM4);
# D8:3A:DD, 2C:CF:67, 88:A2:9E: the Pi 5 era (later Pi 4 and Zero 2 W boards use them too).
PI_BOARD_FAMILY = {
    'b827eb': 'Pi 1-3',
    'dca632': 'Pi 4',
    'e45f01': 'Pi 4',
    '28cdc1': 'Pi 4',
    'd83add': 'Pi 5',
    '2ccf67': 'Pi 5',
    '88a29e': 'Pi 5',
}

PI_VENDOR = re.compile(r'raspberry\s*pi', re.IGNORECASE)
# CSV file -> (registry name, length of its assignments in hex digits)
CSV_REGISTRIES = (
    ('oui36.csv', 'MA-S', 9),
    ('iab.csv', 'IAB', 9),
    ('mam.csv', 'MA-M', 7),
    ('oui.csv', 'MA-L', 6),
)


def mac_hex(mac):
    """'dc:a6:32:00:00:01' (any case, ':' or '-') -> 'dca632000001'."""
    return re.sub(r'[:.-]', '', mac).lower()


def is_locally_administered(mac):
    """A random or locally set MAC (second-lowest bit of the first octet) has no registered vendor."""
    return bool(int(mac_hex(mac)[:2], 16) & 0x02)


def board_family(mac):
    """The Raspberry Pi family the MAC's 24-bit block implies, or None."""
    return PI_BOARD_FAMILY.get(mac_hex(mac)[:6])


def is_raspberry_pi(vendor, mac):
    """A Raspberry Pi: the registry names Raspberry Pi, or the block is a known Pi block
    (registry data older than the block, e.g. 88:A2:9E in netaddr 1.3)."""
    return bool(vendor and PI_VENDOR.search(vendor)) or board_family(mac) is not None


def read_registry_csv(handle, width):
    """An IEEE registry CSV (Registry,Assignment,Organization Name,...) -> {assignment hex: org}."""
    table = {}
    reader = csv.reader(handle)
    for row in reader:
        if len(row) < 3 or row[0] == 'Registry':
            continue
        assignment = row[1].strip().lower()
        if len(assignment) == width and re.fullmatch(r'[0-9a-f]+', assignment):
            table[assignment] = row[2].strip()
    return table


class Registry(object):
    """MAC -> (vendor, registry) from netaddr and the IEEE CSV files; tables load on first need."""

    def __init__(self, registry_dirs=DEFAULT_REGISTRY_DIRS, use_netaddr=True):
        self.registry_dirs = list(registry_dirs)
        self.use_netaddr = use_netaddr and HAS_NETADDR
        self._tables = {}
        # registries a lookup needed but could not find (for one warning)
        self.needed_missing = set()

    def _csv_path(self, filename):
        for directory in self.registry_dirs:
            path = os.path.join(directory, filename)
            if os.path.isfile(path):
                return path
        return None

    def _table(self, filename, width):
        if filename not in self._tables:
            path = self._csv_path(filename)
            table = {}
            if path:
                with open(path, newline='', encoding='utf-8', errors='replace') as handle:
                    table = read_registry_csv(handle, width)
            self._tables[filename] = table
        return self._tables[filename]

    def _netaddr_org(self, mac, iab):
        if not self.use_netaddr:
            return None
        try:
            eui = netaddr.EUI(mac)
            if iab:
                return eui.iab.registration().org if eui.is_iab() else None
            return eui.oui.registration(0).org
        except (netaddr.NotRegisteredError, netaddr.AddrFormatError, IndexError, ValueError):
            return None

    def _ma_l(self, digits):
        org = self._netaddr_org(digits, iab=False)
        return org or self._table('oui.csv', 6).get(digits[:6])

    def lookup(self, mac):
        """(organisation, registry) for a MAC, or (None, None) when no registry knows it."""
        digits = mac_hex(mac)
        if len(digits) != 12 or is_locally_administered(digits):
            return None, None
        parent = self._ma_l(digits)
        if parent and parent != IEEE_RA and digits[:6] not in IAB_PARENTS:
            return parent, 'MA-L'
        for filename, name, width in CSV_REGISTRIES[:3]:
            org = self._table(filename, width).get(digits[:width])
            if org is None and name == 'IAB':
                org = self._netaddr_org(digits, iab=True)
            if org:
                return org, name
            if self._csv_path(filename) is None and not (name == 'IAB' and self.use_netaddr):
                self.needed_missing.add('%s (%s)' % (name, filename))
        return (parent, 'MA-L') if parent else (None, None)
