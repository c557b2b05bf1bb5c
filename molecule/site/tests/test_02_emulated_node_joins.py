# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulated arm64 node joins the converged site.

Every task on a qemu-user node runs Python emulated (seconds per module), so the scenario's check, converge and
idempotence steps run on the native nodes (--limit '!lab_emulated', see the Makefile and docs/testing.md), and
the emulated node joins here: the whole site.yml on every node converges it while the native nodes change nothing
(their re-run after the trust migration, test_trust.py), and a second run on the emulated node
(--limit lab_emulated: the native nodes' re-run is the first run) changes nothing, controller included. Together
they are the scenario's idempotence run on every node. This is also the "a node is added" case: the gossip key and
the tokens of the other nodes stay as they were. Every later test sees it as one of the site's nodes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

import pytest

from picocloud_test import SITE, node_exec, wait_for


def consul_secrets(site):
    found = {}
    root = os.path.join(site.secrets_dir, 'consul')
    for rel in ['gossip.key', 'management.token'] + ['tokens/' + t for t in os.listdir(os.path.join(root, 'tokens'))]:
        with open(os.path.join(root, rel)) as handle:
            found[rel] = handle.read()
    return found


def test_the_emulated_arm64_node_joins_the_site_and_a_rerun_changes_nothing(site):
    emulated = site.hosts('lab_emulated')
    if not emulated:
        pytest.skip('this lab has no emulated node')
    manager = site.hosts('swarm_managers')[0]
    joined = dict((h, node_exec(manager, 'docker', 'node', 'inspect', site.hostvars(h).get('picocloud_hostname', h)).returncode == 0)
                  for h in emulated)
    before = consul_secrets(site)
    started = time.time()
    run = site.playbook(SITE).ok()
    print('join run: %.0f s' % (time.time() - started))
    for host in site.hosts():
        if host in emulated:
            # (when the verifier runs again on the same lab, the node joined in the first run already)
            assert run.stats[host]['changed'] > 0 or joined[host]
        else:
            assert run.node_changes(host) == [], 'a native node changed while the emulated one joined'
    after = consul_secrets(site)
    assert dict((k, v) for k, v in after.items() if k in before) == before, 'a site secret changed when a node joined'
    assert sorted(set(after) - set(before)) == sorted('tokens/node-%s.json' % site.hostvars(h).get('picocloud_hostname', h)
                                                      for h in emulated if not joined[h])
    started = time.time()
    again = site.playbook(SITE, limit='lab_emulated').ok()
    print('idempotence run of the emulated node: %.0f s' % (time.time() - started))
    assert again.changed == 0, again.changed_tasks()
    for host in emulated:
        name = site.hostvars(host).get('picocloud_hostname', host)
        node = json.loads(node_exec(manager, 'docker', 'node', 'inspect', name).stdout)[0]
        assert node['Status']['State'] == 'ready' and node['Spec']['Role'] == 'worker'
        assert node['Spec']['Labels']['arch'] == 'arm64'
        assert wait_for(lambda: any(line.split()[:3] == [name, '%s:8301' % site.address(host), 'alive']
                                    for line in node_exec(manager, 'bash', '-lc', 'consul members').stdout.splitlines()),
                        timeout=60)
