# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DHCP lease files (dnsmasq and ISC dhcpd fixtures) into observations."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.inventory import leases

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')
NOW = 1764756000  # 2025-12-03 10:00 UTC: after the expired dnsmasq lease, before the ISC ends


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def by_address(found):
    return dict((item['address'], item) for item in found)


def test_dnsmasq_keeps_live_leases_with_mac_and_hostname():
    found = by_address(leases.parse_dnsmasq(fixture('dnsmasq.leases'), NOW))
    assert sorted(found) == ['198.18.0.11', '198.18.0.12', '198.18.0.14']
    assert found['198.18.0.11']['mac'] == 'dc:a6:32:00:00:01'
    assert found['198.18.0.11']['hostname'] == 'pico-01'
    assert found['198.18.0.11']['source'] == 'leases'


def test_dnsmasq_star_hostname_is_none_and_expiry_zero_never_ends():
    found = by_address(leases.parse_dnsmasq(fixture('dnsmasq.leases'), NOW))
    assert found['198.18.0.12']['hostname'] is None


def test_dnsmasq_hostname_is_short_and_lower_case():
    found = by_address(leases.parse_dnsmasq(fixture('dnsmasq.leases'), NOW))
    assert found['198.18.0.14']['hostname'] == 'pico-04'


def test_dnsmasq_expired_and_dhcpv6_lines_give_nothing():
    found = by_address(leases.parse_dnsmasq(fixture('dnsmasq.leases'), NOW))
    assert '198.18.0.13' not in found and 'fd00::14' not in found


def test_isc_last_block_of_an_address_wins():
    found = by_address(leases.parse_isc(fixture('dhcpd.leases'), NOW))
    assert found['198.18.0.21']['hostname'] == 'pico-21'
    assert found['198.18.0.21']['mac'] == 'dc:a6:32:00:00:21'
    # 198.18.0.23 was active, then its later block says expired
    assert '198.18.0.23' not in found


def test_isc_reads_epoch_and_never_ends_and_upper_case_macs():
    found = by_address(leases.parse_isc(fixture('dhcpd.leases'), NOW))
    assert found['198.18.0.22']['mac'] == 'd8:3a:dd:00:00:22'
    assert found['198.18.0.24']['hostname'] == 'pico-24'


def test_isc_hostname_that_is_no_host_name_is_dropped_not_trusted():
    found = by_address(leases.parse_isc(fixture('dhcpd.leases'), NOW))
    assert found['198.18.0.22']['hostname'] is None


def test_isc_lease_without_binding_state_counts_until_it_ends():
    text = 'lease 10.0.0.5 {\n ends 4 2026/12/03 11:00:00;\n hardware ethernet dc:a6:32:00:00:05;\n}\n'
    assert len(leases.parse_isc(text, NOW)) == 1
    assert leases.parse_isc(text, 1800000000) == []


def test_format_is_detected():
    assert leases.detect_format(fixture('dhcpd.leases')) == 'isc'
    assert leases.detect_format(fixture('dnsmasq.leases')) == 'dnsmasq'
    assert by_address(leases.parse_leases(fixture('dhcpd.leases'), 'auto', NOW))['198.18.0.21']


def test_unclosed_isc_block_names_the_file(tmp_path):
    path = tmp_path / 'dhcpd.leases'
    path.write_text('lease 10.0.0.5 {\n hardware ethernet dc:a6:32:00:00:05;\n')
    with pytest.raises(leases.LeaseError, match='%s: a { block is not closed' % path):
        leases.read_lease_file(str(path), 'isc', NOW)


def test_unreadable_lease_file_names_the_file(tmp_path):
    with pytest.raises(leases.LeaseError, match='nope.leases: cannot read the lease file'):
        leases.read_lease_file(str(tmp_path / 'nope.leases'))


def test_isc_time_that_is_not_a_time_is_an_error():
    with pytest.raises(leases.LeaseError, match='cannot read the time'):
        leases.isc_time(['4', 'yesterday'])
