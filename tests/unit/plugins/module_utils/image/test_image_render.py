# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendering for every flavour and option; user-data is checked with the real `cloud-init schema`."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shutil
import subprocess
import warnings

import pytest
import yaml

import shell_sandbox

from ansible_collections.picocloud.edge.plugins.module_utils.image import cloudinit
from ansible_collections.picocloud.edge.plugins.module_utils.image import firstrun
from ansible_collections.picocloud.edge.plugins.module_utils.image import flavor
from ansible_collections.picocloud.edge.plugins.module_utils.image import options
from ansible_collections.picocloud.edge.plugins.module_utils.image import passwords

CLOUD_INIT = shutil.which('cloud-init')
HASH = '$6$rounds=5000$abcdefgh$' + 'A' * 86


def full_config(**overrides):
    config = {
        'hostname': 'node1.lab.example',
        'user': {'name': 'admin', 'password': None, 'password_hash': None, 'sudo': True, 'groups': None,
                 'ssh_authorized_keys': ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q admin@ops']},
        'ssh': {'enabled': True, 'password_authentication': False},
        'wifi': {'ssid': 'pico cloud', 'password': 'correct horse', 'country': 'de', 'hidden': True},
        'network': {'interface': 'eth0', 'address': '192.168.10.11/24', 'gateway': '192.168.10.1',
                    'dns': ['192.168.10.1', '9.9.9.9']},
        'timezone': 'Europe/Berlin', 'keymap': 'de', 'locale': 'en_GB.UTF-8',
        'cmdline': None, 'cgroups': True, 'config_txt': None, 'user_data': None, 'files': None,
    }
    config.update(overrides)
    return options.validate(config)


def schema_ok(text, tmp_path):
    if not CLOUD_INIT:
        pytest.skip('cloud-init is not installed (apt-get install cloud-init)')
    path = tmp_path / 'user-data'
    path.write_text(text)
    proc = subprocess.run([CLOUD_INIT, 'schema', '--config-file', str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, check=False)
    return proc.returncode, proc.stdout.decode()


@pytest.mark.parametrize('name', flavor.CLOUD_INIT_FLAVORS)
def test_user_data_for_every_cloud_init_flavour_passes_the_cloud_init_schema(name, tmp_path):
    config = full_config()
    files, instance_id = cloudinit.render(config, name, HASH, passwords.wpa_psk('pico cloud', 'correct horse'))
    assert files['user-data'].startswith('#cloud-config\n')
    rc, out = schema_ok(files['user-data'], tmp_path)
    assert rc == 0, out
    assert 'Valid cloud-config' in out
    data = yaml.safe_load(files['user-data'])
    assert data['hostname'] == 'node1' and data['fqdn'] == 'node1.lab.example'
    assert data['timezone'] == 'Europe/Berlin' and data['locale'] == 'en_GB.UTF-8'
    assert data['ssh_pwauth'] is False
    assert yaml.safe_load(files['meta-data'])['instance-id'] == instance_id
    assert 'correct horse' not in ''.join(files.values())


def test_hypriot_uses_only_keys_cloud_init_0_7_9_knows():
    files, dummy = cloudinit.render(full_config(), 'hypriot', HASH, 'ab' * 32)
    data = yaml.safe_load(files['user-data'])
    assert 'keyboard' not in data and 'user' not in data
    assert data['users'][0]['groups'] == 'users,docker,video,input'
    assert data['users'][0]['sudo'] == 'ALL=(ALL) NOPASSWD:ALL'
    assert data['users'][0]['passwd'] == HASH
    paths = [item['path'] for item in data['write_files']]
    assert paths == ['/etc/default/keyboard', '/etc/wpa_supplicant/wpa_supplicant.conf', '/etc/network/interfaces.d/wlan0']
    supplicant = data['write_files'][1]
    assert supplicant['permissions'] == '0600'
    assert 'psk=' + 'ab' * 32 in supplicant['content'] and 'scan_ssid=1' in supplicant['content']
    assert 'country=DE' in supplicant['content']


def test_hypriot_network_config_is_version_1_static():
    files, dummy = cloudinit.render(full_config(wifi=None), 'hypriot')
    network = yaml.safe_load(files['network-config'])
    assert network == {'version': 1, 'config': [{'type': 'physical', 'name': 'eth0', 'subnets': [
        {'type': 'static', 'address': '192.168.10.11/24', 'gateway': '192.168.10.1',
         'dns_nameservers': ['192.168.10.1', '9.9.9.9']}]}]}


def test_hypriot_refuses_a_static_wifi_address():
    config = full_config(network={'interface': 'wlan0', 'address': '10.0.0.5/24', 'gateway': None, 'dns': []})
    with pytest.raises(cloudinit.CloudInitError, match='version 1'):
        cloudinit.render(config, 'hypriot')


@pytest.mark.parametrize('name', ['rpios-cloudinit', 'ubuntu'])
def test_version_2_network_config_with_static_eth0_and_hidden_wifi(name):
    files, dummy = cloudinit.render(full_config(), name, HASH, 'cd' * 32)
    network = yaml.safe_load(files['network-config'])['network']
    assert network['version'] == 2
    assert network['ethernets']['eth0'] == {
        'dhcp4': False, 'addresses': ['192.168.10.11/24'], 'optional': True,
        'routes': [{'to': '0.0.0.0/0', 'via': '192.168.10.1'}],
        'nameservers': {'addresses': ['192.168.10.1', '9.9.9.9']}}
    wlan = network['wifis']['wlan0']
    assert wlan['regulatory-domain'] == 'DE'
    assert wlan['access-points'] == {'pico cloud': {'password': 'cd' * 32, 'hidden': True}}


def test_dhcp_is_written_when_network_is_absent():
    files, dummy = cloudinit.render(full_config(network=None, wifi=None), 'ubuntu')
    assert yaml.safe_load(files['network-config']) == {'network': {'version': 2, 'ethernets': {
        'eth0': {'dhcp4': True, 'optional': True}}}}


def test_rpios_cloudinit_user_follows_raspberry_pi_imager():
    files, dummy = cloudinit.render(full_config(), 'rpios-cloudinit', HASH)
    data = yaml.safe_load(files['user-data'])
    assert data['user']['name'] == 'admin' and data['user']['lock_passwd'] is False
    assert data['user']['sudo'] == 'ALL=(ALL) NOPASSWD:ALL'
    assert ['systemctl', 'enable', '--now', 'ssh'] in data['runcmd']
    assert data['keyboard'] == {'model': 'pc105', 'layout': 'de'}


def test_no_sudo_and_no_ssh_and_key_only_user(tmp_path):
    user = dict(full_config()['user'], sudo=False, groups=['gpio', 'video'])
    config = full_config(user=user, ssh={'enabled': False, 'password_authentication': False})
    files, dummy = cloudinit.render(config, 'ubuntu')
    data = yaml.safe_load(files['user-data'])
    assert data['user']['sudo'] is None and data['user']['lock_passwd'] is True
    assert data['user']['groups'] == ['gpio', 'video']
    assert ['systemctl', 'disable', '--now', 'ssh'] in data['runcmd']
    rc, out = schema_ok(files['user-data'], tmp_path)
    assert rc == 0, out


def test_instance_id_changes_with_the_config_and_only_then():
    first = cloudinit.render(full_config(), 'ubuntu', HASH)[1]
    assert cloudinit.render(full_config(), 'ubuntu', HASH)[1] == first
    assert cloudinit.render(full_config(hostname='node2'), 'ubuntu', HASH)[1] != first


def test_user_data_is_deep_merged():
    extra = {'runcmd': ['echo hi'], 'user': {'shell': '/bin/zsh'}, 'packages': ['avahi-daemon']}
    files, dummy = cloudinit.render(full_config(user_data=extra), 'ubuntu', HASH)
    data = yaml.safe_load(files['user-data'])
    assert data['user']['shell'] == '/bin/zsh' and data['user']['name'] == 'admin'
    assert data['runcmd'][-1] == 'echo hi' and data['packages'] == ['avahi-daemon']


@pytest.mark.parametrize('extra, message', [
    ({'runcmd': 'echo not a list'}, 'runcmd must be list'),
    ({'write_files': [{'content': 'x'}]}, 'write_files\\[0\\] needs a path'),
    ({'ssh_pwauth': [1]}, 'ssh_pwauth must be'),
])
def test_user_data_that_breaks_the_schema_is_refused(extra, message):
    with pytest.raises(cloudinit.CloudInitError, match='does not match the cloud-config schema: ' + message):
        cloudinit.render(full_config(user_data=extra), 'ubuntu')


def test_schema_errors_only_the_real_cloud_init_finds_are_reported(tmp_path):
    if not CLOUD_INIT:
        pytest.skip('cloud-init is not installed')
    with pytest.raises(cloudinit.CloudInitError, match='does not match the cloud-config schema'):
        cloudinit.render(full_config(user_data={'apt': {'preserve_sources_list': 'maybe'}}), 'ubuntu')


def test_firstrun_script_is_valid_bash_and_sets_everything(tmp_path):
    config = full_config()
    config['_psk'] = 'ef' * 32
    text = firstrun.script(config)
    path = tmp_path / 'firstrun.sh'
    path.write_text(text)
    assert subprocess.run(['bash', '-n', str(path)], check=False).returncode == 0
    run = shell_sandbox.dry_run(text)
    assert run.stderr == ''
    assert run.args_of('imager_custom') == [['set_hostname', 'node1'], ['set_wlan', '-h', 'pico cloud', 'ef' * 32, 'DE'],
                                            ['set_keymap', 'de'], ['set_timezone', 'Europe/Berlin']]
    keyfile = run.files['/etc/NetworkManager/system-connections/picocloud-eth0.nmconnection']
    assert 'address1=192.168.10.11/24,192.168.10.1\n' in keyfile and 'dns=192.168.10.1;9.9.9.9;\n' in keyfile
    assert run.files['/etc/ssh/sshd_config.d/10-picocloud.conf'] == 'PasswordAuthentication no\n'
    assert ['enable', 'ssh'] in run.args_of('systemctl')
    assert run.files['/etc/sudoers.d/010_admin-nopasswd'] == 'admin ALL=(ALL) NOPASSWD:ALL\n'
    assert run.args_of('update-locale') == [['LANG=en_GB.UTF-8']] and 'correct horse' not in text
    assert text.rstrip().endswith('exit 0')
    assert firstrun.userconf(config, HASH) == 'admin:%s\n' % HASH
    assert firstrun.userconf(full_config(user=None), None) is None


def test_sha512_crypt_hash_verifies_with_the_system_crypt_and_is_reused():
    hashed = passwords.password_hash('s3cret')
    assert hashed.startswith('$6$')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        import crypt
    assert crypt.crypt('s3cret', hashed) == hashed
    assert passwords.password_hash('s3cret', existing=hashed) == hashed
    assert passwords.password_hash('other', existing=hashed) != hashed
    with pytest.raises(passwords.PasswordError, match='crypt'):
        passwords.password_hash(hashed='plaintext')


def test_wpa_psk_matches_the_ieee_802_11i_test_vector():
    assert passwords.wpa_psk('IEEE', 'password') == 'f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e'
    with pytest.raises(passwords.PasswordError, match='8 to 63'):
        passwords.wpa_psk('x', 'short')


@pytest.mark.parametrize('files, names, label, expected', [
    ({'os-release': b'HYPRIOT_OS="HypriotOS/armhf"\n'}, ['os-release', 'user-data'], 'HypriotOS', 'hypriot'),
    ({'issue.txt': b'Raspberry Pi reference 2025-10-01\n'}, ['issue.txt', 'user-data', 'meta-data'], 'bootfs',
     'rpios-cloudinit'),
    ({'README': b'Ubuntu Server for Raspberry Pi\n'}, ['README', 'user-data', 'meta-data'], 'system-boot', 'ubuntu'),
    ({'issue.txt': b'Raspberry Pi reference 2024-11-19\n'}, ['issue.txt', 'cmdline.txt'], 'bootfs', 'rpios-firstrun'),
    ({}, ['cmdline.txt', 'config.txt'], 'boot', 'rpios-firstrun'),
])
def test_flavour_detection(files, names, label, expected):
    assert flavor.detect(files, names, label)[0] == expected


@pytest.mark.parametrize('names, message', [
    (['user-data', 'meta-data'], 'has cloud-init files'),
    (['start.elf', 'config.txt'], 'unknown flavour'),
])
def test_unknown_flavour_is_a_clear_error(names, message):
    with pytest.raises(flavor.FlavorError, match=message):
        flavor.detect({}, names, 'NO NAME')


@pytest.mark.parametrize('override, message', [
    ({'network': {'interface': 'eth0', 'address': '192.168.1.300/24', 'gateway': None, 'dns': []}},
     'not a valid CIDR'),
    ({'network': {'interface': 'eth0', 'address': '192.168.1.10', 'gateway': None, 'dns': []}}, 'needs a prefix'),
    ({'network': {'interface': 'eth0', 'address': '192.168.1.10/24', 'gateway': '10.0.0.1', 'dns': []}},
     'outside 192.168.1.0/24'),
    ({'network': {'interface': 'eth0', 'address': '192.168.1.10/24', 'gateway': None, 'dns': ['x']}},
     'not an IP address'),
    ({'wifi': {'ssid': 'lab', 'password': None, 'country': None, 'hidden': False}}, 'wifi.country is required'),
    ({'wifi': {'ssid': 'lab', 'password': None, 'country': 'Germany', 'hidden': False}}, 'two-letter'),
    ({'hostname': 'bad_host!'}, 'not a valid host name'),
    ({'timezone': "Europe/Berlin'; rm -rf /"}, 'not allowed'),
    ({'files': [{'path': '../escape', 'content': ''}]}, 'relative path'),
])
def test_bad_options_are_refused_with_a_clear_message(override, message):
    with pytest.raises(options.OptionError, match=message):
        full_config(**override)
