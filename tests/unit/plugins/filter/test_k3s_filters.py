# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin containerd and k3s filters: registration, shapes, and errors as AnsibleFilterError naming the filter."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.filter import containerd_config as containerd_filters
from ansible_collections.picocloud.edge.plugins.filter import k3s_config as k3s_filters

SECRET = 'Zq3x9VbT2mK7pLr4Wn8sYc5Hd1Fg6Jk0AaBbCcDd'
CACERTS = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'


def test_every_filter_is_registered_under_its_documented_name():
    assert set(containerd_filters.FilterModule().filters()) == {
        'containerd_version', 'containerd_config', 'containerd_hosts', 'containerd_release_assets',
        'containerd_checksum'}
    assert set(k3s_filters.FilterModule().filters()) == {
        'k3s_config', 'k3s_config_dropin', 'k3s_node_labels', 'k3s_registries', 'k3s_unit', 'k3s_airgap_assets', 'k3s_image_tarballs',
        'k3s_checksum', 'k3s_preflight', 'k3s_join_diagnostics', 'k3s_token', 'k3s_token_info', 'k3s_ca_hash',
        'k3s_kube_vip_manifest', 'k3s_kubeconfig_merge', 'k3s_kubeconfig_remove', 'k3s_version', 'k3s_upgrade_plan',
        'k3s_api_url', 'k3s_nodes', 'k3s_node_problems'}


def test_k3s_node_labels_errors_name_the_filter_and_the_label():
    assert k3s_filters.k3s_node_labels({'board': {'type': 'pi4'}}, {'zone': 'rack-a'}) == [
        'picocloud.io/board=pi4', 'picocloud.io/zone=rack-a']
    with pytest.raises(AnsibleFilterError, match="^k3s_node_labels: labels.zone: 'rack a' is not a Kubernetes label"):
        k3s_filters.k3s_node_labels({'board': {'type': 'pi4'}}, {'zone': 'rack a'})


def test_containerd_version_reports_the_config_schema():
    assert containerd_filters.containerd_version(
        'containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3') == {
        'version': '1.6.20', 'major': 1, 'minor': 6, 'patch': 20, 'config_version': 2}


@pytest.mark.parametrize('call, message', [
    (lambda: containerd_filters.containerd_version('docker 24'), '^containerd_version: containerd version'),
    (lambda: containerd_filters.containerd_config({'cgroup_driver': 'x'}, '1.6.20'), '^containerd_config: containerd_cgroup_driver'),
    (lambda: containerd_filters.containerd_hosts({'url': 'ftp://x'}), '^containerd_hosts: containerd_registry_host'),
    (lambda: k3s_filters.k3s_config({'role': 'agent'}), '^k3s_config: server_url'),
    (lambda: k3s_filters.k3s_unit('master'), "^k3s_unit: role: 'master'"),
    (lambda: k3s_filters.k3s_unit('agent', needs=['containerd']), "^k3s_unit: needs: 'containerd' is not a systemd"),
    (lambda: k3s_filters.k3s_airgap_assets('armv6l'), '^k3s_airgap_assets: arch: k3s publishes no ARMv6 build'),
    (lambda: k3s_filters.k3s_checksum('', 'k3s'), '^k3s_checksum: sha256sum file has no line for k3s'),
    (lambda: k3s_filters.k3s_token(CACERTS, 'short'), '^k3s_token: token secret'),
    (lambda: k3s_filters.k3s_kubeconfig_merge('', '', 'lab', '10.0.0.1'), '^k3s_kubeconfig_merge: k3s.yaml: empty'),
    (lambda: k3s_filters.k3s_kubeconfig_remove('', 'a b'), "^k3s_kubeconfig_remove: context: 'a b'"),
    (lambda: k3s_filters.k3s_version('k3s version latest'), '^k3s_version: k3s --version'),
    (lambda: k3s_filters.k3s_upgrade_plan({}, 'v1.33.0+k3s1'), '^k3s_upgrade_plan: installed'),
    (lambda: k3s_filters.k3s_api_url('not an address'), "^k3s_api_url: address: 'not an address'"),
    (lambda: k3s_filters.k3s_nodes('[]'), '^k3s_nodes: nodes: expected a List'),
    (lambda: k3s_filters.k3s_node_problems('{"items": []}', []), '^k3s_node_problems: expected'),
    (lambda: containerd_filters.containerd_release_assets('1.7.27', 'armhf'), '^containerd_release_assets: arch'),
    (lambda: containerd_filters.containerd_checksum('', 'x', 'a' * 64), '^containerd_checksum: sha256sum file has no'),
])
def test_domain_errors_become_filter_errors_that_name_the_filter(call, message):
    with pytest.raises(AnsibleFilterError, match=message):
        call()


def test_k3s_version_with_release_refuses_a_version_without_its_build_suffix():
    assert k3s_filters.k3s_version('v1.30.2')['build'] is None
    assert k3s_filters.k3s_version('v1.33.0+standin1', release=True)['build'] == 'standin1'
    with pytest.raises(AnsibleFilterError) as info:
        k3s_filters.k3s_version('v1.30.2', release=True)
    assert str(info.value) == ("k3s_version: k3s_version: 'v1.30.2' has no build suffix; k3s --version prints one, so "
                               "give the whole release, e.g. v1.30.2+k3s1")


def test_k3s_unit_returns_name_paths_and_content():
    unit = k3s_filters.k3s_unit('agent')
    assert unit['name'] == 'k3s-agent.service'
    assert unit['path'] == '/etc/systemd/system/k3s-agent.service'
    assert unit['env_file'] == '/etc/systemd/system/k3s-agent.service.env'
    assert 'ExecStart=/usr/local/bin/k3s \\\n    agent \\\n' in unit['content']
    assert 'containerd.service' not in unit['content']
    external = k3s_filters.k3s_unit('agent', needs=['containerd.service'])
    assert 'After=network-online.target\nWants=containerd.service\nAfter=containerd.service\n' in external['content']


def test_k3s_checksum_returns_the_listed_sum_and_refuses_a_mismatch():
    listing = '%s  k3s-armhf\n' % ('c' * 64)
    assert k3s_filters.k3s_checksum(listing, 'k3s-armhf') == 'c' * 64
    assert k3s_filters.k3s_checksum(listing, 'k3s-armhf', actual='C' * 64) == 'c' * 64
    with pytest.raises(AnsibleFilterError, match='k3s-armhf does not match sha256sum-arm.txt'):
        k3s_filters.k3s_checksum(listing, 'k3s-armhf', actual='d' * 64, checksums_name='sha256sum-arm.txt')


def test_k3s_token_info_never_returns_the_secret():
    token = k3s_filters.k3s_token(CACERTS, SECRET)
    assert token == 'K10%s::server:%s' % (hashlib.sha256(CACERTS.encode()).hexdigest(), SECRET)
    info = k3s_filters.k3s_token_info(token, secret=SECRET, cacerts=CACERTS)
    assert info == {'secure': True, 'ca_hash': k3s_filters.k3s_ca_hash(CACERTS), 'user': 'server'}
    assert SECRET not in repr(info)
    assert k3s_filters.k3s_token_info(SECRET) == {'secure': False, 'ca_hash': None, 'user': None}


def test_k3s_preflight_and_diagnostics_pass_through():
    facts = {'arch': {'debian_arch': 'arm64', 'arm_version': 8}, 'cgroups': {'memory_controller': True}}
    assert k3s_filters.k3s_preflight(facts, 'pi-1', 'agent')['ok'] is True
    assert k3s_filters.k3s_join_diagnostics({'node': 'pi-1'}).startswith('pi-1 did not join')


def test_k3s_version_reads_the_output_of_k3s_and_of_the_stand_in():
    assert k3s_filters.k3s_version('k3s version v1.33.4+k3s1 (5a4d7a1b)\ngo version go1.24.5\n') == {
        'version': 'v1.33.4+k3s1', 'major': 1, 'minor': 33, 'patch': 4, 'pre': None, 'build': 'k3s1'}
    assert k3s_filters.k3s_version('k3s-stand-in version v1.33.0+standin1 (stand-in, not k3s)')['minor'] == 33
    assert k3s_filters.k3s_version('v1.34.1-rc2+k3s1')['pre'] == 'rc2'


def test_k3s_upgrade_plan_and_kubeconfig_remove_pass_through():
    plan = k3s_filters.k3s_upgrade_plan({'pi-1': 'v1.33.4+k3s1', 'pi-2': 'v1.34.1+k3s1'}, 'v1.34.1+k3s1')
    assert plan == {'target': 'v1.34.1+k3s1', 'minor': 'v1.34', 'upgrade': ['pi-1'], 'same': ['pi-2'], 'errors': []}
    assert k3s_filters.k3s_kubeconfig_remove('', 'lab') == ''


def test_containerd_release_assets_and_checksum_pass_through():
    files = containerd_filters.containerd_release_assets('v1.7.27', 'aarch64')
    assert files == {'arch': 'arm64', 'version': '1.7.27', 'tarball': 'containerd-1.7.27-linux-arm64.tar.gz',
                     'tarball_sums': 'containerd-1.7.27-linux-arm64.tar.gz.sha256sum', 'runc': 'runc.arm64',
                     'runc_sums': 'runc.sha256sum'}
    listing = '%s  runc.arm64\n' % ('e' * 64)
    assert containerd_filters.containerd_checksum(listing, 'runc.arm64', 'E' * 64) == 'e' * 64


def test_k3s_api_url_brackets_ipv6_and_node_filters_pass_through():
    assert k3s_filters.k3s_api_url('fd00::10') == 'https://[fd00::10]:6443'
    assert k3s_filters.k3s_api_url('pi-1.lan', 16443) == 'https://pi-1.lan:16443'
    assert k3s_filters.k3s_nodes('{"items": []}') == {}
    assert k3s_filters.k3s_node_problems('{"items": []}', {'pi-1': 'server'}) == ['pi-1: not in the cluster']
