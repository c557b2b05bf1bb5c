# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.verify tells the truth: it lists the swarm and the Consul members from the clusters themselves and
exits non-zero on a ghost, a down node and a lost quorum. Each test breaks one thing, shows verify failing with the
reason, and puts the site back (asserting it is whole and verify passes again)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

import pytest

from picocloud_test import VERIFY, Health, consul_cli, node_exec, wait_for

# the lifecycle tests: `make test-all`, not CI's `make test` (docs/testing.md, "What CI runs")
pytestmark = pytest.mark.lifecycle

HERE = os.path.dirname(os.path.abspath(__file__))
SWARM = os.path.join(HERE, '..', 'playbooks', 'swarm.yml')


def native(site, hosts):
    return [h for h in hosts if not site.hostvars(h).get('picocloud_lab_emulated')]


def wait_until(predicate):
    return wait_for(predicate, timeout=120, step=3)


def restored(site):
    health = Health(site)
    assert health.wait_whole(timeout=300) == []
    run = site.playbook(VERIFY)
    assert run.rc == 0, run.failure_text()


def swarm_table(run):
    return list(run.results('Show the swarm').values())[0]['msg']


def consul_table(run):
    return list(run.results('Show the Consul members').values())[0]['msg']


def test_a_ghost_manager_fails_verify_and_the_next_run_removes_it(site):
    """A manager leaves by force and joins again: a new identity under the old name, the old entry a Down manager that
    still counts toward the quorum. verify flags it and fails; the swarm role's next run demotes and removes it."""
    health = Health(site)
    managers = native(site, site.hosts('swarm_managers'))
    if len(site.hosts('swarm_managers')) < 3:
        pytest.skip('needs three managers')
    leader = [n for n in health.swarm() if n.get('ManagerStatus', {}).get('Leader')][0]['Description']['Hostname']
    node = [m for m in managers if health.hostname(m) != leader][-1]
    anchor = [m for m in managers if m != node][0]
    token = node_exec(anchor, 'docker', 'swarm', 'join-token', '-q', 'manager').stdout.strip()
    old = [n['ID'] for n in health.swarm() if n['Description']['Hostname'] == health.hostname(node)][0]
    try:
        assert node_exec(node, 'docker', 'swarm', 'leave', '--force').returncode == 0
        join = node_exec(node, 'docker', 'swarm', 'join', '--token', token, '%s:2377' % site.address(anchor))
        assert join.returncode == 0, join.stderr
        run = site.playbook(VERIFY, tags='swarm')
        assert run.rc != 0
        text = run.failure_text()
        assert 'DUPLICATE %s (manager, node %s)' % (health.hostname(node), old[:12]) in text, text
        assert 'STALE %s (manager, node %s)' % (health.hostname(node), old[:12]) in text, text
        assert any(line.startswith(health.hostname(node)) and 'stale entry' in line for line in swarm_table(run))
        assert 'picocloud.edge.verify found problems in: the swarm' in text
    finally:
        run = site.playbook(SWARM)
    assert run.rc == 0, run.failure_text()
    assert [old] == [i['__swarm_ghost_id'] for r in run.results('Remove the stale entries').values()
                     for i in r.get('results', []) if i.get('changed')]
    restored(site)


def test_a_member_that_left_fails_verify(site):
    """A Consul agent leaves: verify flags the member LEFT from the list a server keeps (a stopped node shows FAILED,
    in the down-node test below)."""
    node = native(site, site.hosts())[-1]
    health = Health(site)
    other = [s for s in site.hosts('consul_servers') if s != node][0]
    with open(os.path.join(site.secrets_dir, 'consul', 'management.token')) as handle:
        token = handle.read().strip()
    try:
        leave = node_exec(node, 'bash', '-lc', 'CONSUL_HTTP_TOKEN=%s consul leave' % token)
        assert leave.returncode == 0, leave.stderr
        assert wait_until(lambda: dict((m[0], m[1]) for m in health.consul_members(server=other) or []).get(
            health.hostname(node)) == 'left')
        run = site.playbook(VERIFY, tags='consul')
        assert run.rc != 0
        text = run.failure_text()
        assert 'LEFT %s' % health.hostname(node) in text, text
        assert 'picocloud.edge.verify found problems in: ' in text and 'the Consul cluster' in text
        rows = consul_table(run)
        assert any(row.startswith(health.hostname(node)) and ' left ' in row for row in rows), rows
    finally:
        node_exec(node, 'systemctl', 'start', 'consul')
    restored(site)


def test_a_down_node_fails_verify_with_every_table_saying_so(site):
    node = native(site, site.hosts())[-1]
    health = Health(site)
    site.lab.stop(node)
    try:
        def seen_down():
            nodes = health.swarm(manager=[m for m in site.hosts('swarm_managers') if m != node][0]) or []
            return [n['Status']['State'] for n in nodes if n['Description']['Hostname'] == health.hostname(node)] == ['down']
        assert wait_until(seen_down)
        run = site.playbook(VERIFY)
        assert run.rc != 0
        text = run.failure_text()
        assert 'Some nodes were not reached' in text
        assert 'DOWN %s' % health.hostname(node) in text, text
        # a stopped Consul server is FAILED, until autopilot prunes it from the servers (then LEFT): a problem either way
        assert 'FAILED %s' % health.hostname(node) in text or 'LEFT %s' % health.hostname(node) in text, text
        nodes = list(run.results('Show the nodes').values())[0]['msg']
        assert any(row.split()[0] == node and row.rstrip().endswith('UNREACHABLE') for row in nodes), nodes
    finally:
        site.lab.start(node)
    restored(site)


def test_a_lost_quorum_fails_verify_for_the_swarm_and_consul(site):
    managers = site.hosts('swarm_managers')
    if len(managers) < 3 or sorted(site.hosts('consul_servers')) != sorted(managers):
        pytest.skip('needs three managers that are also the Consul servers')
    stopped = managers[1:]
    try:
        for node in stopped:
            stop = node_exec(node, 'systemctl', 'stop', 'docker.socket', 'docker.service', 'consul')
            assert stop.returncode == 0, stop.stderr

        def no_leader():
            out = consul_cli(managers[0], ['operator', 'raft', 'list-peers', '-stale'])
            return out.returncode == 0 and ' leader ' not in out.stdout
        assert wait_until(no_leader)
        run = site.playbook(VERIFY)
        assert run.rc != 0
        text = run.failure_text()
        assert 'The swarm is not healthy: NO QUORUM' in text, text
        # autopilot may prune the first stopped server from the voters before the second stops (then 1 of 2)
        assert 'Consul is not healthy' in text and re.search(r'NO QUORUM: 1 of [23] voters alive, 2 needed', text), text
        assert any(line.startswith('NO QUORUM: no manager could list the swarm') for line in swarm_table(run))
        assert 'leader: NONE' in consul_table(run)
    finally:
        for node in stopped:
            node_exec(node, 'systemctl', 'start', 'docker.socket', 'docker.service', 'consul')
    restored(site)
    assert json.loads(node_exec(managers[0], 'docker', 'info', '--format', '{{json .Swarm.ControlAvailable}}').stdout)
