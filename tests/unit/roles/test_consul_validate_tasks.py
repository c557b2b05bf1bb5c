# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The consul role's validate.yml run by ansible-playbook on localhost: it refuses weakening or unmergeable
consul_config_extra before anything changes, lets consul_config_allow_weaker through with a warning, and warns
about a Consul version below the floor. Only validate.yml runs (no install, no service), each host of the
inventory is localhost with its own variables, and a marker task after it shows which hosts got past it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys

import pytest

PLAYBOOK = '''
- name: The consul role's validation on its own
  hosts: picocloud
  gather_facts: false
  tasks:
    - name: Validate the Consul settings
      ansible.builtin.include_role:
        name: picocloud.edge.consul
        tasks_from: validate.yml
    - name: Mark that validation passed
      ansible.builtin.copy:
        content: "passed\\n"
        dest: "%(out)s/{{ inventory_hostname }}.passed"
        mode: "0600"
'''

HOSTS = {
    # first in play order: validate.yml's version warning runs once, for the first host
    'old': {'consul_version': '1.8.7'},
    'weak': {'consul_config_extra': {'acl': {'default_policy': 'allow'}, 'ports': {'http': 8500}}},
    'allowed': {'consul_config_extra': {'tls': {'https': {'verify_incoming': False}}}, 'consul_config_allow_weaker': True},
    'unmergeable': {'consul_config_extra': {'acl': [{'tokens': {'agent': 'a'}}]}},
    'merged': {'consul_config_extra': {'acl': {'tokens': {'agent': 'a'}}, 'ports': {'grpc': 8502}}},
}


@pytest.fixture(scope='module')
def played(tmp_path_factory, run_local_play):
    tmp_path = tmp_path_factory.mktemp('consul-validate')
    out = tmp_path / 'out'
    out.mkdir()
    inventory = {'all': {
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable, 'picocloud_site': 'unit',
                 'picocloud_secrets_dir': str(tmp_path / 'secrets')},
        'children': {'picocloud': {'hosts': HOSTS}, 'consul_servers': {'hosts': {'merged': {}}}}}}
    log, recap = run_local_play(tmp_path, inventory, PLAYBOOK % {'out': out})
    assert set(recap) == set(HOSTS), log
    return log, recap, {path.name.split('.')[0] for path in out.iterdir()}


def test_weakening_extras_are_refused_naming_each_key_and_value_and_nothing_changes(played):
    log, recap, passed = played
    assert 'weak' not in passed
    assert 'failed=1' in recap['weak'] and 'changed=0' in recap['weak']
    assert "consul_config_extra.acl.default_policy = 'allow' allows what no policy grants" in log
    assert 'consul_config_extra.ports.http = 8500 re-opens the plain HTTP port' in log
    assert 'Nothing was changed. Remove these keys, or set consul_config_allow_weaker: true' in log


def test_unmergeable_extras_are_refused_even_without_weakening(played):
    log, recap, passed = played
    assert 'unmergeable' not in passed
    assert 'failed=1' in recap['unmergeable'] and 'changed=0' in recap['unmergeable']
    assert 'consul_config_extra.acl is a list, but the role renders consul_config_extra.acl as a mapping' in log


def test_consul_config_allow_weaker_passes_with_a_warning_naming_the_key(played):
    log, recap, passed = played
    assert 'allowed' in passed and 'failed=0' in recap['allowed']
    assert ('WARNING: consul_config_allow_weaker is true, so these consul_config_extra settings weaken the agent '
            'configuration: consul_config_extra.tls.https.verify_incoming = False turns TLS verification off') in log


def test_extras_that_keep_the_guarantees_pass(played):
    log, recap, passed = played
    assert 'merged' in passed and 'failed=0' in recap['merged']


def test_a_version_below_the_floor_warns_and_does_not_fail(played):
    log, recap, passed = played
    assert 'old' in passed and 'failed=0' in recap['old']
    assert 'WARNING: consul_version 1.8.7 is below the floor 1.21.0' in log
    assert 'consul_version 1.8.7 carries CVE-2021-37219' in log
