# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Groups from roles (the worker/agent rule, absent nodes) and the quorum checks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.inventory import plan
from ansible_collections.picocloud.edge.plugins.module_utils.inventory.sitefile import SiteError, parse_site


def site(orchestrator, nodes):
    return parse_site({'site': 'lab', 'orchestrator': orchestrator, 'nodes': nodes}, 'lab.picocloud.yml')


SWARM = [
    {'name': 'n1', 'roles': ['swarm_manager', 'consul_server', 'registry']},
    {'name': 'n2', 'roles': ['consul_server']},
    {'name': 'n3', 'roles': ['consul_server', 'swarm_worker']},
    {'name': 'n4', 'state': 'absent', 'roles': ['consul_server']},
    {'name': 'n5'},
]


def test_swarm_workers_are_the_other_present_nodes():
    groups = plan.role_groups(site('swarm', SWARM))
    assert groups['picocloud'] == ['n1', 'n2', 'n3', 'n4', 'n5']
    assert groups['swarm_managers'] == ['n1']
    assert groups['swarm_workers'] == ['n2', 'n3', 'n5']
    assert groups['consul_servers'] == ['n1', 'n2', 'n3']
    assert groups['registry'] == ['n1']
    assert groups['k3s_servers'] == groups['k3s_agents'] == groups['unclaimed'] == []


def test_absent_nodes_stay_in_picocloud_but_join_no_role_group():
    groups = plan.role_groups(site('swarm', SWARM))
    assert groups['absent'] == ['n4']
    assert all('n4' not in groups[name] for name in plan.STANDARD_GROUPS if name not in ('picocloud', 'absent'))


def test_k3s_agents_are_the_other_present_nodes():
    groups = plan.role_groups(site('k3s', [{'name': 'a', 'roles': ['k3s_server', 'consul_server']}, {'name': 'b'}]))
    assert (groups['k3s_servers'], groups['k3s_agents'], groups['swarm_workers']) == (['a'], ['b'], [])


def test_every_standard_group_exists_even_empty():
    assert sorted(plan.role_groups(site('swarm', []))) == sorted(plan.STANDARD_GROUPS)


def test_even_consul_servers_warn_and_fail_with_strict():
    parsed = site('swarm', [{'name': 'a', 'roles': ['swarm_manager', 'consul_server']}, {'name': 'b', 'roles': ['consul_server']}])
    groups = plan.role_groups(parsed)
    warnings = plan.check_quorum(parsed, groups, strict=False)
    assert warnings == ['lab.picocloud.yml: roles: consul_servers has 2 present node(s) (a, b); Raft needs an odd '
                        'number (1, 3 or 5) to keep a majority']
    with pytest.raises(SiteError, match=r'consul_servers has 2 .*\(an error because strict is true\)'):
        plan.check_quorum(parsed, groups, strict=True)


def test_no_consul_server_is_the_even_warning_too():
    parsed = site('swarm', [{'name': 'a', 'roles': ['swarm_manager']}])
    assert 'consul_servers has 0 present node(s);' in plan.check_quorum(parsed, plan.role_groups(parsed), False)[0]


def test_even_k3s_servers_warn():
    parsed = site('k3s', [{'name': 'a', 'roles': ['k3s_server', 'consul_server']}, {'name': 'b', 'roles': ['k3s_server']}])
    warnings = plan.check_quorum(parsed, plan.role_groups(parsed), False)
    assert any('k3s_servers has 2 present node(s)' in warning for warning in warnings)


def test_absent_servers_do_not_count_for_quorum():
    parsed = site('swarm', SWARM)
    assert plan.check_quorum(parsed, plan.role_groups(parsed), strict=True) == []


def test_present_nodes_without_a_manager_are_an_error_even_without_strict():
    parsed = site('swarm', [{'name': 'a', 'roles': ['consul_server']}])
    with pytest.raises(SiteError, match='orchestrator swarm needs at least one present node with role swarm_manager'):
        plan.check_quorum(parsed, plan.role_groups(parsed), strict=False)


def test_an_empty_site_has_no_quorum_problem():
    parsed = site('k3s', [])
    assert plan.check_quorum(parsed, plan.role_groups(parsed), strict=True) == []


def test_node_vars_keep_declared_and_discovered_apart():
    parsed = site('swarm', [{'name': 'a', 'roles': ['swarm_manager'], 'board': '5', 'vars': {'x': 1}}])
    declared, discovered = plan.node_vars(parsed['nodes'][0], {'address': '198.18.0.5', 'source': 'mdns',
                                                               'mac': 'd8:3a:dd:00:00:05', 'hostname': 'a'})
    assert declared == {'picocloud_roles': ['swarm_manager'], 'picocloud_state': 'present', 'picocloud_board': '5', 'x': 1}
    assert discovered == {'ansible_host': '198.18.0.5', 'picocloud_address_source': 'mdns',
                          'picocloud_mac': 'd8:3a:dd:00:00:05', 'picocloud_discovered_hostname': 'a'}


def test_pinned_address_wins_over_discovery():
    parsed = site('swarm', [{'name': 'a', 'roles': ['swarm_manager'], 'address': '198.18.0.1'}])
    declared, discovered = plan.node_vars(parsed['nodes'][0], {'address': '198.18.0.1', 'source': 'neighbours',
                                                               'mac': 'dc:a6:32:00:00:01', 'hostname': None})
    assert (declared['ansible_host'], declared['picocloud_address_source']) == ('198.18.0.1', 'pinned')
    assert discovered == {'picocloud_mac': 'dc:a6:32:00:00:01'}


def test_unclaimed_host_name_and_vars():
    pi = {'mac': 'dc:a6:32:00:00:09', 'address': '198.18.0.9', 'hostname': 'raspberrypi', 'source': 'mdns',
          'vendor': 'Raspberry Pi Trading Ltd', 'board_family': 'Pi 4'}
    assert plan.unclaimed_name(pi['mac']) == 'unclaimed-dca632000009'
    assert plan.unclaimed_vars(pi)['picocloud_board_family'] == 'Pi 4'
    assert plan.unclaimed_vars(pi)['ansible_host'] == '198.18.0.9'
