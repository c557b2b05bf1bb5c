# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.docker + picocloud.edge.swarm with real nested Docker engines: the converged swarm, its TLS
API, then bad input, faults and membership changes (each restores the swarm it found)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import socket
import ssl
import subprocess
import sys
import urllib.request

import pytest
import yaml

from picocloud_test import NATIVE, VERIFY, node_exec, playbook, testinfra_hosts as _hosts, wait_for

testinfra_hosts = _hosts()
HERE = os.path.dirname(os.path.abspath(__file__))
SWARM = os.path.join(HERE, '..', 'playbooks', 'swarm.yml')
# Runs whose subject is not the emulated node leave it out: every task there runs Python under qemu-user.
WEB = os.path.join(HERE, '..', 'playbooks', 'test_web.yml')


def managers(site):
    return site.hosts('swarm_managers')


def workers(site):
    return site.hosts('swarm_workers')


def swarm_nodes(site, manager=None):
    """The swarm's nodes as a manager lists them: {hostname: node inspect}."""
    manager = manager or managers(site)[0]
    ids = node_exec(manager, 'docker', 'node', 'ls', '-q').stdout.split()
    return dict((n['Description']['Hostname'], n)
                for n in json.loads(node_exec(manager, 'docker', 'node', 'inspect', *ids).stdout))


def hostname(site, host):
    return site.hostvars(host).get('picocloud_hostname', host)


def healthy(site):
    """Every inventory node ready in the swarm, the managers reachable, one leader."""
    try:
        nodes = swarm_nodes(site)
    except ValueError:
        return False
    want = set(hostname(site, h) for h in site.hosts())
    return (set(nodes) == want and all(n['Status']['State'] == 'ready' for n in nodes.values())
            and len([n for n in nodes.values() if n.get('ManagerStatus', {}).get('Leader')]) == 1
            and all(nodes[hostname(site, m)].get('ManagerStatus', {}).get('Reachability') == 'reachable'
                    for m in managers(site)))


def extra_inventory(tmp_path, groups=None, hostvars=None):
    """An inventory source added with -i beside the site's: extra groups and host vars for one run."""
    data = {'all': {'children': dict((g, {'hosts': dict((h, {}) for h in hs)}) for g, hs in (groups or {}).items()),
                    'hosts': hostvars or {}}}
    path = tmp_path / 'extra.yml'
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.fixture
def restore_swarm(site):
    """Whatever a test does to the swarm, the site's swarm is converged and healthy again afterwards."""
    yield
    site.playbook(SWARM, limit=NATIVE).ok()
    assert wait_for(lambda: healthy(site), timeout=120, step=3), swarm_nodes(site)


# --- the converged swarm ----------------------------------------------------------------------------------

def test_every_node_is_ready_with_its_role_and_merged_labels(site):
    nodes = swarm_nodes(site)
    assert sorted(nodes) == sorted(hostname(site, h) for h in site.hosts())
    for host in site.hosts():
        node = nodes[hostname(site, host)]
        assert node['Status']['State'] == 'ready', host
        # swarm_node_availability: the lab drains its emulated nodes (qemu-user cannot start a runc shim)
        assert node['Spec']['Availability'] == (site.hostvars(host).get('swarm_node_availability') or 'active'), host
        assert node['Spec']['Role'] == ('manager' if host in managers(site) else 'worker'), host
        labels = node['Spec']['Labels']
        assert labels['arch'] == ('arm64' if site.hostvars(host).get('picocloud_lab_emulated') else 'amd64'), host
        assert labels['board'] == 'none', host  # lab nodes are not Raspberry Pis
        assert int(labels['memory_mb']) > 0, host
        for key, value in site.hostvars(host).get('picocloud_node_labels', {}).items():
            assert labels[key] == value, (host, key)  # inventory labels merged with the facts'
    assert len([n for n in nodes.values() if n.get('ManagerStatus', {}).get('Leader')]) == 1


def test_the_swarm_is_labelled_with_the_site(site):
    labels = json.loads(node_exec(managers(site)[0], 'docker', 'info', '--format', '{{json .Swarm.Cluster.Spec.Labels}}').stdout)
    assert labels == {'io.picocloud.site': site.hostvars(managers(site)[0])['picocloud_site']}


def test_daemon_json_has_no_hosts_and_the_listeners_are_on_the_command_line(host):
    daemon = json.loads(host.file('/etc/docker/daemon.json').content_string)
    assert 'hosts' not in daemon
    assert daemon['tlsverify'] is True
    assert daemon['log-opts'] == {'max-size': '10m', 'max-file': '3'}
    assert 'insecure-registries' not in daemon
    emulated = host.ansible.get_variables().get('picocloud_lab_emulated', False)
    # emulated lab nodes have no netfilter: dockerd runs there without iptables and bridge (an emulation limit)
    assert (daemon.get('iptables'), daemon.get('bridge')) == ((False, 'none') if emulated else (None, None))
    dropin = host.file('/etc/systemd/system/docker.service.d/picocloud.conf').content_string
    assert '\nExecStart=\n' in dropin
    assert '-H fd:// -H tcp://0.0.0.0:2376' in dropin
    assert host.socket('tcp://0.0.0.0:2376').is_listening
    assert host.file('/etc/docker/tls/docker-key.pem').mode == 0o600


def test_a_global_service_answers_on_every_node_with_its_own_name(site):
    """Every node that takes tasks: the lab's emulated node is drained (swarm_node_availability), as qemu-user
    cannot start a container's runc shim, so a global service has no task there."""
    site.playbook(WEB).ok()
    serving = [h for h in site.hosts() if site.hostvars(h).get('swarm_node_availability', 'active') in ('', 'active')]
    try:
        def answers():
            got = {}
            for host in serving:
                try:
                    with urllib.request.urlopen('http://%s:8080/cgi-bin/node' % site.address(host), timeout=3) as resp:
                        got[host] = resp.read().decode().strip()
                except OSError:
                    return None
            return got
        got = wait_for(answers, timeout=180, step=3)
        assert got == dict((h, hostname(site, h)) for h in serving), got
    finally:
        site.playbook(WEB, extra_vars={'state': 'absent'}).ok()
    assert 'picocloud-test-web' not in node_exec(managers(site)[0], 'docker', 'service', 'ls').stdout


def bundle(site):
    return os.path.join(site.secrets_dir, 'pki', 'clients', 'operator')


def test_tls_api_answers_with_the_env_file_and_client_bundle(site):
    for host in site.hosts():
        env_file = os.path.join(site.secrets_dir, 'docker', host + '.env')
        assert oct(os.stat(env_file).st_mode & 0o777) == '0o600'
        env = dict(os.environ)
        with open(env_file) as handle:
            for line in handle:
                match = re.match(r'^export (DOCKER_\w+)=(.*)$', line.strip())
                if match:
                    env[match.group(1)] = match.group(2)
        assert env['DOCKER_TLS_VERIFY'] == '1'
        assert env['DOCKER_HOST'] == 'tcp://%s:2376' % site.address(host)
        out = subprocess.run(['docker', 'info', '--format', '{{.Name}} {{.Swarm.LocalNodeState}}'], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=30, check=False)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == hostname(site, host) + ' active'


def api_status(site, address, certfile=None, keyfile=None):
    """GET /version over TLS (trusting what the operator bundle trusts); the HTTP status line, or 'refused: ...'."""
    ctx = ssl.create_default_context(cafile=os.path.join(bundle(site), 'ca.pem'))
    ctx.check_hostname = False
    if certfile:
        ctx.load_cert_chain(certfile, keyfile)
    try:
        with socket.create_connection((address, 2376), timeout=10) as raw:
            with ctx.wrap_socket(raw) as conn:
                conn.sendall(b'GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
                status = conn.recv(64).decode(errors='replace').split('\r\n')[0]
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as exc:
        return 'refused: %s' % exc
    return status or 'refused: connection closed without an answer'


def test_tls_api_refuses_a_client_without_a_certificate(site):
    address = site.address(workers(site)[0])
    ok = api_status(site, address, os.path.join(bundle(site), 'cert.pem'), os.path.join(bundle(site), 'key.pem'))
    assert ok.startswith('HTTP/1.1 200'), ok
    status = api_status(site, address)
    assert status.startswith('refused: '), status


OTHER_CA_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - community.crypto.openssl_privatekey: {path: "{{ dir }}/ca-key.pem", type: ECC, curve: secp256r1}
    - community.crypto.openssl_csr_pipe:
        privatekey_path: "{{ dir }}/ca-key.pem"
        common_name: another site CA
        basic_constraints: ["CA:TRUE"]
        basic_constraints_critical: true
        key_usage: [keyCertSign, cRLSign]
      register: csr
    - community.crypto.x509_certificate:
        path: "{{ dir }}/ca.pem"
        csr_content: "{{ csr.csr }}"
        privatekey_path: "{{ dir }}/ca-key.pem"
        provider: selfsigned
    - community.crypto.openssl_privatekey: {path: "{{ dir }}/key.pem", type: ECC, curve: secp256r1}
    - community.crypto.openssl_csr_pipe:
        privatekey_path: "{{ dir }}/key.pem"
        common_name: operator
        extended_key_usage: [clientAuth]
      register: client_csr
    - community.crypto.x509_certificate:
        path: "{{ dir }}/cert.pem"
        csr_content: "{{ client_csr.csr }}"
        provider: ownca
        ownca_path: "{{ dir }}/ca.pem"
        ownca_privatekey_path: "{{ dir }}/ca-key.pem"
"""


def test_tls_api_refuses_a_client_certificate_from_a_different_ca(site, tmp_path):
    play = tmp_path / 'other_ca.yml'
    play.write_text(OTHER_CA_PLAY)
    extra = {'dir': str(tmp_path), 'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}
    playbook(str(play), inventory='localhost,', extra_vars=extra).ok()
    status = api_status(site, site.address(workers(site)[0]), str(tmp_path / 'cert.pem'), str(tmp_path / 'key.pem'))
    assert status.startswith('refused: '), status


def test_join_tokens_are_stored_nowhere_on_the_controller_or_the_nodes(site):
    token = node_exec(managers(site)[0], 'docker', 'swarm', 'join-token', '-q', 'worker').stdout.strip()
    assert token.startswith('SWMTKN-')
    found = subprocess.run(['grep', '-rl', token, site.secrets_dir, site.lab.state_dir], stdout=subprocess.PIPE,
                           universal_newlines=True, check=False)
    assert found.stdout == ''
    for host in site.hosts():
        assert node_exec(host, 'grep', '-rl', token, '/etc', '/root', '/tmp').stdout == '', host


# --- bad input, faults and membership changes (each restores the swarm) -------------------------------------

def test_two_managers_are_refused_before_any_change(site, tmp_path):
    two = managers(site)[:2]
    extra = extra_inventory(tmp_path, {'test_two_managers': two, 'test_workers': [h for h in site.hosts() if h not in two]})
    before = swarm_nodes(site)
    run = site.playbook('picocloud.edge.site', '-i', extra, limit=NATIVE, extra_vars={
        'swarm_managers_group': 'test_two_managers', 'swarm_workers_group': 'test_workers'})
    assert run.rc != 0
    assert 'a swarm needs an odd number of managers' in run.failure_text()
    assert 'swarm_allow_even_managers=true' in run.failure_text()
    assert run.changed == 0, run.changed_tasks()
    assert not run.results('Install docker.io from the distribution'), 'refused before the engine role ran'
    assert dict((h, n['Spec']['Role']) for h, n in swarm_nodes(site).items()) == \
        dict((h, n['Spec']['Role']) for h, n in before.items())


def test_a_worker_engine_stopped_mid_run_fails_only_that_host_and_a_rerun_converges_it(site, restore_swarm):
    """The worker's engine stops while the swarm role runs: that host fails, the others complete; once the
    engine is back a re-run converges it with no manual step."""
    worker = workers(site)[0]
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0')
    proc = subprocess.Popen(['ansible-playbook', '-i', site.inventory, '--limit', NATIVE, SWARM], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    lines, stopped = [], False
    for line in proc.stdout:
        lines.append(line)
        if not stopped and line.startswith('TASK [picocloud.edge.swarm : Read the engine'):
            stop = node_exec(worker, 'systemctl', 'stop', 'docker.socket', 'docker.service')
            assert stop.returncode == 0, stop.stderr
            stopped = True
    proc.wait(timeout=900)
    output = ''.join(lines)
    recap = dict((m.group(1), dict((k, int(v)) for k, v in re.findall(r'(\w+)=(\d+)', m.group(2))))
                 for m in re.finditer(r'^(\S+)\s+:\s+(ok=.*)$', output, re.M))
    assert stopped and proc.returncode != 0, output[-3000:]
    assert recap[worker]['failed'] >= 1, recap
    assert all(recap[h]['failed'] == 0 for h in recap if h != worker), recap
    node_exec(worker, 'systemctl', 'start', 'docker.socket', 'docker.service')
    site.playbook(SWARM, limit=NATIVE).ok()
    assert wait_for(lambda: healthy(site), timeout=120, step=3)


def test_a_node_leaves_is_refused_while_in_another_swarm_and_rejoins(site, tmp_path, restore_swarm):
    # a native worker: the runs below leave the emulated node out (--limit NATIVE)
    worker = [w for w in workers(site) if not site.hostvars(w).get('picocloud_lab_emulated')][-1]
    # swarm_state absent: drained, left, removed from the managers' list
    run = site.playbook(SWARM, '-i', extra_inventory(tmp_path, hostvars={worker: {'swarm_state': 'absent'}}),
                        limit=NATIVE).ok()
    assert run.results('Drain the leaving node, so its tasks move elsewhere')[worker].get('changed')
    assert hostname(site, worker) not in swarm_nodes(site)
    assert node_exec(worker, 'docker', 'info', '--format', '{{.Swarm.LocalNodeState}}').stdout.strip() == 'inactive'
    # the node makes a swarm of its own: the role refuses to adopt or move it, and leaves that swarm alone
    init = node_exec(worker, 'docker', 'swarm', 'init', '--advertise-addr', site.address(worker))
    assert init.returncode == 0, init.stderr
    run = site.playbook(SWARM, limit=NATIVE)
    assert run.rc != 0
    assert '%s is already a member of a different swarm (manager of cluster' % worker in run.failure_text()
    assert 'make it leave that swarm first' in run.failure_text()
    assert run.stats[worker]['failures'] == 1
    assert hostname(site, worker) not in swarm_nodes(site)
    assert node_exec(worker, 'docker', 'info', '--format', '{{.Swarm.ControlAvailable}}').stdout.strip() == 'true'
    # once it left that swarm, a run brings it back as a worker with its labels
    assert node_exec(worker, 'docker', 'swarm', 'leave', '--force').returncode == 0
    site.playbook(SWARM, limit=NATIVE).ok()
    node = swarm_nodes(site)[hostname(site, worker)]
    assert node['Spec']['Role'] == 'worker' and node['Spec']['Labels']['arch'] in ('amd64', 'arm64')


def test_fewer_managers_demotes_and_the_full_group_promotes_again_with_one_leader(site, tmp_path, restore_swarm):
    one = managers(site)[:1]
    extra = extra_inventory(tmp_path, {'test_one_manager': one, 'test_workers': [h for h in site.hosts() if h not in one]})
    site.playbook(SWARM, '-i', extra, limit=NATIVE, extra_vars={'swarm_managers_group': 'test_one_manager',
                                                                'swarm_workers_group': 'test_workers'}).ok()
    nodes = swarm_nodes(site)
    assert [h for h, n in nodes.items() if n['Spec']['Role'] == 'manager'] == [hostname(site, one[0])]
    run = site.playbook(SWARM, limit=NATIVE).ok()
    assert wait_for(lambda: healthy(site), timeout=120, step=3), swarm_nodes(site)
    for host in site.hosts():
        for key, value in site.hostvars(host).get('picocloud_node_labels', {}).items():
            assert swarm_nodes(site)[hostname(site, host)]['Spec']['Labels'][key] == value  # labels not churned
    assert site.playbook(SWARM, limit=NATIVE).ok().changed == 0, run.changed_tasks()


def test_autolock_saves_the_unlock_key_on_the_controller_at_0600(site, restore_swarm):
    try:
        run = site.playbook(SWARM, limit=NATIVE, extra_vars={'swarm_autolock': True}).ok()
        key_file = os.path.join(site.secrets_dir, 'swarm', 'unlock-key')
        assert oct(os.stat(key_file).st_mode & 0o777) == '0o600'
        assert oct(os.stat(os.path.dirname(key_file)).st_mode & 0o777) == '0o700'
        key = node_exec(managers(site)[0], 'docker', 'swarm', 'unlock-key', '-q').stdout.strip()
        assert key.startswith('SWMKEY-')
        with open(key_file) as handle:
            assert handle.read().strip() == key
        assert key not in run.stdout  # no_log
        autolock = node_exec(managers(site)[0], 'docker', 'info', '--format', '{{.Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers}}')
        assert autolock.stdout.strip() == 'true'
    finally:
        site.playbook(SWARM, limit=NATIVE, extra_vars={'swarm_autolock': False}).ok()
    assert node_exec(managers(site)[0], 'docker', 'info', '--format',
                     '{{.Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers}}').stdout.strip() == 'false'


def test_the_leader_down_keeps_a_leader_and_verify_flags_it_and_fails(site, restore_swarm):
    """Stop the leader's engine: the other managers elect a new leader, and verify shows the old one DOWN
    and exits non-zero."""
    if len(managers(site)) < 3:
        pytest.skip('needs three managers')
    nodes = swarm_nodes(site)
    old = [h for h in managers(site) if nodes[hostname(site, h)].get('ManagerStatus', {}).get('Leader')][0]
    others = [h for h in managers(site) if h != old]
    assert node_exec(old, 'systemctl', 'stop', 'docker.socket', 'docker.service').returncode == 0
    try:
        def new_leader():
            for manager in others:
                out = node_exec(manager, 'docker', 'node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.ManagerStatus}}')
                if out.returncode == 0 and '%s Down Unreachable' % hostname(site, old) in out.stdout:
                    leaders = [line.split()[0] for line in out.stdout.splitlines() if line.endswith(' Leader')]
                    if leaders:
                        return leaders[0]
            return None
        leader = wait_for(new_leader, timeout=120, step=3)
        assert leader in [hostname(site, h) for h in others]
        run = site.playbook(VERIFY, tags='swarm')
        assert run.rc != 0
        text = run.stdout
        assert 'leader: ' + leader in text
        assert 'DOWN %s (manager' % hostname(site, old) in run.failure_text()
        assert re.search(r'%s\s+manager\s+down\s+\S+\s+unreachable\s+NOT ANSWERING' % hostname(site, old), text)
        for host in others:
            assert '%s: TLS API ok' % host in text
        assert '%s: TLS API FAILED' % old in text
    finally:
        node_exec(old, 'systemctl', 'start', 'docker.socket', 'docker.service')
