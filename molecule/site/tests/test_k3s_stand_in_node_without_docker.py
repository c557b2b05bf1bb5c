# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.site on a node without Docker: k3s on the node's own containerd. A stand-in ran, not k3s.

Every node of the site scenario's lab runs Docker (the swarm), and Debian's docker.io brings containerd with it, so
there the containerd role configures the containerd that Docker already runs on. A k3s site with
``k3s_container_runtime: external`` has no Docker at all: the containerd role installs Debian's containerd itself.
No node of the site lab can show that, so this module brings up a one-node lab of its own (picocloud.edge.lab,
``nodocker``, its site file saying ``orchestrator: k3s``) and converges the whole site on it as an operator's first
run of a k3s site does: base, pki, containerd, k3s with the k3s-stand-in in place of k3s (through the role's airgap
path), the registry and Consul. Then ``ctr`` pulls a catalogue image from the site registry through the role's
hosts.toml and runs it, and a re-run and a check-mode run change nothing. The lab is removed at the end.

The stand-in starts only when config.yaml's container-runtime-endpoint is a socket, so its Ready node shows the
socket was there; nothing here says k3s's kubelet would run pods on this containerd (docs/k3s.md).
Outside ``make test`` (marker ``k3s_stand_in``): ``make k3s-tests`` and ``make test-all`` run it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest
import yaml

from picocloud_test import (CONTAINERD_NAMESPACE as NAMESPACE, CONTAINERD_SNAPSHOTTER as SNAPSHOTTER, K3S_CONTAINERD_DUMP,
                            K3S_STAND_IN, K3S_STAND_IN_VERSION, SITE, STATIC_IMAGE, Lab, Site, containerd_pid,
                            k3s_stand_in_artifacts, k3s_unit_needs_containerd, node_exec)

pytestmark = pytest.mark.k3s_stand_in

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
ENV = {'ANSIBLE_CALLBACKS_ENABLED': 'ansible.posix.json'}
# Its own name and subnet, so it never meets the site lab or another test's.
LAB_NAME = 'nodocker'
LAB_SUBNET = '172.30.60.0/24'


class Node(object):
    """The one-node k3s site and the settings of its runs."""

    def __init__(self, workdir):
        self.lab = Lab(LAB_NAME, LAB_SUBNET, os.path.join(workdir, 'lab'))
        self.site = Site(self.lab.inventory, os.path.join(self.lab.state_dir, 'secrets'), self.lab)
        artifacts = os.environ.get('PICOCLOUD_CONSUL_ARTIFACTS') or os.path.join(PROJECT, '.cache', 'consul-artifacts')
        self.vars = {
            'k3s_container_runtime': 'external',
            'k3s_version': K3S_STAND_IN_VERSION,
            'k3s_artifacts_dir': k3s_stand_in_artifacts(os.path.join(workdir, 'k3s-artifacts')),
            'k3s_kubeconfig_merge_path': os.path.join(workdir, 'kube', 'config'),
            'k3s_controller_kubectl': [K3S_STAND_IN, 'kubectl'],
            'k3s_join_timeout': 180,
            'k3s_join_poll': 2,
            # Consul 1.8.7 and the catalogue images (the registry's seed), as the site scenario has them
            'picocloud_artifacts_dir': artifacts,
            'consul_install_source': 'artifact',
            'consul_version': '1.8.7',
            'consul_cache_dir': os.path.join(workdir, 'consul-cache'),
            # the lab has no time server
            'base_ntp_servers': ['ntp.site.invalid'],
            'base_ntp_fallback_servers': ['ntp2.site.invalid'],
            # the stand-in answers the node and version API only
            'picocloud_apps': [],
        }
        self.host = None

    def up(self):
        self.lab.up(lab_nodes=1, lab_orchestrator='k3s', lab_site=LAB_NAME)
        self.host = self.lab.nodes()[0]

    def run(self, **kwargs):
        return self.site.playbook(SITE, extra_vars=self.vars, env=ENV, **kwargs)

    def sh(self, script):
        return node_exec(self.host, 'sh', '-c', script)

    def state(self):
        """What a no-op run must leave as it is: the k3s and containerd files, and both services' processes."""
        return self.sh('find /etc/rancher /etc/containerd /usr/local/bin -type f 2>/dev/null | sort | xargs sha256sum; '
                       'cat /var/lib/rancher/k3s/stand-in/starts; '
                       'systemctl show -p MainPID containerd.service k3s.service').stdout


@pytest.fixture(scope='module')
def node(tmp_path_factory):
    """A one-node k3s site without Docker, converged by picocloud.edge.site; the lab is removed at the end."""
    node = Node(str(tmp_path_factory.mktemp('nodocker')))
    try:
        node.up()
        node.converge = node.run(diff=True).ok()
        yield node
    finally:
        node.lab.down()


def test_stand_in_node_without_docker_gets_debians_containerd_and_k3s_runs_on_its_socket(node):
    """A stand-in ran, not k3s: no Docker on the node; the containerd role installed Debian's containerd and its
    config passes `containerd config dump`; k3s's config.yaml names its socket, its unit wants containerd and starts
    after it, and the stand-in is Ready on it."""
    assert node_exec(node.host, 'dpkg-query', '-W', '-f', '${Status}', 'docker.io').stdout != 'install ok installed'
    assert node.sh('command -v dockerd docker').stdout == ''
    assert node_exec(node.host, 'dpkg-query', '-W', '-f', '${Status}', 'containerd').stdout == 'install ok installed'
    pid = containerd_pid(node.host)
    assert node.sh('readlink /proc/%s/exe' % int(pid)).stdout.strip() == '/usr/bin/containerd'
    dump = node_exec(node.host, 'containerd', 'config', 'dump')
    assert dump.returncode == 0, dump.stderr
    for line in K3S_CONTAINERD_DUMP + ('config_path = "/etc/containerd/certs.d"',):
        assert line in dump.stdout, line
    config = yaml.safe_load(node_exec(node.host, 'cat', '/etc/rancher/k3s/config.yaml', check=True).stdout)
    assert config['container-runtime-endpoint'] == 'unix:///run/containerd/containerd.sock'
    # at boot k3s starts after the containerd it needs (Wants= and After=, no Requires=)
    assert k3s_unit_needs_containerd(node.host, 'k3s.service') == ['Wants=containerd.service', 'After=containerd.service']
    nodes = json.loads(node_exec(node.host, '/usr/local/bin/k3s', 'kubectl', 'get', 'nodes', '-o', 'json',
                                 check=True).stdout)['items']
    assert [item['metadata']['name'] for item in nodes] == [node.host]
    assert nodes[0]['status']['conditions'][0]['status'] == 'True'


def test_stand_in_node_without_docker_pulls_from_the_site_registry_with_ctr_and_runs_the_image(node):
    """A stand-in ran, not k3s: ctr pulls a catalogue image from the site registry the same run seeded, through the
    containerd role's hosts.toml (verified TLS, the node's own client certificate), and runs it."""
    registries = yaml.safe_load(node_exec(node.host, 'cat', '/etc/rancher/k3s/registries.yaml', check=True).stdout)
    (registry,) = list(registries['configs'])
    image = '%s/%s' % (registry, STATIC_IMAGE)
    pulled = node_exec(node.host, 'ctr', '-n', NAMESPACE, 'images', 'pull', '--hosts-dir', '/etc/containerd/certs.d',
                       '--snapshotter', SNAPSHOTTER, image)
    assert pulled.returncode == 0, pulled.stderr
    ran = node_exec(node.host, 'ctr', '-n', NAMESPACE, 'run', '--rm', '--snapshotter', SNAPSHOTTER, image,
                    'picocloud-test-run', '/bin/busybox', 'echo', 'hello from a node without docker')
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == 'hello from a node without docker'


def test_stand_in_node_without_docker_rerun_and_check_mode_change_nothing(node):
    """A stand-in ran, not k3s: a second run of the whole site and a check-mode run report changed=0; no file of k3s
    or containerd changed and neither service restarted."""
    before = node.state()
    again = node.run().ok()
    assert again.changed == 0, again.changed_tasks()
    check = node.run(check=True, diff=True).ok()
    assert check.changed == 0, check.changed_tasks()
    assert node.state() == before
