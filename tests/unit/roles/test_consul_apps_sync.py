# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud-consul-apps (roles/consul/files): the plan, and the program run as a real process with a `docker` and a
`systemctl` on PATH that answer from files and a Consul health view served on loopback (the lab's site tests run it
against the real engine and agent)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.server
import importlib.machinery
import importlib.util
import json
import os
import stat
import subprocess
import sys
import threading
import time

import pytest

PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'roles', 'consul', 'files',
                       'picocloud-consul-apps')


def _module():
    loader = importlib.machinery.SourceFileLoader('picocloud_consul_apps', PROGRAM)
    spec = importlib.util.spec_from_loader('picocloud_consul_apps', loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


apps = _module()

FAKE_DOCKER = '''#!/bin/sh
# ps: the service names in $STATE/running (fails when $STATE/down exists); events: each line added to $STATE/events
# from the moment $STATE/subscribed appears (as Docker sends the events from the subscription on, however late
# tail itself starts reading)
[ -e "$STATE/down" ] && { echo "Cannot connect to the Docker daemon" >&2; exit 1; }
case "$1" in
    ps) printf '%s\\n' "$*" >> "$STATE/ps-args"; cat "$STATE/running" ;;
    events) offset=$(($(stat -c %s "$STATE/events") + 1)); : > "$STATE/subscribed"; exec tail -c "+$offset" -f "$STATE/events" ;;
esac
'''
FAKE_SYSTEMCTL = '''#!/bin/sh
printf '%s\\n' "$*" >> "$STATE/systemctl"
'''


class FakeConsul(object):
    """The two endpoints the program reads, on 127.0.0.1: /v1/agent/self (this node is 'here') and
    /v1/health/service/<app>?passing=1&stale, answering with self.passing[app] (node names)."""

    def __init__(self):
        self.passing = {}
        self.paths = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                return

            def do_GET(self):  # pylint: disable=invalid-name
                owner.paths.append((self.path, self.headers.get('X-Consul-Token')))
                if self.path == '/v1/agent/self':
                    body = {'Config': {'NodeName': 'here'}}
                elif self.path.startswith('/v1/health/service/') and self.path.endswith('?passing=1&stale'):
                    name = self.path[len('/v1/health/service/'):-len('?passing=1&stale')]
                    body = [{'Node': {'Node': node}, 'Service': {'Service': name}} for node in owner.passing.get(name, [])]
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.HTTPServer(('127.0.0.1', 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return 'http://127.0.0.1:%d' % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def node(tmp_path, monkeypatch):
    """A node's directories, with fake docker and systemctl first on PATH and a Consul on loopback."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for name, text in (('docker', FAKE_DOCKER), ('systemctl', FAKE_SYSTEMCTL)):
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)
    state = tmp_path / 'state'
    state.mkdir()
    (state / 'running').write_text('')
    (state / 'events').write_text('')
    config = tmp_path / 'consul.d'
    available = config / 'apps.available'
    available.mkdir(parents=True)
    (config / 'consul.json').write_text('{}\n')
    monkeypatch.setenv('PATH', '%s:%s' % (bin_dir, os.environ['PATH']))
    monkeypatch.setenv('STATE', str(state))
    consul = FakeConsul()
    env_file = tmp_path / 'consul.sh'
    env_file.write_text('# the root CLI\'s settings\nexport CONSUL_HTTP_ADDR=%s\nexport CONSUL_HTTP_TOKEN=read-token\n'
                        % consul.address)
    yield {'config': config, 'available': available, 'state': state, 'consul': consul, 'env': env_file}
    consul.close()


def stage(node, name, content):
    path = node['available'] / ('picocloud-app-%s.json' % name)
    path.write_text(content)
    path.chmod(0o640)


def enabled(node):
    return dict((p.name, p.read_text()) for p in node['config'].iterdir() if p.name.startswith('picocloud-app-'))


def run_once(node, *extra):
    return subprocess.run([sys.executable, PROGRAM, '--config-dir', str(node['config']), '--available-dir',
                           str(node['available']), '--consul-env', str(node['env']), '--once'] + list(extra),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60, env=os.environ, check=False)


@pytest.mark.parametrize('filename, name', [
    ('picocloud-app-static.json', 'static'),
    ('picocloud-app-web-2.json', 'web-2'),
    ('picocloud-app-.json', None),
    ('picocloud-app-a b.json', None),
    ('picocloud-app-static.json.tmp', None),
    ('.picocloud-app-static.json.tmp', None),
    ('picocloud-service-static.json', None),
    ('consul.json', None),
    ('picocloud-app-%s.json' % ('a' * 64), None),
])
def test_app_name_takes_only_the_programs_own_files(filename, name):
    assert apps.app_name(filename) == name


@pytest.mark.parametrize('available, enabled_now, running, elsewhere, write, remove', [
    # nothing staged, nothing running
    ({}, {}, set(), set(), {}, []),
    # a task runs here: enable it
    ({'static': b'A'}, {}, {'static'}, set(), {'static': b'A'}, []),
    # enabled and unchanged: nothing to do
    ({'static': b'A'}, {'static': b'A'}, {'static'}, {'static'}, {}, []),
    # the definition changed (a redeploy): write the new one
    ({'static': b'B'}, {'static': b'A'}, {'static'}, set(), {'static': b'B'}, []),
    # the task moved away and passes on another node: disable
    ({'static': b'A'}, {'static': b'A'}, set(), {'static'}, {}, ['static']),
    # the task stopped here and passes nowhere else (stopped everywhere, or not started yet): keep it, critical
    ({'static': b'A'}, {'static': b'A'}, set(), set(), {}, []),
    # the app was removed (no longer staged) while a task still runs: disable
    ({}, {'static': b'A'}, {'static'}, set(), {}, ['static']),
    # a running service that is not an app (not staged) is left alone
    ({'static': b'A'}, {}, {'static', 'other'}, set(), {'static': b'A'}, []),
    # several at once, removals sorted
    ({'a': b'1', 'b': b'2', 'c': b'3'}, {'c': b'3', 'z': b'9', 'b': b'2'}, {'a', 'b'}, {'c'}, {'a': b'1'}, ['c', 'z']),
])
def test_plan_enables_where_a_task_runs_and_disables_where_it_moved_away(
        available, enabled_now, running, elsewhere, write, remove):
    assert apps.plan(available, enabled_now, running, elsewhere) == (write, remove)


def test_stranded_lists_only_enabled_staged_apps_without_a_task_here():
    assert apps.stranded({'a': b'1', 'b': b'2', 'c': b'3'}, {'a': b'1', 'b': b'2', 'z': b'9'}, {'a'}) == ['b']


def test_consul_settings_reads_only_whole_export_lines():
    text = ('# comment\nexport CONSUL_HTTP_ADDR=https://127.0.0.1:8501\nexport CONSUL_CACERT=/etc/consul.d/tls/ca.pem\n'
            'export CONSUL_HTTP_TOKEN=abc; rm -rf /\nexport OTHER=1\n  export CONSUL_CLIENT_KEY=/k.pem  \n')
    assert apps.consul_settings(text) == {'CONSUL_HTTP_ADDR': 'https://127.0.0.1:8501',
                                          'CONSUL_CACERT': '/etc/consul.d/tls/ca.pem', 'CONSUL_CLIENT_KEY': '/k.pem'}


def test_running_services_keeps_only_service_names():
    assert apps.running_services(['static', '', 'webapp ', 'static', 'bad name', '-x']) == {'static', 'webapp'}


def test_once_enables_a_running_app_with_the_staged_mode_and_reloads_the_agent(node):
    stage(node, 'static', '{"service": {"name": "static"}}\n')
    stage(node, 'webapp', '{"service": {"name": "webapp"}}\n')
    (node['state'] / 'running').write_text('static\nunrelated\n')
    result = run_once(node)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {'changed': True, 'enabled': ['static'], 'disabled': []}
    assert enabled(node) == {'picocloud-app-static.json': '{"service": {"name": "static"}}\n'}
    assert stat.S_IMODE(os.stat(str(node['config'] / 'picocloud-app-static.json')).st_mode) == 0o640
    assert (node['state'] / 'systemctl').read_text() == 'reload consul\n'
    assert 'label=com.docker.swarm.service.name' in (node['state'] / 'ps-args').read_text()
    # the same pass again changes nothing and does not reload
    again = run_once(node)
    assert json.loads(again.stdout) == {'changed': False, 'enabled': [], 'disabled': []}
    assert (node['state'] / 'systemctl').read_text() == 'reload consul\n'


def test_once_keeps_an_app_that_stopped_everywhere_and_disables_it_once_it_passes_elsewhere(node):
    stage(node, 'static', 'A\n')
    (node['config'] / 'picocloud-app-static.json').write_text('A\n')
    (node['config'] / 'picocloud-service-mine.json').write_text('{}\n')
    # no task here, and only this node's (critical) instance in Consul: kept, so the app shows critical
    node['consul'].passing['static'] = ['here']
    result = run_once(node)
    assert json.loads(result.stdout) == {'changed': False, 'enabled': [], 'disabled': []}
    assert enabled(node) == {'picocloud-app-static.json': 'A\n'}
    assert ('/v1/health/service/static?passing=1&stale', 'read-token') in node['consul'].paths
    # the task runs and passes on another node now: the registration here goes
    node['consul'].passing['static'] = ['here', 'pi-02']
    result = run_once(node)
    assert json.loads(result.stdout) == {'changed': True, 'enabled': [], 'disabled': ['static']}
    assert enabled(node) == {}
    assert sorted(p.name for p in node['config'].iterdir()) == ['apps.available', 'consul.json', 'picocloud-service-mine.json']


def test_consul_not_answering_keeps_the_registrations_and_says_why(node):
    stage(node, 'static', 'A\n')
    (node['config'] / 'picocloud-app-static.json').write_text('A\n')
    node['consul'].close()
    result = run_once(node)
    assert result.returncode == 0
    assert json.loads(result.stdout) == {'changed': False, 'enabled': [], 'disabled': []}
    assert result.stderr.startswith('Consul could not say where the apps run (kept their registrations here): ')
    assert enabled(node) == {'picocloud-app-static.json': 'A\n'}


def test_an_app_no_longer_staged_is_disabled_without_asking_consul(node):
    (node['config'] / 'picocloud-app-gone.json').write_text('G\n')
    result = run_once(node)
    assert json.loads(result.stdout) == {'changed': True, 'enabled': [], 'disabled': ['gone']}
    assert node['consul'].paths == []


def test_check_reports_and_changes_nothing(node):
    stage(node, 'static', 'A\n')
    (node['config'] / 'picocloud-app-gone.json').write_text('G\n')
    (node['state'] / 'running').write_text('static\n')
    result = run_once(node, '--check')
    assert json.loads(result.stdout) == {'changed': True, 'enabled': ['static'], 'disabled': ['gone']}
    assert enabled(node) == {'picocloud-app-gone.json': 'G\n'}
    assert not (node['state'] / 'systemctl').exists()


def test_docker_unreachable_fails_clearly_and_changes_nothing(node):
    stage(node, 'static', 'A\n')
    (node['config'] / 'picocloud-app-static.json').write_text('A\n')
    (node['state'] / 'down').write_text('')
    result = run_once(node)
    assert result.returncode == 1
    assert result.stderr.strip() == 'picocloud-consul-apps: docker ps failed: Cannot connect to the Docker daemon'
    assert enabled(node) == {'picocloud-app-static.json': 'A\n'}
    assert not (node['state'] / 'systemctl').exists()


@pytest.mark.parametrize('argv, message', [
    (['--once', '--watch'], 'not allowed with argument'),
    ([], 'one of the arguments --once --watch is required'),
    (['--watch', '--resync', '0'], '--resync must be 1 to 3600 seconds, got 0'),
])
def test_bad_arguments_are_refused(node, argv, message):
    result = subprocess.run([sys.executable, PROGRAM] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, timeout=60, check=False)
    assert result.returncode == 2
    assert message in result.stderr


def _until(predicate, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_watch_follows_a_task_that_moves_here_and_away_on_docker_events(node):
    stage(node, 'static', 'A\n')
    process = subprocess.Popen([sys.executable, PROGRAM, '--config-dir', str(node['config']), '--available-dir',
                                str(node['available']), '--consul-env', str(node['env']), '--watch', '--resync', '3600'],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    try:
        # the first pass at start, after the subscription to the events: nothing runs here
        assert _until((node['state'] / 'ps-args').exists) and _until((node['state'] / 'subscribed').exists)
        assert enabled(node) == {}
        # a task starts here: the start event brings a pass (the resync is an hour away)
        (node['state'] / 'running').write_text('static\n')
        with open(str(node['state'] / 'events'), 'a') as events:
            events.write('start\n')
        assert _until(lambda: enabled(node) == {'picocloud-app-static.json': 'A\n'})
        # the task moves to another node, where it passes: the die event disables it here
        node['consul'].passing['static'] = ['pi-02']
        (node['state'] / 'running').write_text('')
        with open(str(node['state'] / 'events'), 'a') as events:
            events.write('die\n')
        assert _until(lambda: enabled(node) == {})
        assert _until(lambda: (node['state'] / 'systemctl').read_text() == 'reload consul\nreload consul\n')
    finally:
        process.kill()
        process.communicate(timeout=30)


def test_watch_subscribes_to_the_events_before_its_first_pass(monkeypatch):
    """The pass at start runs after `docker events` is started: a task that starts or stops during that pass is on
    the event stream, not missed until the next resync."""
    order = []

    class Stop(Exception):
        pass

    class Events(object):
        def __init__(self, argv, **_kwargs):
            order.append(argv[1])

        def poll(self):
            raise Stop()

        def kill(self):
            order.append('kill')

        def wait(self):
            return 0

    def sync(*_args):
        order.append('pass')
        return {'changed': False, 'enabled': [], 'disabled': []}

    monkeypatch.setattr(apps.subprocess, 'Popen', Events)
    monkeypatch.setattr(apps, 'sync', sync)
    with pytest.raises(Stop):
        apps.watch('/nonexistent', '/nonexistent', '/nonexistent', 30)
    assert order == ['events', 'pass', 'kill']
