# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A node lost in the middle of picocloud.edge.site: the run finishes on the others and names the lost node, the swarm
and Consul keep their quorum, a published service keeps answering on the other nodes, and once the node is back a
re-run converges it with no manual step (verify passes)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess
import threading
import time
import urllib.request

import pytest

from picocloud_test import NATIVE, SITE, VERIFY, Health, consul_cli, node_exec, wait_for

# the lifecycle tests: `make test-all`, not CI's `make test` (docs/testing.md, "What CI runs")
pytestmark = pytest.mark.lifecycle

HERE = os.path.dirname(os.path.abspath(__file__))
WEB = os.path.join(HERE, '..', 'playbooks', 'test_web.yml')


def answers(site, host):
    try:
        with urllib.request.urlopen('http://%s:8080/cgi-bin/node' % site.address(host), timeout=3) as resp:
            return resp.read().decode().strip()
    except OSError:
        return None


def test_a_node_stopped_mid_run_drops_out_the_rest_converges_and_a_rerun_brings_it_back(site):
    health = Health(site)
    hosts = site.native()
    # the first manager: usually the one the swarm's work is led from, the hardest one to lose
    lost = site.hosts('swarm_managers')[0]
    others = [h for h in hosts if h != lost]
    assert health.wait_whole(timeout=300) == []
    site.playbook(WEB).ok()
    try:
        assert wait_for(lambda: all(answers(site, h) == health.hostname(h) for h in hosts), timeout=180, step=3)
        samples, stop_sampling = [], threading.Event()

        def sample():
            # bounded: at most one sample every 5 s while the run lasts (the run is bounded by its own timeout)
            while not stop_sampling.is_set():
                samples.append(dict((h, answers(site, h)) for h in others))
                stop_sampling.wait(5)
        env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0')
        proc = subprocess.Popen(['ansible-playbook', '-i', site.inventory, '--limit', NATIVE, SITE], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, universal_newlines=True)
        sampler = threading.Thread(target=sample)
        sampler.start()
        lines, stopped_at = [], None
        try:
            for line in proc.stdout:
                lines.append(line)
                if stopped_at is None and line.startswith('TASK [picocloud.edge.base : '):
                    site.lab.stop(lost)
                    stopped_at = time.time()
            proc.wait(timeout=3600)
        finally:
            stop_sampling.set()
            sampler.join(timeout=30)
            if proc.poll() is None:
                proc.kill()
        output = ''.join(lines)
        recap = dict((m.group(1), dict((k, int(v)) for k, v in re.findall(r'(\w+)=(\d+)', m.group(2))))
                     for m in re.finditer(r'^(\S+)\s+:\s+(ok=.*)$', output, re.M))
        assert stopped_at is not None and proc.returncode != 0, output[-3000:]
        # the run finished on the others, with no failure, and names the lost node once at the end
        assert recap[lost]['unreachable'] + recap[lost]['failed'] >= 1, recap
        failures = [line for line in lines if line.startswith(('fatal: ', 'failed: '))]
        assert all(recap[h]['failed'] == 0 and recap[h]['unreachable'] == 0 for h in others), (recap, failures)
        assert 'PLAY [Discovery - Consul servers and clients' in output
        assert re.search(r'NOT CONVERGED: %s dropped out of this run' % re.escape(lost), output), output[-3000:]
        # the quorums held: a swarm leader among the others, a Consul leader, the others alive
        nodes = health.swarm(manager=[m for m in site.hosts('swarm_managers') if m != lost][0])
        assert len([n for n in nodes if n.get('ManagerStatus', {}).get('Leader')]) == 1
        peers = consul_cli(others[0], ['operator', 'raft', 'list-peers'])
        assert peers.returncode == 0 and ' leader ' in peers.stdout, peers.stderr
        members = dict((m[0], m[1]) for m in health.consul_members(server=[s for s in site.hosts('consul_servers') if s != lost][0]))
        assert all(members[health.hostname(h)] == 'alive' for h in others), members
        # the service kept answering on the others all along
        assert samples and all(s == dict((h, health.hostname(h)) for h in others) for s in samples), samples
        # verify says so, and fails, while the node is away
        verify = site.playbook(VERIFY)
        assert verify.rc != 0 and 'DOWN %s' % health.hostname(lost) in verify.failure_text()
    finally:
        if node_exec(lost, 'true').returncode != 0:
            site.lab.start(lost)
    # back: a re-run converges it with no other step
    rerun = site.playbook(SITE, limit=NATIVE)
    assert rerun.rc == 0, rerun.failure_text()
    assert health.wait_whole(timeout=300) == []
    verify = site.playbook(VERIFY)
    assert verify.rc == 0, verify.failure_text()
    site.playbook(WEB, extra_vars={'state': 'absent'}).ok()
    assert 'picocloud-test-web' not in node_exec(site.hosts('swarm_managers')[0], 'docker', 'service', 'ls').stdout
