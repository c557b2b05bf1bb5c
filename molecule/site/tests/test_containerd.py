# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.containerd for real, with Debian's containerd, on the swarm nodes of a converged site.

The site is ``picocloud.edge.site`` as converged for swarm; the tests run it again with a second inventory file
that puts the nodes in the ``containerd`` group. On these nodes Debian's docker.io runs on the same containerd, so
every test also checks that dockerd keeps answering and the swarm still verifies. The emulated arm64 node of the
site scenario is left out (apt under qemu-user takes minutes). The module's fixture converges the role once and at
the end puts back each node's own config.toml (Debian's), removes the role's certs.d files and restarts containerd.
The registry settings are the role's defaults, from the site layer's picocloud_registry: containerd pulls from the
site's own registry (seeded from images built from Debian packages, scripts/catalog-images.sh) with the node's
registry client certificate, never from the internet; release artifacts are made from Debian's containerd and runc
packages (scripts/containerd-artifacts.sh).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

import pytest
import yaml

from picocloud_test import (CONTAINERD_CONFIG as CONFIG, CONTAINERD_NAMESPACE as NAMESPACE,
                            CONTAINERD_SNAPSHOTTER as SNAPSHOTTER, NATIVE, SITE, STATIC_IMAGE, VERIFY, Site,
                            containerd_config, containerd_pid, docker, node_exec, restart_containerd,
                            restore_containerd, site_registry_address, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
# The helper empties ANSIBLE_CALLBACKS_ENABLED, which ansible-core 2.19 refuses ("A non-empty plugin name is
# required"); naming the json stdout callback there keeps stdout one JSON document.
ENV = {'ANSIBLE_CALLBACKS_ENABLED': 'ansible.posix.json'}
CACHE = os.path.join(PROJECT, '.cache')


class Runtime(object):
    """The site's non-emulated nodes in the containerd group, and what the tests look at on them."""

    def __init__(self, site, workdir):
        self.site = site
        self.hosts = site.native()
        self.groups = os.path.join(workdir, 'containerd-groups.yml')
        with open(self.groups, 'w') as stream:
            yaml.safe_dump({'containerd': {'hosts': dict((host, None) for host in self.hosts)}}, stream)
        # the registry host and its trust files are the role's defaults (the site layer's picocloud_registry)
        self.vars = {'containerd_registry_namespaces': ['docker.io', 'ghcr.io']}
        # the site registry as every node trusts it: its certs.d directory, named host:port (picocloud.edge.registry)
        self.registry = site_registry_address(self.hosts[0])
        self.registry_certs = '/etc/docker/certs.d/' + self.registry

    def run(self, *args, **kwargs):
        """A site run with the containerd group. It converges only the containerd layer (--tags containerd, after
        the facts play), as an operator adds a layer to a converged site, unless tags=None asks for the whole site,
        as the re-run does: changed=0 there proves that no other layer (the Docker engine above all, which runs on
        the same containerd) undoes what this one wrote. The other layers are the swarm site's, which its own tests
        prove."""
        extra = dict(self.vars, **kwargs.pop('extra_vars', {}))
        # the containerd group is the native nodes: the emulated one would only slow each run (docs/testing.md)
        if '--limit' not in args:
            kwargs.setdefault('limit', NATIVE)
        kwargs.setdefault('tags', 'containerd')
        return self.site.playbook(SITE, '-i', self.groups, *args, extra_vars=extra, env=ENV, **kwargs)

    def main_pid(self, host):
        return containerd_pid(host)

    def docker_answers(self, host):
        return node_exec(host, 'docker', 'version', '--format', '{{.Server.Version}}').returncode == 0

    def state(self, host):
        """containerd's files and binaries on the node (checksums), to prove a refused run changed nothing."""
        return node_exec(host, 'sh', '-c', 'sha256sum /etc/containerd/config.toml /usr/bin/containerd '
                         '/usr/local/bin/containerd* /usr/local/sbin/runc /etc/systemd/system/containerd.service '
                         '2>/dev/null; systemctl show -p MainPID containerd').stdout


@pytest.fixture(scope='module')
def runtime(tmp_path_factory):
    """The containerd layer converged through picocloud.edge.site (--tags containerd); Debian's config.toml restored
    at the end."""
    runtime = Runtime(Site.current(), str(tmp_path_factory.mktemp('containerd')))
    originals = dict((host, containerd_config(host)) for host in runtime.hosts)
    runtime.pids = dict((host, runtime.main_pid(host)) for host in runtime.hosts)
    runtime.converge = runtime.run(diff=True).ok()
    yield runtime
    for host in runtime.hosts:
        restore_containerd(host, originals[host])
    runtime.site.playbook(VERIFY, tags='nodes,swarm', env=ENV).ok()


def test_containerd_config_validates_in_the_installed_schema_and_restarted_once(runtime):
    """Debian's containerd 1.6.20 dumps the rendered version-2 config with our keys; it restarted for it, once."""
    for host in runtime.hosts:
        version = node_exec(host, 'containerd', '--version').stdout
        assert ' 1.6.' in version or ' 1.7.' in version, version
        dump = node_exec(host, 'containerd', 'config', 'dump')
        assert dump.returncode == 0, dump.stderr
        assert 'version = 2' in dump.stdout
        assert 'SystemdCgroup = true' in dump.stdout
        assert 'config_path = "/etc/containerd/certs.d"' in dump.stdout
        assert 'bin_dir = "/usr/lib/cni"' in dump.stdout
        assert node_exec(host, 'stat', '-c', '%a', CONFIG).stdout.strip() == '644'
        assert runtime.main_pid(host) != runtime.pids[host], '%s: containerd did not restart for its new config' % host
    restarts = [name for name in runtime.converge.changed_tasks() if name.split(' : ', 1)[-1].startswith('Restart containerd')]
    assert len(restarts) == len(runtime.hosts), restarts


def test_containerd_restart_leaves_dockerd_and_the_swarm_working(runtime):
    """dockerd shares this containerd: after the role's restart it answers and the swarm still verifies."""
    for host in runtime.hosts:
        assert runtime.docker_answers(host), host
    runtime.site.playbook(VERIFY, tags='nodes,swarm', env=ENV).ok()


def test_containerd_registry_hosts_send_each_name_to_the_site_registry_with_its_ca_and_client_certificate(runtime):
    """certs.d hosts.toml (containerd docs/hosts.md) from the site layer alone: the site registry's own name, docker.io
    and ghcr.io, each with the registry CA and the node's client certificate that picocloud.edge.registry wrote."""
    certs = runtime.registry_certs
    for host in runtime.hosts:
        files = node_exec(host, 'find', '/etc/containerd/certs.d', '-name', 'hosts.toml').stdout.split()
        assert sorted(files) == sorted('/etc/containerd/certs.d/%s/hosts.toml' % name
                                       for name in (runtime.registry, 'docker.io', 'ghcr.io'))
        for path in files:
            text = node_exec(host, 'cat', path).stdout
            assert 'server = "https://%s"' % runtime.registry in text
            assert 'ca = "%s/ca.crt"' % certs in text
            assert 'client = [["%s/client.cert", "%s/client.key"]]' % (certs, certs) in text
            assert node_exec(host, 'stat', '-c', '%a', path).stdout.strip() == '644'


def test_containerd_certs_dir_spelled_with_a_trailing_slash_keeps_the_hosts_files_and_changes_nothing(runtime):
    """`containerd_certs_dir: /etc/containerd/certs.d/` names the converged directory: the run changes nothing, and
    the clean-up of stale hosts.toml files (found by `find`, which spells paths without the slash) keeps them all."""
    run = runtime.run(extra_vars={'containerd_certs_dir': '/etc/containerd/certs.d/'}).ok()
    assert run.changed == 0, run.changed_tasks()
    for host in runtime.hosts:
        files = node_exec(host, 'find', '/etc/containerd/certs.d', '-name', 'hosts.toml').stdout.split()
        assert len(files) == 3, (host, files)


def test_containerd_extra_that_overrides_a_key_the_role_sets_is_refused_before_any_change(runtime):
    """`containerd_config_extra` setting SystemdCgroup (which containerd_cgroup_driver sets) stops the run in the
    role's validation, before the install and the config: the message names the key and the variable to set, and
    the node's containerd files and process are as they were."""
    host = runtime.hosts[-1]
    before = runtime.state(host)
    extra = {'plugins': {'io.containerd.grpc.v1.cri': {'containerd': {'runtimes': {'runc': {'options': {
        'SystemdCgroup': False}}}}}}}
    run = runtime.run('--limit', host, extra_vars={'containerd_config_extra': extra})
    assert run.rc != 0
    cri = 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options.SystemdCgroup'
    assert ('containerd_config_extra: %s is set by the role (%s): set containerd_cgroup_driver instead' % (cri, cri)
            in run.failure_text()), run.failure_text()
    assert run.changed == 0, run.changed_tasks()
    assert runtime.state(host) == before


def test_containerd_pulls_from_the_site_registry_through_the_roles_hosts_toml_and_runs_the_image(runtime):
    """ctr pulls a catalogue image from the site registry (verified TLS, the node's own client certificate) through
    the role's hosts.toml and runs it; a pull by its docker.io name is served by the site registry too (the mirror,
    with nothing else contacted); without the hosts.toml files the same pull fails on the site CA's certificate."""
    host = runtime.hosts[0]
    images = ['%s/%s' % (runtime.registry, STATIC_IMAGE), 'docker.io/' + STATIC_IMAGE]
    try:
        for image in images:
            pulled = node_exec(host, 'ctr', '-n', NAMESPACE, 'images', 'pull', '--hosts-dir', '/etc/containerd/certs.d',
                               '--snapshotter', SNAPSHOTTER, image)
            assert pulled.returncode == 0, pulled.stderr
        ran = node_exec(host, 'ctr', '-n', NAMESPACE, 'run', '--rm', '--snapshotter', SNAPSHOTTER, images[0],
                        'picocloud-test-pull', '/bin/busybox', 'echo', 'pulled from the site registry')
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == 'pulled from the site registry'
        bare = node_exec(host, 'ctr', '-n', NAMESPACE, 'images', 'pull', '--snapshotter', SNAPSHOTTER, images[0])
        assert bare.returncode != 0 and 'x509: certificate signed by unknown authority' in bare.stderr, bare.stderr
    finally:
        left = _remove_test_namespace(host)
    assert not left, 'the test namespace %s is left on %s: %s' % (NAMESPACE, host, left)


def _remove_test_namespace(host):
    """Remove the tests' namespace, with every task, container, image and lease in it, from host's containerd.
    Returns '' when it is gone, else containerd's last refusal.

    containerd refuses to remove a namespace that still holds content or snapshots, and frees an image's blobs and
    snapshots in its garbage collection: ``rm --sync`` waits for one collection, and removing the namespace is tried
    again, bounded to about 20 s, while a late collection empties it."""
    for kind, flags in (('tasks', ['--force']), ('containers', []), ('images', ['--sync']), ('leases', ['--sync'])):
        items = node_exec(host, 'ctr', '-n', NAMESPACE, kind, 'ls', '-q').stdout.split()
        if items:
            node_exec(host, 'ctr', '-n', NAMESPACE, kind, 'rm', *(flags + items))
    refusals = []

    def gone():
        refusals.append(node_exec(host, 'ctr', 'namespaces', 'rm', NAMESPACE).stderr.strip())
        return NAMESPACE not in node_exec(host, 'ctr', 'namespaces', 'ls', '-q').stdout.split()
    return '' if wait_for(gone, timeout=20, step=1) else refusals[-1] or 'no refusal printed'


def test_containerd_rerun_and_check_mode_change_nothing_and_do_not_restart_it(runtime):
    """A second run of the whole site on one node of the group and a check-mode run of the containerd layer on all of
    them report changed=0, and containerd keeps its process. Every node of the group has the same containerd layer
    under the same other layers, so one node proves that none of them undoes it, in half the time of a run on all."""
    pids = dict((host, runtime.main_pid(host)) for host in runtime.hosts)
    one = [host for host in runtime.hosts if host in runtime.site.hosts('swarm_workers')][-1:] or runtime.hosts[-1:]
    again = runtime.run(tags=None, limit=one[0]).ok()
    assert again.changed == 0, again.changed_tasks()
    check = runtime.run(check=True, diff=True).ok()
    assert check.changed == 0, check.changed_tasks()
    assert dict((host, runtime.main_pid(host)) for host in runtime.hosts) == pids


def test_containerd_ctr_imports_an_image_built_from_debian_packages_and_runs_a_container(runtime, tmp_path):
    """ctr imports the busybox-static catalogue image (an OCI archive built from Debian packages) and runs it."""
    images = os.environ.get('PICOCLOUD_CATALOG_IMAGES') or os.path.join(CACHE, 'consul-artifacts', 'images')
    archive = os.path.join(images, 'picocloud', 'static', '1.0', 'linux-amd64.tar')
    if not os.path.exists(archive):
        subprocess.run([os.path.join(PROJECT, 'scripts', 'catalog-images.sh'), images, 'amd64'], check=True,
                       timeout=1200)
    host = runtime.hosts[0]
    assert docker('cp', archive, '%s:/tmp/picocloud-static.tar' % host).returncode == 0
    try:
        imported = node_exec(host, 'ctr', '-n', NAMESPACE, 'images', 'import', '--snapshotter', SNAPSHOTTER,
                             '/tmp/picocloud-static.tar')
        assert imported.returncode == 0, imported.stderr
        assert STATIC_IMAGE in node_exec(host, 'ctr', '-n', NAMESPACE, 'images', 'ls', '-q').stdout.split()
        ran = node_exec(host, 'ctr', '-n', NAMESPACE, 'run', '--rm', '--snapshotter', SNAPSHOTTER, STATIC_IMAGE,
                        'picocloud-test-run', '/bin/busybox', 'echo', 'hello from containerd')
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == 'hello from containerd'
    finally:
        left = _remove_test_namespace(host)
        node_exec(host, 'rm', '-f', '/tmp/picocloud-static.tar')
    assert not left, 'the test namespace %s is left on %s: %s' % (NAMESPACE, host, left)


def _artifacts():
    directory = os.path.join(CACHE, 'containerd-artifacts')
    subprocess.run([os.path.join(PROJECT, 'scripts', 'containerd-artifacts.sh'), directory], check=True, timeout=600)
    tarball = [name for name in os.listdir(directory) if name.endswith('-linux-amd64.tar.gz')][0]
    return directory, tarball[len('containerd-'):-len('-linux-amd64.tar.gz')]


def test_containerd_artifact_install_runs_the_verified_release_binaries_beside_docker(runtime, tmp_path):
    """The artifact source on one node: the release tarball and runc, checked against their sha256sum files, run."""
    directory, version = _artifacts()
    host = runtime.hosts[-1]
    run = runtime.run('--limit', host, extra_vars={'containerd_install_source': 'artifact',
                                                   'containerd_artifacts_dir': directory, 'containerd_version': version,
                                                   'containerd_cache_dir': str(tmp_path / 'cache')})
    try:
        run.ok()
        unit = node_exec(host, 'systemctl', 'show', '-p', 'ExecStart', 'containerd').stdout
        assert 'argv[]=/usr/local/bin/containerd ' in unit
        pid = runtime.main_pid(host)
        assert node_exec(host, 'readlink', '/proc/%s/exe' % pid).stdout.strip() == '/usr/local/bin/containerd'
        assert node_exec(host, 'test', '-x', '/usr/local/sbin/runc').returncode == 0
        assert 'Version:  %s' % version in node_exec(host, '/usr/local/bin/ctr', 'version').stdout
        assert runtime.docker_answers(host)
    finally:
        node_exec(host, 'sh', '-c', 'rm -f /etc/systemd/system/containerd.service /usr/local/bin/containerd* '
                  '/usr/local/bin/ctr /usr/local/sbin/runc')
        restart_containerd(host)
    assert node_exec(host, 'readlink', '/proc/%s/exe' % runtime.main_pid(host)).stdout.strip() == '/usr/bin/containerd'


def test_containerd_tarball_that_differs_from_its_sha256sum_is_refused_and_nothing_changes(runtime, tmp_path):
    """A tampered release tarball stops the run on the controller with both checksums; the node is untouched."""
    directory, version = _artifacts()
    tampered = str(tmp_path / 'tampered')
    shutil.copytree(directory, tampered, ignore=shutil.ignore_patterns('.deb-*'))
    tarball = 'containerd-%s-linux-amd64.tar.gz' % version
    with open(os.path.join(tampered, tarball), 'ab') as stream:
        stream.write(b'\0')
    host = runtime.hosts[-1]
    before = runtime.state(host)
    run = runtime.run('--limit', host, extra_vars={'containerd_install_source': 'artifact',
                                                   'containerd_artifacts_dir': tampered, 'containerd_version': version,
                                                   'containerd_cache_dir': str(tmp_path / 'cache')})
    assert run.rc != 0
    text = run.failure_text() + run.stderr
    assert '%s does not match %s.sha256sum: the file has sha256 ' % (tarball, tarball) in text
    assert 'Nothing was installed.' in text
    assert run.changed == 0, run.changed_tasks()
    assert runtime.state(host) == before
