# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kube-vip static pod manifest for the k3s API VIP in ARP mode, private to picocloud.edge.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Follows what ``kube-vip manifest pod --interface <if> --address <vip> --controlplane --arp
--leaderElection --k8sConfigPath /etc/rancher/k3s/k3s.yaml`` prints (kube-vip.io "Static Pods", and the
generator ``pkg/kubevip/config_generator.go`` of kube-vip v1.2.x): a ``kube-vip`` Pod in kube-system on
the host network, ``args: [manager]``, the ``vip_*``/``cp_*`` environment in the generator's order,
capabilities NET_ADMIN and NET_RAW (all others dropped), and the admin kubeconfig mounted at
/etc/kubernetes/admin.conf with ``kubernetes`` aliased to 127.0.0.1. Only the control-plane VIP is
enabled (no ``--services``: k3s's servicelb keeps LoadBalancer services). The generator's null
``creationTimestamp`` and empty ``status`` are left out; they are not part of a manifest.

k3s reads static pods from /var/lib/rancher/k3s/agent/pod-manifests (k3s ``pkg/agent/config``,
``DefaultPodManifestPath``) and its admin kubeconfig is /etc/rancher/k3s/k3s.yaml, which points at
127.0.0.1:6443 on each server, so each server's kube-vip talks to its own API server. The VIP must also
be in every server's ``tls-san`` (``config.config_dict`` puts it first). kube-vip's own k3s guide deploys
it as a DaemonSet through the server manifests dir, with RBAC objects, once the first server is up; the
static pod needs no RBAC objects and starts with each server's kubelet, so the VIP exists before any
joining node needs it. k3s-io/k3s-ansible has no VIP (its #131 and #166 were declined).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import config as k3s_config

MANIFEST_DIR = '/var/lib/rancher/k3s/agent/pod-manifests'
MANIFEST_NAME = 'kube-vip.yaml'
KUBECONFIG = '/etc/rancher/k3s/k3s.yaml'
IMAGE = 'ghcr.io/kube-vip/kube-vip'
# kube-vip's flag defaults (cmd/kube-vip.go).
DEFAULTS = {'port': 6443, 'lease_name': 'plndr-cp-lock', 'lease_duration': 15, 'renew_deadline': 10,
            'retry_period': 2, 'prometheus_server': ':2112'}
_IMAGE_RE = re.compile(r'[a-z0-9][a-z0-9._:/-]*[a-z0-9]')
_TAG_RE = re.compile(r'v?[0-9]+\.[0-9]+\.[0-9]+[A-Za-z0-9.+_-]*')
_LEASE_RE = re.compile(r'[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?')


def _int(value, field, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise K3sError('%s: %r must be a whole number from %d to %d' % (field, value, low, high))
    return value


def manifest_dict(settings):
    """The Pod manifest as a dict.

    settings: ``vip`` (the API address), ``interface`` (the servers' interface on the VIP's network),
    ``version`` (the kube-vip image tag, e.g. v1.2.3), optional ``image`` (default
    ghcr.io/kube-vip/kube-vip; the site registry's copy in an airgapped site), ``port`` (6443),
    ``lease_name``, ``lease_duration``, ``renew_deadline``, ``retry_period`` and ``kubeconfig``.
    """
    settings = dict(settings or {})
    vip = k3s_config.vip_address(settings.get('vip'))
    iface = k3s_config.interface_name(settings.get('interface'), 'k3s_vip_interface')
    version = settings.get('version')
    if not isinstance(version, str) or not _TAG_RE.fullmatch(version):
        raise K3sError('version: %r must be a kube-vip release tag, e.g. v1.2.3 (k3s_kube_vip_version)' % (version,))
    image = settings.get('image') or IMAGE
    if isinstance(image, str) and ('@' in image or ':' in image.rpartition('/')[2]):
        # A ':' in the first of several segments is a registry's port; in the last one it starts a tag.
        raise K3sError('image: %r must be an image name without tag or digest: k3s_kube_vip_image names the image, '
                       'set the tag in k3s_kube_vip_version instead' % (image,))
    if not isinstance(image, str) or not _IMAGE_RE.fullmatch(image):
        raise K3sError('image: %r must be an image name without tag, e.g. registry.site:5000/kube-vip/kube-vip'
                       % (image,))
    port = _int(settings.get('port', DEFAULTS['port']), 'port', 1, 65535)
    lease = settings.get('lease_name', DEFAULTS['lease_name'])
    if not isinstance(lease, str) or not _LEASE_RE.fullmatch(lease):
        raise K3sError('lease_name: %r must be a Kubernetes object name' % (lease,))
    duration = _int(settings.get('lease_duration', DEFAULTS['lease_duration']), 'lease_duration', 1, 3600)
    renew = _int(settings.get('renew_deadline', DEFAULTS['renew_deadline']), 'renew_deadline', 1, 3600)
    retry = _int(settings.get('retry_period', DEFAULTS['retry_period']), 'retry_period', 1, 3600)
    if not retry < renew < duration:
        raise K3sError('lease timings: retry_period (%d) < renew_deadline (%d) < lease_duration (%d) is required by '
                       'Kubernetes leader election' % (retry, renew, duration))
    kubeconfig = settings.get('kubeconfig') or KUBECONFIG
    if not isinstance(kubeconfig, str) or not kubeconfig.startswith('/') or re.search(r'[\x00-\x1f\x7f]', kubeconfig):
        raise K3sError('kubeconfig: %r must be an absolute path' % (kubeconfig,))
    env = [
        {'name': 'vip_arp', 'value': 'true'},
        {'name': 'port', 'value': str(port)},
        {'name': 'vip_nodename', 'valueFrom': {'fieldRef': {'fieldPath': 'spec.nodeName'}}},
        {'name': 'vip_interface', 'value': iface},
        {'name': 'cp_enable', 'value': 'true'},
        {'name': 'cp_namespace', 'value': 'kube-system'},
        {'name': 'vip_leaderelection', 'value': 'true'},
        {'name': 'vip_leasename', 'value': lease},
        {'name': 'vip_leaseduration', 'value': str(duration)},
        {'name': 'vip_renewdeadline', 'value': str(renew)},
        {'name': 'vip_retryperiod', 'value': str(retry)},
        {'name': 'address', 'value': vip},
        {'name': 'prometheus_server', 'value': DEFAULTS['prometheus_server']},
    ]
    return {
        'apiVersion': 'v1',
        'kind': 'Pod',
        'metadata': {'name': 'kube-vip', 'namespace': 'kube-system'},
        'spec': {
            'containers': [{
                'args': ['manager'],
                'env': env,
                'image': '%s:%s' % (image, version),
                'imagePullPolicy': 'IfNotPresent',
                'name': 'kube-vip',
                'resources': {},
                'securityContext': {'capabilities': {'add': ['NET_ADMIN', 'NET_RAW'], 'drop': ['ALL']}},
                'volumeMounts': [{'mountPath': '/etc/kubernetes/admin.conf', 'name': 'kubeconfig'}],
            }],
            'hostAliases': [{'hostnames': ['kubernetes'], 'ip': '127.0.0.1'}],
            'hostNetwork': True,
            'volumes': [{'hostPath': {'path': kubeconfig}, 'name': 'kubeconfig'}],
        },
    }


def render_manifest(settings):
    """The manifest as YAML text for /var/lib/rancher/k3s/agent/pod-manifests/kube-vip.yaml."""
    return k3s_config.to_yaml(manifest_dict(settings),
                              header='Managed by picocloud.edge (k3s role): kube-vip, ARP mode, control-plane VIP.')
