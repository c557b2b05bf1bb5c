# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.upgrade: a package upgrade reaches each node of the run (a manager that is a Consul
server, and a worker), one at a time, each drained first, rebooted only
because the upgrade asked for it (/run/reboot-required, as Debian's packages ask), back in service, then made active
again; a second run, with nothing to upgrade, drains and reboots nothing and changes nothing.

The upgrade comes from a local apt repository the test writes into each node (file:/ source, trusted): a package
`picocloud-test-upgrade` 1.0 installed first, then 2.0 offered, whose postinst asks for a reboot the way Debian's
kernel and libc packages do. The test removes the package and the repository again."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import subprocess

import pytest

from picocloud_test import VERIFY, Health, docker, node_exec, pid1_start

# the lifecycle tests: `make test-all`, not CI's `make test` (docs/testing.md, "What CI runs")
pytestmark = pytest.mark.lifecycle

UPGRADE = 'picocloud.edge.upgrade'
PACKAGE = 'picocloud-test-upgrade'
REPO = '/opt/picocloud-test-repo'
SOURCE = '/etc/apt/sources.list.d/picocloud-test.list'
POSTINST = '''#!/bin/sh
set -e
if [ "$1" = configure ]; then
    echo "*** System restart required ***" > /run/reboot-required
    echo %(package)s >> /run/reboot-required.pkgs
fi
''' % {'package': PACKAGE}


def build(tmp_path, version, postinst=None):
    root = tmp_path / ('%s-%s' % (PACKAGE, version))
    (root / 'DEBIAN').mkdir(parents=True)
    (root / 'usr' / 'share' / 'doc' / PACKAGE).mkdir(parents=True)
    (root / 'usr' / 'share' / 'doc' / PACKAGE / 'VERSION').write_text(version + '\n')
    (root / 'DEBIAN' / 'control').write_text(
        'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: picocloud.edge tests <tests@picocloud.invalid>\n'
        'Description: picocloud.edge upgrade test package (removed by the test)\n' % (PACKAGE, version))
    if postinst:
        (root / 'DEBIAN' / 'postinst').write_text(postinst)
        os.chmod(str(root / 'DEBIAN' / 'postinst'), 0o755)
    deb = tmp_path / ('%s_%s_all.deb' % (PACKAGE, version))
    subprocess.run(['dpkg-deb', '--root-owner-group', '--build', str(root), str(deb)], check=True,
                   stdout=subprocess.PIPE, timeout=60)
    return deb


def packages_index(debs):
    """The Packages index of a flat repository, written as data (no dpkg-scanpackages on the nodes)."""
    stanzas = []
    for deb in debs:
        control = subprocess.run(['dpkg-deb', '--field', str(deb)], check=True, stdout=subprocess.PIPE,
                                 universal_newlines=True, timeout=60).stdout.strip()
        data = deb.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        stanzas.append('%s\nFilename: ./%s\nSize: %d\nSHA256: %s\n' % (control, deb.name, len(data), digest))
    return '\n'.join(stanzas)


@pytest.fixture
def offered_upgrade(site, tmp_path):
    """Version 1.0 installed on a manager that is a Consul server and on a worker (Site.rolling_pair), 2.0 offered
    by a local repository; everything removed afterwards."""
    hosts = site.rolling_pair()
    old, new = build(tmp_path, '1.0'), build(tmp_path, '2.0', POSTINST)
    index = tmp_path / 'Packages'
    index.write_text(packages_index([new]))
    for host in hosts:
        node_exec(host, 'mkdir', '-p', REPO, check=True)
        for path in (old, new, index):
            docker('cp', str(path), '%s:%s/' % (host, REPO), check=True)
        node_exec(host, 'dpkg', '-i', '%s/%s' % (REPO, old.name), check=True)
        node_exec(host, 'rm', '-f', '%s/%s' % (REPO, old.name), check=True)
        node_exec(host, 'sh', '-c', 'echo "deb [trusted=yes] file:%s ./" > %s' % (REPO, SOURCE), check=True)
        node_exec(host, 'rm', '-f', '/run/reboot-required', '/run/reboot-required.pkgs', check=True)
    yield hosts
    for host in hosts:
        node_exec(host, 'dpkg', '--purge', PACKAGE)
        node_exec(host, 'rm', '-rf', REPO, SOURCE, '/run/reboot-required', '/run/reboot-required.pkgs')
        node_exec(host, 'apt-get', 'update', '-qq', timeout=300)
    assert all(node_exec(h, 'dpkg', '-s', PACKAGE).returncode != 0 for h in hosts)


def version(host):
    return node_exec(host, 'dpkg-query', '-W', '-f', '${Version}', PACKAGE).stdout.strip()


def test_an_upgrade_drains_each_node_reboots_it_because_it_asked_and_restores_it(site, offered_upgrade):
    hosts = offered_upgrade
    health = Health(site)
    assert health.wait_whole(timeout=300) == []
    assert [version(h) for h in hosts] == ['1.0'] * len(hosts)
    before = dict((h, pid1_start(h)) for h in hosts)
    run = site.playbook(UPGRADE, limit=','.join(hosts)).ok()
    assert [version(h) for h in hosts] == ['2.0'] * len(hosts)
    after = dict((h, pid1_start(h)) for h in hosts)
    assert all(after[h] != before[h] for h in hosts), 'each node rebooted because the upgrade asked'
    # task names without their role's prefix ('picocloud.edge.swarm : Set the availability to drain')
    order = [(task['task']['name'].split(' : ', 1)[-1], list(task['hosts'])) for task in run.tasks()
             if task['task']['name'].split(' : ', 1)[-1] in (
        'Set the availability to drain', 'Upgrade the packages', 'Reboot the node and wait for it to come back',
        'Stop when the node is not back in service (it stays drained)', 'Set the availability to active')]
    # one node at a time: drained, upgraded, rebooted, back, active again, before the next node is touched
    expected = []
    for host in hosts:
        expected += [('Set the availability to drain', [host]), ('Upgrade the packages', [host]),
                     ('Reboot the node and wait for it to come back', [host]),
                     ('Stop when the node is not back in service (it stays drained)', [host]),
                     ('Set the availability to active', [host])]
    assert order == expected, order
    nodes = dict((n['Description']['Hostname'], n) for n in health.swarm())
    assert all(nodes[health.hostname(h)]['Spec']['Availability'] == 'active' for h in hosts)
    assert health.wait_whole(timeout=120) == []
    # nothing left to upgrade: no drain, no reboot, no change
    again = site.playbook(UPGRADE, limit=','.join(hosts)).ok()
    assert again.changed == 0, again.changed_tasks()
    assert not any(r.get('changed') for r in again.results('Set the availability to drain').values())
    assert dict((h, pid1_start(h)) for h in hosts) == after
    assert site.playbook(VERIFY).rc == 0


def test_a_node_the_swarm_drained_before_stays_drained(site, offered_upgrade):
    """Only what the upgrade drained is made active again: a node an operator drained stays drained."""
    hosts = offered_upgrade
    node = hosts[-1]
    health = Health(site)
    manager = [m for m in site.hosts('swarm_managers') if m != node][0]
    assert node_exec(manager, 'docker', 'node', 'update', '--availability', 'drain', health.hostname(node)).returncode == 0
    try:
        site.playbook(UPGRADE, limit=node).ok()
        assert version(node) == '2.0'
        nodes = dict((n['Description']['Hostname'], n) for n in health.swarm())
        assert nodes[health.hostname(node)]['Spec']['Availability'] == 'drain'
    finally:
        node_exec(manager, 'docker', 'node', 'update', '--availability', 'active', health.hostname(node))
    assert health.wait_whole(timeout=300) == []
