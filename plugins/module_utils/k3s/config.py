# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k3s config.yaml, config.yaml.d drop-ins, registries.yaml and systemd units, private to picocloud.edge.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Sources followed (k3s documentation and k3s's install.sh):
- config.yaml: docs.k3s.io "Configuration Options" (``/etc/rancher/k3s/config.yaml``; drop-ins in
  ``config.yaml.d/*.yaml`` read in alphabetical order; the last value of a key wins, ``key+`` appends)
  and the ``k3s server`` / ``k3s agent`` flag references (every key here is a flag name).
- token: docs.k3s.io "k3s token". The token is never written into config.yaml: only ``token-file``.
  The first server of a cluster starts from the short (secret-only) token, because the cluster CA hash is
  not known before the server has made its CA; joining servers and agents get the secure
  ``K10<CA hash>::server:<secret>`` token that the first server wrote.
- registries.yaml: docs.k3s.io "Private Registry Configuration" (``mirrors.<name>.endpoint`` and
  ``configs.<registry>.tls.{ca_file,cert_file,key_file}``).
- units: ``create_systemd_service_file`` of k3s's install.sh (k3s-io/k3s, install.sh as stored at commit
  0136cf2), with no arguments after ``server``/``agent`` because every flag lives in config.yaml.
  Older install.sh versions had an extra ``ExecStartPre`` that refuses to start when nm-cloud-setup is
  enabled (a RHEL NetworkManager service that Raspberry Pi OS and Debian do not ship); this version does
  not, and neither do we.

Where k3s-io/k3s-ansible differs, and what we chose:
- it writes config.yaml with mode 0644 and puts ``token`` into it; we write 0600 files and only
  ``token-file`` (the file itself 0600), so the secret is in no world-readable file and no command line.
- it runs install.sh on the node to write the unit (so the unit and the env file are rewritten on every
  run); we render the same unit text ourselves, so an unchanged unit is an unchanged file and no restart.
- its agents get ``--server`` on the install.sh command line; ours get ``server`` in config.yaml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible.module_utils.common.yaml import HAS_YAML, yaml_dump

from ansible_collections.picocloud.edge.plugins.module_utils import swarm
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError
from ansible_collections.picocloud.edge.plugins.module_utils.workload import K8S_LABEL_PREFIX

CONFIG_PATH = '/etc/rancher/k3s/config.yaml'
CONFIG_DIR = '/etc/rancher/k3s/config.yaml.d'
REGISTRIES_PATH = '/etc/rancher/k3s/registries.yaml'
TOKEN_FILE = '/etc/rancher/k3s/cluster-token'
KUBECONFIG_MODE = '0600'
BIN_DIR = '/usr/local/bin'
SYSTEMD_DIR = '/etc/systemd/system'
ROLES = ('server', 'agent')
HEADER = 'Managed by picocloud.edge (k3s role); local changes are overwritten.'

# Flags that only a server accepts (k3s server reference); an agent refuses them.
SERVER_ONLY = ('cluster-init', 'tls-san', 'disable', 'write-kubeconfig-mode', 'datastore-endpoint',
               'datastore-cafile', 'datastore-certfile', 'datastore-keyfile', 'cluster-cidr', 'service-cidr',
               'cluster-dns', 'cluster-domain', 'flannel-backend', 'secrets-encryption', 'etcd-expose-metrics',
               'embedded-registry', 'disable-helm-controller', 'disable-network-policy', 'egress-selector-mode',
               'kube-apiserver-arg', 'kube-controller-manager-arg', 'kube-scheduler-arg', 'etcd-arg')
# Secrets that must never be in a config file; k3s reads them from files instead.
SECRET_KEYS = ('token', 't', 'agent-token', 'etcd-s3-secret-key')
# Keys that the renderer owns or whose paths the role hard-codes (/var/lib/rancher/k3s, /etc/rancher/k3s/k3s.yaml,
# /etc/rancher/k3s/registries.yaml): a drop-in or `extra` may not override them. k3s's config file parser turns a
# one-letter key into the short flag, so the short names (k3s server/agent reference: --server, -s; --data-dir, -d;
# --write-kubeconfig, -o) are owned too. node-name is the inventory name the role waits for; datastore-endpoint may
# hold a password, so it comes only from k3s_datastore_endpoint, which the role writes with no log and no diff.
OWNED_KEYS = ('token-file', 'write-kubeconfig-mode', 'server', 's', 'cluster-init', 'data-dir', 'd', 'write-kubeconfig',
              'o', 'private-registry', 'node-name', 'datastore-endpoint')

_CONTROL_RE = re.compile(r'[\x00-\x1f\x7f]')
_FLAG_RE = re.compile(r'[a-z0-9]+(?:-[a-z0-9]+)*\+?')
_HOST_RE = re.compile(r'(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
                      r'(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*')
_NODE_NAME_RE = re.compile(r'[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?')
_ADDON_RE = re.compile(r'[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?')
# A Linux network interface name (the kernel's dev_valid_name: at most 15 bytes, no '/', ':' or white space, not '.'
# or '..'); '@' is left out too, since `ip link` shows a veth's peer as `eth0@if2`, which is no name to pass on.
_IFACE_RE = re.compile(r'(?!\.\.?$)[A-Za-z0-9_.-]{1,15}')
_ARG_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9-]*=[^\x00-\x1f\x7f]*')
_URL_RE = re.compile(r'https://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?/?')
_REGISTRY_RE = re.compile(r'\*|(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)'
                          r'(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?')
_ENDPOINT_RE = re.compile(r'https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?')
_DROPIN_RE = re.compile(r'[0-9]{2}-[a-z0-9][a-z0-9-]*')
# A Kubernetes label name (the part after the prefix) or value (kubernetes.io, "Labels and Selectors").
_LABEL_RE = re.compile(r'[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?')
# A label key: an optional DNS subdomain prefix (at most 253 characters) and '/', then a name as _LABEL_RE.
_LABEL_KEY_RE = re.compile(r'(?:(?=[^/]{1,253}/)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*/)?'
                           + _LABEL_RE.pattern)
_TAINT_EFFECTS = ('NoSchedule', 'PreferNoSchedule', 'NoExecute')
_RUNTIME_RE = re.compile(r'(?:unix://)?/[A-Za-z0-9._/-]+')
_UNIT_RE = re.compile(r'[A-Za-z0-9:_.@-]{1,250}\.(?:service|socket|target|mount|device)')


def _text(value, field):
    if not isinstance(value, str) or not value or _CONTROL_RE.search(value):
        raise K3sError('%s: %r must be a non-empty string without control characters' % (field, value))
    return value


def _path(value, field):
    value = _text(value, field)
    if not value.startswith('/') or '/../' in value + '/':
        raise K3sError('%s: %r must be an absolute path' % (field, value))
    return value


def _list(value, field):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise K3sError('%s: %r must be a list' % (field, value))
    return list(value)


def _ip(value, field):
    try:
        return str(ipaddress.ip_address(_text(value, field)))
    except ValueError:
        raise K3sError('%s: %r is not an IP address' % (field, value))


def interface_name(value, field):
    """A network interface name as the kernel accepts it (eth0, wlan0, eth0.100, br-lan), else K3sError naming
    ``field``."""
    if not isinstance(value, str) or not _IFACE_RE.fullmatch(value):
        raise K3sError('%s: %r is not a network interface name (at most 15 letters, digits, _ . -, as `ip link` names '
                       'it without any @peer, e.g. eth0 or eth0.100)' % (field, value))
    return value


def vip_address(value, field='k3s_vip'):
    """The API VIP: an address a server can claim on its network (ARP), so not unspecified, loopback, multicast,
    link-local or reserved, else K3sError naming ``field``."""
    try:
        address = ipaddress.ip_address(value if isinstance(value, str) else '')
    except ValueError:
        raise K3sError('%s: %r must be an IP address on the servers\' network' % (field, value))
    if (address.is_unspecified or address.is_loopback or address.is_multicast or address.is_link_local
            or address.is_reserved):
        raise K3sError('%s: %r cannot be a VIP: it is not a unicast address that a server can claim on its network'
                       % (field, value))
    return str(address)


def _ips(value, field):
    """node-ip and friends: one address, or a dual-stack pair as a list or comma-separated string."""
    items = value.split(',') if isinstance(value, str) else _list(value, field)
    if not items or len(items) > 2:
        raise K3sError('%s: %r must be one address or an IPv4/IPv6 pair' % (field, value))
    return ','.join(_ip(item, field) for item in items)


def _san(value, field):
    value = _text(value, field)
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        if _HOST_RE.fullmatch(value):
            return value
    raise K3sError('%s: %r is neither an IP address nor a DNS name' % (field, value))


def server_url(value, field='server_url'):
    """A k3s server URL, ``https://<host>:<port>``, as install.sh's verify_k3s_url demands (https only)."""
    value = _text(value, field)
    match = _URL_RE.fullmatch(value)
    if not match:
        raise K3sError('%s: %r must be https://<host>:<port> (k3s joins over https only)' % (field, value))
    host, port = match.group(1), match.group(2)
    if host.startswith('['):
        _ip(host[1:-1], field)
    if port is not None and not 0 < int(port) < 65536:
        raise K3sError('%s: %r has no valid port' % (field, value))
    return value.rstrip('/')


def api_url(address, port=6443):
    """``https://<address>:<port>`` for an IP or a name; IPv6 addresses are bracketed."""
    host = _san(address, 'address')
    if ':' in host:
        host = '[%s]' % host
    return 'https://%s:%d' % (host, int(port))


def _flags(values, field, pattern, describe):
    result = []
    for item in _list(values, field):
        item = _text(item, field)
        if not pattern.fullmatch(item):
            raise K3sError('%s: %r is not %s' % (field, item, describe))
        if item not in result:
            result.append(item)
    return result


def _check_extra(extra, role, field):
    if not isinstance(extra, dict):
        raise K3sError('%s: %r must be a dict of k3s flag names to values' % (field, extra))
    for key, value in extra.items():
        if not isinstance(key, str) or not _FLAG_RE.fullmatch(key):
            raise K3sError('%s: %r is not a k3s flag name (lower-case words joined by -, optionally ending in +)'
                           % (field, key))
        bare = key.rstrip('+')
        if bare in SECRET_KEYS:
            raise K3sError('%s: %r is a secret; k3s gets it from a file (token-file), never from a config file'
                           % (field, key))
        if bare in OWNED_KEYS:
            raise K3sError('%s: %r is set by the role from its own variables; it cannot be overridden here'
                           % (field, key))
        if role == 'agent' and bare in SERVER_ONLY:
            raise K3sError('%s: %r is a server flag; k3s agent refuses it' % (field, key))
        _check_value(value, '%s.%s' % (field, key))
    return dict(extra)


def _check_value(value, field):
    if isinstance(value, bool) or isinstance(value, int):
        return
    if isinstance(value, str):
        if _CONTROL_RE.search(value):
            raise K3sError('%s: %r must not contain control characters' % (field, value))
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            if not isinstance(item, str) or _CONTROL_RE.search(item):
                raise K3sError('%s: %r must be a list of strings without control characters' % (field, value))
        return
    raise K3sError('%s: %r must be a string, a number, a boolean or a list of strings' % (field, value))


def _label_key(key, item, field):
    if not _LABEL_KEY_RE.fullmatch(key):
        raise K3sError('%s: %r has no valid key: %r must be a name of at most 63 letters, digits, - _ . (starting and '
                       'ending with a letter or digit), optionally after a lower-case DNS subdomain of at most 253 '
                       'characters and /' % (field, item, key))


def _label_value(value, item, field):
    if value and not _LABEL_RE.fullmatch(value):
        raise K3sError('%s: %r has no valid value: %r must be empty or at most 63 letters, digits, - _ . (starting '
                       'and ending with a letter or digit)' % (field, item, value))


def node_label(item, field='k3s_node_labels'):
    """One ``node-label`` entry, ``key=value`` with Kubernetes label syntax (kubernetes.io, "Labels and Selectors").

    k3s joins the entries with commas into the kubelet's ``--node-labels``, and the kubelet refuses labels in the
    kubernetes.io and k8s.io namespaces (all but a few, ``node-role.kubernetes.io/*`` since Kubernetes 1.16); such
    a prefix is refused here, whatever the kubelet's exceptions.
    """
    item = _text(item, field)
    key, sep, value = item.partition('=')
    if not sep:
        raise K3sError('%s: %r must be key=value, e.g. zone=rack-a' % (field, item))
    _label_key(key, item, field)
    prefix = key.rpartition('/')[0]
    for namespace in ('kubernetes.io', 'k8s.io'):
        if prefix == namespace or prefix.endswith('.' + namespace):
            raise K3sError('%s: %r is in the %s namespace: the kubelet refuses kubernetes.io and k8s.io labels in '
                           '--node-labels (node-role.kubernetes.io/* since Kubernetes 1.16), so the role refuses '
                           'them; set such a label with kubectl label' % (field, item, namespace))
    _label_value(value, item, field)
    return item


def node_taint(item, field='k3s_node_taints'):
    """One ``node-taint`` entry, ``key[=value]:Effect`` (kubectl taint's syntax; Effect NoSchedule,
    PreferNoSchedule or NoExecute)."""
    item = _text(item, field)
    pair, sep, effect = item.rpartition(':')
    if not sep:
        raise K3sError('%s: %r must be key[=value]:Effect, e.g. dedicated=gpu:NoSchedule' % (field, item))
    if effect not in _TAINT_EFFECTS:
        raise K3sError('%s: %r has effect %r; it must be %s' % (field, item, effect, ', '.join(_TAINT_EFFECTS)))
    key, _sep, value = pair.partition('=')
    _label_key(key, item, field)
    _label_value(value, item, field)
    return item


def config_dict(settings):
    """The config.yaml content of one node as an ordered dict of k3s flag names.

    settings:
      role: server or agent.
      cluster_init: true on the first server of an embedded-etcd cluster (servers only).
      server_url: the server to join (joining servers and every agent), https://<host>:6443.
      token_file: the file holding the token, 0600 (default /etc/rancher/k3s/cluster-token).
      node_name, node_ip, flannel_iface: per-node network identity.
      tls_san: extra names/addresses for the API certificate; vip: the API VIP, added first (servers).
      disable: packaged components to leave out, e.g. traefik, servicelb (servers).
      kubelet_args: kubelet flags as name=value; node_labels and node_taints.
      datastore_endpoint (and datastore_cafile/certfile/keyfile): an external datastore (servers).
      container_runtime_endpoint: an external containerd, e.g. unix:///run/containerd/containerd.sock.
      extra: further k3s flags (no secrets, none of the keys the role owns).
    """
    settings = dict(settings or {})
    role = settings.get('role')
    if role not in ROLES:
        raise K3sError('role: %r must be server or agent' % (role,))
    server = settings.get('server_url')
    init = bool(settings.get('cluster_init'))
    datastore = settings.get('datastore_endpoint')
    config = {}
    if role == 'agent':
        for key in ('cluster_init', 'tls_san', 'vip', 'disable', 'datastore_endpoint'):
            if settings.get(key):
                raise K3sError('%s: %r is a server setting; k3s agent refuses it' % (key, settings[key]))
        if not server:
            raise K3sError('server_url: an agent needs the URL of a server to join (got %r)' % (server,))
    if init and server:
        raise K3sError('cluster_init and server_url: the first server initialises the cluster and joins nobody '
                       '(got cluster_init=true and server_url=%r)' % (server,))
    if init and datastore:
        raise K3sError('cluster_init and datastore_endpoint: cluster-init starts embedded etcd; an external '
                       'datastore needs neither cluster-init nor server_url')
    if datastore and server:
        raise K3sError('datastore_endpoint and server_url: servers on an external datastore do not join through '
                       'another server (got server_url=%r)' % (server,))
    if init:
        config['cluster-init'] = True
    if server:
        config['server'] = server_url(server)
    config['token-file'] = _path(settings.get('token_file') or TOKEN_FILE, 'token_file')
    if settings.get('node_name'):
        name = _text(settings['node_name'], 'node_name')
        if not _NODE_NAME_RE.fullmatch(name):
            raise K3sError('node_name: %r is not a valid Kubernetes node name (lower-case RFC 1123); it is the host\'s '
                           'inventory name, so rename the host there' % (name,))
        config['node-name'] = name
    if settings.get('node_ip'):
        config['node-ip'] = _ips(settings['node_ip'], 'node_ip')
    if role == 'server':
        sans = [_ip(settings['vip'], 'vip')] if settings.get('vip') else []
        for item in _list(settings.get('tls_san'), 'tls_san'):
            san = _san(item, 'tls_san')
            if san not in sans:
                sans.append(san)
        if sans:
            config['tls-san'] = sans
        config['write-kubeconfig-mode'] = KUBECONFIG_MODE
        disable = _flags(settings.get('disable'), 'disable', _ADDON_RE, 'a packaged component name')
        if disable:
            config['disable'] = disable
        if datastore:
            config['datastore-endpoint'] = _text(datastore, 'datastore_endpoint')
            for key in ('datastore_cafile', 'datastore_certfile', 'datastore_keyfile'):
                if settings.get(key):
                    config[key.replace('_', '-')] = _path(settings[key], key)
    if settings.get('flannel_iface'):
        config['flannel-iface'] = interface_name(settings['flannel_iface'], 'k3s_flannel_iface')
    args = _flags(settings.get('kubelet_args'), 'kubelet_args', _ARG_RE, 'a kubelet flag as name=value')
    if args:
        config['kubelet-arg'] = args
    for key, flag, check in (('node_labels', 'node-label', node_label), ('node_taints', 'node-taint', node_taint)):
        values = [check(item) for item in _list(settings.get(key), 'k3s_' + key)]
        if values:
            config[flag] = values
    if settings.get('container_runtime_endpoint'):
        endpoint = _text(settings['container_runtime_endpoint'], 'container_runtime_endpoint')
        if not _RUNTIME_RE.fullmatch(endpoint):
            raise K3sError('container_runtime_endpoint: %r must be a unix socket path or unix:// URL' % (endpoint,))
        config['container-runtime-endpoint'] = endpoint
    config.update(_check_extra(settings.get('extra') or {}, role, 'k3s_%s_config_extra' % role))
    return config


def node_labels(picocloud_facts, labels=None):
    """The ``node-label`` entries of one node: the swarm's labels (``swarm.node_labels``: board and memory_mb from
    pi_facts, then the site's placement labels, which win) as ``picocloud.io/<key>=<value>``, the names the workload
    role's node affinity selects. ``arch`` is left out: k3s sets ``kubernetes.io/arch`` itself. k3s applies node
    labels when the node registers (docs.k3s.io, "node-label"): a label changed later needs ``kubectl label``.
    """
    if labels is not None and not isinstance(labels, dict):
        raise K3sError('labels: %r must be a mapping of label names to values' % (labels,))
    entries = []
    for key, value in swarm.node_labels(picocloud_facts, labels).items():
        if key == 'arch':
            continue
        if not _LABEL_RE.fullmatch(key):
            raise K3sError('labels: %r is not a Kubernetes label name (letters, digits, - _ ., at most 63, '
                           'starting and ending with a letter or digit)' % (key,))
        if not _LABEL_RE.fullmatch(value):
            raise K3sError('labels.%s: %r is not a Kubernetes label value (letters, digits, - _ ., at most 63, '
                           'starting and ending with a letter or digit)' % (key, value))
        entries.append('%s%s=%s' % (K8S_LABEL_PREFIX, key, value))
    return entries


def to_yaml(data, header=HEADER):
    """YAML text in block style, keys in the given order, no line folding (stable, so re-runs match)."""
    if not HAS_YAML:
        raise K3sError('PyYAML is needed on the controller to render k3s files')
    text = yaml_dump(data, default_flow_style=False, sort_keys=False, width=1 << 20, allow_unicode=False)
    return ''.join('# %s\n' % line for line in header.splitlines()) + text if header else text


def render_config(settings):
    """config.yaml text (see ``config_dict``); the file is 0600."""
    return to_yaml(config_dict(settings))


def dropin(name, data, role='server'):
    """One config.yaml.d drop-in: ``{'path': 'config.yaml.d/<name>.yaml', 'content': text}``.

    ``name`` is ``NN-word`` (k3s reads drop-ins in alphabetical order); ``data`` maps k3s flag names to
    values, with ``key+`` to append to a list from an earlier file. Secrets and the keys the role owns
    are refused, as in ``extra``.
    """
    name = _text(name, 'name')
    if not _DROPIN_RE.fullmatch(name):
        raise K3sError('name: %r must be NN-word, e.g. 50-site (k3s reads drop-ins in alphabetical order)' % (name,))
    if role not in ROLES:
        raise K3sError('role: %r must be server or agent' % (role,))
    data = _check_extra(data, role, 'drop-in %s' % name)
    return {'path': 'config.yaml.d/%s.yaml' % name, 'content': to_yaml(data)}


def registries_dict(registry):
    """registries.yaml content: every mirrored name served by the site registry, with its TLS files.

    registry: ``url`` (e.g. https://registry.site:5000), ``namespaces`` (names pulled through it, e.g.
    docker.io and the site's own names; its own host:port is always one), ``tls`` (``ca_file``,
    ``cert_file``, ``key_file``: paths on the node).
    """
    registry = dict(registry or {})
    url = _text(registry.get('url'), 'url').rstrip('/')
    if not _ENDPOINT_RE.fullmatch(url):
        raise K3sError('url: %r must be the http(s) URL of the site registry, e.g. https://registry.site:5000 '
                       '(k3s_registry_host is its host:port)' % (url,))
    own = url.split('://', 1)[1].split('/', 1)[0]
    names = [own]
    for name in _list(registry.get('namespaces'), 'namespaces'):
        name = _text(name, 'namespaces')
        if not _REGISTRY_RE.fullmatch(name):
            raise K3sError('namespaces: %r is not a registry name (host, host:port or *)' % (name,))
        if name not in names:
            names.append(name)
    tls = dict(registry.get('tls') or {})
    if bool(tls.get('cert_file')) != bool(tls.get('key_file')):
        raise K3sError('tls: a client certificate needs both cert_file and key_file (got cert_file=%r, key_file=%r)'
                       % (tls.get('cert_file'), tls.get('key_file')))
    tls_config = {}
    for key in ('ca_file', 'cert_file', 'key_file'):
        if tls.get(key):
            tls_config[key] = _path(tls[key], 'tls.%s' % key)
    content = {'mirrors': dict((name, {'endpoint': [url]}) for name in names)}
    if tls_config:
        content['configs'] = {own: {'tls': tls_config}}
    return content


def render_registries(registry):
    """registries.yaml text (see ``registries_dict``); the file is 0600."""
    return to_yaml(registries_dict(registry))


def unit_name(role):
    """k3s.service for a server, k3s-agent.service for an agent (install.sh's SYSTEM_NAME)."""
    if role not in ROLES:
        raise K3sError('role: %r must be server or agent' % (role,))
    return 'k3s.service' if role == 'server' else 'k3s-agent.service'


def render_unit(role, bin_dir=BIN_DIR, systemd_dir=SYSTEMD_DIR, needs=()):
    """The systemd unit text that k3s's install.sh writes for ``role``, with no arguments after the role.

    ``needs`` lists units that k3s wants and starts after, as docker.service does with containerd.service: an
    external containerd (k3s_container_runtime: external) is ``['containerd.service']``, so that k3s does not start
    before its runtime's socket exists at boot. Wants=, not Requires=: a restart of containerd does not restart k3s.
    """
    name = unit_name(role)
    bin_dir = _path(bin_dir, 'bin_dir').rstrip('/')
    systemd_dir = _path(systemd_dir, 'systemd_dir').rstrip('/')
    if isinstance(needs, (str, bytes)) or not isinstance(needs, (list, tuple)):
        raise K3sError('needs: %r must be a list of systemd unit names' % (needs,))
    ordering = []
    for unit in needs:
        if not isinstance(unit, str) or not _UNIT_RE.fullmatch(unit):
            raise K3sError('needs: %r is not a systemd unit name (such as containerd.service)' % (unit,))
        ordering += ['Wants=%s' % unit, 'After=%s' % unit]
    return '\n'.join([
        '[Unit]',
        'Description=Lightweight Kubernetes',
        'Documentation=https://k3s.io',
        'Wants=network-online.target',
        'After=network-online.target',
    ] + ordering + [
        '',
        '[Install]',
        'WantedBy=multi-user.target',
        '',
        '[Service]',
        'Type=notify',
        'EnvironmentFile=-/etc/default/%N',
        'EnvironmentFile=-/etc/sysconfig/%N',
        'EnvironmentFile=-%s/%s.env' % (systemd_dir, name),
        'KillMode=process',
        'Delegate=yes',
        'User=root',
        '# Having non-zero Limit*s causes performance problems due to accounting overhead',
        '# in the kernel. We recommend using cgroups to do container-local accounting.',
        'LimitNOFILE=1048576',
        'LimitNPROC=infinity',
        'LimitCORE=infinity',
        'TasksMax=infinity',
        'TimeoutStartSec=0',
        'Restart=always',
        'RestartSec=5s',
        'ExecStartPre=-/sbin/modprobe br_netfilter',
        'ExecStartPre=-/sbin/modprobe overlay',
        'ExecStart=%s/k3s \\' % bin_dir,
        '    %s \\' % role,
        '',
        '',
    ])
