# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe's packets and its bounded rounds (sending happens only in test_site_discovery_netns.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import socket
import struct

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.inventory import probe

OWN = {'name': 'br0', 'mac': '02:00:00:00:00:01', 'address': '198.18.0.1', 'network': '198.18.0.0/24'}


def arp_reply(sender_mac, sender_ip, target_mac):
    ether = probe.mac_bytes(target_mac) + probe.mac_bytes(sender_mac) + struct.pack('!H', probe.ETH_P_ARP)
    return ether + struct.pack('!HHBBH', 1, 0x0800, 6, 4, 2) + probe.mac_bytes(sender_mac) + \
        socket.inet_aton(sender_ip) + probe.mac_bytes(target_mac) + socket.inet_aton(OWN['address'])


def test_arp_request_is_a_broadcast_who_has():
    frame = probe.arp_request(OWN['mac'], OWN['address'], '198.18.0.11')
    assert frame[:6] == b'\xff' * 6 and frame[6:12] == probe.mac_bytes(OWN['mac'])
    assert struct.unpack('!H', frame[20:22])[0] == 1
    assert socket.inet_ntoa(frame[38:42]) == '198.18.0.11'


def test_arp_reply_to_us_is_read_and_others_are_not():
    assert probe.parse_arp_reply(arp_reply('dc:a6:32:00:00:11', '198.18.0.11', OWN['mac']), OWN['mac']) == \
        ('198.18.0.11', 'dc:a6:32:00:00:11')
    assert probe.parse_arp_reply(arp_reply('dc:a6:32:00:00:11', '198.18.0.11', '02:00:00:00:00:99'), OWN['mac']) is None
    assert probe.parse_arp_reply(probe.arp_request(OWN['mac'], OWN['address'], '198.18.0.11'), OWN['mac']) is None


def test_echo_request_checksum_verifies():
    packet = probe.echo_request(0x1234, 7)
    assert probe.icmp_checksum(packet) == 0


def test_echo_reply_with_our_ident_gives_its_source():
    icmp = struct.pack('!BBHHH', 0, 0, 0, 0x1234, 1) + b'x'
    header = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0,
                         socket.inet_aton('198.18.0.11'), socket.inet_aton(OWN['address']))
    assert probe.parse_echo_reply(header + icmp + b'\x00' * 8, 0x1234) == '198.18.0.11'
    assert probe.parse_echo_reply(header + icmp + b'\x00' * 8, 0x4321) is None


def test_network_must_be_on_a_link_of_the_controller():
    assert probe.interface_for(ipaddress.ip_network('198.18.0.0/25'), [OWN]) == OWN
    with pytest.raises(probe.ProbeError, match='198.19.0.0/24 is not on a link of this controller .*br0 198.18.0.0/24'):
        probe.interface_for(ipaddress.ip_network('198.19.0.0/24'), [OWN])


class FakeClock(object):
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_rounds_resend_only_to_silent_targets_and_stop_at_the_timeout():
    clock = FakeClock()
    sent = []

    def send(target):
        sent.append((clock.now, target))

    def receive(wait):
        clock.now += wait
        return [('198.18.0.11', 'dc:a6:32:00:00:11')] if clock.now <= 1.0 else []

    answered = probe._rounds({'198.18.0.11', '198.18.0.12'}, send, receive, timeout=5.0, clock=clock)
    assert answered == {'198.18.0.11': 'dc:a6:32:00:00:11'}
    assert sorted(target for when, target in sent if when == 0.0) == ['198.18.0.11', '198.18.0.12']
    assert [target for when, target in sent if when > 0.0] == ['198.18.0.12']
    assert clock.now <= 2.0


def test_rounds_never_exceed_a_short_timeout():
    clock = FakeClock()

    def receive(wait):
        clock.now += wait
        return []

    probe._rounds({'198.18.0.11'}, lambda target: None, receive, timeout=0.3, clock=clock)
    assert clock.now == pytest.approx(0.3)
