# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scenario's idempotence run: site.yml again on every node of the converged site, the emulated arm64 node
included, changes nothing (the controller's tasks counted) and no site secret.

The scenario's converge step converges every node in one run (the emulated node's tasks run Python under qemu-user,
seconds per module, so that run takes as long as the emulated node needs; the native nodes' tasks fit beside it on
the other core). This run replaces molecule's own idempotence step, which would run without the checks below. Then
the emulated node is what the site made of it: a swarm worker labelled arm64, and an alive Consul member.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from picocloud_test import SITE, node_exec, wait_for

BYTECODE = '/var/cache/picocloud-lab/bytecode'


def consul_secrets(site):
    found = {}
    root = os.path.join(site.secrets_dir, 'consul')
    for rel in ['gossip.key', 'management.token'] + ['tokens/' + t for t in os.listdir(os.path.join(root, 'tokens'))]:
        with open(os.path.join(root, rel)) as handle:
            found[rel] = handle.read()
    return found


def test_a_rerun_on_every_node_changes_nothing_and_the_emulated_arm64_node_is_a_worker_and_a_consul_member(site):
    emulated = site.hosts('lab_emulated')
    assert emulated, 'the site lab has no emulated arm64 node'
    before = consul_secrets(site)
    started = time.time()
    again = site.playbook(SITE).ok()
    print('idempotence run on every node: %.0f s' % (time.time() - started))
    assert set(site.hosts()) <= set(again.stats), again.stats
    assert again.changed == 0, again.changed_tasks()
    assert consul_secrets(site) == before, 'a site secret changed in a run that changed nothing'
    manager = site.hosts('swarm_managers')[0]
    for host in emulated:
        name = site.hostvars(host).get('picocloud_hostname', host)
        node = json.loads(node_exec(manager, 'docker', 'node', 'inspect', name, check=True).stdout)[0]
        assert node['Status']['State'] == 'ready' and node['Spec']['Role'] == 'worker'
        assert node['Spec']['Labels']['arch'] == 'arm64'
        # the module runs went through the lab image's zipimport bytecode cache (docs/lab.md)
        assert node_exec(host, 'find', BYTECODE, '-type', 'f', '-name', '?' * 64, check=True).stdout.split(), BYTECODE
        assert wait_for(lambda: any(line.split()[:3] == [name, '%s:8301' % site.address(host), 'alive']
                                    for line in node_exec(manager, 'bash', '-lc', 'consul members').stdout.splitlines()),
                        timeout=60)
