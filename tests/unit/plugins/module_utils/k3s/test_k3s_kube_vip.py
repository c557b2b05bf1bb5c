# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kube-vip static pod manifest: kube-vip's documented ARP output, validated offline against Kubernetes schemas."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import yaml

from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import kubevip

kubernetes_validate = pytest.importorskip('kubernetes_validate')

# The Kubernetes minors the k3s role targets; each rendered manifest must validate against all of them.
TARGETED_VERSIONS = ('1.31', '1.32', '1.33', '1.34', '1.35', '1.36', '1.37')
SETTINGS = {'vip': '192.168.50.10', 'interface': 'eth0', 'version': 'v1.2.3'}


def _env(manifest):
    return dict((item['name'], item.get('value', item.get('valueFrom'))) for item in
                manifest['spec']['containers'][0]['env'])


@pytest.mark.parametrize('version', TARGETED_VERSIONS)
def test_the_manifest_validates_strictly_against_the_kubernetes_schema(version):
    manifest = yaml.safe_load(kubevip.render_manifest(SETTINGS))
    assert kubernetes_validate.validate(manifest, version, strict=True) == version


def test_strict_validation_catches_a_misspelt_field_so_the_schema_check_has_teeth():
    manifest = kubevip.manifest_dict(SETTINGS)
    manifest['spec']['containers'][0]['imagePullPolcy'] = 'Always'
    with pytest.raises(kubernetes_validate.ValidationError, match="'imagePullPolcy' was unexpected"):
        kubernetes_validate.validate(manifest, TARGETED_VERSIONS[-1], strict=True)


def test_arp_control_plane_environment_matches_kube_vips_generator():
    manifest = kubevip.manifest_dict(SETTINGS)
    assert [item['name'] for item in manifest['spec']['containers'][0]['env']] == [
        'vip_arp', 'port', 'vip_nodename', 'vip_interface', 'cp_enable', 'cp_namespace', 'vip_leaderelection',
        'vip_leasename', 'vip_leaseduration', 'vip_renewdeadline', 'vip_retryperiod', 'address', 'prometheus_server']
    env = _env(manifest)
    assert env['vip_arp'] == 'true' and env['cp_enable'] == 'true' and env['vip_leaderelection'] == 'true'
    assert env['address'] == '192.168.50.10' and env['vip_interface'] == 'eth0' and env['port'] == '6443'
    assert env['vip_nodename'] == {'fieldRef': {'fieldPath': 'spec.nodeName'}}
    assert env['vip_leaseduration'] == '15' and env['vip_renewdeadline'] == '10' and env['vip_retryperiod'] == '2'
    assert 'svc_enable' not in env


def test_the_pod_runs_on_the_host_network_with_only_net_admin_and_net_raw_and_the_k3s_kubeconfig():
    spec = kubevip.manifest_dict(SETTINGS)['spec']
    container = spec['containers'][0]
    assert spec['hostNetwork'] is True
    assert container['args'] == ['manager']
    assert container['image'] == 'ghcr.io/kube-vip/kube-vip:v1.2.3'
    assert container['securityContext'] == {'capabilities': {'add': ['NET_ADMIN', 'NET_RAW'], 'drop': ['ALL']}}
    assert container['volumeMounts'] == [{'mountPath': '/etc/kubernetes/admin.conf', 'name': 'kubeconfig'}]
    assert spec['volumes'] == [{'hostPath': {'path': '/etc/rancher/k3s/k3s.yaml'}, 'name': 'kubeconfig'}]
    assert spec['hostAliases'] == [{'hostnames': ['kubernetes'], 'ip': '127.0.0.1'}]


def test_an_airgapped_site_takes_the_image_from_its_own_registry():
    manifest = kubevip.manifest_dict(dict(SETTINGS, image='registry.site:5000/kube-vip/kube-vip'))
    assert manifest['spec']['containers'][0]['image'] == 'registry.site:5000/kube-vip/kube-vip:v1.2.3'


@pytest.mark.parametrize('settings, message', [
    (dict(SETTINGS, vip='k3s.lan'), "vip: 'k3s.lan' must be an IP address"),
    (dict(SETTINGS, interface='eth0 up'), "^k3s_vip_interface: 'eth0 up' is not a network interface name"),
    (dict(SETTINGS, version='latest'), "version: 'latest' must be a kube-vip release tag"),
    (dict(SETTINGS, image='ghcr.io/kube-vip/kube-vip:v1.2.3@sha256:' + 'a' * 64), 'must be an image name without tag'),
    (dict(SETTINGS, port=0), 'port: 0 must be a whole number from 1 to 65535'),
    (dict(SETTINGS, retry_period=10), 'retry_period \\(10\\) < renew_deadline \\(10\\)'),
    (dict(SETTINGS, kubeconfig='k3s.yaml'), "kubeconfig: 'k3s.yaml' must be an absolute path"),
])
def test_bad_vip_settings_are_refused_naming_the_field(settings, message):
    with pytest.raises(K3sError, match=message):
        kubevip.manifest_dict(settings)


_TAGGED = ("image: %r must be an image name without tag or digest: k3s_kube_vip_image names the image, set the tag in "
           "k3s_kube_vip_version instead")


@pytest.mark.parametrize('image', ['ghcr.io/kube-vip/kube-vip:v0.8.9', 'registry.site:5000/kube-vip/kube-vip:v0.8.9',
                                   'kube-vip:v1', 'registry.site:5000', 'ghcr.io/kube-vip/kube-vip@sha256:' + 'a' * 64,
                                   'ghcr.io/kube-vip/kube-vip:'])
def test_an_image_with_a_tag_or_digest_is_refused_pointing_at_the_version_variable(image):
    with pytest.raises(K3sError) as info:
        kubevip.manifest_dict(dict(SETTINGS, image=image))
    assert str(info.value) == _TAGGED % (image,)


def test_a_registry_port_in_the_first_segment_is_not_a_tag():
    manifest = kubevip.manifest_dict(dict(SETTINGS, image='registry.site:5000/kv'))
    assert manifest['spec']['containers'][0]['image'] == 'registry.site:5000/kv:v1.2.3'


def test_the_rendered_text_is_stable_and_starts_with_the_managed_header():
    text = kubevip.render_manifest(SETTINGS)
    assert text == kubevip.render_manifest(dict(SETTINGS))
    assert text.startswith('# Managed by picocloud.edge')


@pytest.mark.parametrize('vip', ['0.0.0.0', '127.0.0.1', '224.0.0.1', '169.254.10.10', '240.0.0.1', '::', '::1',
                                 'ff02::1', 'fe80::1'])
def test_a_vip_that_no_server_can_claim_on_its_network_is_refused_naming_k3s_vip(vip):
    with pytest.raises(K3sError) as caught:
        kubevip.manifest_dict(dict(SETTINGS, vip=vip))
    assert str(caught.value) == ("k3s_vip: %r cannot be a VIP: it is not a unicast address that a server can claim on "
                                 "its network" % (vip,))


@pytest.mark.parametrize('iface', ['eth0:1', '.', '..', 'eth0@if2', 'a/b', 'averyverylongname0', ''])
def test_an_interface_name_the_kernel_refuses_or_ip_links_peer_notation_is_refused(iface):
    with pytest.raises(K3sError) as caught:
        kubevip.manifest_dict(dict(SETTINGS, interface=iface))
    assert str(caught.value) == ("k3s_vip_interface: %r is not a network interface name (at most 15 letters, digits, "
                                 "_ . -, as `ip link` names it without any @peer, e.g. eth0 or eth0.100)" % (iface,))


@pytest.mark.parametrize('iface', ['eth0', 'eth0.100', 'br-lan', 'wlan0', 'enp0s31f6'])
def test_vlan_bridge_and_predictable_interface_names_are_accepted(iface):
    manifest = kubevip.manifest_dict(dict(SETTINGS, interface=iface))
    env = dict((item['name'], item.get('value')) for item in manifest['spec']['containers'][0]['env'])
    assert env['vip_interface'] == iface
