# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The catalogue apps on a converged site (picocloud.edge.workload, playbook picocloud.edge.app): deployed from the
site registry, unchanged on a re-run, registered in Consul on the nodes that run their tasks (and following a task
Swarm moves between runs), answering over DNS
from every node and over HTTP/MQTT, published and unpublished, rolled on a change, removed with state=absent, and
the portal in a real browser (headless Chromium) listing them, showing a stopped app critical within 30 s and
dropping an unpublished one. Every test that changes the site puts it back and checks that it did."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import re
import shutil
import socket
import tempfile
import time
import urllib.request

import pytest
import yaml

from picocloud_test import NATIVE, SITE, Site, chromium, node_exec, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
CATALOGUE = dict((os.path.basename(path)[:-4], path) for path in sorted(glob.glob(os.path.join(ROOT, 'catalog', 'apps', '*.yml'))))
OUTPUT = os.path.join(ROOT, 'tests', 'output', 'site')
# Runs on a node: one request to the local agent's HTTPS API with the node's certificate and the root CLI's
# read-only operator token (/etc/profile.d/consul.sh), printing the JSON answer.
CONSUL = r'''
import json, os, re, ssl, sys, urllib.request
env = dict(re.findall(r"^export (\w+)=(.*)$", open("/etc/profile.d/consul.sh").read(), re.M))
ctx = ssl.create_default_context(cafile=env["CONSUL_CACERT"])
ctx.load_cert_chain(env["CONSUL_CLIENT_CERT"], env["CONSUL_CLIENT_KEY"])
req = urllib.request.Request(env["CONSUL_HTTP_ADDR"] + sys.argv[1], headers={"X-Consul-Token": env["CONSUL_HTTP_TOKEN"]})
print(urllib.request.urlopen(req, context=ctx, timeout=10).read().decode())
'''
# Runs on a node: an A query to the local agent's DNS port (what dig @127.0.0.1 -p 8600 asks), printing the addresses.
DIG = r'''
import random, socket, struct, sys
name = sys.argv[1]
qid = random.randrange(65536)
query = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + b"".join(
    bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(5)
sock.sendto(query, ("127.0.0.1", 8600))
data = sock.recv(4096)
ancount = struct.unpack(">H", data[6:8])[0]
pos = len(query)
found = []
for _ in range(ancount):
    while data[pos] != 0 and data[pos] < 0xc0:
        pos += data[pos] + 1
    pos += 2 if data[pos] >= 0xc0 else 1
    rtype, _, _, length = struct.unpack(">HHIH", data[pos:pos + 10])
    pos += 10
    if rtype == 1:
        found.append(socket.inet_ntoa(data[pos:pos + length]))
    pos += length
print(" ".join(sorted(found)))
'''


@pytest.fixture(scope='module')
def site():
    return Site.current()


@pytest.fixture(scope='module')
def manager(site):
    return site.hosts('swarm_managers')[0]


@pytest.fixture(scope='module')
def consul_node(site):
    return site.hosts('consul_servers')[0]


def definition(name):
    with open(CATALOGUE[name]) as handle:
        return yaml.safe_load(handle)


def app_run(site, app, check=False, **extra):
    """A run of picocloud.edge.app on the native nodes. The emulated arm64 node runs no app task (it cannot run
    containers: docs/testing.md), so the app's registration never lands there; leaving it out saves its qemu time."""
    extra_vars = dict(extra, app=app)
    return site.playbook('picocloud.edge.app', check=check, diff=check, extra_vars=extra_vars, limit=NATIVE, timeout=1200)


def consul(site, on, path):
    return json.loads(node_exec(on, 'python3', '-c', CONSUL, path, check=True).stdout)


def service_exists(manager, name):
    return node_exec(manager, 'docker', 'service', 'inspect', name).returncode == 0


def task_nodes(manager, name):
    out = node_exec(manager, 'docker', 'service', 'ps', '--filter', 'desired-state=running', '--format',
                    '{{.Node}} {{.CurrentState}}', name, check=True).stdout
    return sorted(line.split()[0] for line in out.splitlines() if line.split()[1:2] == ['Running'])


def instances(site, consul_node, name, passing=False):
    """{node: (address, port, status)} of an app's instances in Consul's health view."""
    entries = consul(site, consul_node, '/v1/health/service/%s%s' % (name, '?passing=1' if passing else ''))
    found = {}
    for entry in entries:
        statuses = [check['Status'] for check in entry['Checks']]
        worst = 'critical' if 'critical' in statuses else ('warning' if 'warning' in statuses else 'passing')
        found[entry['Node']['Node']] = (entry['Service']['Address'], entry['Service']['Port'], worst)
    return found


def node_names(site):
    """{swarm or Consul node name: inventory host} (a node's picocloud_hostname, else its inventory name)."""
    return dict((site.hostvars(h).get('picocloud_hostname', h), h) for h in site.hosts())


def inventory_host(site, node):
    """The inventory host of a swarm or Consul node name."""
    return node_names(site).get(node, node)


def address_of(site, node):
    return site.address(inventory_host(site, node))


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status
    except Exception:  # pylint: disable=broad-except
        return None


def mqtt_connack(host, port):
    """The CONNACK of a minimal MQTT 3.1.1 CONNECT (clean session, client id 'picocloud-test')."""
    client = b'picocloud-test'
    variable = b'\x00\x04MQTT\x04\x02\x00\x3c' + len(client).to_bytes(2, 'big') + client
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(bytes([0x10, len(variable)]) + variable)
        return sock.recv(4)


@pytest.fixture(scope='module')
def deployed(site, manager):
    """The four catalogue apps, deployed (as site.yml with picocloud_apps does); the ones this fixture deployed are
    removed again at the end. An app the site already runs is not deployed again here (site.yml's re-runs cover
    each app's idempotence; the first test re-runs one through picocloud.edge.app)."""
    missing = [name for name in CATALOGUE if not service_exists(manager, name)]
    for name in missing:
        app_run(site, name).ok()
    yield sorted(CATALOGUE)
    for name in missing:
        app_run(site, name, state='absent').ok()
    assert [name for name in missing if service_exists(manager, name)] == []


def test_the_app_playbook_redeploys_an_app_with_no_change_in_check_mode_and_for_real(site, deployed):
    """picocloud.edge.app, the operator's entry point for one app, on the portal (the app with the most parts: a
    Consul read token in a secret, published ports, a health check). Every catalogue app's own re-run is in
    site.yml's apps play, which test_02's run (changed=0) and the last check mode (changed=0) cover."""
    check = app_run(site, 'portal', check=True).ok()
    assert check.changed == 0, check.changed_tasks()
    run = app_run(site, 'portal').ok()
    assert run.changed == 0, run.changed_tasks()


def test_each_app_is_registered_on_the_nodes_that_run_its_tasks_and_passes(site, deployed, manager, consul_node):
    for name in deployed:
        running = task_nodes(manager, name)
        assert len(running) == definition(name).get('replicas', 1), (name, running)

        def registered(app=name, nodes=running):
            found = instances(site, consul_node, app)
            return found if sorted(found) == nodes and all(v[2] == 'passing' for v in found.values()) else None
        found = wait_for(registered, timeout=60)
        assert found, (name, running, instances(site, consul_node, name))
        for node, (address, port, status) in found.items():
            assert status == 'passing'
            assert address == address_of(site, node)
            assert port == definition(name)['ports'][0].get('published', definition(name)['ports'][0]['target'])


def test_a_task_swarm_moves_between_runs_takes_its_registration_along(site, deployed, manager, consul_node):
    """No playbook runs: the node that runs static is drained, Swarm starts the task on another node, and
    picocloud-consul-apps (on each node, acting on Docker's events) moves the registration there, passing, with
    nothing left on the drained node. The node is made active again at the end (the task stays where it went)."""
    name = 'static'
    before = task_nodes(manager, name)
    assert len(before) == 1, before
    old = before[0]
    staged = node_exec(inventory_host(site, old), 'test', '-e', '/etc/consul.d/apps.available/picocloud-app-%s.json' % name)
    assert staged.returncode == 0
    try:
        node_exec(manager, 'docker', 'node', 'update', '--availability', 'drain', old, check=True)

        def moved():
            now = task_nodes(manager, name)
            found = instances(site, consul_node, name)
            settled = now and old not in now and sorted(found) == now and all(v[2] == 'passing' for v in found.values())
            return (now, found) if settled else None
        result = wait_for(moved, timeout=120)
        assert result, (task_nodes(manager, name), instances(site, consul_node, name))
        now, found = result
        assert found[now[0]][0] == address_of(site, now[0])
        assert node_exec(inventory_host(site, old), 'test', '-e', '/etc/consul.d/picocloud-app-%s.json' % name).returncode != 0
        journal = node_exec(inventory_host(site, now[0]), 'journalctl', '-u', 'picocloud-consul-apps', '--no-pager', '-o', 'cat', check=True)
        # one sync enables every app whose task came to the node since the last one: static may share its line with an
        # app re-enabled after an earlier test stopped the node's engine ("enabled static, webapp; disabled none")
        syncs = [re.fullmatch(r'enabled (.+); disabled (.+)', line) for line in journal.stdout.splitlines()]
        assert any(sync and name in sync.group(1).split(', ') for sync in syncs), journal.stdout
    finally:
        node_exec(manager, 'docker', 'node', 'update', '--availability', 'active', old, check=True)


def test_dns_answers_each_app_from_every_node(site, deployed, manager):
    for name in deployed:
        expected = ' '.join(sorted(address_of(site, node) for node in task_nodes(manager, name)))
        for host in site.hosts():
            answer = node_exec(host, 'python3', '-c', DIG, '%s.service.consul' % name, check=True).stdout.strip()
            assert answer == expected, (name, host, answer, expected)
            if node_exec(host, 'sh', '-c', 'command -v dig').returncode == 0:
                dig = node_exec(host, 'dig', '+short', '@127.0.0.1', '-p', '8600', '%s.service.consul' % name, check=True)
                assert ' '.join(sorted(dig.stdout.split())) == expected, (name, host, dig.stdout)


def test_the_apps_answer_over_http_and_mqtt_on_their_published_ports(site, deployed, manager):
    paths = {'static': '/', 'webapp': '/health', 'portal': '/health'}
    for name in deployed:
        port = definition(name)['ports'][0].get('published', definition(name)['ports'][0]['target'])
        for node in task_nodes(manager, name):
            address = address_of(site, node)
            if name == 'mosquitto':
                assert mqtt_connack(address, port) == b'\x20\x02\x00\x00', (name, node)
            else:
                assert http_status('http://%s:%d%s' % (address, port, paths[name])) == 200, (name, node)


def test_unpublish_removes_the_tag_and_meta_and_publish_brings_them_back(site, deployed, consul_node):
    try:
        app_run(site, 'static', publish=False).ok()
        entries = consul(site, consul_node, '/v1/catalog/service/static')
        assert entries and all('published' not in e['ServiceTags'] and not e['ServiceMeta'] for e in entries), entries
        assert 'published' not in consul(site, consul_node, '/v1/catalog/services').get('static', [])
    finally:
        app_run(site, 'static').ok()
    entries = consul(site, consul_node, '/v1/catalog/service/static')
    assert entries and all('published' in e['ServiceTags'] for e in entries)
    assert entries[0]['ServiceMeta'] == {'description': definition('static')['description'], 'owner': definition('static')['owner']}


def test_a_changed_app_rolls_one_task_at_a_time_and_an_unchanged_one_stays(site, deployed, manager, tmp_path):
    before = set(node_exec(manager, 'docker', 'service', 'ps', '-q', '--filter', 'desired-state=running', 'webapp',
                           check=True).stdout.split())
    changed = definition('webapp')
    changed['env'] = dict(changed.get('env') or {}, PICOCLOUD_TEST_ROLL='1')
    path = tmp_path / 'webapp.yml'
    path.write_text(yaml.safe_dump(changed))
    try:
        run = app_run(site, str(path)).ok()
        assert 'picocloud.edge.workload : Create or update the service (rolling, with rollback on failure): %s' % manager \
            in run.changed_tasks()
        after = set(node_exec(manager, 'docker', 'service', 'ps', '-q', '--filter', 'desired-state=running', 'webapp',
                              check=True).stdout.split())
        assert len(after) == len(before) and not after & before
        spec = json.loads(node_exec(manager, 'docker', 'service', 'inspect', 'webapp', check=True).stdout)[0]
        assert spec['UpdateStatus']['State'] == 'completed'
        assert spec['Spec']['UpdateConfig']['Parallelism'] == 1
        assert spec['Spec']['UpdateConfig']['FailureAction'] == 'rollback'
        assert 'PICOCLOUD_TEST_ROLL=1' in spec['Spec']['TaskTemplate']['ContainerSpec']['Env']
    finally:
        app_run(site, 'webapp').ok()
    spec = json.loads(node_exec(manager, 'docker', 'service', 'inspect', 'webapp', check=True).stdout)[0]
    assert 'PICOCLOUD_TEST_ROLL=1' not in spec['Spec']['TaskTemplate']['ContainerSpec']['Env']


def test_a_definition_that_cannot_fit_fails_naming_the_field_and_changes_nothing(site, deployed, manager, tmp_path):
    bad = definition('static')
    bad['replicas'] = len(site.hosts()) + 1
    path = tmp_path / 'static.yml'
    path.write_text(yaml.safe_dump(bad))
    spec = node_exec(manager, 'docker', 'service', 'inspect', 'static', check=True).stdout
    run = app_run(site, str(path))
    assert run.rc != 0
    assert 'replicas: %d tasks with host-mode ports need' % bad['replicas'] in run.failure_text() or \
        'replicas must be' in run.failure_text()
    assert run.changed == 0
    assert node_exec(manager, 'docker', 'service', 'inspect', 'static', check=True).stdout == spec


def test_a_users_app_file_deploys_and_state_absent_removes_it_everywhere(site, deployed, manager, consul_node, tmp_path):
    """A user's definition file, deployed by site.yml's apps play right after the portal (consul: read) in the same
    run: its own secret named like one of the portal's Consul files (allowed without consul: read) is its own, not
    the portal's; state=absent through picocloud.edge.app removes it everywhere."""
    mine = definition('static')
    mine.update(name='hello', description='A user app', ports=[{'target': 8080, 'published': 8083}],
                secrets=[{'name': 'consul-token', 'data': 'not the portal token'}])
    path = tmp_path / 'hello.yml'
    path.write_text(yaml.safe_dump(mine))
    token = os.path.join(site.secrets_dir, 'consul', 'tokens', 'app-hello.json')
    try:
        site.playbook(SITE, tags='apps', limit=NATIVE, extra_vars={'picocloud_apps': ['portal', str(path)]},
                      timeout=1200).ok()
        spec = json.loads(node_exec(manager, 'docker', 'service', 'inspect', '--format',
                                    '{{json .Spec.TaskTemplate.ContainerSpec.Secrets}}', 'hello', check=True).stdout)
        assert [(secret['File']['Name'], secret['SecretName'].split('_v')[0]) for secret in spec] == [
            ('consul-token', 'hello-consul-token')], spec  # a target defaults to the name: /run/secrets/<name>
        nodes = task_nodes(manager, 'hello')
        assert nodes and wait_for(lambda: sorted(instances(site, consul_node, 'hello', passing=True)) == nodes, timeout=60)
        assert http_status('http://%s:8083/' % address_of(site, nodes[0])) == 200
        assert oct(os.stat(token).st_mode & 0o777) == '0o600'
    finally:
        app_run(site, str(path), state='absent').ok()
    assert not service_exists(manager, 'hello')
    assert instances(site, consul_node, 'hello') == {}
    assert not os.path.exists(token)
    for staged in ('/etc/consul.d/picocloud-app-hello.json', '/etc/consul.d/apps.available/picocloud-app-hello.json'):
        assert [h for h in site.hosts() if node_exec(h, 'test', '-e', staged).returncode == 0] == [], staged


# --- the portal in a real browser ------------------------------------------------------------------------------

ROWS_JS = "return [...document.querySelectorAll('#apps tbody tr')].map(r => [r.dataset.app, r.dataset.status]);"


def app_rows(driver):
    return dict(driver.execute_script(ROWS_JS))


@pytest.fixture(scope='module')
def portal(site, deployed, manager):
    node = task_nodes(manager, 'portal')[0]
    url = 'http://%s:%d/' % (address_of(site, node), definition('portal')['ports'][0]['target'])
    profile = tempfile.mkdtemp(prefix='sitetest-chromium-')
    driver = chromium(profile)
    try:
        driver.get(url)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def until(driver, what, condition, timeout=30):
    """Seconds until condition(rows) holds, at most `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        rows = app_rows(driver)
        if condition(rows):
            return round(time.monotonic() - start, 1)
        time.sleep(0.5)
    raise AssertionError('timed out after %ss waiting for %s; rows: %r' % (timeout, what, app_rows(driver)))


def test_the_portal_lists_every_published_app_passing(portal, deployed):
    os.makedirs(OUTPUT, exist_ok=True)
    until(portal, 'the published apps to pass', lambda rows: all(rows.get(name) == 'passing' for name in deployed))
    portal.save_screenshot(os.path.join(OUTPUT, 'portal.png'))
    assert os.path.getsize(os.path.join(OUTPUT, 'portal.png')) > 10000
    nodes = portal.execute_script("return [...document.querySelectorAll('#nodes tbody tr')].map(r => r.dataset.node);")
    assert len(nodes) >= 1


def test_a_stopped_app_turns_critical_on_the_portal_within_30_seconds(portal, deployed, site, manager):
    try:
        node_exec(manager, 'docker', 'service', 'scale', '--detach', 'static=0', check=True)
        seconds = until(portal, 'static to turn critical', lambda rows: rows.get('static') == 'critical', 30)
        portal.save_screenshot(os.path.join(OUTPUT, 'portal-critical.png'))
        assert app_rows(portal).get('webapp') == 'passing'
        with open(os.path.join(OUTPUT, 'portal-timeline.json'), 'w') as handle:
            json.dump({'critical_after_s': seconds}, handle)
    finally:
        # The app's own playbook puts it back: its replicas, and its registration on whichever node runs it now.
        run = app_run(site, 'static').ok()
    assert 'picocloud.edge.workload : Create or update the service (rolling, with rollback on failure): %s' % manager \
        in run.changed_tasks()
    until(portal, 'static to pass again', lambda rows: rows.get('static') == 'passing', 60)


def test_an_unpublished_app_disappears_from_the_portal(portal, deployed, site):
    try:
        app_run(site, 'mosquitto', publish=False).ok()
        until(portal, 'mosquitto to disappear', lambda rows: 'mosquitto' not in rows, 30)
        assert 'static' in app_rows(portal)
    finally:
        app_run(site, 'mosquitto').ok()
    until(portal, 'mosquitto to come back', lambda rows: rows.get('mosquitto') == 'passing', 30)


NODES_JS = ("return [...document.querySelectorAll('#nodes tbody tr')].map(r => [r.dataset.node, [r.dataset.status, "
            "[...r.querySelectorAll('li')].map(l => [l.dataset.check, l.querySelector('.badge').dataset.status])]]);")


def node_rows(driver):
    """{Consul node: [status, [[check ID, status], ...]]} as the portal's node table shows them."""
    return dict(driver.execute_script(NODES_JS))


def node_checks(site, consul_node):
    """{Consul node: sorted [[check ID, status], ...]} of every node's own checks (no service's), as Consul has them."""
    found = {}
    for check in consul(site, consul_node, '/v1/health/state/any'):
        if not check['ServiceID']:
            found.setdefault(check['Node'], []).append([check['CheckID'], check['Status']])
    return dict((node, sorted(checks)) for node, checks in found.items())


def test_the_portal_shows_the_lab_nodes_checks_as_consul_has_them_and_a_lost_agent_at_a_glance(
        portal, site, manager, consul_node):
    """The node checks the consul role registers on the lab, read in the browser: every node is listed with the checks
    Consul holds for it (its agent's serfHealth and the disk check), each with Consul's status. Then one client's
    agent dies (SIGKILL, so it does not leave the cluster, as when a Pi loses power): its row turns critical within
    30 s while every other node's agent stays alive on the page. Once the agent is back its serfHealth passes
    again, and the page still shows what Consul holds (the agent's script checks start critical until their first
    run, which Consul staggers within the check's interval)."""
    def shown():
        return dict((node, sorted(checks)) for node, (_status, checks) in node_rows(portal).items())

    def page_matches_consul():
        assert wait_for(lambda: shown() == node_checks(site, consul_node), timeout=30, step=1), \
            (shown(), node_checks(site, consul_node))

    page_matches_consul()
    rows = node_rows(portal)
    names = node_names(site)
    assert sorted(rows) == sorted(names)
    for node, (status, checks) in rows.items():
        assert [check[0] for check in checks][:1] == ['serfHealth'] and 'picocloud-disk-root' in dict(checks), (node, checks)
        assert dict(checks)['serfHealth'] == 'passing' and status in ('passing', 'warning', 'critical'), (node, status, checks)

    portal_node = task_nodes(manager, 'portal')[0]
    clients = [h for h in site.native() + site.hosts('lab_emulated')
               if h not in site.hosts('consul_servers') and h != inventory_host(site, portal_node)]
    assert clients, 'the lab has no Consul client besides the portal\'s node'
    lost = clients[0]
    lost_node = [node for node, host in names.items() if host == lost][0]
    try:
        node_exec(lost, 'systemctl', 'kill', '--signal=SIGKILL', 'consul', check=True)
        node_exec(lost, 'systemctl', 'stop', 'consul', check=True)
        start = time.monotonic()
        assert wait_for(lambda: dict(node_rows(portal)[lost_node][1])['serfHealth'] == 'critical', timeout=30, step=0.5), \
            node_rows(portal)[lost_node]
        seconds = round(time.monotonic() - start, 1)
        rows_now = node_rows(portal)
        assert rows_now[lost_node][0] == 'critical', rows_now[lost_node]
        assert all(dict(rows_now[node][1])['serfHealth'] == 'passing' for node in rows_now if node != lost_node), rows_now
        portal.save_screenshot(os.path.join(OUTPUT, 'portal-node-lost.png'))
        with open(os.path.join(OUTPUT, 'portal-node-lost.json'), 'w') as handle:
            json.dump({'node': lost_node, 'critical_after_s': seconds}, handle)
    finally:
        node_exec(lost, 'systemctl', 'start', 'consul', check=True)
    assert wait_for(lambda: dict(node_rows(portal)[lost_node][1])['serfHealth'] == 'passing', timeout=30, step=1), \
        node_rows(portal)[lost_node]
    page_matches_consul()
