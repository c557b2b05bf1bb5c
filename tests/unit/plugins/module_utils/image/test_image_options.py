# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pi_image option checks: whole-string patterns, control characters in every option, SSH key parsing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import re
import subprocess

import pytest

import configs
from ansible_collections.picocloud.edge.plugins.module_utils.image import customize
from ansible_collections.picocloud.edge.plugins.module_utils.image import options
from ansible_collections.picocloud.edge.plugins.module_utils.image import passwords

# Every refused kind: C0 (NUL, tab, LF, CR, ESC), DEL, C1 (NEL, CSI), Unicode line and paragraph
# separators, and a lone surrogate.
CONTROL_CHARACTERS = ['\x00', '\t', '\n', '\r', '\x1b', '\x7f', '\x85', '\x9b', '\u2028', '\u2029', '\ud800']


# (option path, a valid value) for every string option pi_image accepts, at every depth.
STRING_OPTIONS = [
    ('src', '/srv/cards/node1.img'), ('dest', '/srv/cards/out.img'), ('checksum', 'sha256:' + 'a' * 64),
    ('flavor', 'auto'), ('hostname', 'node1'), ('user.name', 'admin'), ('user.password', 'pass-word'),
    ('user.password_hash', configs.HASH), ('user.groups[0]', 'gpio'),
    ('user.ssh_authorized_keys[0]', configs.ED25519_KEY), ('wifi.ssid', 'pico cloud'),
    ('wifi.password', 'correct horse'), ('wifi.country', 'DE'), ('network.interface', 'eth0'),
    ('network.address', '192.168.10.11/24'), ('network.gateway', '192.168.10.1'), ('network.dns[0]', '9.9.9.9'),
    ('timezone', 'Europe/Berlin'), ('keymap', 'de'), ('locale', 'en_GB.UTF-8'), ('cmdline.add[0]', 'quiet'),
    ('cmdline.remove[0]', 'splash'), ('config_txt.all.dtoverlay[0]', 'disable-bt'), ('files[0].path', 'a/b.txt'),
]
SECRETS = ('user.password', 'user.password_hash', 'wifi.password')


@pytest.mark.parametrize('char', CONTROL_CHARACTERS, ids=lambda c: 'U+%04X' % ord(c))
@pytest.mark.parametrize('path, valid', STRING_OPTIONS, ids=[p for p, v in STRING_OPTIONS])
def test_a_control_character_is_refused_in_every_option_naming_it(path, valid, char):
    config = configs.raw_options()
    bad = valid[:2] + char + valid[2:]
    configs.set_option(config, path, bad)
    before = copy.deepcopy(config)
    with pytest.raises(options.OptionError) as info:
        options.validate(config)
    message = str(info.value)
    assert message.startswith(path), message
    assert 'U+%04X' % ord(char) in message
    if path in SECRETS:
        assert bad not in message and repr(bad) not in message and 'not shown because it is secret' in message
    else:
        assert repr(bad) in message
    assert config == before


@pytest.mark.parametrize('path, valid', [(p, v) for p, v in STRING_OPTIONS if p not in SECRETS],
                         ids=[p for p, v in STRING_OPTIONS if p not in SECRETS])
def test_a_trailing_newline_is_refused_in_every_option(path, valid):
    """re.match(r'^...$') accepted 'admin\\n': $ matches before a final newline. Every option refuses it now."""
    assert re.match(r'^[a-z_][a-z0-9_-]{0,31}$', 'admin\n'), 'the old check accepted a trailing newline'
    config = configs.raw_options()
    configs.set_option(config, path, valid + '\n')
    with pytest.raises(options.OptionError, match=re.escape(path)):
        options.validate(config)


@pytest.mark.parametrize('key', ['pi4\n', 'p\ri4'])
def test_a_control_character_in_a_config_txt_section_or_key_is_refused(key):
    with pytest.raises(options.OptionError, match=r'config_txt.*a key of config_txt'):
        options.validate(configs.raw_options(config_txt={key: {'arm_64bit': 1}}))
    with pytest.raises(options.OptionError, match=r'config_txt.all.*a key of config_txt.all'):
        options.validate(configs.raw_options(config_txt={'all': {key: 1}}))


def test_file_contents_and_user_data_are_data_and_may_hold_line_breaks():
    config = options.validate(configs.raw_options(
        files=[{'path': 'a.txt', 'content': 'line 1\n\tline 2\r\n'}],
        user_data={'write_files': [{'path': '/etc/x', 'content': 'a\nb\n'}], 'runcmd': ['echo "a\tb"']}))
    assert config['files'][0]['content'] == 'line 1\n\tline 2\r\n'


@pytest.mark.parametrize('option, value', [
    ('hostname', 'node_1'), ('hostname', '-node'), ('hostname', 'a' * 64), ('hostname', 'x.' * 127 + 'x'),
    ('hostname', 'nöde'), ('timezone', "Europe/Berlin'; rm -rf /"), ('timezone', '../../etc/passwd'),
    ('timezone', 'Europe//Berlin'), ('keymap', 'de/;1e touch /x #'), ('keymap', 'de"'), ('keymap', 'de us'),
    ('locale', 'en_GB.UTF-8; reboot'), ('locale', 'en GB'), ('locale', '$(id)'),
])
def test_values_outside_the_pattern_are_refused_with_the_option_and_value(option, value):
    with pytest.raises(options.OptionError) as info:
        options.validate(configs.raw_options(**{option: value}))
    assert str(info.value).startswith('%s=%s' % (option, options.shown(value)))


@pytest.mark.parametrize('option, value', [
    ('hostname', 'node-01.lab.example'), ('timezone', 'America/Argentina/Buenos_Aires'), ('timezone', 'Etc/GMT+5'),
    ('timezone', 'UTC'), ('keymap', 'gb'), ('keymap', 'us,de'), ('locale', 'C.UTF-8'), ('locale', 'sr_RS@latin'),
    ('locale', 'ca_ES.UTF-8@valencia'), ('locale', 'POSIX'),
])
def test_real_names_pass(option, value):
    assert options.validate(configs.raw_options(**{option: value}))[option] == value


@pytest.mark.parametrize('user, message', [
    ({'name': 'Admin'}, 'user.name='), ({'name': 'a' * 33}, 'user.name='), ({'name': 'root:x'}, 'user.name='),
    ({'name': 'admin', 'groups': ['gpio,sudo']}, r'user.groups\[0\]='),
])
def test_bad_user_and_group_names_are_refused(user, message):
    raw = configs.raw_options()
    raw['user'].update(user)
    with pytest.raises(options.OptionError, match=message):
        options.validate(raw)


@pytest.mark.parametrize('country', ['ß', 'ﬀ'])
def test_letters_that_upper_case_to_two_ascii_letters_are_not_a_country(country):
    """'ß'.upper() is 'SS': the old check upper-cased first and then accepted it."""
    assert re.match(r'^[A-Z]{2}$', country.upper())
    raw = configs.raw_options()
    raw['wifi']['country'] = country
    with pytest.raises(options.OptionError, match=r'wifi.country=%s' % re.escape(repr(country))):
        options.validate(raw)


@pytest.mark.parametrize('country', ['Germany', 'D1', 'D'])
def test_wifi_country_is_two_letters(country):
    raw = configs.raw_options()
    raw['wifi']['country'] = country
    with pytest.raises(options.OptionError, match=r'wifi.country=%s' % re.escape(repr(country))):
        options.validate(raw)


@pytest.mark.parametrize('ssid', ['', 'x' * 33, 'ü' * 17])
def test_wifi_ssid_must_be_1_to_32_bytes(ssid):
    raw = configs.raw_options()
    raw['wifi']['ssid'] = ssid
    with pytest.raises(options.OptionError, match='wifi.ssid=.*1 to 32 bytes'):
        options.validate(raw)


@pytest.mark.parametrize('interface', ['eth0:1', 'eth 0', 'a/b', '.', '..', 'x' * 16])
def test_interface_names_linux_refuses_are_refused(interface):
    raw = configs.raw_options()
    raw['network']['interface'] = interface
    with pytest.raises(options.OptionError, match='network.interface='):
        options.validate(raw)


def test_password_hash_with_a_trailing_newline_is_refused_by_the_hash_check_too():
    """is_crypt_hash used re.match with $, so '$6$...\\n' passed and split userconf.txt in two lines."""
    assert not passwords.is_crypt_hash(configs.HASH + '\n')
    assert passwords.is_crypt_hash(configs.HASH)
    with pytest.raises(passwords.PasswordError, match='crypt'):
        passwords.password_hash(hashed=configs.HASH + '\n')


def test_wifi_passphrase_length_counts_bytes_as_wpa_supplicant_does():
    with pytest.raises(passwords.PasswordError, match='8 to 63 bytes'):
        passwords.wpa_psk('lab', 'ü' * 32)
    assert len(passwords.wpa_psk('lab', 'ü' * 31)) == 64


def _keygen(tmp_path, key_type, bits=None):
    path = str(tmp_path / ('key-%s-%s' % (key_type, bits)))
    argv = ['ssh-keygen', '-q', '-t', key_type, '-N', '', '-C', 'tech@laptop', '-f', path]
    if bits:
        argv[4:4] = ['-b', str(bits)]
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
    with open(path + '.pub') as handle:
        key = handle.read().rstrip('\n')
    os.unlink(path)
    return key


@pytest.mark.parametrize('key_type, bits', [('ed25519', None), ('rsa', 2048), ('ecdsa', 256), ('ecdsa', 384),
                                            ('ecdsa', 521)])
def test_keys_made_by_ssh_keygen_are_accepted_unchanged(tmp_path, key_type, bits):
    key = _keygen(tmp_path, key_type, bits)
    assert options.parse_ssh_key('user.ssh_authorized_keys[0]', key) == key


@pytest.mark.parametrize('key_type, fields', [
    ('sk-ssh-ed25519@openssh.com', (b'\x02' * 32, b'ssh:')),
    ('sk-ecdsa-sha2-nistp256@openssh.com', (b'nistp256', b'\x04' + b'\x03' * 64, b'ssh:')),
])
def test_security_key_types_are_accepted(key_type, fields):
    key = configs.public_key(key_type, fields, comment='yubikey 5')
    assert options.parse_ssh_key('k', key) == key


@pytest.mark.parametrize('key, message', [
    ('PICOCLOUD_KEYS', 'does not start with a known key type'),
    ('ssh-dss AAAAB3NzaC1kc3MAAACBAP', 'does not start with a known key type'),
    ('ssh-ed25519  AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q', 'not base64'),
    ('ssh-ed25519 AAAAkey a@b', 'not valid base64'),
    ('ssh-ed25519 AAAA$(reboot)', 'not base64'),
    (configs.public_key('ssh-rsa', blob_type='ssh-ed25519'), 'does not encode a ssh-rsa key'),
    (configs.public_key('ssh-ed25519', blob_type='ssh-ed25519x'), 'does not encode a ssh-ed25519 key'),
    ('ssh-ed25519 AAAAAQ==', 'does not encode a ssh-ed25519 key'),
    ('command="reboot" ' + configs.ED25519_KEY, 'authorized_keys options; they are not supported'),
    ('no-pty,from="10.0.0.0/8" ' + configs.ED25519_KEY, 'authorized_keys options; they are not supported'),
    (configs.ED25519_KEY + ' \x1b[2J', 'control character'),
    ('', 'is empty'),
])
def test_keys_that_are_not_one_well_formed_public_key_are_refused(key, message):
    raw = configs.raw_options()
    raw['user']['ssh_authorized_keys'] = [configs.ED25519_KEY, key]
    with pytest.raises(options.OptionError, match=re.escape(message)) as info:
        options.validate(raw)
    assert str(info.value).startswith('user.ssh_authorized_keys[1]')


def test_the_heredoc_terminator_as_a_key_used_to_end_the_heredoc_and_is_now_refused_up_front():
    raw = configs.raw_options()
    raw['user']['ssh_authorized_keys'] = ['PICOCLOUD_KEYS', 'touch /pwned']
    with pytest.raises(customize.CustomizeError, match=re.escape("user.ssh_authorized_keys[0]='PICOCLOUD_KEYS'")):
        customize.run(dict(raw, src='/nonexistent/never-read.img'), check_mode=True)


def test_a_long_value_is_shown_shortened():
    with pytest.raises(options.OptionError) as info:
        options.validate(configs.raw_options(hostname='x' * 500 + '\n'))
    assert len(str(info.value)) < 400 and "'xxx" in str(info.value)


def test_validation_canonicalises_network_values_and_country():
    raw = configs.raw_options()
    raw['wifi']['country'] = 'de'
    raw['network'] = {'interface': 'eth0', 'address': '2001:DB8::10/64', 'gateway': '2001:DB8::1',
                      'dns': ['2001:DB8::53']}
    config = options.validate(raw)
    assert config['wifi']['country'] == 'DE'
    assert config['network'] == {'interface': 'eth0', 'address': '2001:db8::10/64', 'gateway': '2001:db8::1',
                                 'dns': ['2001:db8::53']}
