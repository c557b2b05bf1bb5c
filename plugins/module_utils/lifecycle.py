# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Day-2 decisions: the health gate between nodes (reboot, upgrade), and the swarm state a backup keeps.

Private to the picocloud.edge collection. Pure functions over what the playbooks read from the swarm
(docker_swarm_info), Consul (/v1/agent/members, /v1/health/node/<name>) and the k3s API (kubectl get nodes
-o json), so every gate decision and every backup selection has a unit test.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import re

from ansible_collections.picocloud.edge.plugins.module_utils.k3s import lifecycle as k3s_lifecycle

# The tag picocloud.edge.workload gives the Consul services of published apps.
PUBLISHED_TAG = 'published'
# The backup's own format version (restore refuses a newer one).
BACKUP_FORMAT = 1
# Labels Docker sets on its own networks and objects; not part of a spec to restore.
_DOCKER_LABEL = re.compile(r'^com\.docker\.')


class LifecycleError(ValueError):
    """Input a day-2 decision cannot use; the message names the field and the value."""


def health_gate(name, swarm_nodes=None, node_id='', k3s_nodes=None, members=None, checks=None):
    """Why the node `name` is not back in service yet; an empty list when it is.

    Each source is checked when given (None: the site does not run it): `swarm_nodes` (docker_swarm_info
    nodes) must list `node_id` as ready; `k3s_nodes` (kubectl get nodes -o json) must have `name` Ready;
    `members` (/v1/agent/members) must show `name` alive; `checks` (/v1/health/node/<name>) must have Serf's
    health check and every check of a service tagged `published` (the node's published apps) passing.
    """
    reasons = []
    if swarm_nodes is not None:
        entry = [n for n in swarm_nodes if n.get('ID') == node_id] if node_id else []
        if not entry:
            reasons.append('swarm: %s is not in the node list' % (node_id[:12] or name))
        elif entry[0].get('Status') != 'ready':
            reasons.append('swarm: %s is %s, not ready' % (name, entry[0].get('Status', 'unknown')))
        elif entry[0].get('ManagerStatus') and entry[0].get('ManagerStatus') not in ('Leader', 'reachable', 'Reachable'):
            reasons.append('swarm: manager %s is %s' % (name, entry[0].get('ManagerStatus')))
    if k3s_nodes is not None:
        node = k3s_lifecycle.nodes_of(k3s_nodes).get(name)
        if node is None:
            reasons.append('k3s: %s is not in the cluster' % name)
        elif not node['ready']:
            reasons.append('k3s: %s is NotReady' % name)
    if members is not None:
        member = [m for m in members if m.get('Name') == name]
        if not member:
            reasons.append('consul: %s is not a member' % name)
        elif member[0].get('Status') != 1:
            reasons.append('consul: %s is not alive (status %s)' % (name, member[0].get('Status')))
    if checks is not None:
        serf = [c for c in checks if c.get('CheckID') == 'serfHealth']
        if not serf or serf[0].get('Status') != 'passing':
            reasons.append('consul: the Serf health check of %s is %s' % (name, serf[0].get('Status') if serf else 'missing'))
        for check in checks:
            if PUBLISHED_TAG in (check.get('ServiceTags') or []) and check.get('Status') != 'passing':
                reasons.append('consul: published app %s: check %s is %s'
                               % (check.get('ServiceName', '?'), check.get('Name', check.get('CheckID', '?')),
                                  check.get('Status', '?')))
    return reasons


def _labels(labels):
    return dict((k, v) for k, v in (labels or {}).items() if not _DOCKER_LABEL.match(k))


def swarm_state(services, networks, configs, secrets, nodes):
    """The swarm state a backup keeps: what an operator can re-create on a rebuilt swarm.

    Arguments are `docker ... inspect` objects (Docker Engine API). Kept: each service's Spec; each
    swarm-scoped network an operator made (not ingress, not Docker's own), as the fields POST /networks/create
    takes; each config's Spec with its data; each secret's name and labels only (Docker never gives a secret's
    value back, so the backup cannot hold it); each node's role, availability and labels by hostname. The IDs of
    networks, configs and secrets are kept only to turn the services' references into names on restore; versions,
    times, task state and the raft log belong to the old cluster and are left out.
    """
    kept_networks = []
    for net in networks or []:
        if net.get('Scope') != 'swarm' or net.get('Ingress') or net.get('Name') in ('ingress', 'docker_gwbridge'):
            continue
        ipam = net.get('IPAM') or {}
        kept_networks.append({
            'Name': net.get('Name'), 'Id': net.get('Id', ''), 'Driver': net.get('Driver', 'overlay'), 'Attachable': bool(net.get('Attachable')),
            'Internal': bool(net.get('Internal')), 'Labels': _labels(net.get('Labels')),
            # the VXLAN IDs are the old swarm's allocation; a new swarm allocates its own
            'Options': dict((k, v) for k, v in (net.get('Options') or {}).items() if not k.endswith('.vxlanid_list')),
            'IPAM': {'Driver': ipam.get('Driver', 'default'), 'Config': ipam.get('Config') or [],
                     'Options': ipam.get('Options') or {}},
            'CheckDuplicate': True})
    return {
        'services': sorted(((s.get('Spec') or {}) for s in services or []), key=lambda spec: spec.get('Name', '')),
        'networks': sorted(kept_networks, key=lambda n: n['Name']),
        'configs': sorted(({'Name': (c.get('Spec') or {}).get('Name'), 'ID': c.get('ID', ''),
                            'Labels': (c.get('Spec') or {}).get('Labels') or {},
                            'Data': (c.get('Spec') or {}).get('Data', '')} for c in configs or []), key=lambda c: c['Name']),
        'secrets': sorted(({'Name': (s.get('Spec') or {}).get('Name'), 'ID': s.get('ID', ''),
                            'Labels': (s.get('Spec') or {}).get('Labels') or {}}
                           for s in secrets or []), key=lambda s: s['Name']),
        'nodes': sorted(({'Hostname': (n.get('Description') or {}).get('Hostname'), 'Role': (n.get('Spec') or {}).get('Role'),
                          'Availability': (n.get('Spec') or {}).get('Availability'),
                          'Labels': (n.get('Spec') or {}).get('Labels') or {}} for n in nodes or []),
                        key=lambda n: n['Hostname'] or ''),
    }


_IPAM_KEYS = (('Subnet', 'subnet'), ('Gateway', 'gateway'), ('IPRange', 'iprange'), ('AuxiliaryAddresses', 'aux_addresses'))


def _ipam_config(network):
    """A network's IPAM pools as community.docker.docker_network's ipam_config takes them."""
    pools = []
    for pool in ((network.get('IPAM') or {}).get('Config') or []):
        pools.append(dict((ours, pool[theirs]) for theirs, ours in _IPAM_KEYS if pool.get(theirs)))
    return pools


def swarm_restore_plan(backup, current):
    """What to create on a swarm from a backup's swarm state: objects missing by name, never an update.

    `backup`: swarm_state() of the old swarm; `current`: swarm_state() of the swarm now. Networks and configs
    come before the services that use them; each network carries `ipam_config` as community.docker.docker_network takes
    it. A service, network or config that exists already is left as it is
    (listed in 'kept'); a secret that is missing cannot be restored (listed in 'secrets_missing': re-run the
    role or app that made it). Returns {'networks', 'configs', 'services', 'kept', 'secrets_missing'}.
    """
    for key in ('services', 'networks', 'configs', 'secrets'):
        if not isinstance((backup or {}).get(key), list):
            raise LifecycleError('backup: swarm state without a %s list' % key)
    have = dict((key, set(item.get('Name') for item in (current or {}).get(key) or [])) for key in
                ('services', 'networks', 'configs', 'secrets'))
    plan = {'kept': [], 'secrets_missing': []}
    for key in ('networks', 'configs', 'services'):
        plan[key] = [item for item in backup[key] if item.get('Name') not in have[key]]
        plan['kept'] += ['%s %s' % (key[:-1], item.get('Name')) for item in backup[key] if item.get('Name') in have[key]]
    plan['networks'] = [dict(net, ipam_config=_ipam_config(net)) for net in plan['networks']]
    plan['secrets_missing'] = [s['Name'] for s in backup['secrets'] if s.get('Name') not in have['secrets']]
    for config in plan['configs']:
        try:
            base64.b64decode(config.get('Data') or '', validate=True)
        except (ValueError, TypeError):
            raise LifecycleError('backup: config %r: Data is not base64' % config.get('Name'))
    return plan


def backup_manifest_check(manifest, files):
    """Refusals of a backup archive before anything is restored: its format, and each file's sha256.

    `manifest`: the archive's MANIFEST.json as data; `files`: {path in the archive: sha256 of what was
    unpacked}. Returns the list of problems (empty: the archive is whole).
    """
    problems = []
    if not isinstance(manifest, dict):
        return ['MANIFEST.json: not a mapping']
    version = manifest.get('format')
    if not isinstance(version, int) or version < 1 or version > BACKUP_FORMAT:
        problems.append('MANIFEST.json: format %r is not one this collection reads (1..%d)' % (version, BACKUP_FORMAT))
    listed = manifest.get('files')
    if not isinstance(listed, dict) or not listed:
        return problems + ['MANIFEST.json: no files listed']
    for path, digest in sorted(listed.items()):
        if path.startswith('/') or '..' in path.split('/'):
            problems.append('MANIFEST.json: path %r leaves the archive' % path)
        elif path not in files:
            problems.append('%s: listed in MANIFEST.json but not in the archive' % path)
        elif files[path] != digest:
            problems.append('%s: sha256 %s, MANIFEST.json says %s' % (path, files[path], digest))
    for path in sorted(set(files) - set(listed)):
        problems.append('%s: in the archive but not listed in MANIFEST.json' % path)
    return problems


def _renamed(refs, key_id, key_name, current_ids, kind, service, blocked):
    out = []
    for ref in refs or []:
        name = ref.get(key_name)
        if name not in current_ids:
            blocked.append('service %s: %s %s is not in the swarm' % (service, kind, name))
            continue
        out.append(dict(ref, **{key_id: current_ids[name]}))
    return out


def service_specs(services, backup, current):
    """The backup's service specs with their references turned to this swarm's objects.

    A spec names its networks by the old swarm's network IDs and its configs and secrets by the old IDs (with
    their names); `backup` and `current` are swarm_state() of the old and the current swarm (IDs included).
    Networks become names (Docker accepts a name as a network target), configs and secrets get the current ID
    of the same name. A service whose config or secret does not exist (a secret is never in a backup) is not
    created: it is listed in 'blocked' with the reason. Returns {'specs', 'blocked'}.
    """
    old_networks = dict((n.get('Id'), n.get('Name')) for n in (backup or {}).get('networks') or [] if n.get('Id'))
    configs = dict((c.get('Name'), c.get('ID')) for c in (current or {}).get('configs') or [])
    secrets = dict((c.get('Name'), c.get('ID')) for c in (current or {}).get('secrets') or [])
    specs, blocked = [], []
    for spec in services:
        spec = json_copy(spec)
        name = spec.get('Name', '?')
        before = len(blocked)
        template = spec.setdefault('TaskTemplate', {})
        for holder in (template, spec):
            if holder.get('Networks'):
                holder['Networks'] = [dict(net, Target=old_networks.get(net.get('Target'), net.get('Target')))
                                      for net in holder['Networks']]
        container = template.get('ContainerSpec') or {}
        if container.get('Configs'):
            container['Configs'] = _renamed(container['Configs'], 'ConfigID', 'ConfigName', configs, 'config', name, blocked)
        if container.get('Secrets'):
            container['Secrets'] = _renamed(container['Secrets'], 'SecretID', 'SecretName', secrets, 'secret', name, blocked)
        if len(blocked) == before:
            specs.append(spec)
    return {'specs': specs, 'blocked': blocked}


def json_copy(data):
    """A deep copy of JSON data (specs are plain dicts and lists)."""
    if isinstance(data, dict):
        return dict((k, json_copy(v)) for k, v in data.items())
    if isinstance(data, list):
        return [json_copy(v) for v in data]
    return data
