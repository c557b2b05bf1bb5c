# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Merging a k3s server's k3s.yaml into an operator's kubeconfig, private to picocloud.edge.

Private to the picocloud.edge collection: no compatibility promise to other collections.

k3s writes /etc/rancher/k3s/k3s.yaml with one cluster, user and context, all named ``default``, and the
server ``https://127.0.0.1:6443`` (docs.k3s.io "Cluster Access"). To use it from the controller the
server address must become a reachable server (or the API VIP) and the names must become the site's, so
that it can sit next to other clusters in ~/.kube/config (kubeconfig format: kubernetes.io "Organizing
Cluster Access Using kubeconfig Files").

k3s-io/k3s-ansible merges by replacing every occurrence of the word ``default`` in the fetched file and
then calling ``kubectl config view --flatten`` over both files, which needs kubectl on the controller
and rewrites the user's file on every run. Here the merge is a pure function: only the three entries
named after the site's context are replaced, every other cluster, user and context is kept as it was,
``current-context`` is kept unless there is none, and a merge that changes nothing returns the
original text byte for byte, so the role reports no change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible.module_utils.common.yaml import HAS_YAML, yaml_load

from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import config as k3s_config

SECTIONS = ('clusters', 'users', 'contexts')
_NAME_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.@:-]{0,252}')
_LOCAL_RE = re.compile(r'https://(?:127\.0\.0\.1|localhost|\[::1\])(?::([0-9]{1,5}))?/?')


def _load(value, field):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dict):
        return copy.deepcopy(value)
    if isinstance(value, str):
        if not HAS_YAML:
            raise K3sError('PyYAML is needed on the controller to read kubeconfig files')
        try:
            # A plain str: libyaml refuses str subclasses (such as the tagged strings of Ansible's lookups).
            data = yaml_load(value.encode('utf-8', 'surrogatepass').decode('utf-8', 'surrogatepass'))
        except Exception as exc:  # pylint: disable=broad-except
            raise K3sError('%s: not a readable kubeconfig (YAML error: %s)' % (field, str(exc).splitlines()[0]))
        if data is None:
            return None
        if not isinstance(data, dict):
            raise K3sError('%s: a kubeconfig is a mapping, got %s' % (field, type(data).__name__))
        return data
    raise K3sError('%s: expected kubeconfig text or a dict, got %s' % (field, type(value).__name__))


def _entries(config, section, field):
    entries = config.get(section)
    if entries is None:
        return []
    if not isinstance(entries, list) or not all(isinstance(entry, dict) and isinstance(entry.get('name'), str)
                                                for entry in entries):
        raise K3sError('%s: %s must be a list of entries that each have a name' % (field, section))
    return entries


def _named(entries, name, section, field):
    for entry in entries:
        if entry['name'] == name:
            return entry
    raise K3sError('%s: no %s entry named %r' % (field, section, name))


def _server(original, server):
    if isinstance(server, str) and server.startswith('https://'):
        return k3s_config.server_url(server, field='server')
    match = _LOCAL_RE.fullmatch(original or '')
    port = int(match.group(1)) if match and match.group(1) else 6443
    return k3s_config.api_url(server, port)


def site_entries(k3s_yaml, context, server):
    """The cluster, user and context entries of k3s.yaml renamed to ``context``, with ``server`` as the API.

    ``server`` is an address (IP or name; the port of k3s.yaml is kept) or a full https:// URL.
    """
    if not isinstance(context, str) or not _NAME_RE.fullmatch(context):
        raise K3sError('context: %r must be a kubeconfig name (letters, digits, . _ @ : -)' % (context,))
    source = _load(k3s_yaml, 'k3s.yaml')
    if source is None:
        raise K3sError('k3s.yaml: empty; fetch /etc/rancher/k3s/k3s.yaml from a server that has started')
    contexts = _entries(source, 'contexts', 'k3s.yaml')
    current = source.get('current-context') or (contexts[0]['name'] if len(contexts) == 1 else None)
    if not current:
        raise K3sError('k3s.yaml: no current-context and not exactly one context')
    ctx = _named(contexts, current, 'context', 'k3s.yaml').get('context') or {}
    cluster = _named(_entries(source, 'clusters', 'k3s.yaml'), ctx.get('cluster'), 'cluster', 'k3s.yaml')
    user = _named(_entries(source, 'users', 'k3s.yaml'), ctx.get('user'), 'user', 'k3s.yaml')
    cluster_data = copy.deepcopy(cluster.get('cluster') or {})
    cluster_data['server'] = _server(cluster_data.get('server'), server)
    context_data = {'cluster': context, 'user': context}
    if ctx.get('namespace'):
        context_data['namespace'] = ctx['namespace']
    return {
        'clusters': {'cluster': cluster_data, 'name': context},
        'users': {'name': context, 'user': copy.deepcopy(user.get('user') or {})},
        'contexts': {'context': context_data, 'name': context},
    }


def merge(existing, k3s_yaml, context, server):
    """``existing`` (text, dict or empty) with the site's entries from ``k3s_yaml`` replaced or added.

    Returns ``{'config': dict, 'changed': bool}``. Entries of other names are untouched and keep their
    order; ``current-context`` is set only when there is none.
    """
    ours = site_entries(k3s_yaml, context, server)
    before = _load(existing, 'existing kubeconfig')
    merged = copy.deepcopy(before) if before is not None else {
        'apiVersion': 'v1', 'kind': 'Config', 'preferences': {},
        'clusters': [], 'users': [], 'contexts': [], 'current-context': ''}
    for section in SECTIONS:
        entries = _entries(merged, section, 'existing kubeconfig')
        kept = []
        for entry in entries:
            if entry['name'] != context:
                kept.append(entry)
            elif ours[section] not in kept:
                kept.append(ours[section])
        if ours[section] not in kept:
            kept.append(ours[section])
        merged[section] = kept
    merged.setdefault('apiVersion', 'v1')
    merged.setdefault('kind', 'Config')
    if not merged.get('current-context'):
        merged['current-context'] = context
    return {'config': merged, 'changed': merged != before}


def render(existing, k3s_yaml, context, server):
    """The merged kubeconfig as text; the original text when nothing changed (see ``merge``)."""
    result = merge(existing, k3s_yaml, context, server)
    if not result['changed'] and isinstance(existing, str):
        return existing
    return k3s_config.to_yaml(result['config'], header=None)


def remove(existing, context):
    """``existing`` without the cluster, user and context named ``context`` (the reset of a site).

    Returns ``{'config': dict or None, 'changed': bool}``. Other entries keep their order; a
    ``current-context`` that named the site becomes empty, as ``kubectl config delete-context`` leaves it.
    """
    if not isinstance(context, str) or not _NAME_RE.fullmatch(context):
        raise K3sError('context: %r must be a kubeconfig name (letters, digits, . _ @ : -)' % (context,))
    before = _load(existing, 'existing kubeconfig')
    if before is None:
        return {'config': None, 'changed': False}
    after = copy.deepcopy(before)
    for section in SECTIONS:
        entries = _entries(after, section, 'existing kubeconfig')
        if any(entry['name'] == context for entry in entries):
            after[section] = [entry for entry in entries if entry['name'] != context]
    if after.get('current-context') == context:
        after['current-context'] = ''
    return {'config': after, 'changed': after != before}


def render_removed(existing, context):
    """The kubeconfig text without the site's entries; the original text when it had none (see ``remove``)."""
    result = remove(existing, context)
    if not result['changed']:
        return existing if isinstance(existing, str) else ''
    return k3s_config.to_yaml(result['config'], header=None)
