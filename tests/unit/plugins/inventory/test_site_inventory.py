# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.site end to end without the network: groups, variables, constructed options, errors,
the example site, the lease-file source (fixtures) and the cache. Discovery over a network runs only in
test_site_discovery_netns.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

import pytest
import yaml

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.loader import inventory_loader

from inventory_helpers import run_plugin, write_config

PLUGIN = 'picocloud.edge.site'
SHA = '62d025b9bc7ca0e1facfec74ae56ac13978b6745c58177f081d39fbb8041ed45'
HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.abspath(os.path.join(HERE, '..', '..', '..', '..'))


def lab(**changes):
    config = {
        'plugin': PLUGIN,
        'site': 'lab',
        'orchestrator': 'swarm',
        'discovery': {'sources': []},
        'defaults': {'ansible_user': 'pico', 'picocloud_user': {'name': 'pico'}},
        'image': {'url': 'https://downloads.example.org/raspios-arm64-lite.img.xz', 'sha256': SHA},
        'nodes': [
            {'name': 'pico-01', 'mac': 'dc:a6:32:00:00:01', 'address': '198.18.0.11', 'board': '4B', 'arch': 'arm64',
             'roles': ['swarm_manager', 'consul_server', 'registry']},
            {'name': 'pico-02', 'mac': 'dc:a6:32:00:00:02', 'address': '198.18.0.12', 'board': '4B', 'arch': 'arm64',
             'roles': ['consul_server'], 'image': {'flavor': 'rpios-cloudinit'}},
            {'name': 'pico-03', 'mac': 'd8:3a:dd:00:00:03', 'board': '5', 'arch': 'arm64', 'roles': ['consul_server'],
             'network': {'address': '198.18.0.13/24', 'gateway': '198.18.0.1', 'dns': ['198.18.0.1']}},
            {'name': 'pico-04', 'address': '198.18.0.14', 'vars': {'picocloud_timezone': 'Europe/Berlin'}},
            {'name': 'pico-05', 'address': '198.18.0.15', 'state': 'absent', 'roles': ['consul_server']},
        ],
    }
    config.update(changes)
    return config


def run(tmp_path, monkeypatch, config, name='lab.picocloud.yml', flush=False):
    return run_plugin(PLUGIN, write_config(tmp_path / name, config), monkeypatch, cache=not flush)


def test_groups_follow_the_roles_and_the_worker_rule(tmp_path, monkeypatch):
    result = run(tmp_path, monkeypatch, lab())
    assert result.group('picocloud') == ['pico-01', 'pico-02', 'pico-03', 'pico-04', 'pico-05']
    assert result.group('swarm_managers') == ['pico-01']
    assert result.group('swarm_workers') == ['pico-02', 'pico-03', 'pico-04']
    assert result.group('consul_servers') == ['pico-01', 'pico-02', 'pico-03']
    assert result.group('registry') == ['pico-01']
    assert result.group('absent') == ['pico-05']
    assert result.group('k3s_servers') == result.group('k3s_agents') == result.group('unclaimed') == []
    assert result.warnings == []


def test_default_keyed_groups_make_arch_and_board_groups(tmp_path, monkeypatch):
    result = run(tmp_path, monkeypatch, lab())
    assert result.group('arch_arm64') == ['pico-01', 'pico-02', 'pico-03']
    assert result.group('board_4B') == ['pico-01', 'pico-02']
    assert result.group('board_5') == ['pico-03']
    assert result.group('board_unknown') == ['pico-04', 'pico-05']


def test_host_and_site_variables(tmp_path, monkeypatch):
    result = run(tmp_path, monkeypatch, lab())
    pico1 = result.all_vars('pico-01')
    assert pico1['ansible_host'] == '198.18.0.11'
    assert pico1['picocloud_site'] == 'lab' and pico1['picocloud_orchestrator'] == 'swarm'
    assert pico1['picocloud_roles'] == ['swarm_manager', 'consul_server', 'registry']
    assert (pico1['picocloud_mac'], pico1['picocloud_board'], pico1['picocloud_arch']) == ('dc:a6:32:00:00:01', '4B', 'arm64')
    assert pico1['picocloud_address_source'] == 'pinned'
    assert pico1['ansible_user'] == 'pico'
    assert result.all_vars('pico-04')['picocloud_timezone'] == 'Europe/Berlin'
    assert result.all_vars('pico-05')['picocloud_state'] == 'absent'


def test_defaults_and_site_image_are_group_vars_so_group_vars_files_can_override_them(tmp_path, monkeypatch):
    result = run(tmp_path, monkeypatch, lab())
    picocloud = result.inventory.groups['picocloud'].get_vars()
    assert picocloud['ansible_user'] == 'pico'
    assert picocloud['picocloud_base_image']['url'].endswith('raspios-arm64-lite.img.xz')
    assert 'ansible_user' not in result.host_vars('pico-01')
    assert result.inventory.groups['all'].get_vars()['picocloud_site'] == 'lab'


def test_image_and_network_reach_the_variables_flash_uses(tmp_path, monkeypatch):
    result = run(tmp_path, monkeypatch, lab())
    assert result.all_vars('pico-01')['picocloud_base_image'] == {
        'url': 'https://downloads.example.org/raspios-arm64-lite.img.xz', 'sha256': SHA}
    assert result.all_vars('pico-02')['picocloud_base_image'] == {
        'url': 'https://downloads.example.org/raspios-arm64-lite.img.xz', 'sha256': SHA, 'flavor': 'rpios-cloudinit'}
    pico3 = result.all_vars('pico-03')
    assert pico3['picocloud_network'] == {'address': '198.18.0.13/24', 'gateway': '198.18.0.1', 'dns': ['198.18.0.1']}
    assert pico3['ansible_host'] == '198.18.0.13'
    assert result.all_vars('pico-01')['picocloud_user'] == {'name': 'pico'}


def test_compose_groups_and_keyed_groups_are_applied(tmp_path, monkeypatch):
    config = lab(compose={'pico_short': "inventory_hostname_short | default(picocloud_mac | default('none'))",
                          'big': "picocloud_board | default('') == '5'"},
                 groups={'pi5': 'big', 'with_mac': 'picocloud_mac is defined'},
                 keyed_groups=[{'key': 'picocloud_address_source', 'prefix': 'found_by'}])
    result = run(tmp_path, monkeypatch, config)
    assert result.host_vars('pico-03')['big'] is True
    assert result.group('pi5') == ['pico-03']
    assert result.group('with_mac') == ['pico-01', 'pico-02', 'pico-03']
    assert result.group('found_by_pinned') == ['pico-01', 'pico-02', 'pico-03', 'pico-04', 'pico-05']
    assert result.group('arch_arm64') is None


def test_strict_makes_a_bad_keyed_group_an_error(tmp_path, monkeypatch):
    config = lab(strict=True, keyed_groups=[{'key': 'no_such_var', 'prefix': 'x'}])
    with pytest.raises(AnsibleError, match='no_such_var'):
        run(tmp_path, monkeypatch, config)
    assert run(tmp_path, monkeypatch, lab(keyed_groups=[{'key': 'no_such_var', 'prefix': 'x'}])).hosts


def test_even_consul_servers_warn_and_strict_fails(tmp_path, monkeypatch):
    config = lab()
    config['nodes'][2]['roles'] = []
    result = run(tmp_path, monkeypatch, config)
    assert any('consul_servers has 2 present node(s) (pico-01, pico-02)' in warning for warning in result.warnings)
    with pytest.raises(AnsibleParserError, match='consul_servers has 2 .*strict is true'):
        run(tmp_path, monkeypatch, dict(config, strict=True))


@pytest.mark.parametrize('change, words', [
    (lambda c: c['nodes'][1].update(name='pico-01'), "node 'pico-01' (nodes[1]): name: name 'pico-01' is already"),
    (lambda c: c['nodes'][2].update(mac='dc:a6:32:00:00:01'), "node 'pico-03' (nodes[2]): mac: MAC 'dc:a6:32:00:00:01'"),
    (lambda c: c['nodes'][3].update(address='198.18.0.12'), "node 'pico-04' (nodes[3]): address: address '198.18.0.12'"),
    (lambda c: c['nodes'][3].update(roles=['dns_server']), "node 'pico-04' (nodes[3]): roles[0]: unknown role 'dns_server'"),
    (lambda c: c['nodes'][3].update(mac='pico'), "node 'pico-04' (nodes[3]): mac: 'pico' is not a MAC address"),
    (lambda c: c['discovery'].update(probe={'cidr': '198.18.0.300/24'}), 'discovery.probe.cidr: '),
])
def test_bad_input_fails_naming_file_node_and_field(tmp_path, monkeypatch, change, words):
    config = lab()
    change(config)
    with pytest.raises(AnsibleParserError) as error:
        run(tmp_path, monkeypatch, config)
    assert str(tmp_path / 'lab.picocloud.yml') in str(error.value)
    assert words in str(error.value)


def test_verify_file_accepts_only_picocloud_site_files(tmp_path):
    plugin = inventory_loader.get(PLUGIN)
    for name, expected in (('lab.picocloud.yml', True), ('lab.picocloud.yaml', True), ('lab.yml', False),
                           ('picocloud.yml.bak', False), ('lab.consul.yml', False)):
        path = write_config(tmp_path / name, lab())
        assert plugin.verify_file(path) is expected, name


LEASES = """\
{future} dc:a6:32:00:00:01 198.18.0.11 pico-01 *
{future} dc:a6:32:00:00:06 198.18.0.16 pico-06 *
{future} 2c:cf:67:00:00:09 198.18.0.19 raspberrypi *
{future} 00:1b:21:00:00:0a 198.18.0.20 laptop *
"""


def lease_site(tmp_path, **discovery):
    leases = tmp_path / 'dnsmasq.leases'
    if not leases.exists():
        leases.write_text(LEASES.format(future=int(time.time()) + 3600))
    settings = {'sources': ['leases'], 'lease_files': [str(leases)]}
    settings.update(discovery)
    return lab(discovery=settings, nodes=[
        {'name': 'pico-01', 'mac': 'dc:a6:32:00:00:01', 'roles': ['swarm_manager', 'consul_server']},
        {'name': 'pico-06'},
        {'name': 'pico-07', 'mac': 'dc:a6:32:00:00:07'},
    ])


def test_lease_file_finds_nodes_by_mac_and_by_host_name(tmp_path, monkeypatch):
    result = run(tmp_path, monkeypatch, lease_site(tmp_path))
    pico1, pico6 = result.all_vars('pico-01'), result.all_vars('pico-06')
    assert (pico1['ansible_host'], pico1['picocloud_address_source']) == ('198.18.0.11', 'leases')
    assert (pico6['ansible_host'], pico6['picocloud_mac']) == ('198.18.0.16', 'dc:a6:32:00:00:06')
    assert result.all_vars('pico-07')['picocloud_address_source'] == 'none'
    assert 'ansible_host' not in result.all_vars('pico-07')
    assert any('found no address for 1 node(s): pico-07' in warning for warning in result.warnings)


def test_undeclared_pi_in_the_leases_is_unclaimed_with_vendor_and_family(tmp_path, monkeypatch):
    result = run(tmp_path, monkeypatch, lease_site(tmp_path))
    assert result.group('unclaimed') == ['unclaimed-2ccf67000009']
    pi = result.all_vars('unclaimed-2ccf67000009')
    assert pi['picocloud_mac'] == '2c:cf:67:00:00:09'
    assert pi['picocloud_vendor'] == 'Raspberry Pi (Trading) Ltd'
    assert pi['picocloud_board_family'] == 'Pi 5'
    assert pi['ansible_host'] == '198.18.0.19'
    assert pi['picocloud_discovered_hostname'] == 'raspberrypi'
    assert 'unclaimed-2ccf67000009' not in result.group('picocloud')


def test_discovered_text_is_never_templated(tmp_path, monkeypatch):
    """A registry's organisation name is text from outside the site file (here a 28-bit MA-M block under an IEEE
    Registration Authority 24-bit block, from a registry directory of the test's own): it reaches the unclaimed
    Pi's variables as it is, and templating it gives the text back, never runs it."""
    registry = tmp_path / 'ieee'
    registry.mkdir()
    injected = "Raspberry Pi {{ lookup('pipe', 'id') }} Ltd"
    (registry / 'mam.csv').write_text('Registry,Assignment,Organization Name,Organization Address\n'
                                      'MA-M,B84C870,"%s",Somewhere\n' % injected)
    (tmp_path / 'dnsmasq.leases').write_text('%d b8:4c:87:00:00:42 198.18.0.42 raspberrypi *\n' % (int(time.time()) + 3600))
    result = run(tmp_path, monkeypatch, lease_site(tmp_path, registry_dirs=[str(registry)]))
    assert result.group('unclaimed') == ['unclaimed-b84c87000042']
    assert result.all_vars('unclaimed-b84c87000042')['picocloud_vendor'] == injected
    assert result.render('unclaimed-b84c87000042', '{{ picocloud_vendor }}') == injected


def test_unclaimed_can_be_turned_off(tmp_path, monkeypatch):
    result = run(tmp_path, monkeypatch, lease_site(tmp_path, unclaimed=False))
    assert result.group('unclaimed') == []


def test_claiming_an_unclaimed_pi_by_adding_its_mac(tmp_path, monkeypatch):
    config = lease_site(tmp_path)
    config['nodes'].append({'name': 'pico-09', 'mac': '2c:cf:67:00:00:09', 'roles': ['consul_server']})
    result = run(tmp_path, monkeypatch, config)
    assert result.group('unclaimed') == []
    assert result.all_vars('pico-09')['ansible_host'] == '198.18.0.19'


def test_missing_lease_file_warns_and_the_inventory_still_builds(tmp_path, monkeypatch):
    config = lease_site(tmp_path)
    config['discovery']['lease_files'] = [str(tmp_path / 'nope.leases')]
    result = run(tmp_path, monkeypatch, config)
    assert any('nope.leases: cannot read the lease file' in warning for warning in result.warnings)
    assert result.group('picocloud') == ['pico-01', 'pico-06', 'pico-07']


def test_cache_holds_discovery_until_flushed_and_site_edits_show_at_once(tmp_path, monkeypatch):
    cache = {'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile', 'cache_connection': str(tmp_path / 'cache'),
             'cache_timeout': 3600}
    first = run(tmp_path, monkeypatch, dict(lease_site(tmp_path), **cache))
    assert first.all_vars('pico-01')['ansible_host'] == '198.18.0.11'
    (tmp_path / 'dnsmasq.leases').write_text('%d dc:a6:32:00:00:01 198.18.0.99 pico-01 *\n' % (int(time.time()) + 3600))
    edited = dict(lease_site(tmp_path), **cache)
    edited['nodes'][2]['roles'] = ['registry']
    cached = run(tmp_path, monkeypatch, edited)
    assert cached.all_vars('pico-01')['ansible_host'] == '198.18.0.11'
    assert cached.group('registry') == ['pico-07']
    flushed = run(tmp_path, monkeypatch, edited, flush=True)
    assert flushed.all_vars('pico-01')['ansible_host'] == '198.18.0.99'


def test_changed_discovery_settings_discover_again_despite_the_cache(tmp_path, monkeypatch):
    cache = {'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile', 'cache_connection': str(tmp_path / 'cache'),
             'cache_timeout': 3600}
    run(tmp_path, monkeypatch, dict(lease_site(tmp_path), **cache))
    off = dict(lease_site(tmp_path, unclaimed=False), **cache)
    (tmp_path / 'dnsmasq.leases').write_text('%d dc:a6:32:00:00:01 198.18.0.98 pico-01 *\n' % (int(time.time()) + 3600))
    assert run(tmp_path, monkeypatch, off).all_vars('pico-01')['ansible_host'] == '198.18.0.98'


def test_example_site_file_builds_the_documented_groups(tmp_path, monkeypatch):
    with open(os.path.join(COLLECTION, 'inventories', 'example', 'site.picocloud.yml')) as handle:
        config = yaml.safe_load(handle)
    config['discovery'] = {'sources': []}   # never discover on the test machine's own LAN
    result = run(tmp_path, monkeypatch, config, name='site.picocloud.yml')
    assert result.group('picocloud') == ['pi-01', 'pi-02', 'pi-03', 'pi-04', 'pi-05']
    assert result.group('swarm_managers') == ['pi-01']
    assert result.group('swarm_workers') == ['pi-02', 'pi-03', 'pi-04', 'pi-05']
    assert result.group('consul_servers') == ['pi-01', 'pi-02', 'pi-03']
    assert result.all_vars('pi-01')['picocloud_base_image']['sha256']
    assert result.warnings == []
