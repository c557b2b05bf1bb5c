# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""App definitions of picocloud.edge.workload: validation, the Swarm service, the Kubernetes manifests, the
rollout state and the Consul service of one app.

Private to the picocloud.edge collection. Pure functions on plain data: the role reads the definition file and
the orchestrator's state, these functions decide, and every bad value fails naming its field.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import re

# An app's name names its Swarm service, Kubernetes objects, Consul service and DNS name: a short DNS label.
NAME_RE = re.compile(r'[a-z][a-z0-9-]{0,30}[a-z0-9]|[a-z]')
# <registry host[:port]/>repository[:tag][@digest], as distribution's reference grammar spells it.
IMAGE_RE = re.compile(r'((?P<host>[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:]+\](:[0-9]{1,5})?)/)?'
                      r'(?P<repo>[a-z0-9]+([._-]{1,2}[a-z0-9]+)*(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*)'
                      r'(:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(@sha256:[0-9a-f]{64})?')
ENV_KEY_RE = re.compile(r'[A-Za-z_][A-Za-z0-9_]{0,127}')
SECRET_NAME_RE = re.compile(r'[a-z0-9][a-z0-9_.-]{0,62}')
VOLUME_NAME_RE = re.compile(r'[a-z0-9][a-z0-9_.-]{0,62}')
ABS_PATH_RE = re.compile(r'/[A-Za-z0-9._/@:+-]*')
HTTP_PATH_RE = re.compile(r'/[A-Za-z0-9._~!$&\'()*+,;=:@%/?-]*')
DURATION_RE = re.compile(r'[0-9]{1,6}(ms|s|m|h)')
MEMORY_RE = re.compile(r'(?P<number>[1-9][0-9]{0,6})(?P<unit>[kKmMgG]?)')
LABEL_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]{0,62}')
CONTROL_RE = re.compile(r'[\x00-\x1f\x7f]')
# Debian architecture (the swarm's node label `arch`, pi_facts' debian_arch) -> Kubernetes' kubernetes.io/arch.
K8S_ARCH = {'amd64': 'amd64', 'arm64': 'arm64', 'armhf': 'arm', 'armel': 'arm', 'i386': '386'}
KNOWN_ARCHES = tuple(sorted(K8S_ARCH))
# The prefix of the node labels the k3s role gives each node (picocloud.edge.plugins.module_utils.k3s.config.node_labels)
# and the placement selects: the board, memory_mb and the site's placement labels.
K8S_LABEL_PREFIX = 'picocloud.io/'
# The node label of each node's board (pi_facts' board.type); the swarm's is node.labels.board.
K8S_BOARD_LABEL = K8S_LABEL_PREFIX + 'board'
K8S_APP_LABEL = 'app.kubernetes.io/name'
K8S_MANAGED_LABEL = 'app.kubernetes.io/managed-by'
PUBLISHED_TAG = 'published'
APP_TAG = 'picocloud-app'
CONSUL_SECRETS = ('consul-ca.pem', 'consul-client.pem', 'consul-client-key.pem', 'consul-token')
KEYS = ('name', 'description', 'image', 'command', 'args', 'user', 'replicas', 'ports', 'publish_mode', 'network',
        'env', 'secrets', 'volumes', 'health', 'memory', 'placement', 'publish', 'url', 'owner', 'update', 'consul',
        'read_only')


class WorkloadError(ValueError):
    """An app definition that cannot be deployed as written."""


def _text(value, field, pattern=None, max_length=253, allow_empty=False):
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise WorkloadError('%s must be a string, got %r' % (field, value))
    value = str(value)
    if not value and not allow_empty:
        raise WorkloadError('%s must not be empty' % field)
    if CONTROL_RE.search(value):
        raise WorkloadError('%s must not hold control characters, got %r' % (field, value))
    if len(value) > max_length:
        raise WorkloadError('%s is longer than %d characters: %r' % (field, max_length, value))
    if pattern is not None and value and not pattern.fullmatch(value):
        raise WorkloadError('%s is not valid: %r' % (field, value))
    return value


def _int(value, field, low, high):
    if isinstance(value, bool):
        raise WorkloadError('%s must be a number from %d to %d, got %r' % (field, low, high, value))
    try:
        number = int(str(value), 10)
    except ValueError:
        raise WorkloadError('%s must be a number from %d to %d, got %r' % (field, low, high, value))
    if not low <= number <= high:
        raise WorkloadError('%s must be a number from %d to %d, got %r' % (field, low, high, value))
    return number


def _bool(value, field):
    if not isinstance(value, bool):
        raise WorkloadError('%s must be true or false, got %r' % (field, value))
    return value


def _list(value, field):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise WorkloadError('%s must be a list, got %r' % (field, value))
    return list(value)


def _dict(value, field):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WorkloadError('%s must be a mapping, got %r' % (field, value))
    return value


def _only(mapping, field, allowed):
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        raise WorkloadError('%s: unknown key(s) %s; known: %s' % (field, ', '.join(map(str, unknown)), ', '.join(allowed)))


def _duration(value, field, default):
    return default if value is None else _text(value, field, DURATION_RE, 16)


def image_reference(image, registry=''):
    """The image as nodes pull it: a name without a registry host is served by the site registry (`registry`,
    host:port); a name with a host (a dot, a port or localhost before the first '/') is kept."""
    image = _text(image, 'image', max_length=255)
    match = IMAGE_RE.fullmatch(image)
    if not match:
        raise WorkloadError('image is not an image reference ([host[:port]/]repository[:tag][@digest]): %r' % image)
    host = match.group('host') or ''
    if host and not ('.' in host or ':' in host or host == 'localhost'):
        # "picocloud/static": the first component is part of the repository, not a host.
        host = ''
    if not host:
        if not registry:
            raise WorkloadError('image %r names no registry and the site has none (group `registry`); '
                                'write the registry host into the image' % image)
        image = '%s/%s' % (registry, image)
    if not match.group('tag') and '@' not in image:
        raise WorkloadError('image %r has no tag: pin one (e.g. %s:1.0), so a deploy is repeatable' % (image, image))
    return image


def memory_bytes(value, field='memory'):
    """'64M' -> 67108864 (Docker's units are binary: k, m and g are KiB, MiB and GiB)."""
    match = MEMORY_RE.fullmatch(_text(value, field, max_length=16))
    if not match:
        raise WorkloadError('%s must be a number with an optional unit k, M or G (e.g. 64M), got %r' % (field, value))
    factor = {'': 1, 'k': 1024, 'm': 1024 ** 2, 'g': 1024 ** 3}[match.group('unit').lower()]
    size = int(match.group('number')) * factor
    if size < 4 * 1024 ** 2:
        raise WorkloadError('%s must be at least 4M (Docker refuses less), got %r' % (field, value))
    return size


def _ports(value, network):
    ports, seen = [], set()
    for index, port in enumerate(_list(value, 'ports')):
        field = 'ports[%d]' % index
        port = _dict(port, field)
        _only(port, field, ('target', 'published', 'protocol'))
        target = _int(port.get('target'), field + '.target', 1, 65535)
        published = _int(port.get('published', target), field + '.published', 1, 65535)
        protocol = _text(port.get('protocol', 'tcp'), field + '.protocol')
        if protocol not in ('tcp', 'udp'):
            raise WorkloadError('%s.protocol must be tcp or udp, got %r' % (field, protocol))
        if network == 'host' and published != target:
            raise WorkloadError('%s: with network host the app listens on the host itself, so published (%d) must '
                                'equal target (%d)' % (field, published, target))
        if (published, protocol) in seen:
            raise WorkloadError('%s: port %d/%s is published twice' % (field, published, protocol))
        seen.add((published, protocol))
        ports.append({'target': target, 'published': published, 'protocol': protocol})
    if not ports:
        raise WorkloadError('ports: an app needs at least one port (Consul registers and checks the first)')
    return ports


def _env(value):
    env = {}
    for key, item in sorted(_dict(value, 'env').items()):
        _text(key, 'env key', ENV_KEY_RE)
        if isinstance(item, bool):
            item = 'true' if item else 'false'
        env[key] = _text(item, 'env.%s' % key, max_length=4096, allow_empty=True)
    return env


def _secrets(value):
    secrets, names = [], set()
    for index, secret in enumerate(_list(value, 'secrets')):
        field = 'secrets[%d]' % index
        secret = _dict(secret, field)
        _only(secret, field, ('name', 'src', 'data', 'target', 'uid', 'gid', 'mode'))
        name = _text(secret.get('name'), field + '.name', SECRET_NAME_RE)
        if name in names:
            raise WorkloadError('%s.name: %r is used twice' % (field, name))
        names.add(name)
        if ('src' in secret) == ('data' in secret):
            raise WorkloadError('%s (%s) needs exactly one of src (a file on the controller) and data' % (field, name))
        entry = {
            'name': name,
            'target': _text(secret.get('target', name), field + '.target', re.compile(r'/?[A-Za-z0-9._/-]+'), 255),
            'uid': str(_int(secret.get('uid', 0), field + '.uid', 0, 2 ** 31)),
            'gid': str(_int(secret.get('gid', 0), field + '.gid', 0, 2 ** 31)),
            'mode': _int(secret.get('mode', 0o400), field + '.mode', 0, 0o777),
        }
        if 'src' in secret:
            entry['src'] = _text(secret['src'], field + '.src', max_length=4096)
        else:
            data = secret['data']
            if not isinstance(data, str):
                raise WorkloadError('%s.data must be a string' % field)
            entry['data'] = data
        secrets.append(entry)
    return secrets


def _volumes(value, app_name):
    volumes, targets = [], set()
    for index, volume in enumerate(_list(value, 'volumes')):
        field = 'volumes[%d]' % index
        volume = _dict(volume, field)
        _only(volume, field, ('source', 'target', 'readonly'))
        source = _text(volume.get('source'), field + '.source', max_length=255)
        target = _text(volume.get('target'), field + '.target', ABS_PATH_RE, 255)
        if target in targets:
            raise WorkloadError('%s.target %r is mounted twice' % (field, target))
        targets.add(target)
        if source.startswith('/'):
            if not ABS_PATH_RE.fullmatch(source) or '/../' in source + '/':
                raise WorkloadError('%s.source must be a plain absolute path on the node, got %r' % (field, source))
            kind, name = 'bind', source
        else:
            if not VOLUME_NAME_RE.fullmatch(source):
                raise WorkloadError('%s.source must be a volume name (a-z, 0-9, ., _, -) or an absolute path, got %r'
                                    % (field, source))
            kind, name = 'volume', '%s-%s' % (app_name, source)
        volumes.append({'type': kind, 'source': name, 'target': target,
                        'readonly': _bool(volume.get('readonly', False), field + '.readonly')})
    return volumes


def _health(value, ports):
    health = _dict(value, 'health')
    _only(health, 'health', ('http', 'tcp', 'port', 'interval', 'timeout', 'command'))
    if health.get('http') and health.get('tcp'):
        raise WorkloadError('health: give http (a path) or tcp: true, not both')
    port = _int(health.get('port', ports[0]['target']), 'health.port', 1, 65535)
    matching = [p for p in ports if p['target'] == port and p['protocol'] == 'tcp']
    if not matching:
        raise WorkloadError('health.port %d is not one of the app\'s tcp ports %s' % (port, [p['target'] for p in ports]))
    result = {
        'port': port,
        'published': matching[0]['published'],
        'interval': _duration(health.get('interval'), 'health.interval', '10s'),
        'timeout': _duration(health.get('timeout'), 'health.timeout', '3s'),
    }
    if health.get('http'):
        result['http'] = _text(health['http'], 'health.http', HTTP_PATH_RE, 255)
    else:
        result['tcp'] = True
    if health.get('command') is not None:
        command = [_text(arg, 'health.command', max_length=1024) for arg in _list(health['command'], 'health.command')]
        if not command:
            raise WorkloadError('health.command must not be empty')
        result['command'] = command
    return result


def _placement(value):
    placement = _dict(value, 'placement')
    _only(placement, 'placement', ('arch', 'board', 'labels'))
    arches = [_text(a, 'placement.arch') for a in _list(placement.get('arch'), 'placement.arch')]
    for arch in arches:
        if arch not in K8S_ARCH:
            raise WorkloadError('placement.arch %r is not a Debian architecture (%s)' % (arch, ', '.join(KNOWN_ARCHES)))
    boards = [_text(b, 'placement.board', LABEL_RE) for b in _list(placement.get('board'), 'placement.board')]
    labels = {}
    for key, item in sorted(_dict(placement.get('labels'), 'placement.labels').items()):
        labels[_text(key, 'placement.labels key', LABEL_RE)] = _text(item, 'placement.labels.%s' % key, LABEL_RE)
    return {'arch': sorted(set(arches)), 'board': sorted(set(boards)), 'labels': labels}


def _update(value, publish_mode):
    update = _dict(value, 'update')
    _only(update, 'update', ('parallelism', 'delay', 'order', 'failure_action', 'monitor'))
    # A host-mode port is taken until the old task stops: start-first would find it busy.
    order = _text(update.get('order', 'stop-first' if publish_mode == 'host' else 'start-first'), 'update.order')
    if order not in ('stop-first', 'start-first'):
        raise WorkloadError('update.order must be stop-first or start-first, got %r' % order)
    if order == 'start-first' and publish_mode == 'host':
        raise WorkloadError('update.order start-first cannot work with publish_mode host: the new task would find '
                            'the port taken by the old one')
    action = _text(update.get('failure_action', 'rollback'), 'update.failure_action')
    if action not in ('rollback', 'pause', 'continue'):
        raise WorkloadError('update.failure_action must be rollback, pause or continue, got %r' % action)
    return {
        'parallelism': _int(update.get('parallelism', 1), 'update.parallelism', 0, 100),
        'delay': _duration(update.get('delay'), 'update.delay', '5s'),
        'order': order,
        'failure_action': action,
        'monitor': _duration(update.get('monitor'), 'update.monitor', '15s'),
    }


def normalize(definition, registry='', publish_mode='ingress', publish=None):
    """A validated app with every default filled in, or a WorkloadError naming the bad field.

    `registry` is the site registry's host:port (names without a registry host are pulled from it),
    `publish_mode` the site's default (ingress; the lab's host), `publish` overrides the definition's publish.
    """
    app = _dict(definition, 'the app definition')
    _only(app, 'the app definition', KEYS)
    name = _text(app.get('name'), 'name', NAME_RE, 32)
    network = _text(app.get('network', 'default'), 'network')
    if network not in ('default', 'host'):
        raise WorkloadError('network must be default or host, got %r' % network)
    mode = _text(app.get('publish_mode', publish_mode), 'publish_mode')
    if mode not in ('ingress', 'host'):
        raise WorkloadError('publish_mode must be ingress or host, got %r' % mode)
    if network == 'host':
        mode = 'host'
    ports = _ports(app.get('ports'), network)
    consul = app.get('consul')
    if consul not in (None, 'read'):
        raise WorkloadError('consul must be read (a read-only token and TLS client files for the local agent), got %r'
                            % (consul,))
    if consul and network != 'host':
        raise WorkloadError('consul: read needs network: host (the app reaches its node\'s agent on 127.0.0.1)')
    published = app.get('publish', False) if publish is None else publish
    normalized = {
        'name': name,
        'description': _text(app.get('description', ''), 'description', max_length=200, allow_empty=True),
        'image': image_reference(app.get('image'), registry),
        'command': [_text(a, 'command', max_length=1024) for a in _list(app.get('command'), 'command')],
        'args': [_text(a, 'args', max_length=1024) for a in _list(app.get('args'), 'args')],
        'user': _text(app.get('user', ''), 'user', re.compile(r'[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?'), 64, True),
        'replicas': _int(app.get('replicas', 1), 'replicas', 0, 64),
        'ports': ports,
        'publish_mode': mode,
        'network': network,
        'env': _env(app.get('env')),
        'secrets': _secrets(app.get('secrets')),
        'volumes': _volumes(app.get('volumes'), name),
        'health': _health(app.get('health'), ports),
        'memory': memory_bytes(app['memory']) if app.get('memory') is not None else None,
        'placement': _placement(app.get('placement')),
        'publish': _bool(published, 'publish'),
        'url': _text(app.get('url', ''), 'url', re.compile(r'https?://[^\s<>"]+'), 512, True),
        'owner': _text(app.get('owner', ''), 'owner', max_length=128, allow_empty=True),
        'update': _update(app.get('update'), mode),
        'consul': consul or '',
        'read_only': _bool(app.get('read_only', False), 'read_only'),
    }
    if normalized['consul']:
        taken = set(s['name'] for s in normalized['secrets']) & set(CONSUL_SECRETS)
        if taken:
            raise WorkloadError('secrets: %s are the names of the Consul files of consul: read' % sorted(taken))
    return normalized


def swarm_constraints(placement, site_labels=None, exclude_hosts=()):
    """Swarm placement constraints of an app's placement.

    Swarm ANDs its constraints and has no "in": one allowed value is `==`; several are `!=` for each value the
    site has (`site_labels`, e.g. {'arch': ['amd64', 'arm64', 'armhf']}) that is not allowed. `exclude_hosts`
    (the lab's emulated nodes, which have no container networking) become `node.hostname != ...`.
    """
    site_labels = site_labels or {}
    constraints = []
    for key in ('arch', 'board'):
        allowed = placement.get(key) or []
        if len(allowed) == 1:
            constraints.append('node.labels.%s == %s' % (key, allowed[0]))
        elif allowed:
            for value in sorted(set(site_labels.get(key) or []) - set(allowed)):
                constraints.append('node.labels.%s != %s' % (key, value))
    for key, value in sorted((placement.get('labels') or {}).items()):
        constraints.append('node.labels.%s == %s' % (key, value))
    for host in sorted(set(exclude_hosts)):
        constraints.append('node.hostname != %s' % _text(host, 'excluded host', LABEL_RE))
    return constraints


def eligible_hosts(placement, hosts, exclude_hosts=()):
    """The hosts an app may run on: `hosts` is {host: {'arch': ..., 'board': ..., 'labels': {...}}}."""
    chosen = []
    for host, labels in sorted(hosts.items()):
        if host in exclude_hosts:
            continue
        if placement.get('arch') and labels.get('arch') not in placement['arch']:
            continue
        if placement.get('board') and labels.get('board') not in placement['board']:
            continue
        node_labels = labels.get('labels') or {}
        if any(node_labels.get(key) != value for key, value in (placement.get('labels') or {}).items()):
            continue
        chosen.append(host)
    return chosen


def check_capacity(app, hosts_eligible):
    """Refuse more host-mode replicas than eligible nodes (each node can publish a host port once)."""
    if app['publish_mode'] == 'host' and app['replicas'] > len(hosts_eligible):
        raise WorkloadError('replicas: %d tasks with host-mode ports need %d nodes, but only %d match the placement (%s)'
                            % (app['replicas'], app['replicas'], len(hosts_eligible), ', '.join(hosts_eligible) or 'none'))
    return True


def swarm_service(app, secret_names=None, site_labels=None, exclude_hosts=(), site='', consul_port=8501):
    """The community.docker.docker_swarm_service parameters of an app (without state and connection options).

    `secret_names` maps each secret's name to the Docker secret holding it (docker_secret's rolling name);
    `consul_port` is the agents' HTTPS port (an app with `consul: read` talks to its node's agent).
    """
    secret_names = secret_names or {}
    labels = {'io.picocloud.app': app['name']}
    if site:
        labels['io.picocloud.site'] = site
    params = {
        'name': app['name'],
        'image': app['image'],
        'replicas': app['replicas'],
        'env': dict(app['env']),
        'labels': labels,
        'container_labels': dict(labels),
        'publish': [{'target_port': p['target'], 'published_port': p['published'], 'protocol': p['protocol'],
                     'mode': app['publish_mode']} for p in app['ports']] if app['network'] != 'host' else [],
        'mounts': [{'type': v['type'], 'source': v['source'], 'target': v['target'], 'readonly': v['readonly']}
                   for v in app['volumes']],
        'secrets': [],
        'placement': {'constraints': swarm_constraints(app['placement'], site_labels, exclude_hosts)},
        'update_config': dict(app['update']),
        'rollback_config': {'parallelism': app['update']['parallelism'], 'order': app['update']['order'],
                            'failure_action': 'pause', 'monitor': app['update']['monitor']},
        'restart_config': {'condition': 'any', 'delay': '5s', 'window': '60s'},
        'force_update': False,
        'resolve_image': False,
    }
    if app['read_only']:
        # Docker stores no ReadOnly=false: setting it would look like a change on every run.
        params['read_only'] = True
    if app['publish_mode'] == 'host':
        params['placement']['replicas_max_per_node'] = 1
    if app['network'] == 'host':
        params['networks'] = ['host']
    if app['command']:
        params['command'] = list(app['command'])
    if app['args']:
        params['args'] = list(app['args'])
    if app['user']:
        params['user'] = app['user']
    if app['memory']:
        params['limits'] = {'memory': str(app['memory'])}
    if app['health'].get('command'):
        params['healthcheck'] = {'test': ['CMD'] + app['health']['command'], 'interval': app['health']['interval'],
                                 'timeout': app['health']['timeout'], 'retries': 3}
    for secret in app['secrets'] + consul_secret_mounts(app):
        if secret['name'] not in secret_names:
            raise WorkloadError('secret %r of %s was not created' % (secret['name'], app['name']))
        params['secrets'].append({'secret_name': secret_names[secret['name']], 'filename': secret['target'],
                                  'uid': secret['uid'], 'gid': secret['gid'], 'mode': secret['mode']})
    if app['consul']:
        params['env'].update(consul_env(consul_port))
    return params


def consul_secret_mounts(app, uid=None, gid=None):
    """The four Consul files of `consul: read` (CA, client certificate and key, token), as secrets readable by
    the app's user only."""
    if not app['consul']:
        return []
    user = (app['user'] or '0:0').split(':')
    uid = uid if uid is not None else (user[0] if user[0].isdigit() else '0')
    gid = gid if gid is not None else (user[1] if len(user) > 1 and user[1].isdigit() else uid)
    return [{'name': name, 'target': name, 'uid': str(uid), 'gid': str(gid),
             'mode': 0o444 if name == 'consul-ca.pem' else 0o400} for name in CONSUL_SECRETS]


def consul_env(https_port=8501):
    """The environment that points an app with `consul: read` at its node's agent, in Consul's CLI names."""
    return {
        'CONSUL_HTTP_ADDR': 'https://127.0.0.1:%d' % https_port,
        'CONSUL_CACERT': '/run/secrets/consul-ca.pem',
        'CONSUL_CLIENT_CERT': '/run/secrets/consul-client.pem',
        'CONSUL_CLIENT_KEY': '/run/secrets/consul-client-key.pem',
        'CONSUL_HTTP_TOKEN_FILE': '/run/secrets/consul-token',
    }


def _k8s_quantity(size):
    for unit, factor in (('Gi', 1024 ** 3), ('Mi', 1024 ** 2), ('Ki', 1024)):
        if size % factor == 0:
            return '%d%s' % (size // factor, unit)
    return str(size)


def _k8s_duration_seconds(value):
    match = re.fullmatch(r'([0-9]+)(ms|s|m|h)', value)
    number, unit = int(match.group(1)), match.group(2)
    seconds = {'ms': number / 1000.0, 's': number, 'm': number * 60, 'h': number * 3600}[unit]
    return max(1, int(round(seconds)))


def k8s_manifests(app, namespace='picocloud-apps', secret_data=None, consul_port=8501):
    """The Kubernetes manifests of an app: its Secret (the app's secrets, base64), a PersistentVolumeClaim per named
    volume (k3s's local-path storage), the Deployment and, unless it uses the host network, a Service.

    Publishing follows the swarm's: `ingress` is a LoadBalancer Service (k3s's ServiceLB opens the port on every
    node, as the routing mesh does), `host` is a hostPort on the pod's node. `secret_data` maps each secret's
    name to its content (str).
    """
    secret_data = secret_data or {}
    labels = {K8S_APP_LABEL: app['name'], K8S_MANAGED_LABEL: 'picocloud.edge'}
    selector = {K8S_APP_LABEL: app['name']}
    meta = {'name': app['name'], 'namespace': namespace, 'labels': dict(labels)}
    manifests = []
    mounts, pod_volumes = [], []
    all_secrets = app['secrets'] + consul_secret_mounts(app)
    if all_secrets:
        data = {}
        for secret in all_secrets:
            if secret['name'] not in secret_data:
                raise WorkloadError('secret %r of %s has no data' % (secret['name'], app['name']))
            value = secret_data[secret['name']]
            data[secret['name']] = base64.b64encode(value.encode('utf-8') if isinstance(value, str) else value).decode('ascii')
        manifests.append({'apiVersion': 'v1', 'kind': 'Secret', 'type': 'Opaque',
                          'metadata': dict(meta, name='%s-secrets' % app['name']), 'data': data})
        for index, secret in enumerate(all_secrets):
            volume = 'secret-%d' % index
            target = secret['target'] if secret['target'].startswith('/') else '/run/secrets/' + secret['target']
            pod_volumes.append({'name': volume, 'secret': {'secretName': '%s-secrets' % app['name'],
                                                           'items': [{'key': secret['name'], 'path': 'file',
                                                                      'mode': secret['mode']}]}})
            mounts.append({'name': volume, 'mountPath': target, 'subPath': 'file', 'readOnly': True})
    for index, volume in enumerate(app['volumes']):
        name = 'volume-%d' % index
        if volume['type'] == 'volume':
            manifests.append({'apiVersion': 'v1', 'kind': 'PersistentVolumeClaim',
                              'metadata': dict(meta, name=volume['source']),
                              'spec': {'accessModes': ['ReadWriteOnce'], 'storageClassName': 'local-path',
                                       'resources': {'requests': {'storage': '1Gi'}}}})
            pod_volumes.append({'name': name, 'persistentVolumeClaim': {'claimName': volume['source']}})
        else:
            pod_volumes.append({'name': name, 'hostPath': {'path': volume['source'], 'type': 'DirectoryOrCreate'}})
        mounts.append({'name': name, 'mountPath': volume['target'], 'readOnly': volume['readonly']})
    env = dict(app['env'])
    if app['consul']:
        env.update(consul_env(consul_port))
    container = {
        'name': app['name'],
        'image': app['image'],
        'imagePullPolicy': 'IfNotPresent',
        'ports': [dict({'containerPort': p['target'], 'protocol': p['protocol'].upper()},
                       **({'hostPort': p['published']} if app['publish_mode'] == 'host' and app['network'] != 'host' else {}))
                  for p in app['ports']],
        'env': [{'name': key, 'value': value} for key, value in sorted(env.items())],
        'volumeMounts': mounts,
        'securityContext': {'allowPrivilegeEscalation': False, 'readOnlyRootFilesystem': app['read_only']},
    }
    if app['command']:
        container['command'] = list(app['command'])
    if app['args']:
        container['args'] = list(app['args'])
    if app['memory']:
        container['resources'] = {'limits': {'memory': _k8s_quantity(app['memory'])}}
    probe = {'periodSeconds': _k8s_duration_seconds(app['health']['interval']),
             'timeoutSeconds': _k8s_duration_seconds(app['health']['timeout'])}
    if 'http' in app['health']:
        probe['httpGet'] = {'path': app['health']['http'], 'port': app['health']['port']}
    else:
        probe['tcpSocket'] = {'port': app['health']['port']}
    container['readinessProbe'] = dict(probe)
    container['livenessProbe'] = dict(probe, failureThreshold=6)
    user = app['user'].split(':') if app['user'] else []
    pod_security = {}
    if user and user[0].isdigit():
        pod_security['runAsUser'] = int(user[0])
        if len(user) > 1 and user[1].isdigit():
            pod_security['runAsGroup'] = int(user[1])
            pod_security['fsGroup'] = int(user[1])
    pod = {'containers': [container], 'volumes': pod_volumes}
    if pod_security:
        pod['securityContext'] = pod_security
    if app['network'] == 'host':
        pod['hostNetwork'] = True
        pod['dnsPolicy'] = 'ClusterFirstWithHostNet'
    terms = []
    if app['placement']['arch']:
        terms.append({'key': 'kubernetes.io/arch', 'operator': 'In',
                      'values': sorted(set(K8S_ARCH[a] for a in app['placement']['arch']))})
    if app['placement']['board']:
        terms.append({'key': K8S_BOARD_LABEL, 'operator': 'In', 'values': list(app['placement']['board'])})
    for key, value in sorted(app['placement']['labels'].items()):
        terms.append({'key': K8S_LABEL_PREFIX + key, 'operator': 'In', 'values': [value]})
    if terms:
        pod['affinity'] = {'nodeAffinity': {'requiredDuringSchedulingIgnoredDuringExecution': {
            'nodeSelectorTerms': [{'matchExpressions': terms}]}}}
    if app['publish_mode'] == 'host':
        # A host port is taken until the old pod stops: replace pods one at a time, never surge.
        rolling = {'maxUnavailable': max(1, app['update']['parallelism']), 'maxSurge': 0}
    else:
        rolling = {'maxUnavailable': 0, 'maxSurge': max(1, app['update']['parallelism'])}
    strategy = {'type': 'RollingUpdate', 'rollingUpdate': rolling}
    manifests.append({
        'apiVersion': 'apps/v1', 'kind': 'Deployment', 'metadata': dict(meta),
        'spec': {'replicas': app['replicas'], 'selector': {'matchLabels': selector}, 'strategy': strategy,
                 'template': {'metadata': {'labels': dict(labels)}, 'spec': pod}},
    })
    if app['network'] != 'host':
        service = {'apiVersion': 'v1', 'kind': 'Service', 'metadata': dict(meta),
                   'spec': {'selector': dict(selector),
                            'ports': [{'name': '%s-%d' % (p['protocol'], p['target']), 'port': p['published'],
                                       'targetPort': p['target'], 'protocol': p['protocol'].upper()} for p in app['ports']]}}
        service['spec']['type'] = 'LoadBalancer' if app['publish_mode'] == 'ingress' else 'ClusterIP'
        manifests.append(service)
    return manifests


def swarm_rollout(name, services, tasks, nodes, replicas):
    """Where an app runs and whether its rollout is done, from docker_swarm_info's verbose output (services,
    tasks and nodes as the Docker API returns them).

    Returns {'state': 'converged' | 'updating' | 'failed', 'nodes': [hostnames running a task], 'message'}.
    `failed` is an update the swarm rolled back or paused, or a service that is gone.
    """
    matching = [s for s in services if ((s.get('Spec') or {}).get('Name')) == name]
    if not matching:
        return {'state': 'failed', 'nodes': [], 'message': 'the service %s is not in the swarm' % name}
    service = matching[0]
    hostnames = dict((n.get('ID'), ((n.get('Description') or {}).get('Hostname') or n.get('ID'))) for n in nodes)
    update = service.get('UpdateStatus') or {}
    mine = [t for t in tasks if t.get('ServiceID') == service.get('ID') and t.get('DesiredState') == 'running']
    running = sorted(hostnames.get(t.get('NodeID'), t.get('NodeID') or '?') for t in mine
                     if (t.get('Status') or {}).get('State') == 'running')
    errors = sorted(set('%s: %s' % (hostnames.get(t.get('NodeID'), 'unassigned'), t['Status']['Err'])
                        for t in mine if (t.get('Status') or {}).get('Err')))
    state = update.get('State') or ''
    if state in ('rollback_completed', 'paused', 'rollback_paused'):
        return {'state': 'failed', 'nodes': running,
                'message': 'the update did not roll out (%s): %s' % (state, update.get('Message') or 'no message')}
    if state in ('', 'completed') and len(running) == replicas and len(mine) == replicas:
        return {'state': 'converged', 'nodes': running, 'message': '%d of %d tasks running' % (len(running), replicas)}
    return {'state': 'updating', 'nodes': running,
            'message': '%d of %d tasks running%s%s' % (len(running), replicas, (' (update %s)' % state) if state else '',
                                                       ('; ' + '; '.join(errors)) if errors else '')}


def consul_service(app, address, node_address=None):
    """The consul_services entry that registers one instance of an app on a node (the consul role's app_service):
    the first port, published on this node; tag `published` and meta description/url/owner only when published."""
    node_address = node_address or address
    health = app['health']
    check = {'interval': health['interval'], 'timeout': health['timeout']}
    if 'http' in health:
        check['http'] = 'http://%s:%d%s' % (node_address, health['published'], health['http'])
    else:
        check['tcp'] = '%s:%d' % (node_address, health['published'])
    service = {'name': app['name'], 'port': app['ports'][0]['published'], 'address': address,
               'tags': [APP_TAG], 'meta': {}, 'check': check}
    if app['publish']:
        service['tags'].append(PUBLISHED_TAG)
        meta = {'description': app['description'], 'url': app['url'], 'owner': app['owner']}
        service['meta'] = dict((key, value) for key, value in meta.items() if value)
    return service


STATUS_ORDER = ('passing', 'warning', 'critical')


def _worst(statuses):
    worst = 'passing'
    for status in statuses:
        status = status if status in STATUS_ORDER else 'critical'
        if STATUS_ORDER.index(status) > STATUS_ORDER.index(worst):
            worst = status
    return worst


def published_apps(health, tag=PUBLISHED_TAG):
    """Rows of the published apps for picocloud.edge.verify, from Consul's /v1/health/service/<name>?tag=<tag>
    answers ({name: [entries]}): app, status (the worst of its instances' checks), where (address:port on node),
    url (the meta url when it is http(s), else the first passing instance that serves HTTP: not when its own
    service checks report a type and none is `http`, as for an MQTT broker checked over TCP), owner and
    description."""
    rows = []
    for name in sorted(health):
        entries = [e for e in (health[name] or []) if tag in ((e.get('Service') or {}).get('Tags') or [])]
        if not entries:
            continue
        where, statuses, links, meta = [], [], [], {}
        for entry in sorted(entries, key=lambda e: ((e.get('Node') or {}).get('Node') or '')):
            service = entry.get('Service') or {}
            node = entry.get('Node') or {}
            address = service.get('Address') or node.get('Address') or '?'
            status = _worst(check.get('Status') for check in (entry.get('Checks') or []))
            statuses.append(status)
            where.append('%s:%s on %s' % (address, service.get('Port'), node.get('Node') or '?'))
            types = set(check.get('Type') for check in (entry.get('Checks') or []) if check.get('ServiceID') and check.get('Type'))
            if status == 'passing' and (not types or 'http' in types):
                links.append('http://%s:%s/' % (address, service.get('Port')))
            meta = meta or (service.get('Meta') or {})
        url = meta.get('url') or ''
        if not re.fullmatch(r'https?://[^\s<>"]+', url):
            url = (links + [''])[0]
        rows.append({'app': name, 'status': _worst(statuses), 'instances': len(entries), 'where': ', '.join(where),
                     'url': url or '-', 'owner': meta.get('owner') or '-', 'description': meta.get('description') or '-'})
    return rows
