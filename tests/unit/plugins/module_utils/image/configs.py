# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option sets and public keys shared by the rendering tests (no image needed)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import re
import struct

from ansible_collections.picocloud.edge.plugins.module_utils.image import options

ED25519_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q admin@ops'
HASH = '$6$rounds=5000$abcdefgh$' + 'A' * 86
CMDLINE = b'console=serial0,115200 console=tty1 root=PARTUUID=5e3da3c2-02 rootfstype=ext4 rootwait\n'
# What desired_files reads from a card before rendering (only cmdline.txt is required).
CURRENT = {'cmdline.txt': CMDLINE}


def ssh_string(data):
    """RFC 4251 string: a uint32 length, then the bytes."""
    return struct.pack('>I', len(data)) + data


def public_key(key_type, fields=(b'\x01' * 32,), comment='', blob_type=None):
    """An OpenSSH public key line with the given type; the blob carries blob_type (default key_type)."""
    blob = ssh_string((blob_type or key_type).encode('ascii')) + b''.join(ssh_string(field) for field in fields)
    line = '%s %s' % (key_type, base64.b64encode(blob).decode('ascii'))
    return line + (' ' + comment if comment else '')


def raw_options(**overrides):
    """Every pi_image option set, as the argument spec delivers them (before validation)."""
    config = {
        'src': '/srv/cards/node1.img', 'dest': None, 'checksum': None, 'force': False, 'flavor': 'auto',
        'hostname': 'node1.lab.example',
        'user': {'name': 'admin', 'password': None, 'password_hash': HASH, 'sudo': True, 'groups': ['gpio'],
                 'ssh_authorized_keys': [ED25519_KEY]},
        'ssh': {'enabled': True, 'password_authentication': False},
        'wifi': {'ssid': 'pico cloud', 'password': 'correct horse', 'country': 'de', 'hidden': True},
        'network': {'interface': 'eth0', 'address': '192.168.10.11/24', 'gateway': '192.168.10.1',
                    'dns': ['192.168.10.1', '9.9.9.9']},
        'timezone': 'Europe/Berlin', 'keymap': 'de', 'locale': 'en_GB.UTF-8',
        'cmdline': {'add': ['quiet'], 'remove': ['splash']}, 'cgroups': True,
        'config_txt': {'all': {'arm_64bit': 1, 'dtoverlay': ['disable-bt']}},
        'user_data': None, 'files': [{'path': 'picocloud/node.txt', 'content': 'node=node1\n'}],
    }
    for key, value in overrides.items():
        config[key] = value
    return copy.deepcopy(config)


def full_config(**overrides):
    """raw_options(**overrides), validated."""
    return options.validate(raw_options(**overrides))


def set_option(config, path, value):
    """Set the option at path ('user.groups[0]', 'config_txt.all.gpu_mem') in a raw_options() dict."""
    target = config
    parts = re.findall(r'[^.\[\]]+|\[\d+\]', path)
    for part in parts[:-1]:
        target = target[int(part[1:-1])] if part.startswith('[') else target[part]
    last = parts[-1]
    if last.startswith('['):
        target[int(last[1:-1])] = value
    else:
        target[last] = value
