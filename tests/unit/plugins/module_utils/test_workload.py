# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""App definitions of picocloud.edge.workload: validation, the Swarm service, the Kubernetes manifests (validated
offline against the Kubernetes schemas), the rollout state and the Consul service."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import glob
import os

import kubernetes_validate
import pytest
import yaml

from ansible_collections.picocloud.edge.plugins.module_utils import workload
from ansible_collections.picocloud.edge.plugins.module_utils.workload import WorkloadError

ROOT = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')
CATALOGUE = sorted(glob.glob(os.path.join(ROOT, 'catalog', 'apps', '*.yml')))
REGISTRY = '10.0.0.11:5000'
# Kubernetes versions a k3s site may run; kubernetes-validate ships their schemas.
K8S_VERSIONS = ('1.30.0', '1.33.0', '1.37.0')
SITE_LABELS = {'arch': ['amd64', 'arm64', 'armhf'], 'board': ['none', 'pi4', 'pi5', 'pizero2w']}

APP = {
    'name': 'web',
    'description': 'A web app',
    'image': 'me/web:1.2',
    'replicas': 2,
    'ports': [{'target': 8080, 'published': 8088}],
    'env': {'MODE': 'prod', 'DEBUG': False, 'WORKERS': 2},
    'secrets': [{'name': 'api-key', 'data': 's3cret\n', 'target': '/etc/web/api-key', 'uid': 1000, 'mode': 0o400}],
    'volumes': [{'source': 'data', 'target': '/data'}, {'source': '/srv/www', 'target': '/www', 'readonly': True}],
    'health': {'http': '/health', 'interval': '5s'},
    'memory': '64M',
    'placement': {'arch': ['amd64', 'arm64'], 'board': ['pi4'], 'labels': {'zone': 'rack-a'}},
    'publish': True,
    'url': 'https://web.site.example/',
    'owner': 'ops',
    'user': '1000:1000',
}


def app(**changes):
    definition = copy.deepcopy(APP)
    for key, value in changes.items():
        if value is None:
            definition.pop(key, None)
        else:
            definition[key] = value
    return workload.normalize(definition, REGISTRY, 'ingress')


def catalogue_app(path, **kwargs):
    with open(path) as handle:
        return workload.normalize(yaml.safe_load(handle), REGISTRY, kwargs.get('mode', 'host'))


# --- validation ----------------------------------------------------------------------------------------------


def test_a_full_definition_is_normalized_with_every_default_filled_in():
    result = app()
    assert result['image'] == '10.0.0.11:5000/me/web:1.2'
    assert result['env'] == {'DEBUG': 'false', 'MODE': 'prod', 'WORKERS': '2'}
    assert result['ports'] == [{'target': 8080, 'published': 8088, 'protocol': 'tcp'}]
    assert result['memory'] == 64 * 1024 ** 2
    assert result['volumes'] == [{'type': 'volume', 'source': 'web-data', 'target': '/data', 'readonly': False},
                                 {'type': 'bind', 'source': '/srv/www', 'target': '/www', 'readonly': True}]
    assert result['health'] == {'port': 8080, 'published': 8088, 'interval': '5s', 'timeout': '3s', 'http': '/health'}
    assert result['update'] == {'parallelism': 1, 'delay': '5s', 'order': 'start-first', 'failure_action': 'rollback',
                                'monitor': '15s'}
    assert result['publish_mode'] == 'ingress' and result['network'] == 'default'


def test_an_image_with_a_registry_host_is_kept_and_one_without_goes_to_the_site_registry():
    assert app(image='registry.example:5000/me/web:1.2')['image'] == 'registry.example:5000/me/web:1.2'
    assert app(image='localhost/me/web:1')['image'] == 'localhost/me/web:1'
    assert app(image='picocloud/static:1.0')['image'] == '10.0.0.11:5000/picocloud/static:1.0'


@pytest.mark.parametrize('image, message', [
    ('me/web', 'has no tag'),
    ('Me/Web:1', 'not an image reference'),
    ('me/web:1; rm -rf /', 'not an image reference'),
    ('me/web:1\n', 'control characters'),
])
def test_a_bad_image_is_refused_naming_the_field(image, message):
    with pytest.raises(WorkloadError, match=message):
        app(image=image)


def test_an_image_without_a_registry_host_is_refused_on_a_site_without_a_registry():
    definition = dict(APP)
    with pytest.raises(WorkloadError, match='names no registry and the site has none'):
        workload.normalize(definition, '', 'ingress')


@pytest.mark.parametrize('changes, message', [
    ({'name': 'Web'}, 'name is not valid'),
    ({'name': 'web_app'}, 'name is not valid'),
    ({'name': 'a' * 40}, 'name is longer than 32'),
    ({'colour': 'blue'}, "unknown key\\(s\\) colour"),
    ({'replicas': -1}, 'replicas must be a number from 0 to 64'),
    ({'replicas': True}, 'replicas must be a number'),
    ({'ports': []}, 'at least one port'),
    ({'ports': [{'target': 70000}]}, r'ports\[0\].target must be a number from 1 to 65535'),
    ({'ports': [{'target': 80, 'protocol': 'sctp'}]}, r'ports\[0\].protocol must be tcp or udp'),
    ({'ports': [{'target': 80}, {'target': 81, 'published': 80}]}, 'port 80/tcp is published twice'),
    ({'env': {'1BAD': 'x'}}, 'env key is not valid'),
    ({'env': {'OK': 'a\x00b'}}, 'env.OK must not hold control characters'),
    ({'secrets': [{'name': 'k'}]}, 'needs exactly one of src'),
    ({'secrets': [{'name': 'k', 'data': 'x'}, {'name': 'k', 'data': 'y'}]}, "'k' is used twice"),
    ({'volumes': [{'source': '/srv/../etc', 'target': '/x'}]}, 'plain absolute path'),
    ({'volumes': [{'source': 'Data!', 'target': '/x'}]}, 'must be a volume name'),
    ({'volumes': [{'source': 'a', 'target': 'relative'}]}, r'volumes\[0\].target is not valid'),
    ({'health': {'http': '/h', 'tcp': True}}, 'not both'),
    ({'health': {'port': 9999}}, 'health.port 9999 is not one of'),
    ({'health': {'interval': '5 minutes'}}, 'health.interval is not valid'),
    ({'memory': '2M'}, 'at least 4M'),
    ({'memory': '64MB'}, 'memory must be a number with an optional unit'),
    ({'placement': {'arch': ['sparc']}}, "placement.arch 'sparc' is not a Debian architecture"),
    ({'publish': 'yes'}, 'publish must be true or false'),
    ({'url': 'javascript:alert(1)'}, 'url is not valid'),
    ({'consul': 'write'}, 'consul must be read'),
    ({'consul': 'read'}, 'consul: read needs network: host'),
    ({'update': {'order': 'sideways'}}, 'update.order must be'),
])
def test_a_bad_definition_is_refused_naming_the_field_and_value(changes, message):
    with pytest.raises(WorkloadError, match=message):
        app(**changes)


def test_the_input_definition_is_not_changed_by_a_refusal_or_a_success():
    definition = copy.deepcopy(APP)
    before = copy.deepcopy(definition)
    workload.normalize(definition, REGISTRY)
    with pytest.raises(WorkloadError):
        workload.normalize(dict(definition, replicas=99), REGISTRY)
    assert definition == before


def test_host_network_needs_published_equal_to_target_and_forces_host_publishing():
    result = app(network='host', ports=[{'target': 8090}], secrets=None)
    assert result['publish_mode'] == 'host'
    with pytest.raises(WorkloadError, match='published \\(8091\\) must equal target \\(8090\\)'):
        app(network='host', ports=[{'target': 8090, 'published': 8091}])


def test_host_publishing_rolls_stop_first_and_refuses_start_first():
    definition = dict(APP, publish_mode='host')
    assert workload.normalize(definition, REGISTRY)['update']['order'] == 'stop-first'
    with pytest.raises(WorkloadError, match='start-first cannot work with publish_mode host'):
        workload.normalize(dict(definition, update={'order': 'start-first'}), REGISTRY)


def test_the_publish_override_wins_over_the_definition():
    assert workload.normalize(APP, REGISTRY, publish=False)['publish'] is False
    assert workload.normalize(dict(APP, publish=False), REGISTRY, publish=True)['publish'] is True


# --- placement -------------------------------------------------------------------------------------------------


def test_one_allowed_value_is_an_equality_and_several_exclude_the_sites_other_values():
    placement = {'arch': ['amd64', 'arm64'], 'board': ['pi4'], 'labels': {'zone': 'rack-a'}}
    assert workload.swarm_constraints(placement, SITE_LABELS, ['site-05']) == [
        'node.labels.arch != armhf', 'node.labels.board == pi4', 'node.labels.zone == rack-a', 'node.hostname != site-05']
    assert workload.swarm_constraints({'arch': [], 'board': [], 'labels': {}}, SITE_LABELS) == []


def test_eligible_hosts_follow_arch_board_labels_and_exclusions():
    hosts = {'a': {'arch': 'amd64', 'board': 'none', 'labels': {}},
             'b': {'arch': 'arm64', 'board': 'pi4', 'labels': {'zone': 'rack-a'}},
             'c': {'arch': 'armhf', 'board': 'pi4', 'labels': {'zone': 'rack-a'}},
             'd': {'arch': 'arm64', 'board': 'pi4', 'labels': {'zone': 'rack-a'}}}
    placement = {'arch': ['amd64', 'arm64'], 'board': ['pi4'], 'labels': {'zone': 'rack-a'}}
    assert workload.eligible_hosts(placement, hosts, ['d']) == ['b']
    assert workload.eligible_hosts({'arch': [], 'board': [], 'labels': {}}, hosts) == ['a', 'b', 'c', 'd']


def test_more_host_mode_replicas_than_eligible_nodes_are_refused():
    result = workload.normalize(dict(APP, publish_mode='host', replicas=3), REGISTRY)
    with pytest.raises(WorkloadError, match='3 tasks with host-mode ports need 3 nodes, but only 2 match the placement \\(a, b\\)'):
        workload.check_capacity(result, ['a', 'b'])
    assert workload.check_capacity(dict(result, replicas=2), ['a', 'b'])
    assert workload.check_capacity(dict(result, publish_mode='ingress'), ['a'])


# --- the Swarm service ---------------------------------------------------------------------------------------


def test_the_swarm_service_carries_every_field_of_the_app():
    result = app()
    params = workload.swarm_service(result, {'api-key': 'web-api-key_v3'}, SITE_LABELS, ['site-05'], 'lab')
    assert params['name'] == 'web' and params['image'] == '10.0.0.11:5000/me/web:1.2' and params['replicas'] == 2
    assert params['publish'] == [{'target_port': 8080, 'published_port': 8088, 'protocol': 'tcp', 'mode': 'ingress'}]
    assert params['secrets'] == [{'secret_name': 'web-api-key_v3', 'filename': '/etc/web/api-key', 'uid': '1000',
                                  'gid': '0', 'mode': 0o400}]
    assert params['mounts'][0] == {'type': 'volume', 'source': 'web-data', 'target': '/data', 'readonly': False}
    assert params['limits'] == {'memory': str(64 * 1024 ** 2)}
    assert params['placement']['constraints'][-1] == 'node.hostname != site-05'
    assert 'replicas_max_per_node' not in params['placement']
    assert params['update_config']['failure_action'] == 'rollback'
    assert params['labels'] == {'io.picocloud.app': 'web', 'io.picocloud.site': 'lab'}
    assert params['resolve_image'] is False and params['force_update'] is False
    assert 'networks' not in params and 'healthcheck' not in params
    # Docker stores no ReadOnly=false, so false is left out (else every run would report a change).
    assert 'read_only' not in params
    assert workload.swarm_service(app(read_only=True), {'api-key': 'x'})['read_only'] is True


def test_host_mode_puts_one_task_per_node_and_host_network_publishes_nothing():
    host = workload.swarm_service(workload.normalize(dict(APP, publish_mode='host', secrets=[]), REGISTRY))
    assert host['placement']['replicas_max_per_node'] == 1
    assert host['publish'][0]['mode'] == 'host'
    portal = workload.swarm_service(app(network='host', ports=[{'target': 8090}], secrets=None))
    assert portal['networks'] == ['host'] and portal['publish'] == []


def test_a_swarm_service_refuses_a_secret_that_was_not_created():
    with pytest.raises(WorkloadError, match="secret 'api-key' of web was not created"):
        workload.swarm_service(app(), {})


def test_consul_read_mounts_four_files_for_the_apps_user_and_points_at_the_local_agent():
    portal = app(network='host', ports=[{'target': 8090}], secrets=None, consul='read', user='10001:10001')
    names = dict((name, name + '_v1') for name in workload.CONSUL_SECRETS)
    params = workload.swarm_service(portal, names, consul_port=8501)
    assert [(s['filename'], s['uid'], s['gid'], oct(s['mode'])) for s in params['secrets']] == [
        ('consul-ca.pem', '10001', '10001', '0o444'), ('consul-client.pem', '10001', '10001', '0o400'),
        ('consul-client-key.pem', '10001', '10001', '0o400'), ('consul-token', '10001', '10001', '0o400')]
    assert params['env']['CONSUL_HTTP_ADDR'] == 'https://127.0.0.1:8501'
    assert params['env']['CONSUL_HTTP_TOKEN_FILE'] == '/run/secrets/consul-token'
    with pytest.raises(WorkloadError, match='names of the Consul files'):
        app(network='host', ports=[{'target': 8090}], consul='read', secrets=[{'name': 'consul-token', 'data': 'x'}])


def test_a_changed_app_changes_only_the_fields_that_changed():
    before = workload.swarm_service(app(), {'api-key': 'web-api-key_v1'})
    after = workload.swarm_service(app(image='me/web:1.3'), {'api-key': 'web-api-key_v1'})
    assert [key for key in before if before[key] != after[key]] == ['image']
    assert workload.swarm_service(app(), {'api-key': 'web-api-key_v1'}) == before


# --- Kubernetes manifests ------------------------------------------------------------------------------------


@pytest.mark.parametrize('version', K8S_VERSIONS)
def test_the_manifests_of_a_full_app_are_valid_kubernetes_objects(version):
    manifests = workload.k8s_manifests(app(), secret_data={'api-key': 's3cret\n'})
    assert [m['kind'] for m in manifests] == ['Secret', 'PersistentVolumeClaim', 'Deployment', 'Service']
    for manifest in manifests:
        kubernetes_validate.validate(manifest, version, strict=True)


@pytest.mark.parametrize('path', CATALOGUE, ids=os.path.basename)
@pytest.mark.parametrize('mode', ['host', 'ingress'])
def test_the_catalogue_apps_render_valid_kubernetes_objects_in_both_publish_modes(path, mode):
    result = catalogue_app(path, mode=mode)
    data = dict((name, 'x') for name in workload.CONSUL_SECRETS)
    manifests = workload.k8s_manifests(result, secret_data=data)
    for manifest in manifests:
        for version in K8S_VERSIONS:
            kubernetes_validate.validate(manifest, version, strict=True)


def test_the_deployment_maps_placement_health_memory_and_the_update_policy():
    manifests = workload.k8s_manifests(app(), secret_data={'api-key': 's3cret\n'})
    deployment = [m for m in manifests if m['kind'] == 'Deployment'][0]
    pod = deployment['spec']['template']['spec']
    container = pod['containers'][0]
    assert container['image'] == '10.0.0.11:5000/me/web:1.2'
    assert container['resources'] == {'limits': {'memory': '64Mi'}}
    assert container['readinessProbe']['httpGet'] == {'path': '/health', 'port': 8080}
    assert container['readinessProbe']['periodSeconds'] == 5
    terms = pod['affinity']['nodeAffinity']['requiredDuringSchedulingIgnoredDuringExecution']['nodeSelectorTerms'][0]
    assert terms['matchExpressions'] == [
        {'key': 'kubernetes.io/arch', 'operator': 'In', 'values': ['amd64', 'arm64']},
        {'key': 'picocloud.io/board', 'operator': 'In', 'values': ['pi4']},
        {'key': 'picocloud.io/zone', 'operator': 'In', 'values': ['rack-a']}]
    assert deployment['spec']['strategy']['rollingUpdate'] == {'maxUnavailable': 0, 'maxSurge': 1}
    assert pod['securityContext'] == {'runAsUser': 1000, 'runAsGroup': 1000, 'fsGroup': 1000}
    service = [m for m in manifests if m['kind'] == 'Service'][0]
    assert service['spec']['type'] == 'LoadBalancer'
    assert service['spec']['ports'] == [{'name': 'tcp-8080', 'port': 8088, 'targetPort': 8080, 'protocol': 'TCP'}]
    secret = [m for m in manifests if m['kind'] == 'Secret'][0]
    assert secret['data'] == {'api-key': 'czNjcmV0Cg=='}


def test_host_publishing_uses_host_ports_and_never_surges():
    manifests = workload.k8s_manifests(workload.normalize(dict(APP, publish_mode='host'), REGISTRY),
                                       secret_data={'api-key': 'x'})
    deployment = [m for m in manifests if m['kind'] == 'Deployment'][0]
    assert deployment['spec']['template']['spec']['containers'][0]['ports'] == [
        {'containerPort': 8080, 'protocol': 'TCP', 'hostPort': 8088}]
    assert deployment['spec']['strategy']['rollingUpdate'] == {'maxUnavailable': 1, 'maxSurge': 0}
    assert [m for m in manifests if m['kind'] == 'Service'][0]['spec']['type'] == 'ClusterIP'


def test_manifests_refuse_a_secret_without_data():
    with pytest.raises(WorkloadError, match="secret 'api-key' of web has no data"):
        workload.k8s_manifests(app(), secret_data={})


# --- rollout -------------------------------------------------------------------------------------------------

NODES = [{'ID': 'n1', 'Description': {'Hostname': 'pico-01'}}, {'ID': 'n2', 'Description': {'Hostname': 'pico-02'}}]


def task(node, desired='running', state='running', service='s1', err=None):
    status = {'State': state}
    if err:
        status['Err'] = err
    return {'ServiceID': service, 'NodeID': node, 'DesiredState': desired, 'Status': status}


def service(update=None, name='web'):
    svc = {'ID': 's1', 'Spec': {'Name': name}}
    if update:
        svc['UpdateStatus'] = update
    return svc


def test_a_rollout_converges_when_every_replica_of_the_current_version_runs():
    tasks = [task('n1'), task('n2'), task('n1', desired='shutdown', state='shutdown'), task('n2', service='other')]
    result = workload.swarm_rollout('web', [service({'State': 'completed'}), service(name='webapp')], tasks, NODES, 2)
    assert result == {'state': 'converged', 'nodes': ['pico-01', 'pico-02'], 'message': '2 of 2 tasks running'}


def test_a_rollout_is_updating_while_a_task_is_pending_and_says_why():
    tasks = [task('n1'), task(None, state='pending', err='no suitable node (host-mode port already in use on 2 nodes)')]
    result = workload.swarm_rollout('web', [service()], tasks, NODES, 2)
    assert result['state'] == 'updating'
    assert result['nodes'] == ['pico-01']
    assert 'unassigned: no suitable node (host-mode port already in use on 2 nodes)' in result['message']
    assert workload.swarm_rollout('web', [service({'State': 'updating'})], [task('n1'), task('n2')], NODES, 2)['state'] == 'updating'


def test_a_rolled_back_update_or_a_missing_service_fails():
    result = workload.swarm_rollout('web', [service({'State': 'rollback_completed', 'Message': 'update rolled back'})],
                                    [task('n1')], NODES, 1)
    assert result['state'] == 'failed' and 'update rolled back' in result['message']
    assert workload.swarm_rollout('web', [service(name='webapp')], [], NODES, 1)['state'] == 'failed'


def test_a_service_scaled_to_zero_converges_with_no_nodes():
    assert workload.swarm_rollout('web', [service()], [], NODES, 0) == {
        'state': 'converged', 'nodes': [], 'message': '0 of 0 tasks running'}


# --- Consul --------------------------------------------------------------------------------------------------


def test_a_published_app_carries_the_tag_and_the_meta_and_an_unpublished_one_neither():
    published = workload.consul_service(app(), '10.0.0.12')
    assert published == {'name': 'web', 'port': 8088, 'address': '10.0.0.12', 'tags': ['picocloud-app', 'published'],
                         'meta': {'description': 'A web app', 'url': 'https://web.site.example/', 'owner': 'ops'},
                         'check': {'interval': '5s', 'timeout': '3s', 'http': 'http://10.0.0.12:8088/health'}}
    hidden = workload.consul_service(workload.normalize(APP, REGISTRY, publish=False), '10.0.0.12')
    assert hidden['tags'] == ['picocloud-app'] and hidden['meta'] == {}


def test_a_tcp_health_check_connects_to_the_published_port():
    result = app(health={'tcp': True}, ports=[{'target': 1883}])
    expected = {'interval': '10s', 'timeout': '3s', 'tcp': '10.0.0.13:1883'}
    assert workload.consul_service(result, '10.0.0.13')['check'] == expected


def test_the_catalogue_holds_the_four_documented_apps_with_distinct_host_ports():
    apps = [catalogue_app(path) for path in CATALOGUE]
    assert sorted(a['name'] for a in apps) == ['mosquitto', 'portal', 'static', 'webapp']
    ports = [p['published'] for a in apps for p in a['ports']]
    assert len(ports) == len(set(ports))
    portal = [a for a in apps if a['name'] == 'portal'][0]
    assert portal['consul'] == 'read' and portal['network'] == 'host' and portal['user'] == '10001:10001'
    assert all(a['publish'] for a in apps)


# --- verify ------------------------------------------------------------------------------------------------


def entry(node, address, port, statuses, tags=('picocloud-app', 'published'), meta=None):
    return {'Node': {'Node': node, 'Address': address},
            'Service': {'Service': 'x', 'Address': address, 'Port': port, 'Tags': list(tags), 'Meta': meta or {}},
            'Checks': [{'CheckID': 'serfHealth', 'Status': 'passing'}] + [{'CheckID': 'c%d' % i, 'Status': s}
                                                                          for i, s in enumerate(statuses)]}


def test_published_rows_show_the_worst_instance_where_it_runs_and_a_link():
    health = {
        'webapp': [entry('pico-02', '10.0.0.12', 8082, ['passing']), entry('pico-01', '10.0.0.11', 8082, ['critical'])],
        'wiki': [entry('pico-01', '10.0.0.11', 8081, ['passing'], meta={'url': 'http://wiki.example/', 'owner': 'ops'})],
        'hidden': [entry('pico-01', '10.0.0.11', 9000, ['passing'], tags=('picocloud-app',))],
        'sensors': [entry('pico-03', '10.0.0.13', 1883, ['warning'], meta={'url': 'javascript:alert(1)'})],
    }
    rows = dict((row['app'], row) for row in workload.published_apps(health))
    assert sorted(rows) == ['sensors', 'webapp', 'wiki']
    assert rows['webapp']['status'] == 'critical' and rows['webapp']['instances'] == 2
    assert rows['webapp']['where'] == '10.0.0.11:8082 on pico-01, 10.0.0.12:8082 on pico-02'
    assert rows['webapp']['url'] == 'http://10.0.0.12:8082/'
    assert rows['wiki']['url'] == 'http://wiki.example/' and rows['wiki']['owner'] == 'ops'
    assert rows['sensors']['status'] == 'warning' and rows['sensors']['url'] == '-'


def test_a_published_app_checked_over_tcp_has_no_link_unless_its_meta_names_one():
    """Consul reports each check's type (1.7 and later): an MQTT broker's TCP check means no web page to open; an
    HTTP-checked instance is linked; a Consul that reports no type keeps the link."""
    def typed(node, address, port, check_type, meta=None):
        found = entry(node, address, port, ['passing'], meta=meta)
        found['Checks'][1].update({'ServiceID': 'x', 'Type': check_type})
        return found
    health = {
        'mosquitto': [typed('pico-01', '10.0.0.11', 1883, 'tcp')],
        'broker': [typed('pico-01', '10.0.0.11', 1884, 'tcp', meta={'url': 'https://mqtt.example/'})],
        'web': [typed('pico-01', '10.0.0.11', 8081, 'tcp'), typed('pico-02', '10.0.0.12', 8081, 'http')],
    }
    rows = dict((row['app'], row) for row in workload.published_apps(health))
    assert rows['mosquitto']['url'] == '-' and rows['mosquitto']['status'] == 'passing'
    assert rows['mosquitto']['where'] == '10.0.0.11:1883 on pico-01'
    assert rows['broker']['url'] == 'https://mqtt.example/'
    assert rows['web']['url'] == 'http://10.0.0.12:8081/'
