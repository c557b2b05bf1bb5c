# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract tests of picocloud.edge.k3s with the k3s-stand-in on a converged swarm site. A stand-in ran, not k3s.

k3s is in no registry this project can reach, so these tests run ``tests/k3s/k3s-stand-in`` (a Python script) in its
place, on the site's native nodes: every run would wait for the emulated arm64 node (qemu-user), and which release
file each architecture gets is unit-tested (tests/unit/plugins/module_utils/k3s/test_k3s_airgap.py). The module builds
an artifacts dir that holds the stand-in under k3s's release names (``k3s``, ``k3s-arm64``) with
``sha256sum-<arch>.txt`` files and image tarballs, and the role installs it through its real airgap path, exactly as
it would install k3s. What is proved is the role's plumbing against the stand-in's contract: files, modes and
arguments, token-file use, the order of joins, restarts, the kubeconfig merge, the refusals and their messages.
Nothing here says anything about k3s's own behaviour. The image tarballs are placeholder bytes: the stand-in imports
nothing; the tests prove only which file goes where.

The site is ``picocloud.edge.site`` as converged for swarm (the molecule site scenario, or a lab through
PICOCLOUD_TEST_LAB_DIR); the tests run it again with ``picocloud_orchestrator=k3s`` and a second inventory file that
puts the native swarm managers in k3s_servers and the native swarm workers in k3s_agents (``--limit
'!lab_emulated'``). The module's fixture converges k3s once; its last test removes it with picocloud.edge.k3s_reset
(the swarm site then still verifies), and the fixture does when a run stops before that test. A test that changes
the cluster restores it before it ends and asserts it did.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import time

import pytest
import yaml

from picocloud_test import (K3S_CONTAINERD_DUMP, K3S_EXTRA_IMAGE as EXTRA_IMAGE, K3S_STAND_IN as STAND_IN,
                            K3S_STAND_IN_VERSION as VERSION, NATIVE, SITE, VERIFY, Site, containerd_config,
                            k3s_stand_in_artifacts as build_artifacts, k3s_unit_needs_containerd, node_exec,
                            restore_containerd, site_registry_address, wait_for)

# Outside `make test`'s verifier (CI's time), in `make test-all` and `make k3s-tests` (docs/testing.md, "What CI runs").
pytestmark = pytest.mark.k3s_stand_in

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
# The helper empties ANSIBLE_CALLBACKS_ENABLED, which ansible-core 2.19 refuses ("A non-empty plugin name is
# required"); naming the json stdout callback there keeps stdout one JSON document.
ENV = {'ANSIBLE_CALLBACKS_ENABLED': 'ansible.posix.json'}
FAKE_FACTS = os.path.join(PROJECT, 'molecule', 'site', 'k3s_fake_facts.yml')
UPGRADE = 'picocloud.edge.k3s_upgrade'
RESET = 'picocloud.edge.k3s_reset'
NEXT = 'v1.34.0+standin1'
# Another cluster in the operator's kubeconfig, which the merge must keep (and keep current).
OFFICE = {'apiVersion': 'v1', 'kind': 'Config', 'preferences': {}, 'current-context': 'office',
          'clusters': [{'name': 'office', 'cluster': {'server': 'https://office.example:6443'}}],
          'users': [{'name': 'office', 'user': {'token': 'office-token'}}],
          'contexts': [{'name': 'office', 'context': {'cluster': 'office', 'user': 'office'}}]}
# What a node looks like to the tests: every k3s file's checksum and mode, the start counter and the units' PIDs.
SNAPSHOT = r"""
find /etc/rancher /var/lib/rancher/k3s/agent /usr/local/bin /etc/systemd/system -maxdepth 3 -type f \
     \( -path '/etc/rancher/*' -o -path '/var/lib/rancher/*' -o -name '*k3s*' \) 2>/dev/null | sort |
    while read -r path; do echo "$(sha256sum < "$path" | cut -c1-16) $(stat -c %a "$path") $path"; done
echo "starts $(cat /var/lib/rancher/k3s/stand-in/starts 2>/dev/null)"
systemctl show -p MainPID k3s.service k3s-agent.service
"""


def write_groups(path, servers, agents, host_vars=None):
    """A second inventory file with the k3s groups (hosts taken from the site inventory's groups)."""
    host_vars = host_vars or {}
    groups = {'k3s_servers': {'hosts': dict((host, host_vars.get(host)) for host in servers)},
              'k3s_agents': {'hosts': dict((host, host_vars.get(host)) for host in agents)}}
    with open(path, 'w') as stream:
        yaml.safe_dump(groups, stream)
    return path


class Cluster(object):
    """The site with its k3s settings: playbook runs, and looks into the nodes without the role in the path."""

    def __init__(self, site, workdir):
        self.site = site
        self.workdir = workdir
        self.servers = site.native('swarm_managers')
        self.agents = site.native('swarm_workers')
        self.hosts = self.servers + self.agents
        self.first = self.servers[0]
        self.name = site.hostvars(self.first).get('picocloud_site', 'picocloud')
        self.groups = write_groups(os.path.join(workdir, 'k3s-groups.yml'), self.servers, self.agents)
        self.artifacts = build_artifacts(os.path.join(workdir, 'artifacts'), VERSION)
        self.merge_path = os.path.join(workdir, 'kube', 'config')
        self.kubeconfig = os.path.join(site.secrets_dir, 'k3s', 'kubeconfig')
        self.is_reset = False  # the module's last test resets k3s
        # the site registry as the swarm site's nodes trust it (certs.d/<host:port>): registries.yaml comes from the
        # site layer's picocloud_registry alone, with a k3s site's own trust directory
        self.registry = site_registry_address(self.first)
        self.vars = {
            'picocloud_orchestrator': 'k3s',
            'k3s_version': VERSION,
            'k3s_artifacts_dir': self.artifacts,
            'k3s_kubeconfig_merge_path': self.merge_path,
            'k3s_controller_kubectl': [STAND_IN, 'kubectl'],
            'k3s_config_dropins': {'50-site': {'node-label+': ['picocloud.test/dropin=yes']}},
            'k3s_join_timeout': 180,
            'k3s_join_poll': 2,
            # the stand-in answers the node and version API only; the apps' k3s manifests are rendered and
            # schema-validated by the unit tests (docs/workloads.md), not applied here
            'picocloud_apps': [],
        }

    def emulated(self, host):
        return bool(self.site.hostvars(host).get('picocloud_lab_emulated'))

    def run(self, name=SITE, groups=None, **kwargs):
        """A run of `name` with the k3s settings. A site run converges only the k3s layer (--tags k3s: containerd
        and k3s, after the facts play) unless tags=None asks for the whole site, as the module's converge does (an
        operator's first k3s run: every layer with picocloud_orchestrator=k3s). The other layers' re-runs are the
        swarm site's, which its own tests prove."""
        extra = dict(self.vars, **kwargs.pop('extra_vars', {}))
        if name == SITE:
            kwargs.setdefault('tags', 'k3s')
        kwargs.setdefault('limit', NATIVE)
        return self.site.playbook(name, '-i', groups or self.groups, extra_vars=extra, env=ENV, **kwargs)

    def reset(self):
        return self.run(RESET, extra_vars={'k3s_reset_confirm': self.name})

    def kubectl(self, *args):
        result = node_exec(self.first, '/usr/local/bin/k3s', 'kubectl', *args)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def nodes(self):
        return dict((item['metadata']['name'], item) for item in json.loads(self.kubectl('get', 'nodes', '-o', 'json'))['items'])

    def ready(self):
        nodes = self.nodes()
        return sorted(nodes) == sorted(self.hosts) and all(
            item['status']['conditions'][0]['status'] == 'True' for item in nodes.values())

    def events(self):
        return json.loads(self.kubectl('get', '--raw', '/stand-in/events'))

    def starts(self, host):
        return int(node_exec(host, 'cat', '/var/lib/rancher/k3s/stand-in/starts').stdout.strip() or 0)

    def last_start(self, host):
        """When the node's stand-in last started (the first field of its starts.log's last line)."""
        return float(node_exec(host, 'tail', '-n', '1', '/var/lib/rancher/k3s/stand-in/starts.log').stdout.split()[0])

    def restart_order(self):
        """The k3s nodes in the order their stand-ins last started."""
        return [host for dummy, host in sorted((self.last_start(host), host) for host in self.hosts)]

    def snapshot(self):
        return dict((host, node_exec(host, 'sh', '-c', SNAPSHOT).stdout) for host in self.hosts)

    def read(self, host, path):
        result = node_exec(host, 'cat', path)
        assert result.returncode == 0, '%s: %s' % (host, result.stderr)
        return result.stdout

    def unit(self, host):
        return 'k3s.service' if host in self.servers else 'k3s-agent.service'

    def mode(self, host, path):
        return node_exec(host, 'stat', '-c', '%a', path).stdout.strip()


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    """k3s (the stand-in) converged by picocloud.edge.site on the site's swarm nodes; reset at the end."""
    workdir = str(tmp_path_factory.mktemp('k3s'))
    k3s = Cluster(Site.current(), workdir)
    os.makedirs(os.path.dirname(k3s.merge_path))
    with open(k3s.merge_path, 'w') as stream:
        yaml.safe_dump(OFFICE, stream, default_flow_style=False)
    os.chmod(k3s.merge_path, 0o600)
    k3s.run(tags=None).ok()
    yield k3s
    # the module's last test resets k3s and verifies the swarm site; this is for a run that stopped before it
    if not k3s.is_reset:
        k3s.reset().ok()
        k3s.site.playbook(VERIFY, env=ENV).ok()


def _message(run, start):
    """The first failure message of the run that starts with ``start``."""
    for task in run.tasks():
        for result in task['hosts'].values():
            message = str(result.get('msg', ''))
            if result.get('failed') and message.startswith(start):
                return message
    raise AssertionError('no failure starting with %r; failures: %s' % (start, run.failure_text()))


def test_stand_in_converge_writes_every_file_with_its_mode_and_no_token_in_config_or_unit(cluster):
    """A stand-in ran, not k3s: the role's files on every node, their modes, and the token only in the token file."""
    secret = open(os.path.join(cluster.site.secrets_dir, 'k3s', 'token')).read().strip()
    assert stat.S_IMODE(os.stat(os.path.join(cluster.site.secrets_dir, 'k3s', 'token')).st_mode) == 0o600
    for host in cluster.hosts:
        role = 'server' if host in cluster.servers else 'agent'
        unit = '/etc/systemd/system/%s.service' % ('k3s' if role == 'server' else 'k3s-agent')
        for path in ('/etc/rancher/k3s/config.yaml', '/etc/rancher/k3s/config.yaml.d/50-site.yaml',
                     '/etc/rancher/k3s/registries.yaml', '/etc/rancher/k3s/cluster-token'):
            assert cluster.mode(host, path) == '600', '%s:%s' % (host, path)
        assert cluster.mode(host, '/usr/local/bin/k3s') == '755'
        config = yaml.safe_load(cluster.read(host, '/etc/rancher/k3s/config.yaml'))
        assert config['token-file'] == '/etc/rancher/k3s/cluster-token'
        assert config['node-name'] == host
        # the swarm's fact labels under the picocloud.io/ prefix (lab nodes are no Pis), the site's placement labels
        labels = dict(entry.split('=', 1) for entry in config['node-label'])
        assert labels['picocloud.io/board'] == 'none' and int(labels['picocloud.io/memory_mb']) > 0, labels
        for key, value in cluster.site.hostvars(host).get('picocloud_node_labels', {}).items():
            assert labels['picocloud.io/' + key] == value, (host, labels)
        assert not set(config) & {'token', 't', 'agent-token'}
        for path in ('/etc/rancher/k3s/config.yaml', unit):
            assert secret not in cluster.read(host, path)
        token = cluster.read(host, '/etc/rancher/k3s/cluster-token').strip()
        if host == cluster.first:
            assert token == secret and config.get('cluster-init', False) is (len(cluster.servers) > 1)
            assert 'server' not in config
        else:
            assert token.startswith('K10') and token.endswith('::server:' + secret)
            assert config['server'] == 'https://%s:6443' % cluster.nodes()[cluster.first]['status']['addresses'][0]['address']
        registries = yaml.safe_load(cluster.read(host, '/etc/rancher/k3s/registries.yaml'))
        assert registries['mirrors']['docker.io'] == {'endpoint': ['https://' + cluster.registry]}
        certs = '/etc/picocloud/registry/certs.d/' + cluster.registry
        assert registries['configs'][cluster.registry]['tls'] == {
            'ca_file': certs + '/ca.crt', 'cert_file': certs + '/client.cert', 'key_file': certs + '/client.key'}
        for name in ('ca.crt', 'client.cert', 'client.key'):  # the registry's trust play wrote them on the k3s node
            assert node_exec(host, 'test', '-s', '%s/%s' % (certs, name)).returncode == 0, (host, name)
        exec_start = node_exec(host, 'systemctl', 'show', '-p', 'ExecStart', unit.rsplit('/', 1)[1]).stdout
        assert 'argv[]=/usr/local/bin/k3s %s ;' % role in exec_start
        arch = 'arm64' if cluster.emulated(host) else 'amd64'
        images = node_exec(host, 'ls', '/var/lib/rancher/k3s/agent/images').stdout.split()
        assert images == sorted(['k3s-airgap-images-%s.tar.zst' % arch, EXTRA_IMAGE])
        uninstall = 'k3s-uninstall.sh' if role == 'server' else 'k3s-agent-uninstall.sh'
        assert node_exec(host, 'test', '-x', '/usr/local/bin/' + uninstall).returncode == 0


def test_stand_in_process_runs_with_nothing_after_its_role_and_the_token_from_its_file(cluster):
    """A stand-in ran, not k3s: the running process's arguments, and the node list shows every host Ready."""
    for host in cluster.hosts:
        role = 'server' if host in cluster.servers else 'agent'
        pid = node_exec(host, 'systemctl', 'show', '-p', 'MainPID', '--value',
                        'k3s' if role == 'server' else 'k3s-agent').stdout.strip()
        argv = node_exec(host, 'cat', '/proc/%s/cmdline' % pid).stdout.split('\0')[:-1]
        assert argv[-2:] == ['/usr/local/bin/k3s', role], argv
        environ = node_exec(host, 'cat', '/proc/%s/environ' % pid).stdout
        assert 'K3S_TOKEN' not in environ
    assert cluster.ready()


def test_stand_in_servers_joined_one_at_a_time_each_after_the_previous_was_ready_and_agents_after_them(cluster):
    """A stand-in ran, not k3s: its first server recorded each join and when each node became Ready."""
    nodes = cluster.nodes()
    joins = [event for event in cluster.events() if event['event'] == 'join']
    assert [event['node'] for event in joins][:len(cluster.servers)] == cluster.servers
    assert sorted(event['node'] for event in joins[len(cluster.servers):]) == sorted(cluster.agents)
    ready_at = dict((name, float(item['metadata']['annotations']['stand-in.picocloud.edge/ready-at']))
                    for name, item in nodes.items())
    for earlier, later in zip(joins[:len(cluster.servers)], joins[1:]):
        assert later['at'] >= ready_at[earlier['node']], '%s joined before %s was Ready' % (later['node'], earlier['node'])
    if len(cluster.servers) > 1:
        for server in cluster.servers:
            assert 'node-role.kubernetes.io/etcd' in nodes[server]['metadata']['labels']


def test_stand_in_rerun_and_check_mode_change_nothing_and_restart_nothing(cluster):
    """A stand-in ran, not k3s: a second run and a check-mode run of the k3s layer report changed=0 and its start
    counters stay."""
    before = dict((host, cluster.starts(host)) for host in cluster.hosts)
    snapshot = cluster.snapshot()
    again = cluster.run().ok()
    assert again.changed == 0, again.changed_tasks()
    check = cluster.run(check=True, diff=True).ok()
    assert check.changed == 0, check.changed_tasks()
    assert dict((host, cluster.starts(host)) for host in cluster.hosts) == before
    assert cluster.snapshot() == snapshot


def test_stand_in_external_containerd_restarts_each_node_once_servers_in_turn_and_a_rerun_changes_nothing(cluster):
    """A stand-in ran, not k3s: the running cluster moved to k3s_container_runtime=external and back.

    The k3s layer (--tags k3s) sets up picocloud.edge.containerd on every k3s node (here the containerd docker.io runs
    on) with k3s's CNI directories, and points config.yaml's container-runtime-endpoint at its socket. The stand-in
    refuses to start when no socket is there, so a Ready node shows it found one; nothing says k3s's kubelet would
    run pods on it. Each node restarts once, the servers first and one at a time; a re-run and a check-mode run change
    nothing. The way back is the default (embedded) runtime, and each node's own containerd config is put back.
    """
    configs = dict((host, containerd_config(host)) for host in cluster.hosts)
    before = dict((host, cluster.starts(host)) for host in cluster.hosts)
    external = {'k3s_container_runtime': 'external'}
    try:
        cluster.run(extra_vars=external).ok()
        assert wait_for(cluster.ready, timeout=60)
        for host in cluster.hosts:
            config = yaml.safe_load(cluster.read(host, '/etc/rancher/k3s/config.yaml'))
            assert config['container-runtime-endpoint'] == 'unix:///run/containerd/containerd.sock', host
            # k3s wants containerd and starts after it (at boot the socket must exist first); a containerd restart
            # does not restart k3s (Wants=, not Requires=)
            assert k3s_unit_needs_containerd(host, cluster.unit(host)) == [
                'Wants=containerd.service', 'After=containerd.service'], host
            dump = node_exec(host, 'containerd', 'config', 'dump')
            assert dump.returncode == 0, dump.stderr
            for line in K3S_CONTAINERD_DUMP:
                assert line in dump.stdout, (host, line)
            assert node_exec(host, 'docker', 'version').returncode == 0, '%s: dockerd lost its containerd' % host
        assert dict((host, cluster.starts(host)) for host in cluster.hosts) == dict(
            (host, count + 1) for host, count in before.items())
        assert cluster.restart_order()[:len(cluster.servers)] == cluster.servers
        counts = dict((host, cluster.starts(host)) for host in cluster.hosts)
        snapshot = cluster.snapshot()
        again = cluster.run(extra_vars=external).ok()
        assert again.changed == 0, again.changed_tasks()
        check = cluster.run(extra_vars=external, check=True, diff=True).ok()
        assert check.changed == 0, check.changed_tasks()
        assert dict((host, cluster.starts(host)) for host in cluster.hosts) == counts
        assert cluster.snapshot() == snapshot
    finally:
        cluster.run().ok()
        for host in cluster.hosts:
            restore_containerd(host, configs[host])
    assert wait_for(cluster.ready, timeout=60)
    for host in cluster.hosts:
        assert 'container-runtime-endpoint' not in yaml.safe_load(cluster.read(host, '/etc/rancher/k3s/config.yaml'))
        assert k3s_unit_needs_containerd(host, cluster.unit(host)) == [], host


def test_stand_in_kubeconfig_is_fetched_0600_and_merged_beside_the_other_contexts(cluster):
    """A stand-in ran, not k3s: the fetched and merged kubeconfigs, and the verify node table through them."""
    assert stat.S_IMODE(os.stat(cluster.kubeconfig).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cluster.merge_path).st_mode) == 0o600
    with open(cluster.merge_path) as stream:
        merged = yaml.safe_load(stream)
    assert merged['current-context'] == 'office'
    assert [entry['name'] for entry in merged['contexts']] == ['office', cluster.name]
    assert merged['users'][0] == OFFICE['users'][0]
    address = cluster.nodes()[cluster.first]['status']['addresses'][0]['address']
    assert merged['clusters'][1]['cluster']['server'] == 'https://%s:6443' % address
    with open(cluster.kubeconfig) as stream:
        fetched = yaml.safe_load(stream)
    assert fetched['current-context'] == cluster.name
    assert [entry['name'] for entry in fetched['clusters']] == [cluster.name]
    verify = cluster.run(VERIFY, tags='nodes,k3s').ok()
    table = [result.get('msg') for result in verify.results('Show the k3s node table').values()][0]
    assert table[0].split()[:5] == ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']
    assert 'INTERNAL-IP' in table[0]
    rows = dict((line.split()[0], line.split()) for line in table[1:])
    assert sorted(rows) == sorted(cluster.hosts)
    assert all(row[1] == 'Ready' and VERSION in row for row in rows.values())


@pytest.mark.parametrize('fake, message', [
    ({'arch': {'machine': 'armv6l', 'debian_arch': 'armhf', 'arm_version': 6}},
     'k3s publishes no ARMv6 build: its 32-bit ARM binary (k3s-armhf) needs ARMv7'),
    ({'cgroups': {'memory_controller': False}},
     'the memory cgroup controller is not enabled yet: /boot/firmware/cmdline.txt has "cgroup_memory=1 '
     'cgroup_enable=memory" but the running kernel was booted without them, so a reboot is pending'),
    ({'cgroups': {'memory_controller': False}, 'boot': {'cmdline_path': None}},
     'the memory cgroup controller is not enabled: add "cgroup_memory=1 cgroup_enable=memory" to the single line'),
], ids=['armv6', 'memory-reboot-pending', 'memory-flags-missing'])
def test_stand_in_preflight_refuses_a_node_before_any_change(cluster, fake, message):
    """A stand-in ran, not k3s: faked node facts stop the site run in its check play, and no node changed."""
    target = cluster.agents[-1] if cluster.agents else cluster.servers[-1]
    snapshot = cluster.snapshot()
    run = cluster.run(FAKE_FACTS, extra_vars={'fake_hosts': target, 'fake_facts': fake})
    assert run.rc != 0
    text = _message(run, '%s: ' % target)
    assert message in text and 'Nothing was changed on any node.' in text
    assert run.changed == 0, run.changed_tasks()
    assert cluster.snapshot() == snapshot


def test_stand_in_even_server_count_is_refused_before_any_change(cluster, tmp_path):
    """A stand-in ran, not k3s: two servers (the rest agents) stop the run naming the count; no node changed."""
    groups = write_groups(str(tmp_path / 'even.yml'), cluster.hosts[:2], cluster.hosts[2:])
    snapshot = cluster.snapshot()
    run = cluster.run(groups=groups)
    assert run.rc != 0
    text = _message(run, '%s: 2 servers: embedded etcd needs a majority' % cluster.hosts[0])
    assert 'or set k3s_allow_even_servers: true to proceed anyway' in text
    assert run.changed == 0, run.changed_tasks()
    assert cluster.snapshot() == snapshot


@pytest.mark.parametrize('extra, message', [
    ({'k3s_node_labels': ['zone=a,b=c']},
     "k3s_node_labels: 'zone=a,b=c' has no valid value: 'a,b=c' must be empty or at most 63 letters, digits, - _ . "
     "(starting and ending with a letter or digit)"),
    ({'k3s_config_dropins': {'60-data': {'d': '/mnt/ssd/k3s'}}},
     "drop-in 60-data: 'd' is set by the role from its own variables; it cannot be overridden here"),
    ({'k3s_vip': 'FIRST'}, 'k3s_vip=FIRST is the address of a k3s node (their addresses: '),
    ({'k3s_vip': '169.254.1.1'},
     "k3s_vip: '169.254.1.1' cannot be a VIP: it is not a unicast address that a server can claim on its network"),
], ids=['label-with-a-comma', 'dropin-data-dir-short-flag', 'vip-of-a-node', 'vip-link-local'])
def test_stand_in_bad_config_input_is_refused_in_validation_on_every_node_before_any_change(cluster, extra, message):
    """A stand-in ran, not k3s: config.yaml, the drop-ins and the kube-vip manifest are rendered in the validation
    play, so a bad value stops the run there with the message that names the variable (or drop-in), and no node
    changed. (FIRST stands for the first server's address.)"""
    first = cluster.site.address(cluster.first)
    extra = dict((key, first if value == 'FIRST' else value) for key, value in extra.items())
    message = message.replace('FIRST', first)
    snapshot = cluster.snapshot()
    run = cluster.run(extra_vars=extra)
    assert run.rc != 0
    assert message in run.failure_text(), run.failure_text()
    assert run.changed == 0, run.changed_tasks()
    assert cluster.snapshot() == snapshot


def test_stand_in_checksum_mismatch_is_refused_on_the_controller_before_any_change(cluster, tmp_path):
    """A stand-in ran, not k3s: a binary that differs from sha256sum-amd64.txt stops the run; no node changed."""
    artifacts = build_artifacts(str(tmp_path / 'tampered'), VERSION)
    with open(os.path.join(artifacts, 'k3s'), 'a') as stream:
        stream.write('# one more line\n')
    snapshot = cluster.snapshot()
    run = cluster.run(extra_vars={'k3s_artifacts_dir': artifacts})
    assert run.rc != 0
    assert 'k3s does not match sha256sum-amd64.txt: the file has sha256 ' in run.failure_text() + run.stderr
    assert 'Nothing was installed.' in run.failure_text() + run.stderr
    assert run.changed == 0, run.changed_tasks()
    assert cluster.snapshot() == snapshot


def test_stand_in_join_timeout_names_node_url_port_token_and_journal_and_touches_no_other_node(cluster, tmp_path):
    """A stand-in ran, not k3s: a server that cannot reach the first one (a blackhole route on it) does not join.

    Its restart comes from a node label set for it alone; the run stops after k3s_join_timeout with the role's
    diagnostics, the servers after it and every agent are untouched, and a run without the fault restores it.
    """
    if len(cluster.servers) < 2:
        pytest.skip('needs a joining server')
    victim = cluster.servers[1]
    untouched = [host for host in cluster.hosts if host not in (victim, cluster.first)]
    first_address = cluster.nodes()[cluster.first]['status']['addresses'][0]['address']
    groups = write_groups(str(tmp_path / 'label.yml'), cluster.servers, cluster.agents,
                          {victim: {'k3s_node_labels': ['picocloud.test/fault=blackhole']}})
    before = dict((host, cluster.starts(host)) for host in cluster.hosts)
    snapshot = cluster.snapshot()
    assert node_exec(victim, 'ip', 'route', 'add', 'blackhole', first_address + '/32').returncode == 0
    try:
        run = cluster.run(groups=groups, extra_vars={'k3s_join_timeout': 30})
    finally:
        assert node_exec(victim, 'ip', 'route', 'del', 'blackhole', first_address + '/32').returncode == 0
    assert run.rc != 0
    lines = _message(run, '%s did not join the cluster' % victim).splitlines()
    assert lines[0] == '%s did not join the cluster within 30s.' % victim
    assert lines[1] == '- server URL tried: https://%s:6443' % first_address
    assert lines[2] == '- port 6443 from %s: did not answer (wrong server address, server down, or a firewall)' % victim
    assert lines[3] == '- token CA hash: not checked (no /cacerts answer)'
    assert lines[5].startswith('- last ') and lines[5].endswith(' lines of the k3s journal on %s:' % victim)
    assert 'waiting for https://%s:6443' % first_address in '\n'.join(lines[6:])
    faulted = cluster.starts(victim)
    assert faulted > before[victim]
    after = cluster.snapshot()
    for host in untouched + [cluster.first]:
        assert after[host] == snapshot[host], '%s changed' % host
        assert cluster.starts(host) == before[host]

    cluster.run().ok()
    assert cluster.starts(victim) > faulted
    assert wait_for(cluster.ready, timeout=60)
    assert 'picocloud.test/fault' not in cluster.read(victim, '/etc/rancher/k3s/config.yaml')


def test_stand_in_upgrade_moves_servers_one_at_a_time_then_agents_and_refuses_a_skipped_minor(cluster, tmp_path):
    """A stand-in ran, not k3s: k3s_upgrade to a stand-in that reports the next minor version.

    A jump of two minor versions is refused before any change; the real upgrade restarts each server only after
    the previous one is back (the start logs), every node reports the new version, and a re-run changes nothing.
    The cluster is then restored to the module's version with k3s_reset and the site playbook.
    """
    skipping = build_artifacts(str(tmp_path / 'skip'), 'v1.35.0+standin1')
    snapshot = cluster.snapshot()
    refused = cluster.run(UPGRADE, extra_vars={'k3s_version': 'v1.35.0+standin1', 'k3s_artifacts_dir': skipping})
    assert refused.rc != 0
    assert 'runs %s and k3s_version is v1.35.0+standin1: that skips v1.34' % VERSION in refused.failure_text()
    assert refused.changed == 0 and cluster.snapshot() == snapshot

    artifacts = build_artifacts(str(tmp_path / 'next'), NEXT)
    before = dict((host, cluster.starts(host)) for host in cluster.hosts)
    started = time.time()
    cluster.run(UPGRADE, extra_vars={'k3s_version': NEXT, 'k3s_artifacts_dir': artifacts,
                                     'k3s_upgrade_drain': True}).ok()
    try:
        versions = dict((name, item['status']['nodeInfo']['kubeletVersion']) for name, item in cluster.nodes().items())
        assert versions == dict((host, NEXT) for host in cluster.hosts)
        assert dict((host, cluster.starts(host)) for host in cluster.hosts) == dict(
            (host, count + 1) for host, count in before.items())
        assert cluster.restart_order()[:len(cluster.servers)] == cluster.servers
        events = [event for event in cluster.events() if event['at'] >= started]
        for host in cluster.agents:
            assert [event['event'] for event in events if event['node'] == host] == ['drain', 'rejoin', 'uncordon']
        again = cluster.run(UPGRADE, extra_vars={'k3s_version': NEXT, 'k3s_artifacts_dir': artifacts}).ok()
        assert again.changed == 0, again.changed_tasks()
    finally:
        cluster.reset().ok()
        cluster.run().ok()
    assert cluster.ready()
    assert set(item['status']['nodeInfo']['kubeletVersion'] for item in cluster.nodes().values()) == {VERSION}


def test_stand_in_reset_removes_what_the_role_created_and_the_swarm_site_still_verifies(cluster):
    """A stand-in ran, not k3s: k3s_reset without the confirmation refuses; with it k3s is gone, swarm stays.

    The module's last test: it leaves k3s reset, which is what the module's fixture would do at its end.
    """
    snapshot = cluster.snapshot()
    refused = cluster.run(RESET)
    assert refused.rc != 0
    assert 'To confirm, run it with -e k3s_reset_confirm=%s' % cluster.name in refused.failure_text()
    assert refused.changed == 0 and cluster.snapshot() == snapshot

    cluster.reset().ok()
    cluster.is_reset = True
    for host in cluster.hosts:
        left = node_exec(host, 'sh', '-c', 'ls -d /etc/rancher /var/lib/rancher /usr/local/bin/k3s* '
                         '/usr/local/bin/kubectl /usr/local/bin/crictl /etc/systemd/system/k3s* 2>/dev/null').stdout
        assert left == '', '%s keeps %s' % (host, left)
        states = node_exec(host, 'systemctl', 'is-active', 'k3s', 'k3s-agent').stdout.split()
        assert states == ['inactive', 'inactive']
    assert not os.path.exists(cluster.kubeconfig)
    assert not os.path.exists(os.path.join(cluster.site.secrets_dir, 'k3s', 'token'))
    with open(cluster.merge_path) as stream:
        merged = yaml.safe_load(stream)
    assert [entry['name'] for entry in merged['contexts']] == ['office']
    assert merged['current-context'] == 'office'
    cluster.site.playbook(VERIFY, env=ENV).ok()
