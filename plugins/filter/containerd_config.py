# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the containerd role; the logic is in module_utils/containerd.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.picocloud.edge.plugins.plugin_utils.filters import raising_filter_errors
from ansible_collections.picocloud.edge.plugins.module_utils import containerd


_filter = raising_filter_errors(containerd.ContainerdError)


@_filter
def containerd_version(text):
    """``containerd --version`` output -> {version, major, minor, patch, config_version}."""
    version = containerd.parse_version(text)
    return {'version': '%d.%d.%d' % version, 'major': version[0], 'minor': version[1], 'patch': version[2],
            'config_version': containerd.config_schema(version)}


@_filter
def containerd_config(settings, version):
    """The role's settings -> config.toml text in the schema of containerd ``version``."""
    return containerd.render_config(settings, version)


@_filter
def containerd_hosts(registry):
    """The site registry -> every certs.d hosts.toml file as {namespace, path, content}."""
    return containerd.hosts_files(registry)


@_filter
def containerd_release_assets(version, arch):
    """containerd ``version`` and a node's Debian arch -> {arch, version, tarball, tarball_sums, runc, runc_sums}."""
    return containerd.release_assets(version, arch)


@_filter
def containerd_checksum(sums_text, name, actual, sums_name='sha256sum file'):
    """The sha256 a sha256sum file lists for ``name``, when ``actual`` matches it; refused otherwise."""
    return containerd.verify_sha256(sums_text, name, actual, sums_name=sums_name)


class FilterModule(object):
    def filters(self):
        return {
            'containerd_version': containerd_version,
            'containerd_config': containerd_config,
            'containerd_hosts': containerd_hosts,
            'containerd_release_assets': containerd_release_assets,
            'containerd_checksum': containerd_checksum,
        }
