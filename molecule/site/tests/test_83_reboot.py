# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.reboot: each node of the run (a manager that is a Consul server, and a worker) reboots once, one at
a time, each back in the swarm and alive in Consul (its checks passing) before the next goes down; a node its
clusters cannot spare is refused before anything changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest

from picocloud_test import VERIFY, Health, node_exec, pid1_start, wait_for

# the lifecycle tests: `make test-all`, not CI's `make test` (docs/testing.md, "What CI runs")
pytestmark = pytest.mark.lifecycle

REBOOT = 'picocloud.edge.reboot'


def test_each_node_reboots_once_one_at_a_time_and_the_site_stays_whole(site):
    """A manager that is a Consul server and a worker (Site.rolling_pair), each rebooted in turn with its gate."""
    health = Health(site)
    hosts = site.rolling_pair()
    assert len(hosts) == 2, hosts
    assert health.wait_whole(timeout=300) == []
    before = dict((h, pid1_start(h)) for h in hosts)
    run = site.playbook(REBOOT, limit=','.join(hosts)).ok()
    after = dict((h, pid1_start(h)) for h in hosts)
    assert all(after[h] != before[h] for h in hosts), (before, after)
    # one node per batch: each reboot task result holds one host, in inventory order, each followed by its gate
    reboots = [list(task['hosts']) for task in run.tasks()
               if task['task']['name'] == 'picocloud.edge.base : Reboot the node and wait for it to come back']
    assert reboots == [[h] for h in hosts], reboots
    gates = [task['hosts'] for task in run.tasks() if task['task']['name'] == 'Stop when the node is not back in service']
    assert [list(g) for g in gates] == [[h] for h in hosts] and all(not r.get('failed') for g in gates for r in g.values())
    # the gate waited for the node's own agent and the peers' view, not for a list that had not noticed the reboot
    leaders = run.results("Wait for this node's own agent to know a leader (it runs and joined again)")
    assert sorted(leaders) == sorted(hosts) and not any(r.get('skipped') for r in leaders.values())
    assert health.wait_whole(timeout=120) == []
    assert site.playbook(VERIFY).rc == 0


def test_a_reboot_is_refused_while_another_server_is_down_and_nothing_changes(site):
    servers = site.hosts('consul_servers')
    if len(servers) != 3:
        pytest.skip('needs three Consul servers')
    down, target = servers[-1], servers[0]
    before = pid1_start(target)
    health = Health(site)
    assert node_exec(down, 'systemctl', 'stop', 'consul').returncode == 0
    try:
        # failed, or left once Consul's autopilot pruned the dead server from the voters
        assert wait_for(lambda: dict((m[0], m[1]) for m in health.consul_members(server=target) or []).get(
            health.hostname(down)) in ('failed', 'left'), timeout=120, step=3)
        run = site.playbook(REBOOT, limit=target)
        assert run.rc != 0
        text = run.failure_text()
        assert re.search(r'%s is not taken down: Consul: 2 of [23] servers answer; without %s 1 of [23] would' % (
            re.escape(target), re.escape(health.hostname(target))), text), text
        assert 'Nothing was changed' in text
        assert run.changed == 0, run.changed_tasks()
        assert pid1_start(target) == before
    finally:
        node_exec(down, 'systemctl', 'start', 'consul')
    assert health.wait_whole(timeout=300) == []
