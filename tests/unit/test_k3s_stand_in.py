# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The k3s-stand-in contract script, run as real processes on 127.0.0.1 ports (it is not k3s).

Each test starts its own nodes, each with its own root directory (K3S_STAND_IN_ROOT), writes their
config.yaml with the collection's own renderer, and stops every process it started.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import http.client
import importlib.machinery
import importlib.util
import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time

import pytest
import yaml

from ansible_collections.picocloud.edge.plugins.module_utils.k3s import config as k3s_config
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import kubeconfig as k3s_kubeconfig
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import preflight as k3s_preflight

STAND_IN = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'k3s', 'k3s-stand-in')
SECRET = 'Zq3x9VbT2mK7pLr4Wn8sYc5Hd1Fg6Jk0AaBbCcDd'
WAIT = 20


def _module():
    loader = importlib.machinery.SourceFileLoader('k3s_stand_in', STAND_IN)
    spec = importlib.util.spec_from_loader('k3s_stand_in', loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _free_port(address='127.0.0.1'):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def _wait(predicate, what, timeout=WAIT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError('timed out after %ss waiting for %s' % (timeout, what))


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class Node(object):
    """One stand-in node: its root directory, config and process."""

    def __init__(self, root, name):
        self.root, self.name, self.process, self.log = root, name, None, None
        self.log_path = os.path.join(root, 'stand-in.log')
        os.makedirs(os.path.join(root, 'etc/rancher/k3s'), exist_ok=True)

    def path(self, absolute):
        return os.path.join(self.root, absolute.lstrip('/'))

    def write(self, absolute, text, mode=0o600):
        path = self.path(absolute)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as stream:
            stream.write(text)
        os.chmod(path, mode)
        return path

    def configure(self, settings, token):
        self.write('/etc/rancher/k3s/cluster-token', token + '\n')
        self.write('/etc/rancher/k3s/config.yaml', k3s_config.render_config(dict(settings, node_name=self.name)))

    def env(self, **extra):
        env = dict(os.environ, K3S_STAND_IN_ROOT=self.root, K3S_STAND_IN_READY_DELAY='0.5',
                   K3S_STAND_IN_HEARTBEAT='0.5', K3S_STAND_IN_JOIN_WAIT='3')
        env.pop('NOTIFY_SOCKET', None)
        env.update(extra)
        return env

    def start(self, role, *args, **env):
        return self.start_script(STAND_IN, role, *args, **env)

    def start_script(self, script, role, *args, **env):
        self.stop()
        self.log = open(self.log_path, 'ab')
        self.process = subprocess.Popen([sys.executable, script, role] + list(args), env=self.env(**env),
                                        stdout=self.log, stderr=self.log)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.log:
            self.log.close()
            self.log = None

    def output(self):
        with open(self.log_path, 'rb') as stream:
            return stream.read().decode(errors='replace')

    def run(self, *args, **env):
        return subprocess.run([sys.executable, STAND_IN] + list(args), env=self.env(**env), capture_output=True,
                              text=True, timeout=60, check=False)

    def kubectl(self, *args):
        return self.run('kubectl', *args)

    def nodes(self):
        result = self.kubectl('get', 'nodes', '-o', 'json')
        assert result.returncode == 0, result.stderr
        return dict((item['metadata']['name'], item) for item in json.loads(result.stdout)['items'])

    def ready(self, name):
        node = self.nodes().get(name)
        return node is not None and node['status']['conditions'][0]['status'] == 'True'

    def starts(self):
        with open(self.path('/var/lib/rancher/k3s/stand-in/starts')) as stream:
            return int(stream.read())

    def token(self):
        with open(self.path('/var/lib/rancher/k3s/server/token')) as stream:
            return stream.read().strip()


@pytest.fixture
def short_tmp():
    """A short temporary directory: unix socket paths must stay under 108 bytes."""
    directory = tempfile.mkdtemp(prefix='k3s-si-')
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def cluster(tmp_path):
    """A factory of stand-in nodes; every process it started is stopped at the end."""
    nodes = []

    def make(name):
        node = Node(str(tmp_path / name), name)
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        node.stop()


def _server_settings(port, address='127.0.0.1', **extra):
    settings = {'role': 'server', 'node_ip': '127.0.0.1',
                'extra': {'bind-address': address, 'https-listen-port': port}}
    settings.update(extra)
    return settings


def _first_server(cluster, name='s1'):
    port = _free_port()
    node = cluster(name)
    node.configure(_server_settings(port, cluster_init=True), SECRET)
    node.start('server')
    _wait(lambda: os.path.exists(node.path('/etc/rancher/k3s/k3s.yaml')) and 'serving' in node.output(),
          '%s to serve' % name)
    return node, port


def _cacerts(port, address='127.0.0.1'):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection(address, port, context=context, timeout=10)
    try:
        connection.request('GET', '/cacerts')
        return connection.getresponse().read()
    finally:
        connection.close()


def test_stand_in_version_is_labelled_stand_in_and_not_k3s_and_runs_as_an_executable(tmp_path):
    result = Node(str(tmp_path), 'x').run('--version')
    assert result.returncode == 0
    assert result.stdout.startswith('k3s-stand-in version v')
    assert '(stand-in, not k3s)' in result.stdout
    executed = subprocess.run([STAND_IN, '--version'], capture_output=True, text=True, timeout=60, check=False)
    assert executed.returncode == 0 and executed.stdout == result.stdout


def test_stand_in_first_server_writes_the_secure_token_over_its_own_ca_and_0600_files(cluster):
    node, port = _first_server(cluster)
    served = _cacerts(port)
    assert node.token() == 'K10%s::server:%s' % (hashlib.sha256(served).hexdigest(), SECRET)
    with open(node.path('/var/lib/rancher/k3s/server/tls/server-ca.crt'), 'rb') as stream:
        assert stream.read() == served
    assert _mode(node.path('/var/lib/rancher/k3s/server/token')) == 0o600
    assert _mode(node.path('/etc/rancher/k3s/k3s.yaml')) == 0o600
    assert os.readlink(node.path('/var/lib/rancher/k3s/server/agent-token')) == 'token'
    assert node.starts() == 1


def test_stand_in_ca_and_serving_certificate_are_accepted_by_openssl(cluster):
    node, port = _first_server(cluster)
    context = ssl.create_default_context(cadata=_cacerts(port).decode())
    with socket.create_connection(('127.0.0.1', port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname='127.0.0.1') as tls:
            assert tls.version() in ('TLSv1.2', 'TLSv1.3')
            assert tls.getpeercert()['subjectAltName']


def test_stand_in_k3s_yaml_merges_into_a_kubeconfig_with_our_filter(cluster):
    node, port = _first_server(cluster)
    with open(node.path('/etc/rancher/k3s/k3s.yaml')) as stream:
        k3s_yaml = stream.read()
    merged = yaml.safe_load(k3s_kubeconfig.render('', k3s_yaml, 'lab', '127.0.0.1'))
    assert merged['clusters'][0]['cluster']['server'] == 'https://127.0.0.1:%d' % port
    assert merged['current-context'] == 'lab'


def test_stand_in_servers_join_one_at_a_time_and_an_agent_after_them(cluster):
    first, port = _first_server(cluster)
    _wait(lambda: first.ready('s1'), 's1 Ready')
    token = first.token()
    joined = []
    for name in ('s2', 's3'):
        node = cluster(name)
        node.configure(_server_settings(_free_port(), server_url='https://127.0.0.1:%d' % port), token)
        node.start('server')
        _wait(lambda name=name: first.ready(name), '%s Ready' % name)
        _wait(lambda node=node: node.run('kubectl', 'get', '--raw', '/readyz/etcd').stdout.strip() == 'ok',
              'etcd healthy on %s' % name)
        joined.append(node)
    agent = cluster('a1')
    agent.configure({'role': 'agent', 'server_url': 'https://127.0.0.1:%d' % port, 'node_ip': '127.0.0.1'}, token)
    agent.start('agent')
    _wait(lambda: first.ready('a1'), 'a1 Ready')

    nodes = joined[1].nodes()
    assert sorted(nodes) == ['a1', 's1', 's2', 's3']
    assert all(item['status']['conditions'][0]['status'] == 'True' for item in nodes.values())
    assert 'node-role.kubernetes.io/etcd' in nodes['s3']['metadata']['labels']
    assert 'node-role.kubernetes.io/control-plane' not in nodes['a1']['metadata']['labels']
    events = json.loads(first.kubectl('get', '--raw', '/stand-in/events').stdout)
    joins = [event for event in events if event['event'] == 'join']
    assert [event['node'] for event in joins] == ['s1', 's2', 's3', 'a1']
    ready_at = dict((name, float(item['metadata']['annotations']['stand-in.picocloud.edge/ready-at']))
                    for name, item in nodes.items())
    for earlier, later in zip(joins, joins[1:]):
        assert later['at'] >= ready_at[earlier['node']], '%s joined before %s was Ready' % (
            later['node'], earlier['node'])


def test_stand_in_reports_each_nodes_own_version_as_its_kubelet_version(cluster, tmp_path):
    newer = tmp_path / 'k3s-stand-in-newer'
    with open(STAND_IN) as stream:
        newer.write_text(stream.read().replace("VERSION = 'v1.33.0+standin1'", "VERSION = 'v1.34.0+standin1'"))
    first, port = _first_server(cluster)
    agent = cluster('a1')
    agent.configure({'role': 'agent', 'server_url': 'https://127.0.0.1:%d' % port, 'node_ip': '127.0.0.1'},
                    first.token())
    agent.start_script(str(newer), 'agent')
    _wait(lambda: first.ready('a1'), 'a1 Ready')
    versions = dict((name, item['status']['nodeInfo']['kubeletVersion']) for name, item in first.nodes().items())
    assert versions == {'s1': 'v1.33.0+standin1', 'a1': 'v1.34.0+standin1'}


def test_stand_in_records_cordon_drain_uncordon_and_delete(cluster):
    first, dummy = _first_server(cluster)
    assert first.kubectl('cordon', 's1').stdout == 'node/s1 cordoned\n'
    assert 'SchedulingDisabled' in first.kubectl('get', 'nodes').stdout
    assert first.kubectl('drain', 's1', '--ignore-daemonsets', '--timeout', '60s').stdout == (
        'node/s1 cordoned\nnode/s1 drained\n')
    assert first.kubectl('uncordon', 's1').stdout == 'node/s1 uncordoned\n'
    missing = first.kubectl('delete', 'node', 'ghost')
    assert missing.returncode == 1 and 'nodes "ghost" not found' in missing.stderr
    assert first.kubectl('delete', 'node', 's1').stdout == 'node "s1" deleted\n'
    events = [event['event'] for event in json.loads(first.kubectl('get', '--raw', '/stand-in/events').stdout)]
    assert events[-4:] == ['cordon', 'drain', 'uncordon', 'delete']


def test_stand_in_join_with_a_token_from_another_cluster_fails_and_names_both_hashes(cluster):
    first, port = _first_server(cluster)
    agent = cluster('a1')
    agent.configure({'role': 'agent', 'server_url': 'https://127.0.0.1:%d' % port},
                    'K10%s::server:%s' % ('0' * 64, SECRET))
    result = agent.start('agent').process.wait(timeout=WAIT)
    served = hashlib.sha256(_cacerts(port)).hexdigest()
    assert result != 0
    assert 'token CA hash does not match the Cluster CA certificate hash of https://127.0.0.1:%d: %s != %s' % (
        port, '0' * 64, served) in agent.output()
    assert 'a1' not in first.nodes()


def test_stand_in_join_with_the_wrong_secret_is_rejected_by_the_server(cluster):
    first, port = _first_server(cluster)
    agent = cluster('a1')
    agent.configure({'role': 'agent', 'server_url': 'https://127.0.0.1:%d' % port},
                    first.token().rsplit(':', 1)[0] + ':' + 'W' * 40)
    assert agent.start('agent').process.wait(timeout=WAIT) != 0
    assert 'rejected the token secret of a1' in agent.output()
    assert 'a1' not in first.nodes()


def test_stand_in_join_diagnostics_name_the_failing_node_from_its_stderr(cluster):
    first, port = _first_server(cluster)
    agent = cluster('a1')
    url = 'https://127.0.0.1:%d' % port
    agent.configure({'role': 'agent', 'server_url': url}, 'K10%s::server:%s' % ('0' * 64, SECRET))
    agent.start('agent').process.wait(timeout=WAIT)
    message = k3s_preflight.join_diagnostics({
        'node': 'a1', 'role': 'agent', 'server_url': url, 'timeout': 5, 'port_open': True,
        'token_ca_hash': '0' * 64, 'cacerts_sha256': hashlib.sha256(_cacerts(port)).hexdigest(),
        'journal': agent.output()})
    assert message.startswith('a1 did not join the cluster within 5s.')
    assert 'DID NOT MATCH' in message and url in message
    assert 'token CA hash does not match' in message.split('journal on a1:')[1]


def test_stand_in_refuses_a_second_node_with_the_same_name_as_k3s_does(cluster):
    first, port = _first_server(cluster)
    agents = []
    for root in ('a1', 'a1-twin'):
        node = cluster(root)
        node.name = 'a1'
        node.configure({'role': 'agent', 'server_url': 'https://127.0.0.1:%d' % port}, first.token())
        agents.append(node)
    agents[0].start('agent')
    _wait(lambda: first.ready('a1'), 'a1 Ready')
    assert agents[1].start('agent').process.wait(timeout=WAIT) != 0
    assert 'Node password rejected, duplicate hostname' in agents[1].output()
    assert first.ready('a1')


def test_stand_in_refuses_a_joiner_that_cannot_reach_its_server_within_the_wait(cluster):
    agent = cluster('a1')
    agent.configure({'role': 'agent', 'server_url': 'https://127.0.0.1:%d' % _free_port()},
                    'K10%s::server:%s' % ('0' * 64, SECRET))
    started = time.time()
    assert agent.start('agent').process.wait(timeout=WAIT) != 0
    assert time.time() - started < 15
    assert 'cannot reach https://127.0.0.1:' in agent.output()


def test_stand_in_server_certificate_must_cover_the_join_address_through_tls_san(cluster):
    port = _free_port('127.0.0.3')
    first = cluster('s1')
    first.configure(_server_settings(port, address='127.0.0.3', cluster_init=True), SECRET)
    first.start('server')
    _wait(lambda: 'serving' in first.output(), 's1 to serve')
    agent = cluster('a1')
    agent.configure({'role': 'agent', 'server_url': 'https://127.0.0.3:%d' % port}, first.token())
    assert agent.start('agent').process.wait(timeout=WAIT) != 0
    assert "does not cover the address used" in agent.output() and "tls-san" in agent.output()

    first.stop()
    first.configure(_server_settings(port, address='127.0.0.3', cluster_init=True, vip='127.0.0.3'), SECRET)
    first.start('server')
    _wait(lambda: first.output().count('serving') == 2, 's1 to serve again')
    agent.start('agent')
    _wait(lambda: 'joined https://127.0.0.3' in agent.output(), 'a1 to join through the tls-san address')
    assert first.starts() == 2


def test_stand_in_start_counter_shows_a_restart_and_only_a_restart(cluster):
    first, dummy = _first_server(cluster)
    time.sleep(1.2)
    assert first.starts() == 1
    first.stop()
    first.start('server')
    _wait(lambda: first.output().count('serving') == 2, 's1 to serve again')
    assert first.starts() == 2
    events = json.loads(first.kubectl('get', '--raw', '/stand-in/events').stdout)
    assert [event['event'] for event in events] == ['join', 'rejoin']


def test_stand_in_tells_systemd_it_is_ready_through_notify_socket(cluster, short_tmp):
    socket_path = os.path.join(short_tmp, 'notify.sock')
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(socket_path)
        listener.settimeout(WAIT)
        node = cluster('s1')
        node.configure(_server_settings(_free_port(), cluster_init=True), SECRET)
        node.start('server', NOTIFY_SOCKET=socket_path)
        assert listener.recv(64) == b'READY=1'


def test_stand_in_first_server_refuses_a_secure_token_before_its_ca_exists(cluster):
    node = cluster('s1')
    node.configure(_server_settings(_free_port(), cluster_init=True), 'K10%s::server:%s' % ('a' * 64, SECRET))
    assert node.start('server').process.wait(timeout=WAIT) == 1
    assert 'the first server must start from the short token' in node.output()


def _refusal_cases():
    agent = {'role': 'agent', 'server_url': 'https://127.0.0.1:6443'}
    return [
        ('token in config.yaml', agent, {'/etc/rancher/k3s/config.yaml+': 'token: %s\n' % SECRET}, (), {},
         "sets 'token': a token in a config file is refused"),
        ('token in a drop-in', agent, {'/etc/rancher/k3s/config.yaml.d/50-site.yaml': 'agent-token: x\n'}, (), {},
         "50-site.yaml sets 'agent-token'"),
        ('token on the command line', agent, {}, ('--token', SECRET), {},
         'a token on the command line (--token) is refused'),
        ('any argument after the role', agent, {}, ('--node-ip=10.0.0.1',), {},
         "unexpected argument '--node-ip=10.0.0.1'"),
        ('token in the environment', agent, {}, (), {'K3S_TOKEN': SECRET}, 'K3S_TOKEN is set in the environment'),
        ('token-file 0644', agent, {'mode:/etc/rancher/k3s/cluster-token': 0o644}, (), {},
         'has mode 0644; it must be 0600'),
        ('config.yaml 0644', agent, {'mode:/etc/rancher/k3s/config.yaml': 0o644}, (), {},
         'config file %s has mode 0644'),
        ('drop-in 0640', agent, {'/etc/rancher/k3s/config.yaml.d/50-site.yaml': 'node-label: [a=b]\n',
                                 'mode:/etc/rancher/k3s/config.yaml.d/50-site.yaml': 0o640}, (), {},
         '50-site.yaml has mode 0640'),
        ('registries.yaml 0644', agent, {'/etc/rancher/k3s/registries.yaml': 'mirrors: {}\n',
                                         'mode:/etc/rancher/k3s/registries.yaml': 0o644}, (), {},
         'registries file %s has mode 0644'),
        ('missing containerd socket', dict(agent, container_runtime_endpoint='unix:///run/containerd/containerd.sock'),
         {}, (), {}, 'container-runtime-endpoint unix:///run/containerd/containerd.sock: no socket there'),
        ('agent with a server flag', agent, {'/etc/rancher/k3s/config.yaml+': 'tls-san: [x.lan]\n'}, (), {},
         "sets 'tls-san', a server flag"),
        ('agent without a server', agent, {'/etc/rancher/k3s/config.yaml=': 'token-file: /etc/rancher/k3s/cluster-token\n'},
         (), {}, 'has no server: an agent must name the server it joins'),
        ('no token-file', agent, {'/etc/rancher/k3s/config.yaml=': 'server: https://127.0.0.1:6443\n'}, (), {},
         'has no token-file'),
    ]


@pytest.mark.parametrize('case', _refusal_cases(), ids=lambda case: case[0])
def test_stand_in_refuses_broken_plumbing_with_a_message_and_writes_nothing(tmp_path, case):
    dummy, settings, files, args, env, message = case
    node = Node(str(tmp_path / 'n'), 'a1')
    node.configure(settings, 'K10%s::server:%s' % ('0' * 64, SECRET))
    for key, value in files.items():
        if key.startswith('mode:'):
            os.chmod(node.path(key[len('mode:'):]), value)
        elif key.endswith('+'):
            with open(node.path(key[:-1]), 'a') as stream:
                stream.write(value)
        elif key.endswith('='):
            node.write(key[:-1], value)
        else:
            node.write(key, value)
    result = node.run('agent', *args, **env)
    assert result.returncode == 1
    expected = message % node.path('/etc/rancher/k3s/%s' % (
        'registries.yaml' if 'registries' in message else 'config.yaml')) if '%s' in message else message
    assert expected in result.stderr
    assert not os.path.exists(node.path('/var/lib/rancher'))
    assert not os.path.exists(node.path('/etc/rancher/node'))


def test_stand_in_accepts_an_existing_containerd_socket(short_tmp):
    node = Node(os.path.join(short_tmp, 'n'), 'a1')
    node.configure({'role': 'agent', 'server_url': 'https://127.0.0.1:%d' % _free_port(),
                    'container_runtime_endpoint': 'unix:///run/containerd/containerd.sock'},
                   'K10%s::server:%s' % ('0' * 64, SECRET))
    os.makedirs(node.path('/run/containerd'))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(node.path('/run/containerd/containerd.sock'))
        result = node.run('agent', K3S_STAND_IN_JOIN_WAIT='0')
    assert 'container-runtime-endpoint' not in result.stderr
    assert 'cannot reach' in result.stderr


@pytest.mark.parametrize('render', [
    lambda: k3s_config.render_config({'role': 'server', 'cluster_init': True, 'vip': '10.0.0.10',
                                      'tls_san': ['k3s.lan'], 'disable': ['traefik'], 'kubelet_args': ['a=b']}),
    lambda: k3s_config.render_registries({'url': 'https://registry.site:5000', 'namespaces': ['docker.io', '*'],
                                          'tls': {'ca_file': '/etc/ca.pem'}}),
    lambda: k3s_config.dropin('50-site', {'node-label+': ['zone=garage']})['content'],
])
def test_stand_in_yaml_reader_reads_what_our_renderers_write(render):
    text = render()
    assert _module().yaml_load(text) == yaml.safe_load(text)


def test_stand_in_yaml_writer_output_is_read_back_by_pyyaml_and_by_itself():
    module = _module()
    kubeconfig = {'apiVersion': 'v1', 'clusters': [{'cluster': {'certificate-authority-data': 'LS0t+/=',
                                                                'server': 'https://127.0.0.1:6443'}, 'name': 'default'}],
                  'current-context': 'default', 'preferences': {}, 'users': [], 'mode': '0600', 'flag': 'true'}
    text = module.yaml_dump(kubeconfig)
    assert yaml.safe_load(text) == kubeconfig
    assert module.yaml_load(text) == kubeconfig
