# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.decommission: a node leaves the swarm and Consul cleanly, the catalog forgets it, its ACL token is
gone, its own secrets are kept aside on the controller (0700/0600); the last manager is refused; a picocloud.edge.site
run brings it back."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import stat

import pytest

from picocloud_test import NATIVE, SITE, VERIFY, Health, consul_cli, node_exec, wait_for

# the lifecycle tests: `make test-all`, not CI's `make test` (docs/testing.md, "What CI runs")
pytestmark = pytest.mark.lifecycle

DECOMMISSION = 'picocloud.edge.decommission'


def leaving_node(site):
    """An amd64 worker when the site has one (the site scenario does), else the last manager."""
    native = [h for h in site.hosts() if not site.hostvars(h).get('picocloud_lab_emulated')]
    workers = [h for h in site.hosts('swarm_workers') if h in native]
    return workers[0] if workers else [m for m in site.hosts('swarm_managers') if m in native][-1]


def mode(path):
    return oct(stat.S_IMODE(os.stat(path).st_mode))


def test_a_decommissioned_node_leaves_cleanly_and_a_site_run_brings_it_back(site):
    health = Health(site)
    node = leaving_node(site)
    name = health.hostname(node)
    stays = [s for s in site.hosts('consul_servers') if s != node][0]
    assert health.wait_whole(timeout=300) == []
    token_file = os.path.join(site.secrets_dir, 'consul', 'tokens', 'node-%s.json' % name)
    with open(token_file) as handle:
        accessor = json.load(handle)['AccessorID']
    with open(os.path.join(site.secrets_dir, 'consul', 'management.token')) as handle:
        management = handle.read().strip()
    run = site.playbook(DECOMMISSION, extra_vars={'decommission_nodes': node})
    try:
        assert run.rc == 0, run.failure_text()
        assert list(run.stats) == [node]
        # the swarm: gone from the list, the node's engine in no swarm
        assert name not in [n['Description']['Hostname'] for n in health.swarm()]
        assert node_exec(node, 'docker', 'info', '--format', '{{.Swarm.LocalNodeState}}').stdout.strip() == 'inactive'
        # Consul: no member, no catalog node, the agent stopped and disabled, its token gone
        assert name not in [m[0] for m in health.consul_members(server=stays)]
        assert name not in consul_cli(stays, ['catalog', 'nodes']).stdout.split()
        assert node_exec(node, 'systemctl', 'is-active', 'consul').stdout.strip() == 'inactive'
        assert node_exec(node, 'systemctl', 'is-enabled', 'consul').stdout.strip() == 'disabled'
        read = node_exec(stays, 'bash', '-lc', 'CONSUL_HTTP_TOKEN=%s consul acl token read -id %s' % (management, accessor))
        assert read.returncode != 0 and 'not found' in (read.stderr + read.stdout).lower(), read.stdout
        # its own secrets aside on the controller, the site's secrets where they were
        assert not os.path.exists(token_file)
        aside = glob.glob(os.path.join(site.secrets_dir, 'decommissioned', '%s-*' % node))
        assert len(aside) == 1 and mode(aside[0]) == '0o700'
        kept = sorted(os.listdir(aside[0]))
        assert kept == sorted(['consul_tokens_node-%s.json' % name, 'docker_%s.env' % node])
        assert all(mode(os.path.join(aside[0], f)) == '0o600' for f in kept)
        with open(os.path.join(aside[0], 'consul_tokens_node-%s.json' % name)) as handle:
            assert json.load(handle)['AccessorID'] == accessor
        assert os.path.exists(os.path.join(site.secrets_dir, 'consul', 'gossip.key'))
        # the rest of the site runs on without it: every other node ready and alive, a leader in each cluster
        others = [h for h in site.hosts() if h != node]
        nodes = dict((n['Description']['Hostname'], n) for n in health.swarm())
        assert all(nodes[health.hostname(h)]['Status']['State'] == 'ready' for h in others)
        assert len([n for n in nodes.values() if n.get('ManagerStatus', {}).get('Leader')]) == 1
        members = dict((m[0], m[1]) for m in health.consul_members(server=stays))
        assert all(members[health.hostname(h)] == 'alive' for h in others)
        assert [p[1] for p in health.raft_peers(server=stays)].count('leader') == 1
        assert 'Wipe its card' in str(run.results('Report the node decommissioned')[node]['msg'])
    finally:
        back = site.playbook(SITE, limit=NATIVE)
    assert back.rc == 0, back.failure_text()
    assert health.wait_whole(timeout=300) == []
    verify = site.playbook(VERIFY)
    assert verify.rc == 0, verify.failure_text()
    with open(token_file) as handle:
        assert json.load(handle)['AccessorID'] != accessor, 'the node came back with a new token'


def test_a_manager_the_swarm_cannot_spare_is_refused_and_nothing_changes(site):
    """With one of three managers down, taking another out for good would leave one of two answering: refused before
    anything changes."""
    health = Health(site)
    managers = site.hosts('swarm_managers')
    if len(managers) != 3:
        pytest.skip('needs three managers')
    down, leaving = managers[2], managers[1]
    assert node_exec(down, 'systemctl', 'stop', 'docker.socket', 'docker.service').returncode == 0
    try:
        def seen_down():
            nodes = health.swarm(manager=managers[0]) or []
            return [n.get('ManagerStatus', {}).get('Reachability') for n in nodes
                    if n['Description']['Hostname'] == health.hostname(down)] == ['unreachable']
        assert wait_for(seen_down, timeout=120, step=3)
        run = site.playbook(DECOMMISSION, extra_vars={'decommission_nodes': leaving})
        assert run.rc != 0
        # the quorum gate every day-2 playbook shares refuses first (the swarm role's own leave gate is behind it)
        assert ('%s is not taken out: swarm: 2 of 3 managers answer; without %s 1 of 2 would, fewer than the 2 the '
                'group needs to stay writable. Bring the other nodes back first (picocloud.edge.verify shows them). '
                'Nothing was changed.' % (leaving, health.hostname(leaving))) in run.failure_text()
        assert run.changed == 0, run.changed_tasks()
        assert node_exec(leaving, 'docker', 'info', '--format', '{{.Swarm.ControlAvailable}}').stdout.strip() == 'true'
        assert node_exec(leaving, 'systemctl', 'is-active', 'consul').stdout.strip() == 'active'
    finally:
        node_exec(down, 'systemctl', 'start', 'docker.socket', 'docker.service')
    assert health.wait_whole(timeout=300) == []
