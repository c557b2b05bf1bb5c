# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lifecycle filters: thin wrappers over module_utils quorum, swarm, consul_members, k3s.lifecycle and lifecycle,
whose bad input turns into an AnsibleFilterError naming the filter."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.filter import lifecycle as filters
from ansible_collections.picocloud.edge.plugins.filter.swarm import swarm_verify

NODES = [{'ID': 'id-1', 'Hostname': 'n1', 'Status': 'ready', 'ManagerStatus': 'Leader'},
         {'ID': 'id-old', 'Hostname': 'n2', 'Status': 'down', 'ManagerStatus': None},
         {'ID': 'id-2', 'Hostname': 'n2', 'Status': 'ready', 'ManagerStatus': None}]


def test_every_filter_is_registered_with_a_doc_file():
    import os
    names = set(filters.FilterModule().filters())
    assert names == {'swarm_ghosts', 'swarm_departure', 'consul_verify', 'consul_ghosts', 'consul_departure',
                     'k3s_verify_report', 'k3s_ghosts', 'k3s_departure', 'lifecycle_health', 'swarm_backup_state',
                     'swarm_restore_plan', 'swarm_service_specs', 'backup_manifest_check'}
    here = os.path.dirname(filters.__file__)
    assert all(os.path.exists(os.path.join(here, name + '.yml')) for name in names)


def test_swarm_ghosts_and_departure_pass_through():
    assert filters.swarm_ghosts(NODES, {'n1': 'id-1', 'n2': 'id-2'})['remove'] == ['id-old']
    assert filters.swarm_departure(NODES, 'id-1', permanent=True)['ok'] is False


def test_swarm_verify_reports_an_error_as_no_quorum():
    report = swarm_verify([], ['n1'], [], {'n1': None}, error='no leader')
    assert report['problems'] == ['NO QUORUM: no manager could list the swarm (no leader)']


def test_a_node_list_that_is_not_json_names_the_filter():
    with pytest.raises(AnsibleFilterError, match='k3s_ghosts: nodes: not the JSON of kubectl get nodes -o json'):
        filters.k3s_ghosts('{', {})
    with pytest.raises(AnsibleFilterError, match='k3s_verify_report: nodes: expected a List of Node objects'):
        filters.k3s_verify_report({}, {})


def test_input_of_the_wrong_shape_names_the_filter():
    with pytest.raises(AnsibleFilterError, match='consul_verify: the input is not shaped as the API returns it'):
        filters.consul_verify(['not a member'], {}, ['s1'], [])
    with pytest.raises(AnsibleFilterError, match='swarm_restore_plan: backup: swarm state without a services list'):
        filters.swarm_restore_plan({}, {})


def test_the_health_gate_and_the_manifest_check_pass_through():
    assert filters.lifecycle_health('n2', swarm_nodes=NODES, node_id='id-2') == []
    assert filters.lifecycle_health('n2', members=[]) == ['consul: n2 is not a member']
    assert filters.backup_manifest_check({'format': 1, 'files': {'a': 'x'}}, {'a': 'x'}) == []
