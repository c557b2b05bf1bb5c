# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firstrun.sh takes operator values as data: bash -n, sandboxed dry runs (shell_sandbox), visudo."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import configparser
import os
import re
import subprocess

import pytest
import yaml

import configs
import shell_sandbox
from ansible_collections.picocloud.edge.plugins.module_utils.image import customize
from ansible_collections.picocloud.edge.plugins.module_utils.image import firstrun
from ansible_collections.picocloud.edge.plugins.module_utils.image import options

# Values that pass validation and are still hostile to a shell, a heredoc or a sed expression.
HOSTILE_SSID = "'; reboot; '$(id)`id`\"!*"
HOSTILE_COMMENT = "EOF PICOCLOUD_KEYS $(touch /pwned) `id` ' \" \\ ; & | > *"


def render(config):
    """firstrun.sh for a validated config, as customize.desired_files writes it."""
    files, dummy = customize.desired_files(config, 'rpios-firstrun', configs.CURRENT)
    return files['firstrun.sh'].decode('utf-8'), files


def test_the_script_is_valid_bash_with_no_heredoc_and_no_redirection_in_its_actions():
    text, dummy = render(configs.full_config())
    ok, err = shell_sandbox.bash_syntax_ok(text)
    assert ok, err
    assert '<<' not in text
    dummy_values, dummy_helpers, actions = shell_sandbox.split(text)
    assert re.findall(r'\S*>\S*', actions) == ['2>/dev/null']
    assert 'sed' not in '\n'.join(line for line in actions.splitlines() if 'PICOCLOUD_' in line)


def test_operator_values_are_only_in_the_values_block():
    """Two option sets of the same shape give the same helpers and actions, byte for byte."""
    first = configs.full_config()
    raw = configs.raw_options(hostname='other-host', timezone='America/Argentina/Buenos_Aires', keymap='us,de',
                              locale='sr_RS@latin')
    raw['user'].update({'name': 'ops_user', 'groups': ['video'], 'ssh_authorized_keys': [
        configs.public_key('ssh-rsa', (b'\x01\x00\x01', b'\x05' * 256), comment=HOSTILE_COMMENT)]})
    raw['wifi'].update({'ssid': HOSTILE_SSID, 'country': 'gb'})
    raw['network'].update({'interface': 'end0', 'address': '10.1.2.3/16', 'gateway': '10.1.0.1', 'dns': ['10.1.0.53']})
    second = options.validate(raw)
    a_values, a_helpers, a_actions = shell_sandbox.split(render(first)[0])
    b_values, b_helpers, b_actions = shell_sandbox.split(render(second)[0])
    assert (a_helpers, a_actions) == (b_helpers, b_actions)
    assert a_values != b_values


def test_hostile_values_reach_imager_custom_and_authorized_keys_as_exact_arguments():
    key = configs.public_key('ssh-ed25519', comment=HOSTILE_COMMENT)
    raw = configs.raw_options()
    raw['user']['ssh_authorized_keys'] = [configs.ED25519_KEY, key]
    raw['wifi']['ssid'] = HOSTILE_SSID
    text, files = render(options.validate(raw))
    assert shell_sandbox.bash_syntax_ok(text)[0]
    run = shell_sandbox.dry_run(text, userconf_txt=files['userconf.txt'].decode())
    assert run.stderr == '' and run.returncode == 0
    wlan = [args for args in run.args_of('imager_custom') if args[0] == 'set_wlan']
    assert wlan == [['set_wlan', '-h', HOSTILE_SSID, customize.passwords.wpa_psk(HOSTILE_SSID, 'correct horse'), 'DE']]
    assert run.files['/home/pi/.ssh/authorized_keys'] == configs.ED25519_KEY + '\n' + key + '\n'
    assert run.args_of('userconf') == [['admin', configs.HASH]]
    assert not any('pwned' in ' '.join(args) for name, args in run.calls if name in ('install', 'rm', 'chown'))


def test_fallbacks_write_the_files_raspberry_pi_imager_writes():
    text, files = render(configs.full_config())
    run = shell_sandbox.dry_run(text, imager_custom=False)
    assert run.stderr == ''
    assert run.files['/etc/hostname'] == 'node1\n'
    assert '127.0.1.1\tnode1\n' in run.files['/etc/hosts']
    assert run.files['/etc/timezone'] == 'Europe/Berlin\n'
    assert ['-f', '/etc/localtime'] in run.args_of('rm')
    assert run.files['/etc/default/keyboard'] == 'XKBMODEL="pc105"\nXKBLAYOUT="de"\nXKBVARIANT=""\nXKBOPTIONS=""\n\n'
    assert ['-f', 'noninteractive', 'keyboard-configuration'] in run.args_of('dpkg-reconfigure')
    assert run.files['/etc/locale.gen'].splitlines()[0] == 'en_GB.UTF-8 UTF-8'
    assert run.files['/etc/locale.gen'].splitlines()[1] == '# en_US.UTF-8 UTF-8'
    assert run.args_of('update-locale') == [['LANG=en_GB.UTF-8']]
    assert run.files['/etc/ssh/sshd_config.d/10-picocloud.conf'] == 'PasswordAuthentication no\n'


def test_sudoers_file_passes_visudo_and_names_the_user(tmp_path):
    text, dummy = render(configs.full_config())
    run = shell_sandbox.dry_run(text)
    content = run.files['/etc/sudoers.d/010_admin-nopasswd']
    assert content == 'admin ALL=(ALL) NOPASSWD:ALL\n'
    assert ['440', '/etc/sudoers.d/010_admin-nopasswd', 'admin ALL=(ALL) NOPASSWD:ALL'] in run.args_of('write_file')
    ok, out = shell_sandbox.visudo_ok(content, str(tmp_path))
    assert ok, out


def test_a_newline_in_the_user_name_used_to_split_the_sudoers_line_into_a_command(tmp_path):
    """The old script wrote echo 'admin\\n ALL=...' : the second line is not sudoers syntax."""
    ok, out = shell_sandbox.visudo_ok('admin\nid ALL=(ALL) NOPASSWD:ALL\n', str(tmp_path))
    assert not ok and 'syntax error' in out
    raw = configs.raw_options()
    raw['user']['name'] = 'admin\nid'
    with pytest.raises(options.OptionError, match=re.escape("user.name='admin\\nid' contains a control character")):
        options.validate(raw)


def test_the_keymap_that_ran_a_command_through_sed_is_refused_and_no_value_meets_sed(tmp_path):
    """The old fallback spliced the keymap into sed; raspi-config's do_configure_keyboard still does.

    GNU sed's ``e`` command runs a shell command, so ``de/;1e touch pwned #`` ran as root. The
    pattern refuses it, and the new script never builds a sed expression from a value.
    """
    keymap = 'de/;1e touch pwned #'
    keyboard = tmp_path / 'keyboard'
    keyboard.write_text('XKBLAYOUT="gb"\n')
    old_line = 'sed -i "s/^XKBLAYOUT=.*/XKBLAYOUT=\\"%s\\"/" keyboard' % keymap
    subprocess.run(['bash', '-c', old_line], cwd=str(tmp_path), check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    assert (tmp_path / 'pwned').exists(), 'the old sed line runs the command'
    with pytest.raises(options.OptionError, match=re.escape('keymap=%r is not allowed' % keymap)):
        configs.full_config(keymap=keymap)
    text, dummy = render(configs.full_config(keymap='us,de'))
    assert not [line for line in text.splitlines() if 'sed' in line and 'KEYMAP' in line]


def test_a_key_equal_to_the_old_heredoc_terminator_ended_it_and_the_next_line_ran(tmp_path):
    """The old script wrote the keys inside <<'PICOCLOUD_KEYS'; a key line 'PICOCLOUD_KEYS' ended it."""
    old = "cat >keys <<'PICOCLOUD_KEYS'\nssh-ed25519 AAAA a@b\nPICOCLOUD_KEYS\ntouch pwned\nPICOCLOUD_KEYS\n"
    subprocess.run(['bash', '-c', old], cwd=str(tmp_path), check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    assert (tmp_path / 'pwned').exists(), 'the line after the early terminator runs as shell'
    text, dummy = render(configs.full_config())
    assert '<<' not in text
    assert 'write_file 600 "$FIRSTUSERHOME/.ssh/authorized_keys" "${PICOCLOUD_SSH_KEYS[@]}"' in text


@pytest.mark.parametrize('ssid', [' lab', 'lab ', 'lab\\net'])
def test_an_ssid_imager_custom_would_change_is_refused_for_firstrun_only(ssid):
    raw = configs.raw_options()
    raw['wifi']['ssid'] = ssid
    config = options.validate(raw)
    with pytest.raises(options.OptionError, match='wifi.ssid=.*imager_custom writes the SSID'):
        customize.desired_files(config, 'rpios-firstrun', configs.CURRENT)
    files, dummy = customize.desired_files(config, 'rpios-cloudinit', configs.CURRENT)
    network = yaml.safe_load(files['network-config'])['network']
    assert list(network['wifis']['wlan0']['access-points']) == [ssid]


def test_userconf_txt_is_one_line_with_the_name_and_hash():
    dummy, files = render(configs.full_config())
    text = files['userconf.txt'].decode('utf-8')
    assert text.count('\n') == 1 and text.rstrip('\n').split(':', 1) == ['admin', configs.HASH]


@pytest.mark.parametrize('network, ipv4, ipv6', [
    ({'interface': 'eth0', 'address': '192.168.10.11/24', 'gateway': '192.168.10.1', 'dns': ['192.168.10.1', '2001:db8::53']},
     {'method': 'manual', 'address1': '192.168.10.11/24,192.168.10.1', 'dns': '192.168.10.1;'},
     {'method': 'auto'}),
    ({'interface': 'eth0', 'address': '2001:db8::10/64', 'gateway': '2001:db8::1', 'dns': ['2001:db8::53']},
     {'method': 'auto'},
     {'method': 'manual', 'address1': '2001:db8::10/64,2001:db8::1', 'dns': '2001:db8::53;'}),
])
def test_networkmanager_keyfile_puts_the_static_address_in_its_family(network, ipv4, ipv6):
    text, dummy = render(configs.full_config(network=network))
    run = shell_sandbox.dry_run(text)
    keyfile = configparser.ConfigParser(interpolation=None)
    keyfile.read_string(run.files['/etc/NetworkManager/system-connections/picocloud-eth0.nmconnection'])
    assert dict(keyfile['connection']) == {'id': 'picocloud-eth0', 'type': 'ethernet', 'interface-name': 'eth0',
                                           'autoconnect': 'true'}
    assert dict(keyfile['ipv4']) == ipv4 and dict(keyfile['ipv6']) == ipv6


def test_groups_and_no_sudo_are_applied_with_quoted_arguments():
    raw = configs.raw_options()
    raw['user'].update({'groups': ['gpio', 'video'], 'sudo': False})
    text, dummy = render(options.validate(raw))
    run = shell_sandbox.dry_run(text)
    assert run.args_of('usermod') == [['-aG', 'gpio', 'pi'], ['-aG', 'video', 'pi']]
    assert ['-f', '/etc/sudoers.d/010_admin-nopasswd', '/etc/sudoers.d/010_pi-nopasswd'] in run.args_of('rm')
    assert not [path for path in run.files if path.startswith('/etc/sudoers.d/')]


def test_the_sandbox_reports_an_unknown_command_and_a_write_outside_its_root():
    """The dry run is only as good as its sandbox: an unstubbed command and a raw write are both seen."""
    text, dummy = render(configs.full_config())
    values, helpers, actions = shell_sandbox.split(text)
    bad = ''.join([firstrun.VALUES_MARK, '\n', values, firstrun.HELPERS_MARK, '\n', helpers, firstrun.ACTIONS_MARK,
                   '\nreboot\nprintf x >/etc/picocloud-sandbox-probe\n', actions])
    run = shell_sandbox.dry_run(bad)
    assert 'reboot: command not found' in run.stderr
    assert 'Permission denied' in run.stderr
    assert not os.path.exists('/etc/picocloud-sandbox-probe')
