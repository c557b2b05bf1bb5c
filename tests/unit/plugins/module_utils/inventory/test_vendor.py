# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MAC vendors from the IEEE registries (netaddr's MA-L/IAB, the ieee-data CSVs for MA-M/MA-S) and the
Raspberry Pi board family of an OUI block."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io
import os

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.inventory import vendor

FIXTURE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'ieee')
SYSTEM_DIRS = vendor.DEFAULT_REGISTRY_DIRS


def first_assignment(filename):
    """A real assignment from the installed ieee-data CSV (the test reads it, not a hand-kept value)."""
    for directory in SYSTEM_DIRS:
        path = os.path.join(directory, filename)
        if os.path.isfile(path):
            with open(path, newline='', encoding='utf-8', errors='replace') as handle:
                for row in csv.reader(handle):
                    if row[0] != 'Registry' and row[2] and row[2] != 'Private':
                        return row[1], row[2]
    raise AssertionError('%s is missing: scripts/system-packages.sh installs ieee-data' % filename)


@pytest.mark.parametrize('mac, org', [
    ('b8:27:eb:12:34:56', 'Raspberry Pi Foundation'),
    ('dc:a6:32:12:34:56', 'Raspberry Pi Trading Ltd'),
    ('2c:cf:67:12:34:56', 'Raspberry Pi (Trading) Ltd'),
])
def test_raspberry_pi_ma_l_blocks_come_from_netaddr(mac, org):
    assert vendor.Registry(registry_dirs=[]).lookup(mac) == (org, 'MA-L')


def test_28_bit_block_comes_from_the_installed_ma_m_registry():
    assignment, org = first_assignment('mam.csv')
    mac = ':'.join((assignment + '00000')[pos:pos + 2] for pos in range(0, 12, 2))
    assert vendor.Registry().lookup(mac) == (org, 'MA-M')


def test_36_bit_block_comes_from_the_installed_ma_s_registry():
    assignment, org = first_assignment('oui36.csv')
    mac = ':'.join((assignment + '000')[pos:pos + 2] for pos in range(0, 12, 2))
    assert vendor.Registry().lookup(mac) == (org, 'MA-S')


def test_36_bit_iab_block_comes_from_netaddr():
    assert vendor.Registry(registry_dirs=[]).lookup('00:50:c2:f7:10:01') == ('RF Code', 'IAB')


def test_longest_block_wins_under_an_ieee_registration_authority_parent():
    registry = vendor.Registry(registry_dirs=[FIXTURE_DIR])
    assert registry.lookup('70:b3:d5:f2:f0:01') == ('Test Thirty-Six, Inc.', 'MA-S')
    assert registry.lookup('70:b3:d5:1a:bc:de') == ('Test Twenty-Eight GmbH', 'MA-M')


def test_missing_ma_m_registry_is_reported_only_when_a_lookup_needed_it(tmp_path):
    registry = vendor.Registry(registry_dirs=[str(tmp_path)])
    registry.lookup('dc:a6:32:12:34:56')
    assert registry.needed_missing == set()
    assert registry.lookup('70:b3:d5:1a:bc:de') == ('IEEE Registration Authority', 'MA-L')
    assert registry.needed_missing == {'MA-S (oui36.csv)', 'MA-M (mam.csv)'}


def test_locally_administered_mac_has_no_vendor():
    assert vendor.Registry().lookup('02:42:ac:11:00:02') == (None, None)


@pytest.mark.parametrize('mac, family', [
    ('b8:27:eb:00:00:01', 'Pi 1-3'), ('dc:a6:32:00:00:01', 'Pi 4'), ('e4:5f:01:00:00:01', 'Pi 4'),
    ('d8:3a:dd:00:00:01', 'Pi 5'), ('2c:cf:67:00:00:01', 'Pi 5'), ('00:11:22:33:44:55', None),
])
def test_board_family_of_the_oui_block(mac, family):
    assert vendor.board_family(mac) == family


def test_a_pi_block_newer_than_the_registry_data_still_counts_as_a_pi():
    registry = vendor.Registry()
    org = registry.lookup('88:a2:9e:00:00:01')[0]
    assert vendor.is_raspberry_pi(org, '88:a2:9e:00:00:01')
    assert not vendor.is_raspberry_pi('Intel Corporate', '00:1b:21:00:00:01')


def test_registry_csv_skips_header_and_bad_rows():
    text = 'Registry,Assignment,Organization Name,Organization Address\nMA-M,XYZ,Bad,\nMA-M,ABCDEF1,Good,\n'
    assert vendor.read_registry_csv(io.StringIO(text), 7) == {'abcdef1': 'Good'}
