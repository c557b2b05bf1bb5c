# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the k3s role; the logic is in module_utils/k3s/."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.picocloud.edge.plugins.plugin_utils.filters import raising_filter_errors
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import airgap
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import config
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import kubeconfig
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import kubevip
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import nodes
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import preflight
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import token
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import version


_filter = raising_filter_errors(K3sError)


@_filter
def k3s_config(settings):
    """Node settings -> /etc/rancher/k3s/config.yaml text."""
    return config.render_config(settings)


@_filter
def k3s_config_dropin(data, name, role='server'):
    """k3s flags -> {path: config.yaml.d/<name>.yaml, content}."""
    return config.dropin(name, data, role=role)


@_filter
def k3s_node_labels(picocloud_facts, labels=None):
    """pi_facts and the site's placement labels -> the node's node-label entries (picocloud.io/<key>=<value>)."""
    return config.node_labels(picocloud_facts, labels)


@_filter
def k3s_registries(registry):
    """The site registry -> /etc/rancher/k3s/registries.yaml text."""
    return config.render_registries(registry)


@_filter
def k3s_unit(role, bin_dir=config.BIN_DIR, systemd_dir=config.SYSTEMD_DIR, needs=()):
    """server or agent -> {name, path, env_file, content} of the systemd unit install.sh writes (``needs``: units
    k3s wants and starts after, containerd.service for an external containerd)."""
    content = config.render_unit(role, bin_dir=bin_dir, systemd_dir=systemd_dir, needs=needs)
    name = config.unit_name(role)
    return {'name': name, 'path': '%s/%s' % (systemd_dir.rstrip('/'), name),
            'env_file': '%s/%s.env' % (systemd_dir.rstrip('/'), name), 'content': content}


@_filter
def k3s_airgap_assets(arch):
    """A node's arch (pi_facts arch dict or a name) -> {arch, binary, images, checksums}."""
    return airgap.assets(arch)


@_filter
def k3s_image_tarballs(filenames, arch):
    """File names of the artifacts dir -> the image tarballs that go to a node of ``arch``."""
    return airgap.image_tarballs(filenames, arch)


@_filter
def k3s_checksum(checksums, name, actual=None, checksums_name='sha256sum file'):
    """The sha256 that a sha256sum-<arch>.txt lists for ``name``; with ``actual``, refuse a mismatch."""
    if actual is None:
        return airgap.expected_sha256(checksums, name, checksums_name=checksums_name)
    return airgap.verify_sha256(checksums, name, actual, checksums_name=checksums_name)


@_filter
def k3s_preflight(facts, node, role, cmdline=None, proc_cmdline=None, cores=None, memory_mb=None,
                  server_count=None, allow_even_servers=False):
    """pi_facts of a node -> {ok, errors, warnings, arch}."""
    return preflight.preflight(facts, node, role, cmdline=cmdline, proc_cmdline=proc_cmdline, cores=cores,
                               memory_mb=memory_mb, server_count=server_count,
                               allow_even_servers=allow_even_servers)


@_filter
def k3s_join_diagnostics(report):
    """The facts gathered on a failed join -> one message."""
    return preflight.join_diagnostics(report)


@_filter
def k3s_token(cacerts, secret, user='server'):
    """The cluster CA bundle (or its sha256) and the controller's secret -> K10<hash>::<user>:<secret>."""
    return token.full_token(cacerts, secret, user=user)


@_filter
def k3s_token_info(text, secret=None, cacerts=None):
    """A token -> {secure, ca_hash, user}; with ``secret`` (and ``cacerts``), check a first server's token."""
    parsed = token.check_written(text, secret, cacerts=cacerts) if secret is not None else token.parse(text)
    return {'secure': parsed['secure'], 'ca_hash': parsed['ca_hash'], 'user': parsed['user']}


@_filter
def k3s_ca_hash(cacerts):
    """The /cacerts PEM bundle -> the sha256 k3s puts in secure tokens."""
    return token.ca_hash(cacerts)


@_filter
def k3s_kube_vip_manifest(settings):
    """VIP settings -> the kube-vip static pod manifest text."""
    return kubevip.render_manifest(settings)


@_filter
def k3s_kubeconfig_merge(existing, k3s_yaml, context, server):
    """~/.kube/config text and a server's k3s.yaml -> the merged text (unchanged text when nothing changed)."""
    return kubeconfig.render(existing, k3s_yaml, context, server)


@_filter
def k3s_kubeconfig_remove(existing, context):
    """~/.kube/config text -> the text without the site's cluster, user and context (unchanged text when absent)."""
    return kubeconfig.render_removed(existing, context)


@_filter
def k3s_version(text, release=False):
    """``k3s --version`` output or a version -> {version, major, minor, patch, pre, build}; ``release``: a version
    to install (k3s_version), which must have its build suffix (+k3s1)."""
    if isinstance(text, str) and ' version ' in text:
        text = version.from_output(text)
    parsed = version.release(text) if release else version.parse(text)
    parsed.pop('key')
    return parsed


@_filter
def k3s_upgrade_plan(installed, target):
    """{node: installed version or null} and k3s_version -> {target, minor, upgrade, same, errors}."""
    return version.upgrade_plan(installed, target)


@_filter
def k3s_api_url(address, port=6443):
    """An address or name -> https://<address>:<port> (IPv6 bracketed), as joining nodes use it."""
    return config.api_url(address, port)


@_filter
def k3s_nodes(text):
    """kubectl get nodes -o json -> {name: {ready, roles, version, address, unschedulable}}."""
    return nodes.states(text)


@_filter
def k3s_node_problems(text, expected, version=None):
    """kubectl get nodes -o json and {node: server|agent} -> one message per missing, NotReady or unknown node."""
    return nodes.problems(text, expected, version=version)


class FilterModule(object):
    def filters(self):
        return {
            'k3s_config': k3s_config,
            'k3s_config_dropin': k3s_config_dropin,
            'k3s_node_labels': k3s_node_labels,
            'k3s_registries': k3s_registries,
            'k3s_unit': k3s_unit,
            'k3s_airgap_assets': k3s_airgap_assets,
            'k3s_image_tarballs': k3s_image_tarballs,
            'k3s_checksum': k3s_checksum,
            'k3s_preflight': k3s_preflight,
            'k3s_join_diagnostics': k3s_join_diagnostics,
            'k3s_token': k3s_token,
            'k3s_token_info': k3s_token_info,
            'k3s_ca_hash': k3s_ca_hash,
            'k3s_kube_vip_manifest': k3s_kube_vip_manifest,
            'k3s_kubeconfig_merge': k3s_kubeconfig_merge,
            'k3s_kubeconfig_remove': k3s_kubeconfig_remove,
            'k3s_version': k3s_version,
            'k3s_upgrade_plan': k3s_upgrade_plan,
            'k3s_api_url': k3s_api_url,
            'k3s_nodes': k3s_nodes,
            'k3s_node_problems': k3s_node_problems,
        }
