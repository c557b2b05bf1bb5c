# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Opt-in active probing that only feeds the neighbour step: ARP requests or ICMP echo, inside one
IPv4 network the operator names and that is on a link of the controller, bounded in count and time.

Private to the picocloud.edge collection: no compatibility promise to other collections.

- ``arp``: ARP requests from a raw packet socket on the interface of that network; the replies
  become neighbour observations (Linux does not store unsolicited ARP replies in its table).
- ``ping``: one ICMP echo per address; the kernel resolves each address by ARP and keeps the
  answers in its neighbour table, which the neighbour step then reads.
Each method sends at most two rounds (the second only to silent addresses), one second apart, and
stops at the timeout. Both need root or CAP_NET_RAW.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import select
import socket
import struct
import time

from ansible_collections.picocloud.edge.plugins.module_utils.inventory.neighbours import observation

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
BROADCAST = b'\xff' * 6
ROUND_GAP = 1.0
ROUNDS = 2


class ProbeError(Exception):
    """The probe cannot run (no interface on that network, no permission)."""


def mac_bytes(mac):
    return bytes(int(part, 16) for part in mac.split(':'))


def mac_text(raw):
    return ':'.join('%02x' % byte for byte in bytearray(raw))


def arp_request(src_mac, src_ip, target_ip):
    """An Ethernet frame with an ARP who-has for target_ip."""
    ether = BROADCAST + mac_bytes(src_mac) + struct.pack('!H', ETH_P_ARP)
    arp = struct.pack('!HHBBH', 1, ETH_P_IP, 6, 4, 1) + mac_bytes(src_mac) + socket.inet_aton(src_ip) \
        + b'\x00' * 6 + socket.inet_aton(target_ip)
    return ether + arp


def parse_arp_reply(frame, own_mac):
    """(sender ip, sender mac) of an ARP reply to us in an Ethernet frame, else None."""
    if len(frame) < 42 or struct.unpack('!H', frame[12:14])[0] != ETH_P_ARP:
        return None
    htype, ptype, hlen, plen, oper = struct.unpack('!HHBBH', frame[14:22])
    if (htype, ptype, hlen, plen, oper) != (1, ETH_P_IP, 6, 4, 2):
        return None
    if frame[32:38] != mac_bytes(own_mac):
        return None
    return socket.inet_ntoa(frame[28:32]), mac_text(frame[22:28])


def icmp_checksum(data):
    if len(data) % 2:
        data += b'\x00'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xffff)
    total += total >> 16
    return ~total & 0xffff


def echo_request(ident, sequence):
    payload = b'picocloud-probe'
    header = struct.pack('!BBHHH', 8, 0, 0, ident, sequence)
    return struct.pack('!BBHHH', 8, 0, icmp_checksum(header + payload), ident, sequence) + payload


def parse_echo_reply(packet, ident):
    """Source address of an ICMP echo reply (IPv4 packet with header) carrying `ident`, else None."""
    if len(packet) < 28:
        return None
    header_len = (bytearray(packet)[0] & 0x0f) * 4
    icmp = packet[header_len:header_len + 8]
    if len(icmp) < 8:
        return None
    kind, dummy_code, dummy_sum, reply_ident, dummy_seq = struct.unpack('!BBHHH', icmp)
    if kind != 0 or reply_ident != ident:
        return None
    return socket.inet_ntoa(packet[12:16])


def interface_for(network, interfaces):
    """The controller interface whose IPv4 network holds all of `network` (ipaddress object)."""
    for item in interfaces:
        if network.subnet_of(ipaddress.ip_network(item['network'])):
            return item
    on_links = ', '.join('%s %s' % (item['name'], item['network']) for item in interfaces) or 'none'
    raise ProbeError('probe.cidr %s is not on a link of this controller (its IPv4 networks: %s); '
                     'the probe asks only on a directly attached network' % (network, on_links))


def _rounds(targets, send, receive, timeout, clock):
    """Send to every silent target, wait for answers, twice at most, until `timeout`; -> answered set."""
    deadline = clock() + timeout
    answered = {}
    for round_number in range(ROUNDS):
        for target in targets:
            if target not in answered and clock() < deadline:
                send(target)
        round_end = min(deadline, clock() + ROUND_GAP)
        while clock() < round_end and len(answered) < len(targets):
            for address, value in receive(round_end - clock()):
                if address in targets:
                    answered[address] = value
        if len(answered) == len(targets) or clock() >= deadline:
            break
    return answered


def arp_probe(targets, interface, timeout, clock=time.monotonic):
    """ARP for each target on `interface` (from interface_for); -> neighbour observations."""
    targets = set(targets)
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    except (OSError, AttributeError) as exc:
        raise ProbeError('the ARP probe needs root or CAP_NET_RAW on Linux: %s' % exc)
    try:
        sock.bind((interface['name'], ETH_P_ARP))
        sock.setblocking(False)

        def send(target):
            sock.send(arp_request(interface['mac'], interface['address'], target))

        def receive(wait):
            readable = select.select([sock], [], [], max(0.0, wait))[0]
            replies = []
            while readable:
                try:
                    frame = sock.recv(128)
                except BlockingIOError:
                    break
                reply = parse_arp_reply(frame, interface['mac'])
                if reply:
                    replies.append(reply)
            return replies

        answered = _rounds(targets, send, receive, timeout, clock)
    finally:
        sock.close()
    return [observation(mac, address, 'neighbours', rank=0) for address, mac in sorted(answered.items())]


def ping_probe(targets, timeout, clock=time.monotonic):
    """One ICMP echo per target (a second to the silent ones); the kernel's ARP fills its table."""
    targets = set(targets)
    ident = os.getpid() & 0xffff
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    except OSError as exc:
        raise ProbeError('the ping probe needs root or CAP_NET_RAW: %s' % exc)
    try:
        sock.setblocking(False)
        sequence = [0]

        def send(target):
            sequence[0] = (sequence[0] + 1) & 0xffff
            try:
                sock.sendto(echo_request(ident, sequence[0]), (target, 0))
            except OSError:
                pass

        def receive(wait):
            readable = select.select([sock], [], [], max(0.0, wait))[0]
            replies = []
            while readable:
                try:
                    packet = sock.recv(1024)
                except BlockingIOError:
                    break
                source = parse_echo_reply(packet, ident)
                if source:
                    replies.append((source, True))
            return replies

        _rounds(targets, send, receive, timeout, clock)
    finally:
        sock.close()
