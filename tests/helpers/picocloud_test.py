# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one verifier helper module of picocloud.edge's tests: run playbooks, look into lab nodes, wait.

The lab tests (tests/lab) and every molecule scenario's verifier import it. A playbook run is always
`ansible-playbook` as a user runs it, with the ansible.posix.json callback so a test can read results.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import socket
import subprocess
import time

import yaml

LABEL = 'io.picocloud.lab'
# The collection's own playbooks, by their FQCN, as users run them.
SITE = 'picocloud.edge.site'
VERIFY = 'picocloud.edge.verify'
LAB = 'picocloud.edge.lab'
# The lab's native nodes. Every task on an emulated node runs Python under qemu-user, and a play waits for its
# slowest host, so a whole-site run that includes the emulated node takes about 2 minutes more. test_01 converges
# the emulated node and proves a re-run changes nothing there; the lifecycle tests that act on native nodes (replace,
# node loss, decommission, backup) run site.yml on these (docs/testing.md). verify always runs on every node.
NATIVE = '!lab_emulated'


# The k3s-stand-in (docs/k3s.md): a Python script that keeps k3s's contract for the role's plumbing, never k3s.
K3S_STAND_IN = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'k3s', 'k3s-stand-in'))
K3S_STAND_IN_VERSION = 'v1.33.0+standin1'
# k3s's release names per architecture of a lab's nodes (amd64, and emulated arm64), and one more image tarball.
K3S_BINARIES = {'amd64': 'k3s', 'arm64': 'k3s-arm64'}
K3S_EXTRA_IMAGE = 'picocloud-extra.tar'
_K3S_VERSION_LINE = "VERSION = '%s'"

CONTROLLER = ('localhost', '127.0.0.1')
_DELEGATES = {}


def task_delegate(path):
    """The literal `delegate_to` of the task defined at `path` ('file:line', as the json callback reports it), or
    None. Read with the YAML composer, which keeps line numbers, so a task is found by where it starts."""
    if path not in _DELEGATES:
        _DELEGATES[path] = None
        source, _sep, line = path.rpartition(':')
        if source and line.isdigit() and os.path.isfile(source):
            with open(source) as handle:
                nodes = [yaml.compose(handle)]
            while nodes:
                node = nodes.pop()
                if isinstance(node, yaml.SequenceNode):
                    nodes.extend(node.value)
                elif isinstance(node, yaml.MappingNode):
                    keys = dict((k.value, v) for k, v in node.value)
                    if node.start_mark.line + 1 == int(line):
                        value = keys.get('delegate_to')
                        _DELEGATES[path] = value.value if isinstance(value, yaml.ScalarNode) else None
                        break
                    nodes.extend(v for k, v in keys.items() if k in ('block', 'rescue', 'always', 'tasks', 'pre_tasks', 'post_tasks', 'handlers'))
    return _DELEGATES[path]


class Run(object):
    """The result of one ansible-playbook run, parsed from the json callback."""

    def __init__(self, cmd, rc, stdout, stderr):
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        # Other enabled callbacks (molecule's ansible.cfg enables timing ones) may print around the document,
        # which starts with a line '{' and ends with a line '}'.
        start = 0 if stdout.startswith('{\n') else stdout.find('\n{\n') + 1
        end = stdout.rfind('\n}') + 2
        try:
            self.result = json.loads(stdout[start:end])
        except ValueError:
            raise AssertionError('no JSON from %s (rc %s):\n%s\n%s' % (' '.join(cmd), rc, stdout[-3000:], stderr[-3000:]))

    @property
    def stats(self):
        return self.result.get('stats', {})

    @property
    def changed(self):
        """How many task results reported a change, over all hosts."""
        return sum(host.get('changed', 0) for host in self.stats.values())

    def tasks(self):
        for play in self.result.get('plays', []):
            yield from play.get('tasks', [])

    def changed_tasks(self):
        """'task name: host' for each change, for assertion messages."""
        return ['%s: %s' % (task['task']['name'], host) for task in self.tasks()
                for host, res in task['hosts'].items() if res.get('changed')]

    def results(self, name):
        """{host: result} of every task with this name, in a role or not ('<role> : name'); later tasks win."""
        found = {}
        for task in self.tasks():
            if task['task']['name'] == name or task['task']['name'].endswith(' : ' + name):
                found.update(task['hosts'])
        return found

    def node_changes(self, host):
        """Names of the tasks that changed `host` itself: changed results not delegated to the controller. A no_log
        result carries no delegation, so for those the task's own source (the json callback's 'path') decides."""
        changes = []
        for task in self.tasks():
            result = task['hosts'].get(host) or {}
            for item in result.get('results') or [result]:
                delegated = (item.get('_ansible_delegated_vars') or result.get('_ansible_delegated_vars') or {})
                on_controller = (delegated.get('ansible_host') in CONTROLLER
                                 or (not delegated and task_delegate(task['task'].get('path', '')) in CONTROLLER))
                if item.get('changed') and not on_controller:
                    changes.append(task['task']['name'])
        return changes

    def failures(self):
        """'task: host: message' for each failed or unreachable result (loop items included)."""
        messages = []
        for task in self.tasks():
            for host, res in task['hosts'].items():
                for item in [res] + [r for r in (res.get('results') or []) if isinstance(r, dict)]:
                    if item.get('failed') or item.get('unreachable'):
                        messages.append('%s: %s: %s %s' % (task['task']['name'], host, item.get('msg', ''),
                                                           item.get('stderr', '')))
        return messages

    def failure_text(self):
        return '\n'.join(self.failures()) or self.stderr[-3000:]

    def ok(self):
        assert self.rc == 0, 'rc %s from %s:\n%s' % (self.rc, ' '.join(self.cmd), self.failure_text())
        return self


def playbook(playbook, *args, **kwargs):
    """Run a playbook (a FQCN or a path) with extra command-line args; return a Run.

    Keyword args: inventory (a path), check, diff, limit, tags, extra_vars (a dict, passed as JSON so no
    value is spliced into a command line), env (extra environment), timeout (seconds, default 1800).
    """
    cmd = ['ansible-playbook', playbook]
    if kwargs.get('inventory'):
        cmd += ['-i', kwargs['inventory']]
    if kwargs.get('check'):
        cmd.append('--check')
    if kwargs.get('diff'):
        cmd.append('--diff')
    if kwargs.get('limit'):
        cmd += ['--limit', kwargs['limit']]
    if kwargs.get('tags'):
        cmd += ['--tags', kwargs['tags']]
    if kwargs.get('extra_vars'):
        cmd += ['-e', json.dumps(kwargs['extra_vars'])]
    cmd += list(args)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_LOAD_CALLBACK_PLUGINS='1',
               ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', ANSIBLE_LOCALHOST_WARNING='false',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='false', ANSIBLE_DEPRECATION_WARNINGS='false')
    # No extra callbacks (molecule enables profile_roles): an empty ANSIBLE_CALLBACKS_ENABLED makes ansible-core
    # 2.19 fail with "A non-empty plugin name is required", so the variable is removed instead.
    env.pop('ANSIBLE_CALLBACKS_ENABLED', None)
    env.update(kwargs.get('env') or {})
    # stdin from /dev/null: ansible-playbook refuses a non-blocking stdin, which pytest's may be
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                          check=False, timeout=kwargs.get('timeout', 1800))
    return Run(cmd, proc.returncode, proc.stdout.decode('utf-8', 'replace'), proc.stderr.decode('utf-8', 'replace'))


def docker(*args, **kwargs):
    """`docker ARGS` on the controller's engine; returns the CompletedProcess (text)."""
    stdin = {} if kwargs.get('input') is not None else {'stdin': subprocess.DEVNULL}
    return subprocess.run(['docker'] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=kwargs.get('check', False),
                          universal_newlines=True, timeout=kwargs.get('timeout', 300), input=kwargs.get('input'), **stdin)


def node_exec(node, *cmd, **kwargs):
    """Run a command inside a lab node (docker exec, as root): the way to look at a node without the role
    under test in the path. `input` (text) goes to the command's stdin. Returns the CompletedProcess (text)."""
    interactive = ['-i'] if kwargs.get('input') is not None else []
    return docker('exec', *(interactive + [node] + list(cmd)), **kwargs)


def site_registry_address(node):
    """The site registry's host:port as `node` trusts it: the one directory picocloud.edge.registry's trust play
    writes under a swarm node's /etc/docker/certs.d."""
    listing = node_exec(node, 'ls', '/etc/docker/certs.d', check=True).stdout.split()
    assert len(listing) == 1, listing
    return listing[0]


def _stand_in_text(version):
    with open(K3S_STAND_IN) as stream:
        text = stream.read()
    assert _K3S_VERSION_LINE % K3S_STAND_IN_VERSION in text, 'the stand-in no longer says %s' % K3S_STAND_IN_VERSION
    return text.replace(_K3S_VERSION_LINE % K3S_STAND_IN_VERSION, _K3S_VERSION_LINE % version).encode('utf-8')


def k3s_stand_in_artifacts(directory, version=K3S_STAND_IN_VERSION):
    """An artifacts dir in k3s's release layout (k3s_artifacts_dir), with the stand-in (reporting ``version``) as the
    binaries, placeholder image tarballs (the stand-in imports nothing) and sha256sum-<arch>.txt for them."""
    os.makedirs(directory)
    stand_in = _stand_in_text(version)
    files = dict((binary, stand_in) for binary in K3S_BINARIES.values())
    for name in ['k3s-airgap-images-%s.tar.zst' % arch for arch in K3S_BINARIES] + [K3S_EXTRA_IMAGE]:
        files[name] = hashlib.sha512(name.encode()).digest() * 64
    for name, content in files.items():
        with open(os.path.join(directory, name), 'wb') as stream:
            stream.write(content)
    for binary in K3S_BINARIES.values():
        os.chmod(os.path.join(directory, binary), 0o755)
    for arch, binary in K3S_BINARIES.items():
        with open(os.path.join(directory, 'sha256sum-%s.txt' % arch), 'w') as stream:
            stream.writelines('%s  %s\n' % (hashlib.sha256(files[name]).hexdigest(), name)
                              for name in (binary, 'k3s-airgap-images-%s.tar.zst' % arch, K3S_EXTRA_IMAGE))
    return directory


CONTAINERD_CONFIG = '/etc/containerd/config.toml'
# The catalogue's busybox-static image (scripts/catalog-images.sh), which the containerd tests pull and run.
STATIC_IMAGE = 'picocloud/static:1.0'
# A lab node keeps /var/lib/containerd on the container's overlay root, where overlayfs cannot be mounted again: the
# tests unpack and run with containerd's native snapshotter (a real Pi uses overlayfs), in a namespace of their own.
CONTAINERD_SNAPSHOTTER = 'native'
CONTAINERD_NAMESPACE = 'picocloud-test'
# What `containerd config dump` shows of the containerd role's config for k3s (k3s_container_runtime: external).
K3S_CONTAINERD_DUMP = ('SystemdCgroup = true', 'bin_dir = "/var/lib/rancher/k3s/data/cni"',
                       'conf_dir = "/var/lib/rancher/k3s/agent/etc/cni/net.d"')


def containerd_pid(node):
    """The MainPID of the node's containerd unit, as text ('0' when it is not running)."""
    return node_exec(node, 'systemctl', 'show', '-p', 'MainPID', '--value', 'containerd').stdout.strip()


def k3s_unit_needs_containerd(node, unit):
    """The dependencies of the node's k3s unit on containerd.service, as systemd loaded it: ['Wants=containerd.service',
    'After=containerd.service'] for an external containerd, [] for the embedded one."""
    shown = node_exec(node, 'systemctl', 'show', '-p', 'Wants', '-p', 'After', unit, check=True).stdout.splitlines()
    return sorted(['%s=containerd.service' % line.split('=', 1)[0] for line in shown
                   if 'containerd.service' in line.split('=', 1)[1].split()], reverse=True)


def containerd_config(node):
    """The text of the node's containerd config.toml (on a swarm node Debian's, which docker.io runs on)."""
    return node_exec(node, 'cat', CONTAINERD_CONFIG, check=True).stdout


def restore_containerd(node, config):
    """Put back the node's containerd as a test found it: `config` as config.toml, no certs.d file of
    picocloud.edge.containerd, and containerd restarted with them; dockerd (which runs on it) answers again."""
    node_exec(node, 'sh', '-c', 'cat > "$1"', 'restore', CONTAINERD_CONFIG, input=config, check=True)
    node_exec(node, 'sh', '-c', 'grep -rl "Managed by picocloud.edge" /etc/containerd/certs.d | xargs -r rm -f')
    restart_containerd(node)
    assert containerd_config(node) == config, node


def restart_containerd(node):
    """systemd reloaded and containerd restarted on the node; dockerd, which runs on it, answers again."""
    assert node_exec(node, 'systemctl', 'daemon-reload').returncode == 0
    assert node_exec(node, 'systemctl', 'restart', 'containerd').returncode == 0
    assert wait_for(lambda: node_exec(node, 'docker', 'version').returncode == 0, timeout=60), node


def plain(value):
    """`ansible-inventory --list` JSON -> plain values: it writes every string it does not trust as a template
    (the inventory's own included) as {'__ansible_unsafe': text}."""
    if isinstance(value, dict):
        if list(value) == ['__ansible_unsafe']:
            return value['__ansible_unsafe']
        return dict((key, plain(item)) for key, item in value.items())
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def wait_for(predicate, timeout=60, step=2):
    """Call predicate until it returns something true or `timeout` seconds pass; return its last value."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() > deadline:
            return value
        time.sleep(step)


class Lab(object):
    """A lab driven through `ansible-playbook picocloud.edge.lab`, as a user drives it."""

    def __init__(self, name, subnet, state_dir, inventory=None):
        self.name = name
        self.subnet = subnet
        self.state_dir = state_dir
        self.inventory = inventory or os.path.join(state_dir, 'lab.picocloud.yml')

    def run(self, *args, **kwargs):
        extra = dict(kwargs.pop('extra_vars', None) or {}, lab_name=self.name, lab_subnet=self.subnet,
                     lab_state_dir=self.state_dir, lab_inventory_file=self.inventory)
        return playbook(LAB, *args, extra_vars=extra, **kwargs)

    def up(self, **extra_vars):
        return self.run(extra_vars=extra_vars).ok()

    def down(self):
        return self.run(extra_vars={'lab_state': 'absent'}).ok()

    def objects(self):
        """Containers, networks and volumes that carry this lab's label."""
        found = {}
        for kind, cmd in (('containers', ['ps', '-aq']), ('networks', ['network', 'ls', '-q']),
                          ('volumes', ['volume', 'ls', '-q'])):
            found[kind] = docker(*(cmd + ['--filter', 'label=%s=%s' % (LABEL, self.name)]), check=True).stdout.split()
        return found

    def nodes(self):
        """The names of the lab's node containers."""
        out = docker('ps', '-a', '--filter', 'label=%s=%s' % (LABEL, self.name), '--format', '{{.Names}}', check=True)
        return sorted(out.stdout.split())

    def settings(self):
        """The picocloud.edge.lab settings that bring this lab up as it is (node count and kinds, roles, site), read
        from the inventory the lab wrote and, when the Lab was made without one, the subnet of its Docker network."""
        with open(self.inventory) as handle:
            data = yaml.safe_load(handle)
        nodes = data['nodes']
        control = 'k3s_server' if data['orchestrator'] == 'k3s' else 'swarm_manager'
        subnet = self.subnet or json.loads(docker('network', 'inspect', '%s-net' % self.name, check=True).stdout)[0][
            'IPAM']['Config'][0]['Subnet']
        return {'lab_nodes': len(nodes), 'lab_subnet': subnet,
                'lab_arm64_nodes': len([n for n in nodes if n['arch'] == 'arm64']),
                'lab_managers': len([n for n in nodes if control in n['roles']]),
                'lab_consul_servers': len([n for n in nodes if 'consul_server' in n['roles']]),
                'lab_site': data['site'], 'lab_orchestrator': data['orchestrator'],
                'lab_admin_user': data['defaults']['ansible_user']}

    def reflash(self, node):
        """Replace `node` as re-flashing its card would: the node container and its volume are removed, then the lab
        is brought up again, so the node comes back under the same name and address with blank state (a new
        machine-id, SSH host key, Docker engine and Consul data). Returns the lab run."""
        assert node in self.nodes(), '%s is not a node of lab %s' % (node, self.name)
        settings = self.settings()
        self.subnet = settings.pop('lab_subnet')
        mounts = json.loads(docker('inspect', node, check=True).stdout)[0]['Mounts']
        volumes = [m['Name'] for m in mounts if m.get('Type') == 'volume']
        docker('rm', '--force', '--volumes', node, check=True)
        for volume in volumes:
            docker('volume', 'rm', volume, check=True)
        return self.up(**settings)

    def stop(self, node, timeout=30):
        """`docker stop` the node container (systemd powers off on SIGRTMIN+3), bounded by `timeout` seconds."""
        return docker('stop', '--time', str(timeout), node, check=True, timeout=timeout + 60)

    def start(self, node):
        """Start a stopped node container again; wait (bounded) for its sshd."""
        docker('start', node, check=True)
        address = json.loads(docker('inspect', node, check=True).stdout)[0]['NetworkSettings']['Networks']
        address = list(address.values())[0]['IPAddress']

        def sshd():
            try:
                socket.create_connection((address, 22), timeout=3).close()
                return True
            except OSError:
                return False
        assert wait_for(sshd, timeout=180, step=3), '%s: sshd did not come back' % node


class Site(object):
    """A converged site: its inventory (the lab's, in a molecule scenario), its secrets dir and its lab."""

    def __init__(self, inventory, secrets_dir, lab=None):
        self.inventory = inventory
        self.secrets_dir = secrets_dir
        self.lab = lab
        self._inventory_data = None

    @classmethod
    def current(cls):
        """The site under test: the running molecule scenario's, or, outside molecule, the lab named by
        PICOCLOUD_TEST_LAB_DIR (a lab's state dir: secrets/ inside) with PICOCLOUD_TEST_INVENTORY (its site file;
        default <lab dir>/lab.picocloud.yml, where the lab role writes it; `make lab-up` writes
        inventories/lab/lab.picocloud.yml), so scenario tests also run against a small lab."""
        if 'MOLECULE_SCENARIO_DIRECTORY' in os.environ:
            return cls.from_molecule()
        lab_dir = os.environ['PICOCLOUD_TEST_LAB_DIR']
        inventory = os.environ.get('PICOCLOUD_TEST_INVENTORY', os.path.join(lab_dir, 'lab.picocloud.yml'))
        lab = Lab(os.path.basename(lab_dir.rstrip('/')), os.environ.get('PICOCLOUD_TEST_LAB_SUBNET', ''), lab_dir,
                  inventory=inventory)
        return cls(inventory, os.path.join(lab_dir, 'secrets'), lab)

    @classmethod
    def from_molecule(cls):
        """The site of the running molecule scenario: the lab named in the scenario's vars/lab.yml, whose site file
        (lab.picocloud.yml) molecule/shared/create.yml wrote into the scenario's inventory directory."""
        scenario = os.environ['MOLECULE_SCENARIO_DIRECTORY']
        ephemeral = os.environ['MOLECULE_EPHEMERAL_DIRECTORY']
        inventory = os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE'])
        with open(os.path.join(scenario, 'vars', 'lab.yml')) as handle:
            settings = yaml.safe_load(handle)
        lab = Lab(settings['lab_name'], settings['lab_subnet'], os.path.join(ephemeral, 'lab'),
                  inventory=os.path.join(inventory, 'lab.picocloud.yml'))
        return cls(inventory, os.path.join(ephemeral, 'secrets'), lab)

    def playbook(self, name, *args, **kwargs):
        kwargs.setdefault('inventory', self.inventory)
        return playbook(name, *args, **kwargs)

    def inventory_data(self):
        if self._inventory_data is None:
            out = subprocess.run(['ansible-inventory', '-i', self.inventory, '--list'], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, check=True, universal_newlines=True, timeout=120).stdout
            self._inventory_data = plain(json.loads(out))
        return self._inventory_data

    def hosts(self, group='picocloud'):
        return list(self.inventory_data().get(group, {}).get('hosts', []))

    def hostvars(self, host):
        return self.inventory_data()['_meta']['hostvars'][host]

    def address(self, host):
        return self.hostvars(host)['ansible_host']

    def native(self, group='picocloud'):
        """The group's hosts that are not emulated, in inventory order."""
        return [h for h in self.hosts(group) if not self.hostvars(h).get('picocloud_lab_emulated')]

    def rolling_pair(self):
        """Two native nodes for the rolling lifecycle runs (reboot, upgrade), in inventory order: the last swarm
        manager that is also a Consul server (the gates that guard quorum decide for it) and the first worker (the
        drain and the move of its tasks). Each further node repeats the same steps; the pair keeps the test's
        time within CI's budget while proving the order, one at a time, and both kinds of gate."""
        servers = [h for h in self.native('swarm_managers') if h in self.hosts('consul_servers')]
        workers = self.native('swarm_workers')
        pair = servers[-1:] + workers[:1]
        return [h for h in self.hosts() if h in pair]


def static_inventory(site):
    """The site's inventory as a static YAML inventory file (JSON text) with plain values, for testinfra: from
    ansible-core 2.19 on, `ansible-inventory --list` writes every string an inventory plugin made as
    {'__ansible_unsafe': text}, which testinfra's ansible backend cannot read. The file is written next to nothing
    Ansible reads (the system temp dir), named by the inventory's path, and rewritten on each call."""
    import tempfile
    data = site.inventory_data()
    groups = dict((name, {'hosts': dict((host, None) for host in body.get('hosts', []))})
                  for name, body in data.items() if name not in ('_meta', 'all') and body.get('hosts'))
    static = {'all': {'hosts': data['_meta']['hostvars'], 'children': groups}}
    name = 'picocloud-testinfra-%s.yml' % hashlib.sha256(site.inventory.encode('utf-8')).hexdigest()[:12]
    path = os.path.join(tempfile.gettempdir(), name)
    with open(path + '.tmp', 'w') as handle:
        json.dump(static, handle)
    os.chmod(path + '.tmp', 0o600)
    os.replace(path + '.tmp', path)
    return path


def testinfra_hosts(group='picocloud'):
    """The `testinfra_hosts` of a scenario test module: every host of `group` in the site's inventory, reached as
    the inventory's admin user over SSH, with sudo (the checks read root-only files)."""
    return ['ansible://%s?ansible_inventory=%s&sudo=true' % (group, static_inventory(Site.current()))]


def chromium(profile_dir, width=1400, height=900):
    """A headless Chromium (Debian's chromium and chromium-driver) driven by selenium, with its profile in
    `profile_dir`; the caller quits it. Background networking is off: it talks only to the pages it is sent to."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = '/usr/bin/chromium'
    for arg in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                '--disable-component-update', '--no-first-run', '--window-size=%d,%d' % (width, height),
                '--user-data-dir=' + profile_dir):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path='/usr/bin/chromedriver'))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(10)
    return driver


def consul_cli(node, args):
    """The consul CLI as root in a login shell on a lab node (the role's 0600 profile.d environment: HTTPS, client
    certificate, read-only operator token). `args` is a list of words, quoted for the shell."""
    import shlex
    return node_exec(node, 'bash', '-lc', 'consul ' + ' '.join(shlex.quote(a) for a in args), timeout=60)


def pid1_start(node):
    """The start time of PID 1 in a lab node (clock ticks since the host booted): it changes when the node reboots."""
    return node_exec(node, 'awk', '{print $22}', '/proc/1/stat', check=True).stdout.strip()


class Health(object):
    """What the site's clusters say, read inside the lab nodes without the roles in the path."""

    def __init__(self, site):
        self.site = site

    def hostname(self, host):
        return self.site.hostvars(host).get('picocloud_hostname', host)

    def swarm(self, manager=None):
        """The swarm's node list as one manager sees it (docker node inspect of every entry), or None."""
        for candidate in ([manager] if manager else self.site.hosts('swarm_managers')):
            ids = node_exec(candidate, 'docker', 'node', 'ls', '-q')
            if ids.returncode == 0 and ids.stdout.split():
                return json.loads(node_exec(candidate, 'docker', 'node', 'inspect', *ids.stdout.split()).stdout)
        return None

    def consul_members(self, server=None):
        """[(name, status, type)] from `consul members` on a server, or None."""
        for candidate in ([server] if server else self.site.hosts('consul_servers')):
            out = consul_cli(candidate, ['members'])
            if out.returncode == 0:
                return [tuple(line.split()[i] for i in (0, 2, 3)) for line in out.stdout.splitlines()[1:] if line.strip()]
        return None

    def raft_peers(self, server=None):
        """[(name, state, voter)] from `consul operator raft list-peers` on a server, or None."""
        for candidate in ([server] if server else self.site.hosts('consul_servers')):
            out = consul_cli(candidate, ['operator', 'raft', 'list-peers'])
            if out.returncode == 0:
                return [(line.split()[0], line.split()[3], line.split()[4]) for line in out.stdout.splitlines()[1:] if line.strip()]
        return None

    def problems(self, hosts=None):
        """Why the site is not whole (empty: every host of `hosts`, default all, is in the swarm once, ready and
        reachable as a manager, with one leader; alive in Consul once; the servers are the raft voters, one leader)."""
        hosts = hosts or self.site.hosts()
        found = []
        nodes = self.swarm()
        if nodes is None:
            return ['no manager lists the swarm']
        names = [n['Description']['Hostname'] for n in nodes]
        for host in hosts:
            mine = [n for n in nodes if n['Description']['Hostname'] == self.hostname(host)]
            if len(mine) != 1:
                found.append('swarm: %s listed %d times' % (host, len(mine)))
            elif mine[0]['Status']['State'] != 'ready':
                found.append('swarm: %s is %s' % (host, mine[0]['Status']['State']))
            elif host in self.site.hosts('swarm_managers') and mine[0].get('ManagerStatus', {}).get('Reachability') != 'reachable':
                found.append('swarm: manager %s is not reachable' % host)
        found += ['swarm: %s is not in the inventory' % n for n in names if n not in [self.hostname(h) for h in self.site.hosts()]]
        if len([n for n in nodes if n.get('ManagerStatus', {}).get('Leader')]) != 1:
            found.append('swarm: no single leader')
        members = self.consul_members()
        if members is None:
            return found + ['no Consul server lists the members']
        for host in hosts:
            mine = [m for m in members if m[0] == self.hostname(host)]
            if [m[1] for m in mine] != ['alive']:
                found.append('consul: %s is %s' % (host, [m[1] for m in mine] or 'missing'))
        peers = self.raft_peers() or []
        if sorted(p[0] for p in peers) != sorted(self.hostname(h) for h in self.site.hosts('consul_servers')):
            found.append('consul: raft peers are %s' % sorted(p[0] for p in peers))
        if [p[1] for p in peers].count('leader') != 1:
            found.append('consul: no single raft leader')
        # a server back from a restart rejoins as a non-voter until autopilot promotes it (the quorum gates count voters)
        found += ['consul: %s is not a voter yet' % p[0] for p in peers if p[2] != 'true']
        return found

    def wait_whole(self, timeout=300):
        """Wait (bounded) until problems() is empty; return the problems left (empty when whole)."""
        last = []

        def whole():
            last[:] = self.problems()
            return not last
        wait_for(whole, timeout=timeout, step=5)
        return last
