# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.docker + picocloud.edge.swarm on three lab nodes with real nested Docker engines.

The tests run in file order: first the converged 1-manager/2-worker swarm is checked as it is,
then the fault and bad-input cases change it (re-running the scenario's playbooks with
ansible-playbook), and the last tests reconfigure it to 3 managers (the HA case).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.request


testinfra_hosts = ['ansible://molecule-swarm-01?ansible_inventory=' + os.environ['MOLECULE_INVENTORY_FILE']]

SCENARIO = os.environ['MOLECULE_SCENARIO_DIRECTORY']
INVENTORY = os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE'])
SECRETS = os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'secrets')
NODES = ['molecule-swarm-01', 'molecule-swarm-02', 'molecule-swarm-03']
TEST_GROUPS = os.path.join(SCENARIO, 'inventory', 'managers.yml')
# the collection's own verify playbook (node table, swarm, TLS APIs), as `make demo` runs it
VERIFY = os.path.join(os.environ['MOLECULE_PROJECT_DIRECTORY'], 'playbooks', 'verify.yml')


def playbook(name, *args, json_output=False, check=False):
    """Run one of the scenario's playbooks; return (rc, output, stats)."""
    env = dict(os.environ, ANSIBLE_FORCE_COLOR='0', NO_COLOR='1')
    if json_output:
        env.update(ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_LOAD_CALLBACK_PLUGINS='1')
    cmd = ['ansible-playbook', '-i', INVENTORY, os.path.join(SCENARIO, name)] + list(args)
    if check:
        cmd.append('--check')
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)
    stats = json.loads(proc.stdout)['stats'] if json_output else recap(proc.stdout)
    return proc.returncode, proc.stdout + proc.stderr, stats


def recap(output):
    """PLAY RECAP of the default callback as {host: {ok: n, changed: n, failed: n, ...}}."""
    stats = {}
    for line in output.splitlines():
        m = re.match(r'^(\S+)\s+:\s+(.*)$', line)
        if m and 'ok=' in m.group(2):
            stats[m.group(1)] = {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', m.group(2))}
    return stats


def node_exec(node, *cmd):
    return subprocess.run(['docker', 'exec', node] + list(cmd), capture_output=True, text=True, timeout=120, check=False)


def swarm_nodes(manager='molecule-swarm-01'):
    """`docker node ls` on a manager, as {hostname: inspect}."""
    ids = node_exec(manager, 'docker', 'node', 'ls', '-q').stdout.split()
    inspect = json.loads(node_exec(manager, 'docker', 'node', 'inspect', *ids).stdout)
    return {n['Description']['Hostname']: n for n in inspect}


def node_state(node):
    """The node's Status.State as the first manager sees it."""
    return swarm_nodes()[node]['Status']['State']


def node_ip(node):
    out = subprocess.run(['docker', 'inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', node],
                         capture_output=True, text=True, check=True).stdout
    return out.strip()


def wait_for(predicate, timeout=60, step=2):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() > deadline:
            return value
        time.sleep(step)


# --- the converged swarm ----------------------------------------------------------------------


def test_node_ls_shows_all_nodes_ready_with_roles_and_merged_labels():
    nodes = swarm_nodes()
    assert sorted(nodes) == NODES
    for name, node in nodes.items():
        assert node['Status']['State'] == 'ready', name
        assert node['Spec']['Availability'] == 'active', name
    assert nodes['molecule-swarm-01']['Spec']['Role'] == 'manager'
    assert nodes['molecule-swarm-01']['ManagerStatus']['Leader'] is True
    assert nodes['molecule-swarm-02']['Spec']['Role'] == 'worker'
    assert nodes['molecule-swarm-03']['Spec']['Role'] == 'worker'
    for name, node in nodes.items():
        labels = node['Spec']['Labels']
        assert labels['arch'] == 'amd64', name
        assert labels['board'] == 'none', name  # lab nodes are not Raspberry Pis
        assert int(labels['memory_mb']) > 0, name
    # swarm_node_labels from inventory (host_vars of molecule-swarm-02) merged with the facts
    assert nodes['molecule-swarm-02']['Spec']['Labels']['zone'] == 'rack-a'


def test_swarm_is_labelled_with_the_site():
    info = json.loads(node_exec('molecule-swarm-01', 'docker', 'info', '--format', '{{json .Swarm.Cluster.Spec.Labels}}').stdout)
    assert info == {'io.picocloud.site': 'molecule-swarm'}


def test_daemon_json_has_no_hosts_and_the_listeners_are_on_the_command_line(host):
    daemon = json.loads(host.file('/etc/docker/daemon.json').content_string)
    assert 'hosts' not in daemon
    assert daemon['tlsverify'] is True
    assert daemon['log-opts'] == {'max-size': '10m', 'max-file': '3'}
    assert 'insecure-registries' not in daemon
    dropin = host.file('/etc/systemd/system/docker.service.d/picocloud.conf').content_string
    assert '\nExecStart=\n' in dropin
    assert '-H fd:// -H tcp://0.0.0.0:2376' in dropin
    assert host.socket('tcp://0.0.0.0:2376').is_listening
    assert host.file('/etc/docker/tls/docker-key.pem').mode == 0o600


def test_global_service_with_host_mode_publishing_answers_on_every_node():
    """The side_effect stage ran picocloud-test-web (busybox-static httpd) as a global service."""
    def answers():
        got = {}
        for node in NODES:
            try:
                with urllib.request.urlopen('http://%s:8080/cgi-bin/node' % node_ip(node), timeout=3) as resp:
                    got[node] = resp.read().decode().strip()
            except OSError:
                return None
        return got
    got = wait_for(answers, timeout=90, step=3)
    assert got == {node: node for node in NODES}, got


def test_tls_api_answers_with_the_env_file_and_client_bundle():
    for node in NODES:
        env_file = os.path.join(SECRETS, 'docker', node + '.env')
        assert oct(os.stat(env_file).st_mode & 0o777) == '0o600'
        env = dict(os.environ)
        with open(env_file) as f:
            for line in f:
                m = re.match(r'^export (DOCKER_\w+)=(.*)$', line.strip())
                if m:
                    env[m.group(1)] = m.group(2)
        assert env['DOCKER_TLS_VERIFY'] == '1'
        assert env['DOCKER_HOST'] == 'tcp://%s:2376' % node_ip(node)
        out = subprocess.run(['docker', 'info', '--format', '{{.Name}} {{.Swarm.LocalNodeState}}'], env=env,
                             capture_output=True, text=True, timeout=30, check=False)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == node + ' active'


def _api_status(address, certfile=None, keyfile=None):
    """GET /version over TLS (trusting the site CA); the HTTP status line, or 'refused: <error>'."""
    ctx = ssl.create_default_context(cafile=os.path.join(SECRETS, 'pki', 'ca.pem'))
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


def test_tls_api_refuses_a_client_without_a_certificate():
    address = node_ip('molecule-swarm-02')
    bundle = os.path.join(SECRETS, 'pki', 'clients', 'operator')
    assert _api_status(address, os.path.join(bundle, 'cert.pem'), os.path.join(bundle, 'key.pem')).startswith('HTTP/1.1 200')
    status = _api_status(address)
    assert status.startswith('refused: '), status


def test_tls_api_refuses_a_client_certificate_from_a_different_ca(tmp_path):
    """A CA made in the test with community.crypto signs a clientAuth certificate; the engine refuses it."""
    play = tmp_path / 'other_ca.yml'
    play.write_text(OTHER_CA_PLAY)
    proc = subprocess.run(['ansible-playbook', '-i', 'localhost,', '-c', 'local', str(play), '-e', 'dir=%s' % tmp_path,
                           '-e', 'ansible_python_interpreter=' + sys.executable],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    status = _api_status(node_ip('molecule-swarm-02'), str(tmp_path / 'cert.pem'), str(tmp_path / 'key.pem'))
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


def test_idempotent_check_mode_rerun_reports_no_change_and_logs_no_token():
    rc, output, stats = playbook('converge.yml', json_output=True, check=True)
    assert rc == 0, output[-3000:]
    assert sorted(stats) == NODES
    assert all(s['changed'] == 0 and s['failures'] == 0 for s in stats.values()), stats
    for kind in ('worker', 'manager'):
        token = node_exec('molecule-swarm-01', 'docker', 'swarm', 'join-token', '-q', kind).stdout.strip()
        assert token.startswith('SWMTKN-')
        assert token not in output


def test_join_tokens_are_not_stored_on_the_controller_or_the_nodes():
    token = node_exec('molecule-swarm-01', 'docker', 'swarm', 'join-token', '-q', 'worker').stdout.strip()
    found = subprocess.run(['grep', '-rl', token, SECRETS, os.environ['MOLECULE_EPHEMERAL_DIRECTORY']],
                           capture_output=True, text=True, check=False)
    assert found.stdout == ''
    for node in NODES:
        assert node_exec(node, 'grep', '-rl', token, '/etc', '/root', '/tmp').stdout == '', node


# --- bad input and faults ------------------------------------------------------------------------


def test_two_managers_are_refused_before_any_change():
    rc, output, stats = playbook('converge.yml', '-i', TEST_GROUPS,
                                 '-e', 'swarm_managers_group=test_two_managers', '-e', 'swarm_workers_group=test_one_worker')
    assert rc != 0
    assert 'a swarm needs an odd number of managers' in output
    assert 'swarm_allow_even_managers=true' in output
    assert all(s['changed'] == 0 for s in stats.values()), stats
    assert 'Install docker.io' not in output  # refused before the engine role ran
    assert swarm_nodes()['molecule-swarm-02']['Spec']['Role'] == 'worker'


def test_worker_engine_stopped_mid_converge_fails_only_that_host():
    """Stop molecule-swarm-03's engine once the swarm role starts; the other nodes complete."""
    env = dict(os.environ, ANSIBLE_FORCE_COLOR='0', NO_COLOR='1')
    proc = subprocess.Popen(['ansible-playbook', '-i', INVENTORY, os.path.join(SCENARIO, 'converge.yml')],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    stopped = False
    deadline = time.time() + 600
    for line in proc.stdout:
        lines.append(line)
        if not stopped and line.startswith('TASK [Form the swarm]'):
            stop = node_exec('molecule-swarm-03', 'systemctl', 'stop', 'docker.socket', 'docker.service')
            assert stop.returncode == 0, stop.stderr
            stopped = True
        assert time.time() < deadline, 'converge did not finish in time'
    proc.wait(timeout=60)
    output = ''.join(lines)
    stats = recap(output)
    assert stopped, output[-3000:]
    assert proc.returncode != 0
    assert stats['molecule-swarm-03']['failed'] >= 1, stats
    assert stats['molecule-swarm-01']['failed'] == 0 and stats['molecule-swarm-02']['failed'] == 0, stats
    # the others went through to the end of the role (the last tasks of the absent branch are skipped, not unreached)
    assert re.search(r'TASK \[picocloud\.edge\.swarm : Remove the node from the managers.*\n(.*\n)*?skipping: \[molecule-swarm-01\]', output)
    assert node_exec('molecule-swarm-03', 'systemctl', 'is-active', 'docker').stdout.strip() != 'active'
    assert wait_for(lambda: node_state('molecule-swarm-03') == 'down', 60), 'the manager never saw molecule-swarm-03 down'


def test_rerun_after_the_engine_is_back_converges_it():
    rc, output, stats = playbook('converge.yml', json_output=True)
    assert rc == 0, output[-3000:]
    assert all(s['failures'] == 0 and s['unreachable'] == 0 for s in stats.values()), stats
    assert wait_for(lambda: node_state('molecule-swarm-03') == 'ready', 60), 'molecule-swarm-03 did not come back Ready'


def test_swarm_state_absent_drains_leaves_and_removes_the_node():
    rc, output, stats = playbook('swarm_only.yml', '-i', os.path.join(SCENARIO, 'inventory', 'absent.yml'))
    assert rc == 0, output[-3000:]
    assert re.search(r'Drain the leaving node.*\n(.*\n)*?changed: \[molecule-swarm-03 -> molecule-swarm-01\]', output)
    assert sorted(swarm_nodes()) == ['molecule-swarm-01', 'molecule-swarm-02']
    state = node_exec('molecule-swarm-03', 'docker', 'info', '--format', '{{.Swarm.LocalNodeState}}').stdout.strip()
    assert state == 'inactive'


def test_node_already_in_a_different_swarm_is_refused():
    """molecule-swarm-03 (out of the site's swarm now) creates a swarm of its own; the role refuses to adopt or move it."""
    init = subprocess.run(['ansible', '-i', INVENTORY, 'molecule-swarm-03', '-m', 'community.docker.docker_swarm',
                           '-a', 'state=present advertise_addr=%s' % node_ip('molecule-swarm-03')],
                          capture_output=True, text=True, timeout=120, check=False)
    assert init.returncode == 0, init.stdout + init.stderr
    rc, output, stats = playbook('swarm_only.yml')
    assert rc != 0
    assert 'molecule-swarm-03 is already a member of a different swarm (manager of cluster' in output
    assert 'make it leave that swarm first' in output
    assert stats['molecule-swarm-03']['failed'] == 1
    assert stats['molecule-swarm-01']['failed'] == 0 and stats['molecule-swarm-02']['failed'] == 0
    assert sorted(swarm_nodes()) == ['molecule-swarm-01', 'molecule-swarm-02']  # not silently joined
    own = node_exec('molecule-swarm-03', 'docker', 'info', '--format', '{{.Swarm.ControlAvailable}}').stdout.strip()
    assert own == 'true'  # and its own swarm was left alone


def test_node_rejoins_after_leaving_the_other_swarm():
    leave = subprocess.run(['ansible', '-i', INVENTORY, 'molecule-swarm-03', '-m', 'community.docker.docker_swarm',
                            '-a', 'state=absent force=true'], capture_output=True, text=True, timeout=120, check=False)
    assert leave.returncode == 0, leave.stdout + leave.stderr
    rc, output, stats = playbook('swarm_only.yml')
    assert rc == 0, output[-3000:]
    nodes = swarm_nodes()
    assert sorted(nodes) == NODES
    assert nodes['molecule-swarm-03']['Spec']['Role'] == 'worker'
    assert nodes['molecule-swarm-03']['Spec']['Labels']['arch'] == 'amd64'


# --- three managers (HA) -------------------------------------------------------------------------


def test_three_managers_promotes_the_workers_and_keeps_one_leader():
    rc, output, stats = playbook('swarm_only.yml', '-i', TEST_GROUPS,
                                 '-e', 'swarm_managers_group=test_three_managers', '-e', 'swarm_workers_group=test_no_workers')
    assert rc == 0, output[-3000:]

    def all_reachable_managers():
        nodes = swarm_nodes()
        if all(n['Spec']['Role'] == 'manager' and n.get('ManagerStatus', {}).get('Reachability') == 'reachable'
               for n in nodes.values()):
            return nodes
        return None
    nodes = wait_for(all_reachable_managers, timeout=60)
    assert nodes, swarm_nodes()
    assert [h for h, n in nodes.items() if n['ManagerStatus'].get('Leader')] == ['molecule-swarm-01']
    # labels were not churned by the promotion
    assert nodes['molecule-swarm-02']['Spec']['Labels']['zone'] == 'rack-a'
    rc, output, stats = playbook('swarm_only.yml', '-i', TEST_GROUPS, '-e', 'swarm_managers_group=test_three_managers',
                                 '-e', 'swarm_workers_group=test_no_workers', json_output=True)
    assert rc == 0 and all(s['changed'] == 0 for s in stats.values()), stats


def test_autolock_saves_the_unlock_key_on_the_controller_at_0600():
    rc, output, stats = playbook('swarm_only.yml', '-i', TEST_GROUPS, '-e', 'swarm_managers_group=test_three_managers',
                                 '-e', 'swarm_workers_group=test_no_workers', '-e', 'swarm_autolock=true')
    assert rc == 0, output[-3000:]
    key_file = os.path.join(SECRETS, 'swarm', 'unlock-key')
    assert oct(os.stat(key_file).st_mode & 0o777) == '0o600'
    assert oct(os.stat(os.path.dirname(key_file)).st_mode & 0o777) == '0o700'
    key = node_exec('molecule-swarm-01', 'docker', 'swarm', 'unlock-key', '-q').stdout.strip()
    assert key.startswith('SWMKEY-')
    with open(key_file) as f:
        assert f.read().strip() == key
    assert key not in output  # no_log
    autolock = node_exec('molecule-swarm-01', 'docker', 'info', '--format', '{{.Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers}}')
    assert autolock.stdout.strip() == 'true'


def test_one_manager_down_keeps_a_leader_and_verify_names_the_degraded_manager():
    """Stop the leader's engine: the other two managers elect a new leader, and verify says who is degraded."""
    stop = node_exec('molecule-swarm-01', 'systemctl', 'stop', 'docker.socket', 'docker.service')
    assert stop.returncode == 0, stop.stderr

    def new_leader():
        for manager in ('molecule-swarm-02', 'molecule-swarm-03'):
            out = node_exec(manager, 'docker', 'node', 'ls', '--format', '{{.Hostname}} {{.ManagerStatus}}')
            leaders = [line.split()[0] for line in out.stdout.splitlines() if line.endswith(' Leader')]
            if out.returncode == 0 and leaders:
                return leaders[0]
        return None
    leader = wait_for(new_leader, timeout=90, step=3)
    assert leader in ('molecule-swarm-02', 'molecule-swarm-03')

    def seen_down():
        out = node_exec(leader, 'docker', 'node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.ManagerStatus}}').stdout
        return 'molecule-swarm-01 Down Unreachable' in out
    assert wait_for(seen_down, timeout=60, step=3), 'the new leader never saw molecule-swarm-01 down'

    rc, output, stats = playbook(VERIFY, '-i', TEST_GROUPS, '-e', 'swarm_managers_group=test_three_managers',
                                 '-e', 'swarm_workers_group=test_no_workers')
    assert 'leader: ' + leader in output
    assert 'DEGRADED: manager molecule-swarm-01 is not a reachable manager; the swarm tolerates 0 more manager failure(s)' in output
    assert re.search(r'molecule-swarm-01\s+manager\s+down\s+\S+\s+unreachable\s+NOT ANSWERING', output), output[-3000:]
    assert 'molecule-swarm-02: TLS API ok' in output and 'molecule-swarm-03: TLS API ok' in output
    assert 'molecule-swarm-01: TLS API FAILED' in output
    assert rc != 0  # the stopped engine's TLS API fails the play; the swarm itself still has its leader
    assert stats['molecule-swarm-02']['failed'] == 0 and stats['molecule-swarm-03']['failed'] == 0
