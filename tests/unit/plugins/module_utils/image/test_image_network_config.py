# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""network-config read by cloud-init's own network-config parser, not only the user-data schema.

``cloud-init devel net-convert`` parses a network-config the way cloud-init's init-local stage does
(cloudinit.net.network_state) and renders it for a distro's network backend. Debian bookworm ships
cloud-init 22.4, the version a Trixie-shaped card was booted with when ``to: default`` kept eth0 down.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import subprocess

import pytest
import yaml

import configs
from ansible_collections.picocloud.edge.plugins.module_utils.image import cloudinit
from ansible_collections.picocloud.edge.plugins.module_utils.image import customize

CLOUD_INIT = shutil.which('cloud-init')
pytestmark = pytest.mark.skipif(CLOUD_INIT is None, reason='cloud-init is not installed (apt-get install cloud-init)')
OUTPUT_KINDS = ('networkd', 'eni', 'network-manager')
IPV4 = {'interface': 'eth0', 'address': '192.168.10.11/24', 'gateway': '192.168.10.1', 'dns': ['192.168.10.1']}
IPV6 = {'interface': 'eth0', 'address': '2001:db8::10/64', 'gateway': '2001:db8::1', 'dns': ['2001:db8::53']}


def cloud_init_version():
    proc = subprocess.run([CLOUD_INIT, '--version'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    found = re.search(r'(\d+)\.(\d+)', proc.stdout.decode())
    return (int(found.group(1)), int(found.group(2))) if found else None


def net_convert(text, output_kind, tmp_path):
    """(returncode, cloud-init's output, {rendered file name: text}) for a network-config text."""
    source = tmp_path / 'network-config'
    source.write_text(text)
    out = tmp_path / ('out-' + output_kind)
    proc = subprocess.run([CLOUD_INIT, 'devel', 'net-convert', '--network-data', str(source), '--kind', 'yaml',
                           '--distro', 'debian', '--output-kind', output_kind, '--directory', str(out)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False, timeout=120)
    rendered = {}
    for directory, dummy, names in os.walk(str(out)):
        for name in names:
            with open(os.path.join(directory, name)) as handle:
                rendered[name] = handle.read()
    return proc.returncode, proc.stdout.decode('utf-8', 'replace'), rendered


def _sections(text, wanted):
    """Every [wanted] section of a systemd unit-style file, as a dict (sections may repeat)."""
    sections, current = [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('[') and line.endswith(']'):
            current = {} if line[1:-1] == wanted else None
            if current is not None:
                sections.append(current)
        elif current is not None and '=' in line:
            key, dummy, value = line.partition('=')
            current[key] = value
    return sections


def default_route(kind, rendered, gateway):
    """True when the rendered files route everything (0.0.0.0/0 or ::/0) through gateway."""
    text = '\n'.join(rendered.values())
    if kind == 'networkd':
        for route in _sections(text, 'Route'):
            if route.get('Gateway') == gateway and route.get('Destination', '0.0.0.0/0') in ('0.0.0.0/0', '::/0'):
                return True
        return False
    if kind == 'eni':
        return bool(re.search(r'^\s*gateway %s$' % re.escape(gateway), text, re.M) or
                    re.search(r'route add (-A inet6 )?default gw %s' % re.escape(gateway), text) or
                    re.search(r'route add (-A inet6 )?(0\.0\.0\.0|::)/0 gw %s' % re.escape(gateway), text))
    return bool(re.search(r'^gateway=%s$' % re.escape(gateway), text, re.M) or
                re.search(r'^route\d+=(0\.0\.0\.0|::)/0,%s$' % re.escape(gateway), text, re.M))


def rendered_network_config(flavor, network):
    config = configs.full_config(network=network, wifi=None)
    files, dummy = customize.desired_files(config, flavor, configs.CURRENT)
    return files['network-config'].decode('utf-8')


@pytest.mark.parametrize('kind', OUTPUT_KINDS)
def test_the_old_route_form_to_default_is_refused_by_cloud_init_itself(kind, tmp_path):
    """What kept eth0 down on the Trixie-shaped card: the network-config the old code rendered."""
    old = {'network': {'version': 2, 'ethernets': {'eth0': {
        'dhcp4': False, 'addresses': ['192.168.10.11/24'], 'optional': True,
        'routes': [{'to': 'default', 'via': '192.168.10.1'}]}}}}
    rc, out, dummy = net_convert(yaml.safe_dump(old), kind, tmp_path)
    assert rc != 0
    assert 'Address default is not a valid ip' in out


@pytest.mark.parametrize('kind', OUTPUT_KINDS)
@pytest.mark.parametrize('flavor', ['rpios-cloudinit', 'ubuntu', 'hypriot'])
@pytest.mark.parametrize('network', [IPV4, IPV6], ids=['ipv4', 'ipv6'])
def test_rendered_network_config_is_read_by_cloud_init_and_routes_through_the_gateway(flavor, network, kind, tmp_path):
    text = rendered_network_config(flavor, network)
    rc, out, rendered = net_convert(text, kind, tmp_path)
    assert rc == 0, out
    assert default_route(kind, rendered, network['gateway']), rendered
    assert network['address'] in '\n'.join(rendered.values())


def test_the_v2_ipv4_route_is_written_as_0_0_0_0_slash_0_and_ipv6_as_gateway6():
    v4 = yaml.safe_load(rendered_network_config('ubuntu', IPV4))['network']['ethernets']['eth0']
    v6 = yaml.safe_load(rendered_network_config('ubuntu', IPV6))['network']['ethernets']['eth0']
    assert v4['routes'] == [{'to': '0.0.0.0/0', 'via': '192.168.10.1'}] and 'gateway6' not in v4
    assert v6['gateway6'] == '2001:db8::1' and 'routes' not in v6


@pytest.mark.parametrize('kind', OUTPUT_KINDS)
def test_why_not_to_slash_0_for_ipv6_cloud_init_22_4_renders_it_as_slash_64(kind, tmp_path):
    """The IPv6 form the brief suggested, ``to: ::/0``, is read by 22.4 but becomes a route to ::/64."""
    if cloud_init_version() != (22, 4):
        pytest.skip('this records the behaviour of cloud-init 22.4 (Debian bookworm)')
    slash0 = {'network': {'version': 2, 'ethernets': {'eth0': {
        'dhcp4': False, 'addresses': ['2001:db8::10/64'], 'routes': [{'to': '::/0', 'via': '2001:db8::1'}]}}}}
    rc, out, rendered = net_convert(yaml.safe_dump(slash0), kind, tmp_path)
    assert rc == 0, out
    assert '::/64' in '\n'.join(rendered.values())
    assert not default_route(kind, rendered, '2001:db8::1')


def test_wifi_access_point_and_hex_psk_survive_the_parser(tmp_path):
    config = configs.full_config(network=None)
    files, dummy = customize.desired_files(config, 'ubuntu', configs.CURRENT)
    rc, out, rendered = net_convert(files['network-config'].decode('utf-8'), 'netplan', tmp_path)
    assert rc == 0, out
    wlan = yaml.safe_load('\n'.join(rendered.values()))['network']['wifis']['wlan0']
    assert list(wlan['access-points']) == ['pico cloud']
    assert wlan['access-points']['pico cloud']['password'] == customize.passwords.wpa_psk('pico cloud', 'correct horse')


def test_hypriot_wpa_supplicant_ssid_is_hex_so_quotes_cannot_end_it():
    raw = configs.raw_options(network=None)
    raw['wifi']['ssid'] = 'a" "}'
    config = customize.options_utils.validate(raw)
    data = yaml.safe_load(cloudinit.render(config, 'hypriot', configs.HASH, 'ab' * 32)[0]['user-data'])
    supplicant = [item for item in data['write_files'] if item['path'].endswith('wpa_supplicant.conf')][0]['content']
    line = [entry.strip() for entry in supplicant.splitlines() if entry.strip().startswith('ssid=')]
    assert line == ['ssid=%s' % raw['wifi']['ssid'].encode('utf-8').hex()]
    assert bytes.fromhex(line[0][len('ssid='):]).decode('utf-8') == 'a" "}'
