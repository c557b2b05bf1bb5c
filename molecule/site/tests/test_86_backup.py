# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.backup and picocloud.edge.restore: one ansible-vault archive of the controller's secrets, a Consul
snapshot and the swarm state. The secrets dir removed and restored, a picocloud.edge.site run changes nothing (no new
CA, gossip key or token); the Consul snapshot and the swarm state go back onto the running cluster on request; a wrong
password, a tampered archive and an existing secrets dir are refused with nothing changed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile

import pytest

from picocloud_test import NATIVE, SITE, Health, consul_cli, node_exec

# the lifecycle tests: `make test-all`, not CI's `make test` (docs/testing.md, "What CI runs")
pytestmark = pytest.mark.lifecycle

BACKUP = 'picocloud.edge.backup'
RESTORE = 'picocloud.edge.restore'
PASSWORD = 'correct horse battery staple 4711'
KV_KEY = 'picocloud-test/backup'


def tree(path):
    """{relative path: (sha256, mode)} of every file and directory under `path`."""
    found = {}
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(root, name)
            digest = hashlib.sha256(open(full, 'rb').read()).hexdigest() if name in files else 'dir'
            found[os.path.relpath(full, path)] = (digest, oct(stat.S_IMODE(os.stat(full).st_mode)))
    return found


def vault(action, path, password, output='-'):
    return subprocess.run([sys.executable, '-m', 'ansible.cli.vault', action, '--vault-password-file', '/dev/stdin',
                           '--output', output, path], input=(password + '\n').encode(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=False, timeout=120)


def management(site):
    with open(os.path.join(site.secrets_dir, 'consul', 'management.token')) as handle:
        return handle.read().strip()


def kv(site, server, *args):
    return node_exec(server, 'bash', '-lc', 'CONSUL_HTTP_TOKEN=%s consul kv %s' % (management(site), ' '.join(args)))


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / 'vault-pass'
    path.write_text(PASSWORD + '\n')
    os.chmod(str(path), 0o600)
    return str(path)


@pytest.fixture
def swarm_objects(site):
    """A config, an overlay network and a service with no replicas (a spec, no task), removed afterwards."""
    manager = site.hosts('swarm_managers')[0]
    node_exec(manager, 'sh', '-c', 'echo "listen 80" | docker config create picocloud-test-backup.conf -', check=True)
    node_exec(manager, 'docker', 'network', 'create', '--driver', 'overlay', '--label', 'io.picocloud.test=backup',
              '--subnet', '10.231.0.0/24', 'picocloud-test-backup', check=True)
    node_exec(manager, 'docker', 'service', 'create', '--detach', '--name', 'picocloud-test-backup', '--replicas', '0',
              '--network', 'picocloud-test-backup', '--config', 'src=picocloud-test-backup.conf,target=/etc/test.conf',
              '--label', 'io.picocloud.test=backup', '--no-resolve-image', 'picocloud-test/none:1', check=True)
    yield manager
    node_exec(manager, 'docker', 'service', 'rm', 'picocloud-test-backup')
    node_exec(manager, 'docker', 'config', 'rm', 'picocloud-test-backup.conf')
    node_exec(manager, 'docker', 'network', 'rm', 'picocloud-test-backup')


def swarm_has(manager):
    return dict((kind, node_exec(manager, 'docker', kind, 'inspect', name).returncode == 0) for kind, name in (
        ('service', 'picocloud-test-backup'), ('config', 'picocloud-test-backup.conf'), ('network', 'picocloud-test-backup')))


def test_backup_then_restore_on_a_new_controller_and_the_site_run_changes_nothing(
        site, tmp_path, password_file, swarm_objects):
    health = Health(site)
    assert health.wait_whole(timeout=300) == []
    server = site.hosts('consul_servers')[0]
    assert kv(site, server, 'put', KV_KEY, 'kept-by-the-snapshot').returncode == 0
    backups = tmp_path / 'backups'
    run = site.playbook(BACKUP, extra_vars={'backup_dir': str(backups), 'backup_vault_password_file': password_file}).ok()
    archives = os.listdir(str(backups))
    assert len(archives) == 1 and archives[0].startswith('picocloud-%s-' % site.hostvars(server)['picocloud_site'])
    archive = os.path.join(str(backups), archives[0])
    assert oct(stat.S_IMODE(os.stat(archive).st_mode)) == '0o600'
    assert oct(stat.S_IMODE(os.stat(str(backups)).st_mode)) == '0o700'
    assert PASSWORD not in run.stdout + run.stderr and management(site) not in run.stdout + run.stderr
    with open(archive, 'rb') as handle:
        assert handle.readline().startswith(b'$ANSIBLE_VAULT;1.1;AES256')
    # what it holds: the secrets dir as it is, a Consul snapshot, the swarm state, and their checksums
    plain = vault('decrypt', archive, PASSWORD)
    assert plain.returncode == 0, plain.stderr
    with tarfile.open(fileobj=io.BytesIO(plain.stdout), mode='r:gz') as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile('./MANIFEST.json'))
        state = json.load(tar.extractfile('./swarm/state.json'))
        snapshot = tar.extractfile('./consul/snapshot.snap').read()
    assert manifest['format'] == 1 and manifest['site'] == site.hostvars(server)['picocloud_site']
    secrets_before = tree(site.secrets_dir)
    files_before = dict((path, entry[0]) for path, entry in secrets_before.items() if entry[0] != 'dir')
    assert dict((p[len('secrets/'):], d) for p, d in manifest['files'].items() if p.startswith('secrets/')) == files_before
    assert './consul/snapshot.snap' in names and len(snapshot) > 0
    # every service the swarm runs (the site's apps and the test's own), and the test's network and config
    live = node_exec(swarm_objects, 'docker', 'service', 'ls', '--format', '{{.Name}}', check=True).stdout.split()
    assert sorted(s['Name'] for s in state['services']) == sorted(live) and 'picocloud-test-backup' in live
    assert 'picocloud-test-backup' in [n['Name'] for n in state['networks']]
    assert 'picocloud-test-backup.conf' in [c['Name'] for c in state['configs']]
    assert sorted(n['Hostname'] for n in state['nodes']) == sorted(health.hostname(h) for h in site.hosts())

    # a new controller: the secrets dir is gone; restore puts it back as it was
    aside = str(tmp_path / 'secrets-before')
    shutil.move(site.secrets_dir, aside)
    try:
        restore = site.playbook(RESTORE, extra_vars={'restore_archive': archive, 'backup_vault_password_file': password_file})
        assert restore.rc == 0, restore.failure_text()
        assert PASSWORD not in restore.stdout + restore.stderr
        assert tree(site.secrets_dir) == secrets_before
    except AssertionError:
        shutil.rmtree(site.secrets_dir, ignore_errors=True)
        shutil.move(aside, site.secrets_dir)
        raise
    # the site run finds every secret it made: no new CA, gossip key or token, nothing changes anywhere
    again = site.playbook(SITE, limit=NATIVE)
    assert again.rc == 0, again.failure_text()
    assert again.changed == 0, again.changed_tasks()
    assert tree(site.secrets_dir) == secrets_before

    # onto the running cluster, on request: the Consul snapshot and the swarm objects removed since the backup
    assert kv(site, server, 'delete', KV_KEY).returncode == 0
    for kind, name in (('service', 'picocloud-test-backup'), ('config', 'picocloud-test-backup.conf'),
                       ('network', 'picocloud-test-backup')):
        node_exec(swarm_objects, 'docker', kind, 'rm', name, check=True)
    assert swarm_has(swarm_objects) == {'service': False, 'config': False, 'network': False}
    restore = site.playbook(RESTORE, extra_vars={'restore_archive': archive, 'backup_vault_password_file': password_file,
                                                 'restore_force': True, 'restore_consul_snapshot': True,
                                                 'restore_swarm_state': True})
    assert restore.rc == 0, restore.failure_text()
    assert kv(site, server, 'get', KV_KEY).stdout.strip() == 'kept-by-the-snapshot'
    assert swarm_has(swarm_objects) == {'service': True, 'config': True, 'network': True}
    replaced = [p for p in os.listdir(os.path.dirname(site.secrets_dir))
                if p.startswith(os.path.basename(site.secrets_dir) + '.replaced-')]
    assert len(replaced) == 1
    shutil.rmtree(os.path.join(os.path.dirname(site.secrets_dir), replaced[0]))
    assert tree(site.secrets_dir) == secrets_before
    kv(site, server, 'delete', KV_KEY)
    assert consul_cli(server, ['members']).returncode == 0
    assert health.wait_whole(timeout=300) == []


def test_a_wrong_password_a_tampered_archive_and_an_existing_secrets_dir_are_refused(site, tmp_path, password_file):
    backups = tmp_path / 'backups'
    site.playbook(BACKUP, extra_vars={'backup_dir': str(backups), 'backup_vault_password_file': password_file}).ok()
    archive = os.path.join(str(backups), os.listdir(str(backups))[0])
    before = tree(site.secrets_dir)
    wrong = tmp_path / 'wrong-pass'
    wrong.write_text('not the password\n')
    run = site.playbook(RESTORE, extra_vars={'restore_archive': archive, 'backup_vault_password_file': str(wrong),
                                             'restore_force': True})
    assert run.rc != 0 and 'did not decrypt (a wrong password, or not an ansible-vault file)' in run.failure_text()
    assert 'not the password' not in run.stdout + run.stderr
    # an archive whose secret was changed after the manifest was written
    plain = vault('decrypt', archive, PASSWORD)
    tampered_tar = tmp_path / 'tampered.tar.gz'
    with tarfile.open(fileobj=io.BytesIO(plain.stdout), mode='r:gz') as src, tarfile.open(str(tampered_tar), 'w:gz') as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read() if member.isfile() else None
            if member.name == './secrets/consul/gossip.key':
                data = b'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n'
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    tampered = str(tmp_path / 'tampered.vault')
    assert vault('encrypt', str(tampered_tar), PASSWORD, output=tampered).returncode == 0
    run = site.playbook(RESTORE, extra_vars={'restore_archive': tampered, 'backup_vault_password_file': password_file,
                                             'restore_force': True})
    assert run.rc != 0 and 'secrets/consul/gossip.key: sha256 ' in run.failure_text(), run.failure_text()
    # the archive is whole, but a secrets dir is there already
    run = site.playbook(RESTORE, extra_vars={'restore_archive': archive, 'backup_vault_password_file': password_file})
    assert run.rc != 0 and 'is not overwritten' in run.failure_text()
    assert tree(site.secrets_dir) == before
    assert not [p for p in os.listdir(os.path.dirname(site.secrets_dir)) if '.replaced-' in p]
