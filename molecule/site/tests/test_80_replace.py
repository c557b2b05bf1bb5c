# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A re-flashed node (same name and address, blank state) comes back with one picocloud.edge.site run, and no ghost
is left: a worker, a manager and a Consul server are each re-flashed in turn, as a field technician would replace a
card (the manager and the Consul server are one node where the site has such a node, as the lab does). Each test
leaves the site whole (every node once in the swarm and in Consul, verify passing)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from picocloud_test import NATIVE, SITE, VERIFY, Health, node_exec, wait_for

# the lifecycle tests: `make test-all`, not CI's `make test` (docs/testing.md, "What CI runs")
pytestmark = pytest.mark.lifecycle


def native(site, hosts):
    return [h for h in hosts if not site.hostvars(h).get('picocloud_lab_emulated')]


def reflash_and_converge(site, node):
    """Re-flash `node`, prove the old identity is still listed (the ghost the run must clean), then run the site."""
    health = Health(site)
    assert health.wait_whole(timeout=300) == [], 'the site must be whole before the test'
    old_machine = node_exec(node, 'cat', '/etc/machine-id').stdout.strip()
    old_id = [n['ID'] for n in health.swarm() if n['Description']['Hostname'] == health.hostname(node)]
    site.lab.reflash(node)
    assert node_exec(node, 'cat', '/etc/machine-id').stdout.strip() != old_machine, 'a re-flash gives a new machine-id'
    assert node_exec(node, 'test', '-e', '/usr/sbin/dockerd').returncode != 0, 'a re-flashed node has no engine yet'
    # the managers may be slow to answer right after the re-flash (seen once: no manager listed the swarm)
    nodes = wait_for(health.swarm, timeout=120, step=3)
    assert nodes, 'no manager lists the swarm after the re-flash'
    listed = [n['ID'] for n in nodes if n['Description']['Hostname'] == health.hostname(node)]
    assert listed == old_id, 'the swarm still lists the old identity before the run'
    run = site.playbook(SITE, limit=NATIVE).ok()
    assert run.stats[node]['changed'] > 0
    return run, old_id[0]


def assert_no_ghost(site, node, old_id, run):
    health = Health(site)
    assert health.wait_whole(timeout=180) == []
    entries = [n for n in health.swarm() if n['Description']['Hostname'] == health.hostname(node)]
    assert len(entries) == 1 and entries[0]['ID'] != old_id, entries
    assert len(health.swarm()) == len(site.hosts())
    managers = [n for n in health.swarm() if n['Spec']['Role'] == 'manager']
    assert len(managers) == len(site.hosts('swarm_managers')), 'a ghost manager would count toward the quorum'
    assert sorted(m[0] for m in health.consul_members()) == sorted(health.hostname(h) for h in site.hosts())
    verify = site.playbook(VERIFY)
    assert verify.rc == 0, verify.failure_text()
    return run


def test_a_reflashed_worker_rejoins_and_its_ghost_is_removed(site):
    workers = native(site, site.hosts('swarm_workers'))
    if not workers:
        pytest.skip('this lab has no native worker (the site scenario has one)')
    node = workers[0]
    run, old_id = reflash_and_converge(site, node)
    removed = list(run.results('Report the stale entries removed').values())
    assert any(old_id in str(r.get('msg', '')) for r in removed), removed
    assert not run.results('Demote the stale manager entries, one at a time') or not any(
        r.get('changed') for r in run.results('Demote the stale manager entries, one at a time').values())
    assert_no_ghost(site, node, old_id, run)


def test_a_reflashed_manager_and_consul_server_rejoins_as_one_manager_and_one_voter(site):
    """A manager that is also a Consul server (as the first three nodes of a site are): its ghost manager is demoted
    then removed from the swarm, and Consul's raft ends with the node once, as a voter, under one leader. One
    re-flash covers both the manager and the Consul server case; a site whose managers are not Consul servers
    re-flashes one of each."""
    managers = site.hosts('swarm_managers')
    servers = site.hosts('consul_servers')
    if len(managers) < 3 or len(servers) < 3:
        pytest.skip('needs three managers and three Consul servers: one cannot be replaced without losing quorum')
    both = native(site, [h for h in managers if h in servers])
    nodes = both[-1:] or [native(site, managers)[-1], native(site, servers)[-1]]
    for node in nodes:
        run, old_id = reflash_and_converge(site, node)
        if node in managers:
            demoted = [r for r in run.results('Demote the stale manager entries, one at a time').values() if r.get('changed')]
            assert len(demoted) == 1 and [i['__swarm_ghost_id'] for i in demoted[0]['results'] if i.get('changed')] == [old_id]
            removed = [r for r in run.results('Remove the stale entries').values() if r.get('changed')]
            assert len(removed) == 1
        if node in servers:
            health = Health(site)
            peers = health.raft_peers()
            assert sorted(p[0] for p in peers) == sorted(health.hostname(h) for h in servers)
            assert [p[2] for p in peers] == ['true'] * len(peers) and [p[1] for p in peers].count('leader') == 1
        assert_no_ghost(site, node, old_id, run)
