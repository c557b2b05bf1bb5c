# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property: any text given to any pi_image option is either refused clearly or read back exactly.

For each option, hypothesis feeds arbitrary Unicode (controls and lone surrogates included), values
of the option's own shape, and such values with a control character spliced in. Each value goes
through what pi_image runs (options.validate, then customize.desired_files) for every flavour, and
exactly one of these must hold:
- a refusal: one of the error types pi_image reports (customize.ERRORS), whose message names the
  option; a value holding a control character is always refused;
- the rendered files give the value back when parsed as their consumer parses them: YAML with
  yaml.safe_load (user-data, network-config), firstrun.sh with ``bash -n`` and a sandboxed dry run
  (shell_sandbox: the arguments commands receive and the files written), the sudoers file with
  ``visudo -c -f``, userconf.txt, cmdline.txt and config.txt by their line formats.
Examples are derandomised (the same in every run) and bounded by max_examples and a deadline.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import datetime
import os
import shutil
import tempfile

import pytest
import yaml
from hypothesis import HealthCheck, configuration, given, settings
from hypothesis import strategies as st

import configs
import shell_sandbox
from ansible_collections.picocloud.edge.plugins.module_utils.image import bootfiles
from ansible_collections.picocloud.edge.plugins.module_utils.image import customize
from ansible_collections.picocloud.edge.plugins.module_utils.image import options
from ansible_collections.picocloud.edge.plugins.module_utils.image import passwords

# Hypothesis keeps caches in ./.hypothesis; keep them out of the collection tree.
configuration.set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), 'picocloud-hypothesis'))
pytestmark = pytest.mark.skipif(not shutil.which('visudo'), reason='visudo (the sudo package) is not installed')

FLAVORS = ('rpios-firstrun', 'rpios-cloudinit', 'ubuntu', 'hypriot')
CHEAP = settings(max_examples=60, deadline=datetime.timedelta(seconds=10), derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
# Options whose accepted values go through dry runs of firstrun.sh (about 40 ms each).
SHELL = settings(CHEAP, max_examples=30)
CONTROLS = st.sampled_from(['\x00', '\t', '\n', '\r', '\x0b', '\x1b', '\x7f', '\x85', '\x9f', '\u2028', '\u2029',
                            '\ud800'])
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)


def with_control(valid):
    """Values of the option's shape with one refused character inserted somewhere."""
    return st.builds(lambda text, char, at: text[:at] + char + text[at:], valid, CONTROLS, st.integers(0, 40))


def feed(valid):
    return st.one_of(ANY_TEXT, valid, with_control(valid))


def attempt(path, value, flavor):
    """(files, None) when pi_image accepts value at path for flavor, else (None, message)."""
    raw = configs.raw_options()
    configs.set_option(raw, path, value)
    try:
        config = options.validate(copy.deepcopy(raw))
        files, dummy = customize.desired_files(config, flavor, configs.CURRENT)
    except customize.ERRORS as exc:
        return None, str(exc)
    return files, None


def for_every_flavour(path, value, check, flavors=FLAVORS):
    """Assert refusal-or-round-trip for each flavour; check(flavor, files) asserts the round trip."""
    for flavor in flavors:
        files, message = attempt(path, value, flavor)
        if files is None:
            assert path.split('[')[0] in message, (path, message)
            continue
        assert options.refused_character(value) is None, '%s=%r was accepted for %s' % (path, value, flavor)
        check(flavor, files)


def user_data(files):
    return yaml.safe_load(files['user-data'].decode('utf-8'))


def network_v2(files):
    return yaml.safe_load(files['network-config'].decode('utf-8'))['network']


def dry_run(files, imager_custom=True):
    text = files['firstrun.sh'].decode('utf-8')
    ok, err = shell_sandbox.bash_syntax_ok(text)
    assert ok, err
    run = shell_sandbox.dry_run(text, imager_custom=imager_custom, userconf_txt=files['userconf.txt'].decode('utf-8'))
    assert run.stderr == '' and run.returncode == 0, run.stderr
    return run


def imager_calls(run, command):
    return [args[1:] for args in run.args_of('imager_custom') if args[0] == command]


# -- host name, time zone, keymap, locale: imager_custom arguments, Imager's fallback files, cloud-config

@SHELL
@given(feed(st.from_regex(r'[A-Za-z0-9]([A-Za-z0-9-]{0,12}[A-Za-z0-9])?(\.[a-z0-9]{1,6}){0,2}', fullmatch=True)))
def test_hostname_is_refused_or_read_back(value):
    short = value.split('.')[0]

    def check(flavor, files):
        if flavor == 'rpios-firstrun':
            assert imager_calls(dry_run(files), 'set_hostname') == [[short]]
            fallback = dry_run(files, imager_custom=False)
            assert fallback.files['/etc/hostname'] == short + '\n'
            assert '127.0.1.1\t%s\n' % short in fallback.files['/etc/hosts']
            return
        data = user_data(files)
        assert data['hostname'] == short and data.get('fqdn', value) == value
        assert yaml.safe_load(files['meta-data'].decode('utf-8'))['local-hostname'] == short
    for_every_flavour('hostname', value, check)


@SHELL
@given(feed(st.from_regex(options.TIMEZONE_RE, fullmatch=True)))
def test_timezone_is_refused_or_read_back(value):
    def check(flavor, files):
        if flavor == 'rpios-firstrun':
            assert imager_calls(dry_run(files), 'set_timezone') == [[value]]
            assert dry_run(files, imager_custom=False).files['/etc/timezone'] == value + '\n'
            return
        assert user_data(files)['timezone'] == value
    for_every_flavour('timezone', value, check)


@SHELL
@given(feed(st.from_regex(options.KEYMAP_RE, fullmatch=True)))
def test_keymap_is_refused_or_read_back(value):
    def check(flavor, files):
        if flavor == 'rpios-firstrun':
            assert imager_calls(dry_run(files), 'set_keymap') == [[value]]
            keyboard = dry_run(files, imager_custom=False).files['/etc/default/keyboard']
            assert 'XKBLAYOUT="%s"\n' % value in keyboard
            return
        data = user_data(files)
        if flavor == 'hypriot':
            content = [item['content'] for item in data['write_files'] if item['path'] == '/etc/default/keyboard']
            assert 'XKBLAYOUT="%s"\n' % value in content[0]
        else:
            assert data['keyboard']['layout'] == value
    for_every_flavour('keymap', value, check)


@SHELL
@given(feed(st.from_regex(options.LOCALE_RE, fullmatch=True)))
def test_locale_is_refused_or_read_back(value):
    def check(flavor, files):
        if flavor == 'rpios-firstrun':
            run = dry_run(files, imager_custom=False)
            assert run.args_of('update-locale') == [['LANG=' + value]]
            uncommented = [line for line in run.files['/etc/locale.gen'].splitlines() if not line.startswith('#')]
            assert uncommented == ([line[2:] for line in shell_sandbox.MACHINE_FILES['etc/locale.gen'].splitlines()
                                    if line[2:].split()[0] == value])
            return
        assert user_data(files)['locale'] == value
    for_every_flavour('locale', value, check)


# -- the user: userconf.txt, sudoers (visudo), groups, keys, passwords

@SHELL
@given(feed(st.from_regex(options.USER_RE, fullmatch=True)))
def test_user_name_is_refused_or_read_back_and_its_sudoers_file_passes_visudo(value):
    def check(flavor, files):
        if flavor == 'rpios-firstrun':
            assert files['userconf.txt'].decode('utf-8') == '%s:%s\n' % (value, configs.HASH)
            run = dry_run(files)
            assert run.args_of('userconf') == [[value, configs.HASH]]
            sudoers = run.files['/etc/sudoers.d/010_%s-nopasswd' % value]
            assert sudoers == '%s ALL=(ALL) NOPASSWD:ALL\n' % value
            directory = tempfile.mkdtemp(prefix='picocloud-visudo-')
            try:
                ok, out = shell_sandbox.visudo_ok(sudoers, directory)
            finally:
                shutil.rmtree(directory)
            assert ok, out
            return
        data = user_data(files)
        entry = data['users'][0] if flavor == 'hypriot' else data['user']
        assert entry['name'] == value
    for_every_flavour('user.name', value, check)


@SHELL
@given(feed(st.from_regex(options.USER_RE, fullmatch=True)))
def test_group_is_refused_or_read_back(value):
    def check(flavor, files):
        if flavor == 'rpios-firstrun':
            assert dry_run(files).args_of('usermod') == [['-aG', value, 'pi']]
            return
        data = user_data(files)
        groups = data['users'][0]['groups'].split(',') if flavor == 'hypriot' else data['user']['groups']
        assert groups == [value]
    for_every_flavour('user.groups[0]', value, check)


def _key(key_type, body, comment):
    blob = configs.ssh_string(key_type.encode('ascii')) + configs.ssh_string(body)
    line = '%s %s' % (key_type, base64.b64encode(blob).decode('ascii'))
    return line + (' ' + comment if comment is not None else '')


KEYS = st.builds(_key, st.sampled_from(sorted(options.SSH_KEY_TYPES)), st.binary(min_size=1, max_size=48),
                 st.one_of(st.none(), st.text(st.characters(exclude_categories=()), max_size=30)))


@SHELL
@given(feed(KEYS))
def test_ssh_key_is_refused_or_read_back(value):
    def check(flavor, files):
        if flavor == 'rpios-firstrun':
            keys = dry_run(files).files['/home/pi/.ssh/authorized_keys']
            assert keys.split('\n') == [value, '']
            return
        data = user_data(files)
        entry = data['users'][0] if flavor == 'hypriot' else data['user']
        assert entry['ssh_authorized_keys'] == [value]
    for_every_flavour('user.ssh_authorized_keys[0]', value, check)


@CHEAP
@given(feed(st.from_regex(r'\$6\$[./A-Za-z0-9]{8}\$[./A-Za-z0-9]{86}', fullmatch=True)))
def test_password_hash_is_refused_or_read_back(value):
    def check(flavor, files):
        if flavor == 'rpios-firstrun':
            assert files['userconf.txt'].decode('utf-8').split('\n') == ['admin:' + value, '']
            return
        data = user_data(files)
        entry = data['users'][0] if flavor == 'hypriot' else data['user']
        assert entry['passwd'] == value
    for_every_flavour('user.password_hash', value, check)


@settings(CHEAP, max_examples=25)
@given(feed(st.text(min_size=1, max_size=20)))
def test_password_is_refused_or_hashed_so_that_it_verifies(value):
    raw = configs.raw_options()
    raw['user']['password_hash'] = None
    raw['user']['password'] = value
    try:
        config = options.validate(raw)
        files, dummy = customize.desired_files(config, 'rpios-firstrun', configs.CURRENT)
    except customize.ERRORS as exc:
        assert 'user.password' in str(exc) and (value == '' or options.refused_character(value) is not None)
        assert len(value) < 4 or repr(value) not in str(exc)
        return
    assert options.refused_character(value) is None
    name, hashed = files['userconf.txt'].decode('utf-8').rstrip('\n').split(':', 1)
    assert name == 'admin' and hashed.startswith('$6$') and passwords.verify(value, hashed)


# -- Wi-Fi and the static address

@SHELL
@given(feed(st.text(st.characters(codec='utf-8'), min_size=1, max_size=32)))
def test_wifi_ssid_is_refused_or_read_back(value):
    def check(flavor, files):
        psk = passwords.wpa_psk(value, 'correct horse')
        if flavor == 'rpios-firstrun':
            assert imager_calls(dry_run(files), 'set_wlan') == [['-h', value, psk, 'DE']]
        elif flavor == 'hypriot':
            data = user_data(files)
            content = [item['content'] for item in data['write_files'] if item['path'].endswith('supplicant.conf')][0]
            ssid = [line.strip()[5:] for line in content.splitlines() if line.strip().startswith('ssid=')]
            assert [bytes.fromhex(hexed).decode('utf-8') for hexed in ssid] == [value]
        else:
            assert network_v2(files)['wifis']['wlan0']['access-points'] == {value: {'password': psk, 'hidden': True}}
    for_every_flavour('wifi.ssid', value, check)


@SHELL
@given(feed(st.text(min_size=8, max_size=63)))
def test_wifi_password_is_refused_or_written_only_as_its_psk_and_never_shown(value):
    def check(flavor, files):
        psk = passwords.wpa_psk('pico cloud', value)
        if flavor == 'rpios-firstrun':
            assert imager_calls(dry_run(files), 'set_wlan') == [['-h', 'pico cloud', psk, 'DE']]
        elif flavor == 'hypriot':
            content = [item['content'] for item in user_data(files)['write_files']
                       if item['path'].endswith('supplicant.conf')][0]
            assert [line.strip() for line in content.splitlines() if 'psk=' in line] == ['psk=' + psk]
        else:
            assert network_v2(files)['wifis']['wlan0']['access-points']['pico cloud']['password'] == psk
    for flavor in FLAVORS:
        files, message = attempt('wifi.password', value, flavor)
        if files is None:
            assert 'wifi.password' in message and (len(value) < 4 or repr(value) not in message)
            continue
        assert options.refused_character(value) is None
        check(flavor, files)


@SHELL
@given(feed(st.from_regex(r'[A-Za-z]{2}', fullmatch=True)))
def test_wifi_country_is_refused_or_read_back_upper_case(value):
    def check(flavor, files):
        country = value.upper()
        assert 'cfg80211.ieee80211_regdom=%s' % country in files['cmdline.txt'].decode().split() or flavor in (
            'hypriot', 'ubuntu')
        if flavor in ('rpios-cloudinit', 'ubuntu'):
            assert network_v2(files)['wifis']['wlan0']['regulatory-domain'] == country
        elif flavor == 'hypriot':
            assert ('country=%s' % country) in user_data(files)['write_files'][1]['content'].splitlines()
        else:
            assert imager_calls(dry_run(files), 'set_wlan') == [['-h', 'pico cloud',
                                                                 passwords.wpa_psk('pico cloud', 'correct horse'),
                                                                 country]]
    for_every_flavour('wifi.country', value, check)


@SHELL
@given(feed(st.from_regex(r'e[a-z0-9]{1,6}', fullmatch=True)))
def test_network_interface_is_refused_or_read_back(value):
    def check(flavor, files):
        if flavor == 'rpios-firstrun':
            run = dry_run(files)
            path = '/etc/NetworkManager/system-connections/picocloud-%s.nmconnection' % value
            assert 'interface-name=%s\n' % value in run.files[path]
        elif flavor == 'hypriot':
            names = [entry['name'] for entry in yaml.safe_load(files['network-config'].decode())['config']]
            assert value in names
        else:
            assert network_v2(files)['ethernets'][value]['addresses'] == ['192.168.10.11/24']
    for_every_flavour('network.interface', value, check)


def _address(ip, prefix):
    return '%s/%d' % (ip, prefix)


ADDRESSES = st.one_of(st.builds(_address, st.ip_addresses(v=4), st.integers(8, 30)),
                      st.builds(_address, st.ip_addresses(v=6), st.integers(16, 126)))


@CHEAP
@given(feed(ADDRESSES))
def test_network_address_is_refused_or_read_back_canonical(value):
    raw = configs.raw_options()
    raw['network']['gateway'] = None
    raw['network']['address'] = value
    for flavor in ('rpios-cloudinit', 'hypriot', 'rpios-firstrun'):
        try:
            config = options.validate(copy.deepcopy(raw))
            files, dummy = customize.desired_files(config, flavor, configs.CURRENT)
        except customize.ERRORS as exc:
            assert 'network.address' in str(exc)
            continue
        canonical = config['network']['address']
        assert options.refused_character(value) is None and '/' in value
        if flavor == 'rpios-cloudinit':
            assert network_v2(files)['ethernets']['eth0']['addresses'] == [canonical]
        elif flavor == 'hypriot':
            assert yaml.safe_load(files['network-config'].decode())['config'][0]['subnets'][0]['address'] == canonical
        else:
            keyfile = dry_run(files).files['/etc/NetworkManager/system-connections/picocloud-eth0.nmconnection']
            assert 'address1=%s\n' % canonical in keyfile


@CHEAP
@given(feed(st.one_of(st.ip_addresses(v=4).map(str), st.ip_addresses(network='192.168.10.0/24').map(str))))
def test_gateway_and_dns_are_refused_or_read_back(value):
    def check_gateway(flavor, files):
        if flavor in ('rpios-cloudinit', 'ubuntu'):
            assert network_v2(files)['ethernets']['eth0']['routes'] == [{'to': '0.0.0.0/0', 'via': value}]
    for_every_flavour('network.gateway', value, check_gateway, flavors=('rpios-cloudinit',))

    def check_dns(flavor, files):
        assert network_v2(files)['ethernets']['eth0']['nameservers']['addresses'] == [value, '9.9.9.9']
    for_every_flavour('network.dns[0]', value, check_dns, flavors=('ubuntu',))


# -- boot files: cmdline.txt and config.txt

@CHEAP
@given(feed(st.text(st.characters(codec='ascii', exclude_categories=['Cc', 'Zs']), min_size=1, max_size=20)))
def test_cmdline_token_is_refused_or_present_once_on_the_one_line(value):
    def check(flavor, files):
        text = files['cmdline.txt'].decode('utf-8')
        assert text.count('\n') == 1 and text.endswith('\n')
        if value.strip():
            assert text.split().count(value.strip()) == 1
    for_every_flavour('cmdline.add[0]', value, check, flavors=('ubuntu',))


@CHEAP
@given(section=feed(st.from_regex(bootfiles.SECTION_NAME_RE, fullmatch=True)),
       key=feed(st.from_regex(bootfiles.KEY_RE, fullmatch=True)),
       value=feed(st.text(min_size=0, max_size=20)))
def test_config_txt_setting_is_refused_or_read_back_on_its_own_line(section, key, value):
    raw = configs.raw_options(config_txt={section: {key: value}})
    try:
        config = options.validate(raw)
        files, dummy = customize.desired_files(config, 'ubuntu', dict(configs.CURRENT, **{'config.txt': b'[all]\n'}))
    except customize.ERRORS as exc:
        assert 'config_txt' in str(exc)
        return
    for text in (section, key, value):
        assert options.refused_character(text) is None
    name = section.strip().strip('[]').strip()
    sections = bootfiles.config_sections(files['config.txt'].decode('utf-8'))
    matching = [lines for found, lines in sections.items() if found.lower() == name.lower()]
    assert any('%s=%s' % (key, value) in lines for lines in matching), (sections, name)


@CHEAP
@given(path=st.sampled_from(['src', 'dest', 'checksum', 'files[0].path']), value=feed(st.text(min_size=1, max_size=30)))
def test_paths_and_checksum_with_a_control_character_are_refused(path, value):
    raw = configs.raw_options()
    configs.set_option(raw, path, value)
    try:
        options.validate(raw)
    except options.OptionError as exc:
        assert str(exc).startswith(path)
        return
    assert options.refused_character(value) is None
