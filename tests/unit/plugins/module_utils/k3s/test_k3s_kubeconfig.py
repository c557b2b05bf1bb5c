# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Merging a server's k3s.yaml into ~/.kube/config under the site's context name."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import yaml

from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import kubeconfig

# The shape of /etc/rancher/k3s/k3s.yaml as k3s writes it.
K3S_YAML = """apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0EtREFUQQ==
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
"""

# An operator's kubeconfig as kubectl writes it, with another cluster that is current.
EXISTING = """apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: T1RIRVI=
    server: https://office.example:6443
  name: office
contexts:
- context:
    cluster: office
    namespace: billing
    user: office-admin
  name: office
current-context: office
kind: Config
preferences: {}
users:
- name: office-admin
  user:
    token: office-token
"""


def _names(config, section):
    return [entry['name'] for entry in config[section]]


def test_a_first_merge_into_no_kubeconfig_creates_one_with_our_context_current():
    text = kubeconfig.render('', K3S_YAML, 'garage', '192.168.50.10')
    config = yaml.safe_load(text)
    assert config['current-context'] == 'garage'
    assert config['clusters'] == [{'cluster': {'certificate-authority-data': 'Q0EtREFUQQ==',
                                               'server': 'https://192.168.50.10:6443'}, 'name': 'garage'}]
    assert config['users'] == [{'name': 'garage', 'user': {'client-certificate-data': 'Q0VSVA==',
                                                           'client-key-data': 'S0VZ'}}]
    assert config['contexts'] == [{'context': {'cluster': 'garage', 'user': 'garage'}, 'name': 'garage'}]
    assert 'default' not in text


def test_other_contexts_survive_and_the_current_context_is_kept():
    config = yaml.safe_load(kubeconfig.render(EXISTING, K3S_YAML, 'garage', '192.168.50.10'))
    assert _names(config, 'clusters') == ['office', 'garage']
    assert _names(config, 'users') == ['office-admin', 'garage']
    assert _names(config, 'contexts') == ['office', 'garage']
    assert config['current-context'] == 'office'
    assert config['users'][0] == {'name': 'office-admin', 'user': {'token': 'office-token'}}
    assert config['contexts'][0]['context']['namespace'] == 'billing'


def test_a_re_merge_that_changes_nothing_returns_the_same_text():
    once = kubeconfig.render(EXISTING, K3S_YAML, 'garage', '192.168.50.10')
    twice = kubeconfig.render(once, K3S_YAML, 'garage', '192.168.50.10')
    assert twice == once
    assert kubeconfig.merge(once, K3S_YAML, 'garage', '192.168.50.10')['changed'] is False


def test_an_unchanged_kubeconfig_written_by_kubectl_is_returned_byte_for_byte():
    merged = yaml.safe_dump(kubeconfig.merge(EXISTING, K3S_YAML, 'garage', '192.168.50.10')['config'],
                            default_flow_style=False, indent=4)
    assert kubeconfig.render(merged, K3S_YAML, 'garage', '192.168.50.10') == merged


def test_a_new_server_address_replaces_only_our_cluster_entry_in_place():
    once = kubeconfig.render(EXISTING, K3S_YAML, 'garage', '192.168.50.10')
    moved = yaml.safe_load(kubeconfig.render(once, K3S_YAML, 'garage', 'https://k3s.garage.lan:6443'))
    assert _names(moved, 'clusters') == ['office', 'garage']
    assert moved['clusters'][1]['cluster']['server'] == 'https://k3s.garage.lan:6443'
    assert moved['clusters'][0]['cluster']['server'] == 'https://office.example:6443'


def test_stale_duplicates_of_our_entries_are_collapsed_into_one():
    doubled = yaml.safe_load(EXISTING)
    for section, entry in (('clusters', {'name': 'garage', 'cluster': {'server': 'https://old:6443'}}),
                           ('users', {'name': 'garage', 'user': {}}),
                           ('contexts', {'name': 'garage', 'context': {'cluster': 'garage', 'user': 'garage'}})):
        doubled[section] = [entry] + doubled[section] + [entry]
    config = kubeconfig.merge(doubled, K3S_YAML, 'garage', '192.168.50.10')['config']
    assert _names(config, 'clusters') == ['garage', 'office']
    assert config['clusters'][0]['cluster']['server'] == 'https://192.168.50.10:6443'


def test_an_ipv6_server_is_bracketed_and_the_port_of_k3s_yaml_is_kept():
    source = K3S_YAML.replace('127.0.0.1:6443', '127.0.0.1:16443')
    config = kubeconfig.merge(None, source, 'garage', 'fd00::10')['config']
    assert config['clusters'][0]['cluster']['server'] == 'https://[fd00::10]:16443'


def test_an_empty_current_context_is_set_to_ours():
    existing = EXISTING.replace('current-context: office', 'current-context: ""')
    assert kubeconfig.merge(existing, K3S_YAML, 'garage', '192.168.50.10')['config']['current-context'] == 'garage'


@pytest.mark.parametrize('existing, source, context, server, message', [
    (EXISTING, '', 'garage', '10.0.0.1', 'k3s.yaml: empty'),
    (EXISTING, K3S_YAML.replace('current-context: default', 'current-context: other'), 'garage', '10.0.0.1',
     "k3s.yaml: no context entry named 'other'"),
    (EXISTING, K3S_YAML, 'my garage', '10.0.0.1', "context: 'my garage' must be a kubeconfig name"),
    (EXISTING, K3S_YAML, 'garage', 'not an address', "address: 'not an address' is neither an IP address"),
    ('- a list', K3S_YAML, 'garage', '10.0.0.1', 'existing kubeconfig: a kubeconfig is a mapping, got list'),
    ('clusters: [: bad', K3S_YAML, 'garage', '10.0.0.1', 'existing kubeconfig: not a readable kubeconfig'),
    ('clusters: [plain]', K3S_YAML, 'garage', '10.0.0.1', 'clusters must be a list of entries that each have a name'),
])
def test_bad_input_is_refused_and_names_what_is_wrong(existing, source, context, server, message):
    with pytest.raises(K3sError, match=message):
        kubeconfig.render(existing, source, context, server)


def test_a_refused_merge_does_not_echo_credentials():
    with pytest.raises(K3sError) as info:
        kubeconfig.render(EXISTING.replace('clusters:', 'clusters: [oops]\nx:'), K3S_YAML, 'garage', '10.0.0.1')
    assert 'office-token' not in str(info.value)


def test_removing_the_site_keeps_every_other_entry_and_clears_a_current_context_that_named_it():
    merged = kubeconfig.render(EXISTING.replace('current-context: office', 'current-context: ""'), K3S_YAML,
                               'garage', '192.168.50.10')
    assert yaml.safe_load(merged)['current-context'] == 'garage'
    removed = yaml.safe_load(kubeconfig.render_removed(merged, 'garage'))
    assert _names(removed, 'clusters') == ['office']
    assert _names(removed, 'users') == ['office-admin']
    assert _names(removed, 'contexts') == ['office']
    assert removed['current-context'] == ''
    assert removed['users'][0] == {'name': 'office-admin', 'user': {'token': 'office-token'}}


def test_removing_a_site_that_is_not_there_returns_the_text_byte_for_byte():
    assert kubeconfig.render_removed(EXISTING, 'garage') == EXISTING
    assert kubeconfig.remove(EXISTING, 'garage')['changed'] is False
    assert kubeconfig.render_removed('', 'garage') == ''
    assert kubeconfig.remove(None, 'garage') == {'config': None, 'changed': False}


def test_removing_keeps_another_current_context():
    merged = kubeconfig.render(EXISTING, K3S_YAML, 'garage', '192.168.50.10')
    assert yaml.safe_load(kubeconfig.render_removed(merged, 'garage'))['current-context'] == 'office'


@pytest.mark.parametrize('existing, context, message', [
    (EXISTING, 'my garage', "context: 'my garage' must be a kubeconfig name"),
    ('- a list', 'garage', 'existing kubeconfig: a kubeconfig is a mapping, got list'),
    ('users: [plain]', 'garage', 'users must be a list of entries that each have a name'),
])
def test_removing_from_a_bad_kubeconfig_is_refused_and_names_what_is_wrong(existing, context, message):
    with pytest.raises(K3sError, match=message):
        kubeconfig.render_removed(existing, context)


class _TaggedText(str):
    """A str subclass, as Ansible's lookups return their text."""


def test_kubeconfig_text_of_a_str_subclass_is_read_like_plain_text():
    merged = kubeconfig.render('', K3S_YAML, 'garage', '192.168.50.10')
    assert kubeconfig.render(_TaggedText(merged), _TaggedText(K3S_YAML), 'garage', '192.168.50.10') == merged
    assert kubeconfig.remove(_TaggedText(merged), 'garage')['changed'] is True
