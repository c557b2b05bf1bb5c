# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloud-init NoCloud seed rendering: user-data, meta-data and network-config per flavour.

Private to the picocloud.edge collection: no compatibility promise to other collections.

What each flavour's cloud-init reads (sources in docs/image.md):
- HypriotOS ships cloud-init 0.7.9 (Debian stretch) with the boot files linked into
  /var/lib/cloud/seed/nocloud-net/, so network-config is read; its own default is network
  config version 1 without a top-level ``network:`` key. 0.7.9 has no ``keyboard`` module and no
  singular ``user:`` merging with a distro default user, so HypriotOS gets a ``users:`` list,
  the keymap as a written /etc/default/keyboard, and Wi-Fi as wpa_supplicant files (v1 has no
  Wi-Fi), as HypriotOS's own user-data template does.
- Raspberry Pi OS Trixie cloud-init images and Ubuntu read network-config version 2 (netplan).
  The user goes in the singular ``user:`` key, as Raspberry Pi Imager writes it, so the distro's
  default groups are kept. ``keyboard`` needs cloud-init >= 22.3, which both ship.
- The default route is written in the one form that cloud-init's own network-config parser reads
  right from the 22.3 floor on (checked with ``cloud-init devel net-convert`` of Debian's 22.4):
  IPv4 ``routes: [{to: 0.0.0.0/0, via: GW}]``; netplan's ``to: default`` is refused there ("Address
  default is not a valid ip network", so the node never comes on the network). IPv6 ``to: ::/0``
  is read but rendered as a route to ``::/64`` by 22.4 (fixed upstream in canonical/cloud-init#1973,
  still reported on later releases in canonical/cloud-init#4600), so an IPv6 gateway is written as
  ``gateway6``, which 22.4's parser turns into a plain default route for every renderer (netplan
  itself accepts it with a deprecation warning).
- Wi-Fi for HypriotOS goes into wpa_supplicant.conf with the SSID as hex digits (the documented
  ``ssid=<hex>`` form), so no SSID can end the quoted string or add a line.
- meta-data carries an ``instance-id`` derived from the rendered user-data and network-config: it
  changes exactly when the configuration changes, and a new instance-id makes cloud-init run its
  per-instance modules again on the next boot.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import ipaddress
import json
import os
import shutil
import subprocess
import tempfile

from ansible.module_utils.common.yaml import HAS_YAML, yaml_dump, yaml_load

HYPRIOT_GROUPS = ['users', 'docker', 'video', 'input']
SUDO_RULE = 'ALL=(ALL) NOPASSWD:ALL'
DEFAULT_ROUTE_V4 = '0.0.0.0/0'
# Top-level cloud-config keys and the JSON types the cloud-init schema gives them; used for a
# structural check when the cloud-init binary is not on the controller.
KNOWN_TYPES = {
    'users': (list, str, dict), 'user': (dict, str), 'groups': (list, str, dict), 'runcmd': (list,),
    'bootcmd': (list,), 'write_files': (list,), 'packages': (list,), 'hostname': (str,), 'fqdn': (str,),
    'manage_etc_hosts': (bool, str), 'ssh_pwauth': (bool, str), 'ssh_authorized_keys': (list,),
    'timezone': (str,), 'locale': (str, bool), 'keyboard': (dict,), 'chpasswd': (dict,), 'package_update': (bool,),
    'package_upgrade': (bool,), 'ntp': (dict, type(None)), 'apt': (dict,), 'mounts': (list,),
    'manage_resolv_conf': (bool,), 'disable_root': (bool,), 'preserve_hostname': (bool,),
    'final_message': (str,), 'power_state': (dict,), 'ssh_deletekeys': (bool,), 'ssh_genkeytypes': (list,),
}


class CloudInitError(Exception):
    """Generated or user-supplied cloud-config is invalid."""


def deep_merge(base, extra):
    """Merge extra into a copy of base: dicts recursively, lists appended without duplicates."""
    result = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = result[key] + [item for item in value if item not in result[key]]
        else:
            result[key] = copy.deepcopy(value)
    return result


def dump(data):
    if not HAS_YAML:
        raise CloudInitError('PyYAML is required to write cloud-init files')
    return yaml_dump(data, default_flow_style=False, sort_keys=False, width=4096, allow_unicode=True)


def _user(config, flavor, password_hash):
    user = config.get('user')
    if not user:
        return None
    entry = {'name': user['name']}
    if flavor == 'hypriot':
        entry['gecos'] = user['name']
    entry['shell'] = '/bin/bash'
    if password_hash:
        entry['lock_passwd'] = False
        entry['passwd'] = password_hash
    else:
        entry['lock_passwd'] = True
    keys = user.get('ssh_authorized_keys') or []
    if keys:
        entry['ssh_authorized_keys'] = list(keys)
    groups = user.get('groups')
    if flavor == 'hypriot':
        entry['groups'] = ','.join(groups if groups else HYPRIOT_GROUPS)
        if user.get('sudo', True):
            entry['sudo'] = SUDO_RULE
    else:
        if groups:
            entry['groups'] = list(groups)
        # The singular user: merges over the distro default user, whose sudo rule is passwordless;
        # null drops that rule while keeping the default groups (as Raspberry Pi Imager does).
        entry['sudo'] = SUDO_RULE if user.get('sudo', True) else None
    return entry


def _wpa_files(wifi, psk):
    network = ['network={', '    ssid=%s' % wifi['ssid'].encode('utf-8').hex()]
    if wifi.get('hidden'):
        network.append('    scan_ssid=1')
    if psk:
        network.extend(['    psk=%s' % psk, '    key_mgmt=WPA-PSK'])
    else:
        network.append('    key_mgmt=NONE')
    network.append('}')
    supplicant = '\n'.join(['country=%s' % wifi['country'], 'ctrl_interface=DIR=/var/run/wpa_supplicant GROUP=netdev',
                            'update_config=1', ''] + network) + '\n'
    interfaces = ('allow-hotplug wlan0\niface wlan0 inet dhcp\n'
                  'wpa-conf /etc/wpa_supplicant/wpa_supplicant.conf\niface default inet dhcp\n')
    return [
        {'path': '/etc/wpa_supplicant/wpa_supplicant.conf', 'permissions': '0600', 'content': supplicant},
        {'path': '/etc/network/interfaces.d/wlan0', 'permissions': '0644', 'content': interfaces},
    ]


def user_data(config, flavor, password_hash=None, psk=None):
    """The cloud-config dict for a flavour (before the user's user_data is merged)."""
    data = {}
    hostname = config.get('hostname')
    if hostname:
        data['hostname'] = hostname.split('.')[0]
        if '.' in hostname:
            data['fqdn'] = hostname
        data['manage_etc_hosts'] = True
    if flavor == 'rpios-cloudinit':
        data['manage_resolv_conf'] = False
    user = _user(config, flavor, password_hash)
    if user:
        if flavor == 'hypriot':
            data['users'] = [user]
        else:
            data['user'] = user
        data['chpasswd'] = {'expire': False}
    ssh = config.get('ssh') or {}
    data['ssh_pwauth'] = bool(ssh.get('password_authentication', False))
    if config.get('timezone'):
        data['timezone'] = config['timezone']
    if config.get('locale'):
        data['locale'] = config['locale']
    write_files = []
    if config.get('keymap'):
        if flavor == 'hypriot':
            write_files.append({'path': '/etc/default/keyboard', 'permissions': '0644',
                                'content': 'XKBMODEL="pc105"\nXKBLAYOUT="%s"\nXKBVARIANT=""\nXKBOPTIONS=""\n'
                                           % config['keymap']})
        else:
            data['keyboard'] = {'model': 'pc105', 'layout': config['keymap']}
    wifi = config.get('wifi') or {}
    runcmd = []
    if flavor == 'hypriot':
        runcmd.append('systemctl restart avahi-daemon')
        if wifi.get('ssid'):
            write_files.extend(_wpa_files(wifi, psk))
            runcmd.append('ifup wlan0')
    if ssh.get('enabled', True):
        if flavor == 'rpios-cloudinit':
            # Raspberry Pi OS ships sshd disabled; cloud-init's ssh module does not enable it.
            runcmd.append(['systemctl', 'enable', '--now', 'ssh'])
    else:
        runcmd.append(['systemctl', 'disable', '--now', 'ssh'])
    if write_files:
        data['write_files'] = write_files
    if runcmd:
        data['runcmd'] = runcmd
    return data


def network_config(config, flavor, psk=None):
    """The network-config dict: version 1 for HypriotOS, version 2 otherwise."""
    network = config.get('network') or {}
    wifi = config.get('wifi') or {}
    static_if = network.get('interface') if network else None
    if flavor == 'hypriot':
        if static_if and static_if.startswith('wl'):
            raise CloudInitError('HypriotOS reads network-config version 1, which cannot configure Wi-Fi; '
                                 'a static address on %s is not supported there' % static_if)
        interfaces = ['eth0'] if static_if in (None, 'eth0') else ['eth0', static_if]
        entries = []
        for name in interfaces:
            if name == static_if:
                subnet = {'type': 'static', 'address': network['address']}
                if network.get('gateway'):
                    subnet['gateway'] = network['gateway']
                if network.get('dns'):
                    subnet['dns_nameservers'] = list(network['dns'])
            else:
                subnet = {'type': 'dhcp'}
            entries.append({'type': 'physical', 'name': name, 'subnets': [subnet]})
        return {'version': 1, 'config': entries}

    def addressing(name):
        if name != static_if:
            return {'dhcp4': True, 'optional': True}
        entry = {'dhcp4': False, 'addresses': [network['address']], 'optional': True}
        gateway = network.get('gateway')
        if gateway and ipaddress.ip_address(gateway).version == 6:
            entry['gateway6'] = gateway
        elif gateway:
            entry['routes'] = [{'to': DEFAULT_ROUTE_V4, 'via': gateway}]
        if network.get('dns'):
            entry['nameservers'] = {'addresses': list(network['dns'])}
        return entry

    body = {'version': 2, 'ethernets': {}}
    wifi_if = static_if if static_if and static_if.startswith('wl') else 'wlan0'
    for name in ['eth0'] + ([static_if] if static_if and static_if != 'eth0' and not static_if.startswith('wl') else []):
        body['ethernets'][name] = addressing(name)
    if wifi.get('ssid'):
        point = {}
        if psk:
            point['password'] = psk
        else:
            point['auth'] = {'key-management': 'none'}
        if wifi.get('hidden'):
            point['hidden'] = True
        entry = addressing(wifi_if)
        entry['regulatory-domain'] = wifi['country']
        entry['access-points'] = {wifi['ssid']: point}
        body['wifis'] = {wifi_if: entry}
    elif static_if and static_if.startswith('wl'):
        raise CloudInitError('network.interface %s is a Wi-Fi interface; set wifi.ssid too' % static_if)
    return {'network': body}


def check_structure(data):
    """Type check of well-known top-level keys (the subset of the cloud-init schema we can check offline)."""
    if not isinstance(data, dict):
        raise CloudInitError('user_data must be a mapping of cloud-config keys')
    for key, value in data.items():
        expected = KNOWN_TYPES.get(key)
        if expected and not isinstance(value, expected):
            raise CloudInitError('user_data does not match the cloud-config schema: %s must be %s, got %s'
                                 % (key, ' or '.join(sorted(t.__name__ for t in expected)), type(value).__name__))
    for index, item in enumerate(data.get('write_files') or []):
        if not isinstance(item, dict) or 'path' not in item:
            raise CloudInitError('user_data does not match the cloud-config schema: write_files[%d] needs a path' % index)
    for index, item in enumerate(data.get('users') or [] if isinstance(data.get('users'), list) else []):
        if isinstance(item, dict) and 'name' not in item:
            raise CloudInitError('user_data does not match the cloud-config schema: users[%d] needs a name' % index)


def schema_check(text, cloud_init_bin=None, timeout=120):
    """Run ``cloud-init schema --config-file`` on text when the binary exists; returns True if it ran."""
    binary = cloud_init_bin or shutil.which('cloud-init')
    if not binary:
        return False
    handle, path = tempfile.mkstemp(prefix='picocloud-user-data-', suffix='.yaml')
    try:
        with os.fdopen(handle, 'w') as out:
            out.write(text)
        proc = subprocess.run([binary, 'schema', '--config-file', path], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout, check=False)
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        message = proc.stdout.decode('utf-8', 'replace').replace(path, 'user-data').strip()
        raise CloudInitError('user_data does not match the cloud-config schema: %s' % message)
    return True


def render(config, flavor, password_hash=None, psk=None, validate_with_binary=True):
    """{'user-data': text, 'meta-data': text, 'network-config': text} and the instance-id."""
    data = user_data(config, flavor, password_hash, psk)
    extra = config.get('user_data') or {}
    check_structure(extra)
    data = deep_merge(data, extra)
    check_structure(data)
    user_text = '#cloud-config\n' + dump(data)
    network_text = dump(network_config(config, flavor, psk))
    # Round-trip: what we wrote must read back as the same data.
    if yaml_load(user_text) != json.loads(json.dumps(data)):
        raise CloudInitError('user_data cannot be represented as YAML faithfully')
    if validate_with_binary and extra:
        schema_check(user_text)
    digest = hashlib.sha256((user_text + '\0' + network_text).encode('utf-8')).hexdigest()
    instance_id = 'picocloud-%s' % digest[:16]
    meta_text = dump({'instance-id': instance_id, 'local-hostname': (config.get('hostname') or '').split('.')[0]}
                     if config.get('hostname') else {'instance-id': instance_id})
    return {'user-data': user_text, 'meta-data': meta_text, 'network-config': network_text}, instance_id
