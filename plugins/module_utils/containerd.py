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

import math
import posixpath
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
# A registry host namespace: a lower-case host name or IPv4 address with an optional port, or _default. Image
# names spell registry hosts in lower case, and containerd looks the directory up by the name as the image spells it.
_HOST = r'[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*'
_NAMESPACE_RE = re.compile(r'(?:_default|(%s)(?::([0-9]{1,5}))?)' % _HOST)
_URL_RE = re.compile(r'https?://(%s)(?::([0-9]{1,5}))?(?:/[A-Za-z0-9._~/-]*)?' % _HOST)
_BARE_KEY_RE = re.compile(r'[A-Za-z0-9_-]+')
# TOML basic-string escapes (toml.io v1.0.0, "String"); other control characters are written as \uXXXX.
_TOML_ESCAPES = {'\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r', '"': '\\"', '\\': '\\\\'}
_TOML_ESCAPE_RE = re.compile(r'[\x00-\x1f\x7f"\\]')
# The role variable each setting comes from: error messages name it.
FIELDS = {'cgroup_driver': 'containerd_cgroup_driver', 'certs_dir': 'containerd_certs_dir',
          'cni_bin_dir': 'containerd_cni_bin_dir', 'cni_conf_dir': 'containerd_cni_conf_dir',
          'sandbox_image': 'containerd_sandbox_image', 'extra': 'containerd_config_extra',
          'url': 'containerd_registry_host', 'namespaces': 'containerd_registry_namespaces',
          'ca_file': 'containerd_registry_ca_file', 'cert_file': 'containerd_registry_cert_file',
          'key_file': 'containerd_registry_key_file'}


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


def _field(key):
    return FIELDS.get(key, key)


def _text(value, field):
    if not isinstance(value, str) or not value or _CONTROL_RE.search(value):
        raise ContainerdError('%s: %r must be a non-empty string without control characters' % (_field(field), value))
    return value


def _path(value, field):
    value = _text(value, field)
    if not value.startswith('/'):
        raise ContainerdError('%s: %r must be an absolute path' % (_field(field), value))
    # /etc/containerd/certs.d/ and /etc/containerd/certs.d name one directory: one spelling, so paths compare equal
    return posixpath.normpath(value)


def _toml_escape(match):
    char = match.group(0)
    return _TOML_ESCAPES.get(char, '\\u%04X' % ord(char))


def _toml_string(value):
    return '"%s"' % _TOML_ESCAPE_RE.sub(_toml_escape, value)


def _toml_key(key):
    return key if _BARE_KEY_RE.fullmatch(key) else _toml_string(key)


def _toml_float(value):
    if math.isnan(value):
        return 'nan'
    if math.isinf(value):
        return 'inf' if value > 0 else '-inf'
    return repr(value)


def _toml_value(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _toml_float(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return '[%s]' % ', '.join(_toml_value(item) for item in value)
    raise ContainerdError('toml: cannot write %r (%s)' % (value, type(value).__name__))


def _check_data(value, path):
    """Refuse what TOML cannot hold (None, keys that are not strings, other types), naming the dotted path."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key or _CONTROL_RE.search(key):
                raise ContainerdError('%s: the key %r must be a non-empty string without control characters'
                                      % (path, key))
            _check_data(item, '%s.%s' % (path, _toml_key(key)))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                raise ContainerdError('%s[%d]: a table in an array is not supported here; use a table' % (path, index))
            _check_data(item, '%s[%d]' % (path, index))
    elif value is None:
        raise ContainerdError('%s: has no value (None); TOML has no null: give it a value or leave the key out' % path)
    elif not isinstance(value, (bool, int, float, str)):
        raise ContainerdError('%s: %r (%s) cannot be written in TOML' % (path, value, type(value).__name__))


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
        raise ContainerdError('%s: %r must be one of %s' % (_field('cgroup_driver'), driver, ', '.join(CGROUP_DRIVERS)))
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
        raise ContainerdError('%s: %r must be a dict in the config.toml schema' % (_field('extra'), extra))
    _check_data(extra, _field('extra'))
    _refuse_managed(extra, _managed(plugins, schema))
    return _merge(config, extra)


def _managed(plugins, schema):
    """The config.toml keys the role sets (or relies on), each as (path, the role variable that sets it, or None)."""
    cri = ['plugins', 'io.containerd.grpc.v1.cri'] if schema == 2 else ['plugins', 'io.containerd.cri.v1.runtime']
    images = ['plugins', 'io.containerd.grpc.v1.cri'] if schema == 2 else ['plugins', 'io.containerd.cri.v1.images']
    found = [(['version'], None),  # the schema of the installed containerd
             (['grpc', 'address'], None),  # the role and k3s use containerd's default socket
             (cri + ['containerd', 'runtimes', 'runc', 'options', 'SystemdCgroup'], _field('cgroup_driver')),
             (images + ['registry', 'config_path'], _field('certs_dir'))]
    table = plugins[cri[1]]
    for key in ('bin_dir', 'bin_dirs', 'conf_dir'):
        if key in table.get('cni', {}):
            found.append((cri + ['cni', key], _field('cni_conf_dir' if key == 'conf_dir' else 'cni_bin_dir')))
    if schema == 2 and 'sandbox_image' in table:
        found.append((cri + ['sandbox_image'], _field('sandbox_image')))
    if schema == 3 and 'pinned_images' in plugins[images[1]]:
        found.append((images + ['pinned_images', 'sandbox'], _field('sandbox_image')))
    return found


def _dotted(path):
    return '.'.join(_toml_key(key) for key in path)


def _refuse_managed(extra, managed):
    """Refuse an extra that sets a key the role manages, or replaces a table that holds one with a plain value."""
    for path, variable in managed:
        table = extra
        for depth, key in enumerate(path):
            if not isinstance(table, dict) or key not in table:
                break
            if depth == len(path) - 1 or not isinstance(table[key], dict):
                how = ('set %s instead' % variable) if variable else 'it cannot be changed here'
                raise ContainerdError('%s: %s is set by the role (%s): %s'
                                      % (_field('extra'), _dotted(path[:depth + 1]), _dotted(path), how))
            table = table[key]


def render_config(settings, version):
    """config.toml text for containerd ``version`` (see ``config_dict``)."""
    return to_toml(config_dict(settings, version),
                   comment='Managed by picocloud.edge (containerd role); local changes are overwritten.')


def _port(text, field, value):
    if text is not None and not 0 < int(text) < 65536:
        raise ContainerdError('%s: %r has port %s, which is not a TCP port (1-65535)' % (_field(field), value, text))


def _namespace(value, field):
    value = _text(value, field)
    match = _NAMESPACE_RE.fullmatch(value)
    if not match:
        raise ContainerdError('%s: %r is not a registry host namespace (a lower-case host or host:port, as image names '
                              'spell it, or _default)' % (_field(field), value))
    _port(match.group(2), field, value)
    return value


def _url(value, field):
    value = _text(value, field).rstrip('/')
    match = _URL_RE.fullmatch(value)
    if not match:
        raise ContainerdError('%s: %r must be an http(s) URL of a registry with a lower-case host, e.g. '
                              'https://registry.site:5000' % (_field(field), value))
    _port(match.group(2), field, value)
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
        raise ContainerdError('%s and %s: a client certificate needs both (got %r and %r)'
                              % (_field('cert_file'), _field('key_file'), tls.get('cert_file'), tls.get('key_file')))
    if tls.get('cert_file'):
        tls_keys['client'] = [[_path(tls['cert_file'], 'cert_file'), _path(tls['key_file'], 'key_file')]]
    mirror_namespace = mirror.split('://', 1)[1].split('/', 1)[0]
    host = {'capabilities': capabilities}
    host.update(tls_keys)
    if namespace == mirror_namespace or not fallback:
        content = {'server': mirror}
        content.update(tls_keys)
    elif namespace == '_default':
        # no server: each image's own registry host is the upstream (docs/hosts.md, "_default")
        content = {}
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
    ``certs_dir``. ``path`` is relative to ``certs_dir``: ``<namespace>/hosts.toml``; ``dest`` is the whole path,
    spelled as ``find`` reports it (no ``//``, no trailing ``/``), so a stale file is told apart from a current one.
    """
    registry = dict(registry or {})
    certs_dir = _path(registry.get('certs_dir') or DEFAULT_CERTS_DIR, 'certs_dir')
    mirror = _url(registry.get('url'), 'url')
    own = mirror.split('://', 1)[1].split('/', 1)[0]
    namespaces = [own]
    for namespace in registry.get('namespaces') or []:
        namespace = _namespace(namespace, 'namespaces')
        if namespace not in namespaces:
            namespaces.append(namespace)
    return [{'namespace': namespace, 'path': '%s/hosts.toml' % namespace,
             'dest': posixpath.join(certs_dir, namespace, 'hosts.toml'),
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
