# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verifier helper's Run.node_changes: a change on the controller (delegated, also when no_log hid the
delegation) is not a change of the node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'helpers'))

from picocloud_test import Run, task_delegate  # noqa: E402  pylint: disable=wrong-import-position

TASKS = '''---
- name: Plain
  ansible.builtin.command: "true"

- name: In a block
  block:
    - name: Controller, hidden
      ansible.builtin.command: "true"
      delegate_to: localhost
      run_once: true
      no_log: true
'''


def run_of(tasks):
    doc = {'plays': [{'tasks': tasks}], 'stats': {}}
    return Run(['ansible-playbook'], 0, json.dumps(doc, indent=1), '')


def test_a_no_log_controller_task_is_found_by_its_source_and_is_not_a_node_change(tmp_path):
    source = tmp_path / 'main.yml'
    source.write_text(TASKS)
    assert task_delegate('%s:2' % source) is None
    assert task_delegate('%s:7' % source) == 'localhost'
    assert task_delegate('%s:99' % source) is None and task_delegate('no-such-file:1') is None
    hidden = {'_ansible_no_log': True, 'changed': True, 'results': [{'_ansible_no_log': True, 'changed': True}]}
    run = run_of([
        {'task': {'name': 'Plain', 'path': '%s:2' % source}, 'hosts': {'n1': {'changed': True}}},
        {'task': {'name': 'Controller, hidden', 'path': '%s:7' % source}, 'hosts': {'n1': hidden}},
        {'task': {'name': 'Delegated', 'path': ''},
         'hosts': {'n1': {'changed': True, '_ansible_delegated_vars': {'ansible_host': 'localhost'}}}},
        {'task': {'name': 'Elsewhere', 'path': ''},
         'hosts': {'n1': {'changed': True, '_ansible_delegated_vars': {'ansible_host': '10.0.0.2'}}}},
    ])
    assert run.node_changes('n1') == ['Plain', 'Elsewhere']
    assert run.node_changes('n2') == []
