# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Day-2 decisions: the health gate between nodes, the swarm state a backup keeps, and the restore refusals."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils import lifecycle

SWARM = [{'ID': 'id-1', 'Hostname': 'n1', 'Status': 'ready', 'ManagerStatus': 'Leader'},
         {'ID': 'id-2', 'Hostname': 'n2', 'Status': 'ready', 'ManagerStatus': 'reachable'},
         {'ID': 'id-3', 'Hostname': 'n3', 'Status': 'ready', 'ManagerStatus': None}]
MEMBERS = [{'Name': 'n1', 'Status': 1}, {'Name': 'n2', 'Status': 1}, {'Name': 'n3', 'Status': 4}]
SERF = {'CheckID': 'serfHealth', 'Name': 'Serf Health Status', 'Status': 'passing', 'ServiceName': '', 'ServiceTags': []}


def check(service, status, tags=('published',)):
    return {'CheckID': 'service:' + service, 'Name': service + ' http', 'Status': status, 'ServiceName': service,
            'ServiceTags': list(tags)}


def k3s_nodes(ready):
    return {'items': [{'metadata': {'name': 'n2'}, 'status': {'conditions': [{'type': 'Ready', 'status': 'True' if ready else 'False'}]}}]}


def test_a_node_back_in_every_system_passes_the_gate():
    assert lifecycle.health_gate('n2', SWARM, 'id-2', k3s_nodes(True), MEMBERS, [SERF, check('portal', 'passing')]) == []


def test_each_system_says_what_it_still_waits_for():
    swarm = [dict(SWARM[1], Status='down', ManagerStatus='unreachable')]
    reasons = lifecycle.health_gate('n2', swarm, 'id-2', k3s_nodes(False), [{'Name': 'n2', 'Status': 4}],
                                    [dict(SERF, Status='critical'), check('portal', 'critical'), check('cache', 'warning', ())])
    assert reasons == ['swarm: n2 is down, not ready', 'k3s: n2 is NotReady', 'consul: n2 is not alive (status 4)',
                       'consul: the Serf health check of n2 is critical',
                       'consul: published app portal: check portal http is critical']


def test_a_new_node_id_not_listed_yet_and_an_unreachable_manager_hold_the_gate():
    assert lifecycle.health_gate('n2', SWARM, 'id-9') == ['swarm: id-9 is not in the node list']
    swarm = [dict(SWARM[1], ManagerStatus='unreachable')]
    assert lifecycle.health_gate('n2', swarm, 'id-2') == ['swarm: manager n2 is unreachable']


def test_missing_member_and_node_and_checks_are_reasons_and_unpublished_checks_do_not_hold():
    assert lifecycle.health_gate('n4', members=MEMBERS, checks=[check('cache', 'critical', ())], k3s_nodes=k3s_nodes(True)) == [
        'k3s: n4 is not in the cluster', 'consul: n4 is not a member', 'consul: the Serf health check of n4 is missing']


def test_a_system_the_site_does_not_run_is_not_asked():
    assert lifecycle.health_gate('n3', swarm_nodes=SWARM, node_id='id-3') == []


# --- the swarm state a backup keeps ----------------------------------------------------------------------------

SERVICE = {'ID': 'svc1', 'Version': {'Index': 42}, 'CreatedAt': 'x', 'Spec': {'Name': 'web', 'Mode': {'Global': {}}},
           'Endpoint': {'Spec': {}}}
NETWORKS = [{'Name': 'ingress', 'Scope': 'swarm', 'Ingress': True, 'Driver': 'overlay'},
            {'Name': 'bridge', 'Scope': 'local', 'Driver': 'bridge'},
            {'Name': 'apps', 'Id': 'n1', 'Scope': 'swarm', 'Driver': 'overlay', 'Attachable': True,
             'Labels': {'io.picocloud.app': 'web', 'com.docker.stack.namespace': 'x'},
             'IPAM': {'Driver': 'default', 'Config': [{'Subnet': '10.9.0.0/24'}]},
             'Options': {'encrypted': '', 'com.docker.network.driver.overlay.vxlanid_list': '4097'}}]
CONFIG = {'ID': 'c1', 'Spec': {'Name': 'web.conf', 'Labels': {'a': 'b'}, 'Data': base64.b64encode(b'listen 80').decode()}}
SECRET = {'ID': 's1', 'Spec': {'Name': 'web-token', 'Labels': {}}}
NODE = {'ID': 'id-1', 'Description': {'Hostname': 'n1'}, 'Spec': {'Role': 'manager', 'Availability': 'active',
                                                                  'Labels': {'arch': 'amd64'}}}


def test_the_backup_keeps_specs_without_ids_versions_or_secret_values():
    state = lifecycle.swarm_state([SERVICE], NETWORKS, [CONFIG], [SECRET], [NODE])
    assert state['services'] == [{'Name': 'web', 'Mode': {'Global': {}}}]
    assert state['networks'] == [{'Name': 'apps', 'Id': 'n1', 'Driver': 'overlay', 'Attachable': True, 'Internal': False,
                                  'Options': {'encrypted': ''}, 'Labels': {'io.picocloud.app': 'web'},
                                  'IPAM': {'Driver': 'default', 'Config': [{'Subnet': '10.9.0.0/24'}], 'Options': {}},
                                  'CheckDuplicate': True}]
    assert state['configs'] == [{'Name': 'web.conf', 'ID': 'c1', 'Labels': {'a': 'b'}, 'Data': CONFIG['Spec']['Data']}]
    assert state['secrets'] == [{'Name': 'web-token', 'ID': 's1', 'Labels': {}}]
    assert state['nodes'] == [{'Hostname': 'n1', 'Role': 'manager', 'Availability': 'active', 'Labels': {'arch': 'amd64'}}]


def test_restore_creates_only_what_is_missing_networks_and_configs_first():
    backup = lifecycle.swarm_state([SERVICE], NETWORKS, [CONFIG], [SECRET], [NODE])
    plan = lifecycle.swarm_restore_plan(backup, lifecycle.swarm_state([], [], [], [], []))
    assert [n['Name'] for n in plan['networks']] == ['apps']
    assert plan['networks'][0]['ipam_config'] == [{'subnet': '10.9.0.0/24'}]
    assert [c['Name'] for c in plan['configs']] == ['web.conf']
    assert [s['Name'] for s in plan['services']] == ['web']
    assert plan['secrets_missing'] == ['web-token'] and plan['kept'] == []


def test_restore_never_updates_what_exists():
    backup = lifecycle.swarm_state([SERVICE], NETWORKS, [CONFIG], [SECRET], [NODE])
    plan = lifecycle.swarm_restore_plan(backup, backup)
    assert (plan['networks'], plan['configs'], plan['services'], plan['secrets_missing']) == ([], [], [], [])
    assert plan['kept'] == ['network apps', 'config web.conf', 'service web']


def test_a_backup_without_its_lists_or_with_bad_config_data_is_refused():
    with pytest.raises(lifecycle.LifecycleError, match='backup: swarm state without a services list'):
        lifecycle.swarm_restore_plan({'networks': []}, {})
    backup = lifecycle.swarm_state([], [], [CONFIG], [], [])
    backup['configs'][0]['Data'] = 'not base64!'
    with pytest.raises(lifecycle.LifecycleError, match="config 'web.conf': Data is not base64"):
        lifecycle.swarm_restore_plan(backup, {})


# --- the archive's manifest ----------------------------------------------------------------------------------

def test_a_whole_archive_passes():
    files = {'secrets/pki/ca.pem': 'a' * 64, 'consul.snap': 'b' * 64}
    assert lifecycle.backup_manifest_check({'format': 1, 'files': files}, files) == []


def test_changed_missing_extra_and_escaping_files_and_a_newer_format_are_refused():
    manifest = {'format': 2, 'files': {'secrets/a': '1' * 64, 'secrets/b': '2' * 64, '../etc/passwd': '3' * 64}}
    problems = lifecycle.backup_manifest_check(manifest, {'secrets/a': '9' * 64, 'extra': '4' * 64})
    assert problems == [
        'MANIFEST.json: format 2 is not one this collection reads (1..1)',
        "MANIFEST.json: path '../etc/passwd' leaves the archive",
        'secrets/a: sha256 %s, MANIFEST.json says %s' % ('9' * 64, '1' * 64),
        'secrets/b: listed in MANIFEST.json but not in the archive',
        'extra: in the archive but not listed in MANIFEST.json']


def test_a_manifest_that_is_not_a_mapping_or_lists_nothing_is_refused():
    assert lifecycle.backup_manifest_check([], {}) == ['MANIFEST.json: not a mapping']
    assert lifecycle.backup_manifest_check({'format': 1, 'files': {}}, {}) == ['MANIFEST.json: no files listed']


def test_service_references_become_this_swarms_objects_by_name():
    spec = {'Name': 'web', 'TaskTemplate': {'Networks': [{'Target': 'n1', 'Aliases': ['web']}],
                                            'ContainerSpec': {'Image': 'web:1', 'Configs': [
                                                {'ConfigID': 'c1', 'ConfigName': 'web.conf', 'File': {'Name': '/etc/web.conf'}}]}}}
    backup = lifecycle.swarm_state([], NETWORKS, [CONFIG], [], [])
    current = lifecycle.swarm_state([], [], [dict(CONFIG, ID='c-new')], [], [])
    got = lifecycle.service_specs([spec], backup, current)
    assert got['blocked'] == []
    assert got['specs'][0]['TaskTemplate']['Networks'] == [{'Target': 'apps', 'Aliases': ['web']}]
    assert got['specs'][0]['TaskTemplate']['ContainerSpec']['Configs'][0]['ConfigID'] == 'c-new'
    assert spec['TaskTemplate']['ContainerSpec']['Configs'][0]['ConfigID'] == 'c1', 'the backup is not changed'


def test_a_service_whose_secret_is_missing_is_not_created_and_says_why():
    spec = {'Name': 'db', 'TaskTemplate': {'ContainerSpec': {'Secrets': [{'SecretID': 's1', 'SecretName': 'db-pass'}]}}}
    got = lifecycle.service_specs([spec], lifecycle.swarm_state([], [], [], [SECRET], []), lifecycle.swarm_state([], [], [], [], []))
    assert got == {'specs': [], 'blocked': ['service db: secret db-pass is not in the swarm']}
