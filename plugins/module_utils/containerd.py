# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""containerd configuration rendering (config.toml and certs.d hosts.toml), private to picocloud.edge.

Private to the picocloud.edge collection: no compatibility promise to other collections. Every function
is pure (data in, text out) so unit tests can check the output against containerd's documentation and,
where containerd is installed, against ``containerd config dump``.

Formats, from containerd's documentation:
- ``docs/cri/config.md``: config version 2 is the schema of containerd 1.x (CRI plugin
  ``io.containerd.grpc.v1.cri``); version 3 was introduced with containerd 2.0, where the CRI settings
  moved to ``io.containerd.cri.v1.runtime`` (runtimes, CNI) and ``io.containerd.cri.v1.images``
  (registry ``config_path``, the sandbox image under ``pinned_images``). ``SystemdCgroup = true`` goes in
  the runc runtime's ``options`` table. From containerd 2.1 the CNI plugin directory is the ``bin_dirs``
  list; the ``bin_dir`` string is deprecated.
- ``docs/hosts.md``: one ``hosts.toml`` per registry host namespace under the registry ``config_path``
  (``/etc/containerd/certs.d/<host[:port]>/hosts.toml``); ``server`` is the upstream tried last (or the
  only host), ``[host."<url>"]`` tables are mirrors tried first in order, each with ``capabilities``,
  ``ca`` and ``client`` (a list of ``[cert, key]`` pairs). Registry hosts config needs containerd 1.5 or
  later.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# The first containerd release with the certs.d hosts configuration (config_path).
MIN_VERSION = (1, 5, 0)
DEFAULT_CERTS_DIR = '/etc/containerd/certs.d'
CGROUP_DRIVERS = ('systemd', 'cgroupfs')
# Upstream endpoints of well-known registries whose host namespace differs from their API host.
UPSTREAMS = {'docker.io': 'https://registry-1.docker.io'}
CAPABILITIES = ('pull', 'resolve', 'push')
# containerd 2.1 deprecated the CNI ``bin_dir`` string for the ``bin_dirs`` list (PR containerd#11311).
CNI_BIN_DIRS_VERSION = (2, 1, 0)

_VERSION_RE = re.compile(r'v?(\d+)\.(\d+)\.(\d+)(?:[-~+.][0-9A-Za-z.~+-]*)?')
_CONTROL_RE = re.compile(r'[\x00-\x1f\x7f]')
# A registry host namespace: a host name or IPv4 address with an optional port, or _default.
_NAMESPACE_RE = re.compile(r'(?:_default|(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)'
                           r'(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?)')
_URL_RE = re.compile(r'https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?')
_BARE_KEY_RE = re.compile(r'[A-Za-z0-9_-]+')


class ContainerdError(ValueError):
    """A containerd setting or version that cannot be rendered; the message names the field and value."""


def parse_version(text):
    """The version tuple from ``containerd --version`` output (or a bare version string).

    Accepts Debian's ``containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3``,
    Docker's ``containerd containerd.io 1.7.27 05044ec...`` and upstream 2.x's
    ``containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7...`` as well as ``1.7.27``.
    """
    if not isinstance(text, str) or _CONTROL_RE.search(text.strip()):
        raise ContainerdError('containerd version: %r is not the output of containerd --version' % (text,))
    fields = text.split()
    candidates = fields[2:3] if len(fields) >= 3 and fields[0] == 'containerd' else fields[:1]
    for candidate in candidates:
        match = _VERSION_RE.fullmatch(candidate)
        if match:
            return tuple(int(part) for part in match.groups())
    raise ContainerdError('containerd version: %r is not the output of containerd --version '
                          '(expected e.g. "containerd github.com/containerd/containerd 1.6.20~ds1 ...")' % (text,))


def config_schema(version):
    """The config.toml schema version for a containerd version tuple: 2 for 1.5-1.7, 3 for 2.x."""
    version = tuple(version)
    if version < MIN_VERSION:
        raise ContainerdError('containerd %s: the certs.d registry configuration needs containerd 1.5 or later'
                              % '.'.join(str(part) for part in version))
    if version[0] == 1:
        return 2
    if version[0] == 2:
        return 3
    raise ContainerdError('containerd %s: no known config.toml schema for containerd %d.x (known: 1.x -> version 2, '
                          '2.x -> version 3)' % ('.'.join(str(part) for part in version), version[0]))


def _text(value, field):
    if not isinstance(value, str) or not value or _CONTROL_RE.search(value):
        raise ContainerdError('%s: %r must be a non-empty string without control characters' % (field, value))
    return value


def _path(value, field):
    value = _text(value, field)
    if not value.startswith('/'):
        raise ContainerdError('%s: %r must be an absolute path' % (field, value))
    return value


def _toml_string(value):
    return '"%s"' % value.replace('\\', '\\\\').replace('"', '\\"')


def _toml_key(key):
    return key if _BARE_KEY_RE.fullmatch(key) else _toml_string(key)


def _toml_value(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return '[%s]' % ', '.join(_toml_value(item) for item in value)
    raise ContainerdError('toml: cannot write %r (%s)' % (value, type(value).__name__))


def to_toml(data, comment=None):
    """A nested dict as TOML text: plain keys first, then one table per nested dict, in insertion order."""
    lines = ['# %s' % line for line in (comment or '').splitlines()]

    def emit(table, path):
        scalars = [(key, value) for key, value in table.items() if not isinstance(value, dict)]
        tables = [(key, value) for key, value in table.items() if isinstance(value, dict)]
        if path and (scalars or not tables):
            if lines:
                lines.append('')
            lines.append('[%s]' % '.'.join(_toml_key(part) for part in path))
        for key, value in scalars:
            lines.append('%s%s = %s' % ('  ' if path else '', _toml_key(key), _toml_value(value)))
        for key, value in tables:
            emit(value, path + [key])

    emit(data, [])
    return '\n'.join(lines) + '\n'


def _merge(base, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def config_dict(settings, version):
    """The config.toml content as a dict for containerd ``version`` (a tuple, or ``containerd --version`` text).

    settings: ``cgroup_driver`` (``systemd`` sets ``SystemdCgroup = true``; ``cgroupfs``), ``certs_dir``
    (the registry ``config_path``, default /etc/containerd/certs.d), ``cni_bin_dir`` and ``cni_conf_dir``
    (optional; Debian's package uses /usr/lib/cni), ``sandbox_image`` (optional, the pause image) and
    ``extra`` (a dict merged last, in the schema of that version).
    """
    if isinstance(version, str):
        version = parse_version(version)
    schema = config_schema(version)
    settings = dict(settings or {})
    driver = settings.get('cgroup_driver', 'systemd')
    if driver not in CGROUP_DRIVERS:
        raise ContainerdError('cgroup_driver: %r must be one of %s' % (driver, ', '.join(CGROUP_DRIVERS)))
    certs_dir = _path(settings.get('certs_dir') or DEFAULT_CERTS_DIR, 'certs_dir')
    runc = {'runtime_type': 'io.containerd.runc.v2', 'options': {'SystemdCgroup': driver == 'systemd'}}
    cni = {}
    if settings.get('cni_bin_dir'):
        bin_dir = _path(settings['cni_bin_dir'], 'cni_bin_dir')
        if tuple(version) >= CNI_BIN_DIRS_VERSION:
            cni['bin_dirs'] = [bin_dir]
        else:
            cni['bin_dir'] = bin_dir
    if settings.get('cni_conf_dir'):
        cni['conf_dir'] = _path(settings['cni_conf_dir'], 'cni_conf_dir')
    sandbox = settings.get('sandbox_image')
    if sandbox is not None:
        sandbox = _text(sandbox, 'sandbox_image')
    if schema == 2:
        cri = {}
        if sandbox:
            cri['sandbox_image'] = sandbox
        cri['containerd'] = {'default_runtime_name': 'runc', 'runtimes': {'runc': runc}}
        if cni:
            cri['cni'] = cni
        cri['registry'] = {'config_path': certs_dir}
        plugins = {'io.containerd.grpc.v1.cri': cri}
    else:
        images = {'registry': {'config_path': certs_dir}}
        if sandbox:
            images['pinned_images'] = {'sandbox': sandbox}
        runtime = {'containerd': {'default_runtime_name': 'runc', 'runtimes': {'runc': runc}}}
        if cni:
            runtime['cni'] = cni
        plugins = {'io.containerd.cri.v1.images': images, 'io.containerd.cri.v1.runtime': runtime}
    config = {'version': schema, 'plugins': plugins}
    extra = settings.get('extra') or {}
    if not isinstance(extra, dict):
        raise ContainerdError('extra: %r must be a dict in the config.toml schema' % (extra,))
    return _merge(config, extra)


def render_config(settings, version):
    """config.toml text for containerd ``version`` (see ``config_dict``)."""
    return to_toml(config_dict(settings, version),
                   comment='Managed by picocloud.edge (containerd role); local changes are overwritten.')


def _namespace(value, field):
    value = _text(value, field)
    if not _NAMESPACE_RE.fullmatch(value):
        raise ContainerdError('%s: %r is not a registry host namespace (host or host:port, or _default)'
                              % (field, value))
    return value


def _url(value, field):
    value = _text(value, field).rstrip('/')
    if not _URL_RE.fullmatch(value):
        raise ContainerdError('%s: %r must be an http(s) URL of a registry, e.g. https://registry.site:5000'
                              % (field, value))
    return value


def registry_url(namespace):
    """The upstream URL containerd uses for a host namespace (docker.io is served by registry-1.docker.io)."""
    return UPSTREAMS.get(namespace, 'https://%s' % namespace)


def hosts_dict(namespace, mirror, tls=None, fallback=False, capabilities=('pull', 'resolve')):
    """The hosts.toml content as a dict for one registry host namespace.

    ``mirror`` is the URL of the site registry that serves this namespace. ``tls`` holds ``ca_file``,
    ``cert_file`` and ``key_file`` (absolute paths on the node; each optional, cert and key together).
    The mirror is always a ``[host."<mirror>"]`` table with its capabilities and TLS files: containerd 1.6
    (Debian bookworm's 1.6.20) refuses a hosts.toml without a ``host`` table ("invalid `host` tree") and falls
    back to the directory's certificate files, so TLS set only at the root would be lost. With ``fallback`` the
    namespace's own upstream is the ``server``, tried after the mirror; without it (airgap), and for the
    mirror's own name, the mirror is the ``server`` too, with the same TLS files, so nothing else is contacted.
    """
    namespace = _namespace(namespace, 'namespace')
    mirror = _url(mirror, 'mirror')
    capabilities = list(capabilities)
    for capability in capabilities:
        if capability not in CAPABILITIES:
            raise ContainerdError('capabilities: %r must be among %s' % (capability, ', '.join(CAPABILITIES)))
    tls_keys = {}
    tls = dict(tls or {})
    if tls.get('ca_file'):
        tls_keys['ca'] = _path(tls['ca_file'], 'ca_file')
    if bool(tls.get('cert_file')) != bool(tls.get('key_file')):
        raise ContainerdError('cert_file and key_file: a client certificate needs both (got cert_file=%r, key_file=%r)'
                              % (tls.get('cert_file'), tls.get('key_file')))
    if tls.get('cert_file'):
        tls_keys['client'] = [[_path(tls['cert_file'], 'cert_file'), _path(tls['key_file'], 'key_file')]]
    mirror_namespace = mirror.split('://', 1)[1].split('/', 1)[0]
    host = {'capabilities': capabilities}
    host.update(tls_keys)
    if namespace == mirror_namespace or not fallback:
        content = {'server': mirror}
        content.update(tls_keys)
    else:
        content = {'server': registry_url(namespace)}
    content['host'] = {mirror: host}
    return content


def render_hosts(namespace, mirror, tls=None, fallback=False, capabilities=('pull', 'resolve')):
    """hosts.toml text for one registry host namespace (see ``hosts_dict``)."""
    return to_toml(hosts_dict(namespace, mirror, tls=tls, fallback=fallback, capabilities=capabilities),
                   comment='Managed by picocloud.edge: %s is served by %s.' % (namespace, mirror))


def hosts_files(registry):
    """Every certs.d file for the site registry, as a list of ``{namespace, path, content}``.

    ``registry``: ``url`` (the site registry, e.g. https://registry.site:5000), ``namespaces`` (the host
    namespaces it serves, e.g. docker.io and the site's own names; the registry's own host:port is
    always included), ``tls`` (``ca_file``, ``cert_file``, ``key_file``), ``fallback`` (bool) and
    ``certs_dir``. ``path`` is relative to ``certs_dir``: ``<namespace>/hosts.toml``.
    """
    registry = dict(registry or {})
    mirror = _url(registry.get('url'), 'url')
    own = mirror.split('://', 1)[1].split('/', 1)[0]
    namespaces = [own]
    for namespace in registry.get('namespaces') or []:
        namespace = _namespace(namespace, 'namespaces')
        if namespace not in namespaces:
            namespaces.append(namespace)
    return [{'namespace': namespace, 'path': '%s/hosts.toml' % namespace,
             'content': render_hosts(namespace, mirror, tls=registry.get('tls'),
                                     fallback=bool(registry.get('fallback')))}
            for namespace in namespaces]


# Release assets (containerd's GitHub releases, and runc's, which containerd's tarball does not include):
# containerd-<version>-linux-<arch>.tar.gz with a .sha256sum file beside it, runc.<arch> listed in
# runc.sha256sum. containerd publishes amd64 and arm64 builds for Linux ARM, no 32-bit ARM.
RELEASE_ARCHES = {'amd64': 'amd64', 'x86_64': 'amd64', 'arm64': 'arm64', 'aarch64': 'arm64'}
_RELEASE_VERSION_RE = re.compile(r'v?([0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.]+)?)')
_SUM_LINE_RE = re.compile(r'([0-9a-fA-F]{64}) [ *](\S+)')
_SHA_RE = re.compile(r'[0-9a-fA-F]{64}')


def release_assets(version, arch):
    """The release file names for containerd ``version`` on a node of Debian architecture ``arch``.

    Returns ``{arch, tarball, tarball_sums, runc, runc_sums}``; 32-bit ARM and other architectures
    without a containerd release build are refused (use the distribution's package there).
    """
    match = _RELEASE_VERSION_RE.fullmatch(_text(version, 'containerd_version'))
    if not match:
        raise ContainerdError('containerd_version: %r is not a containerd release version such as 1.7.27' % (version,))
    release = RELEASE_ARCHES.get(_text(arch, 'arch').strip().lower())
    if release is None:
        raise ContainerdError('arch: containerd publishes Linux release builds for amd64 and arm64 only, not %r; '
                              'install the distribution package (containerd_install_source: distro)' % (arch,))
    tarball = 'containerd-%s-linux-%s.tar.gz' % (match.group(1), release)
    return {'arch': release, 'version': match.group(1), 'tarball': tarball, 'tarball_sums': tarball + '.sha256sum',
            'runc': 'runc.%s' % release, 'runc_sums': 'runc.sha256sum'}


def verify_sha256(sums_text, name, actual, sums_name='sha256sum file'):
    """The expected sha256 of ``name`` from a sha256sum file, when ``actual`` matches it.

    A missing line, a malformed line and a mismatch are refused; the mismatch names both checksums.
    """
    if not isinstance(sums_text, str):
        raise ContainerdError('%s: expected the text of a sha256sum file' % sums_name)
    expected = None
    for number, line in enumerate(sums_text.splitlines(), 1):
        if not line.strip():
            continue
        match = _SUM_LINE_RE.fullmatch(line.rstrip())
        if not match:
            raise ContainerdError('%s: line %d is not "<sha256>  <file>": %r' % (sums_name, number, line[:120]))
        listed = match.group(2)
        if listed.startswith('./'):
            listed = listed[2:]
        if listed == name:
            expected = match.group(1).lower()
    if expected is None:
        raise ContainerdError('%s has no line for %s; take both files from the same release' % (sums_name, name))
    if not isinstance(actual, str) or not _SHA_RE.fullmatch(actual.strip()):
        raise ContainerdError('%s: %r is not a sha256 checksum' % (name, actual))
    if actual.strip().lower() != expected:
        raise ContainerdError('%s does not match %s: the file has sha256 %s, the list says %s; the file is corrupt or '
                              'from another release. Nothing was installed.'
                              % (name, sums_name, actual.strip().lower(), expected))
    return expected
