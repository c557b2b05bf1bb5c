# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers to drive the real lab (Docker engine, systemd nodes, SSH) from pytest."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

# The one verifier helper module of the project's tests (node_exec, plain, wait_for).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'helpers'))

from picocloud_test import plain  # noqa: E402  (after the path it is found on)

LABEL = 'io.picocloud.lab'


class Lab(object):
    """One lab, driven through `ansible-playbook picocloud.edge.lab` like a user does."""

    def __init__(self, name, subnet, state_root):
        self.name = name
        self.subnet = subnet
        self.state_dir = os.path.join(state_root, name)
        # the lab's site file, read by the picocloud.edge.site inventory plugin
        self.inventory = os.path.join(self.state_dir, 'lab.picocloud.yml')

    def playbook(self, playbook, *extra, **kwargs):
        """Run a playbook with the json callback; return (rc, parsed result)."""
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_NOCOLOR='1',
                   ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false')
        cmd = ['ansible-playbook', playbook] + list(extra)
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False,
                              timeout=kwargs.get('timeout', 2400))
        try:
            result = json.loads(proc.stdout.decode())
        except ValueError:
            raise AssertionError('no JSON from %s:\n%s\n%s' % (cmd, proc.stdout.decode()[-3000:], proc.stderr.decode()[-3000:]))
        return proc.returncode, result

    def run(self, *extra, **kwargs):
        args = ['-e', 'lab_name=%s' % self.name, '-e', 'lab_subnet=%s' % self.subnet,
                '-e', 'lab_state_dir=%s' % self.state_dir, '-e', 'lab_inventory_file=%s' % self.inventory]
        return self.playbook('picocloud.edge.lab', *(args + list(extra)), **kwargs)

    def up(self, *extra):
        rc, result = self.run(*extra)
        assert rc == 0, failure_messages(result)
        return result

    def down(self):
        rc, result = self.run('-e', 'lab_state=absent')
        assert rc == 0, failure_messages(result)
        return result

    def inventory_data(self, inventory=None):
        """`ansible-inventory --list` of the lab's site file (or another one), as the plugin builds it."""
        env = dict(os.environ, ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED='true')
        proc = subprocess.run(['ansible-inventory', '-i', inventory or self.inventory, '--list'], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env, check=False, timeout=120)
        assert proc.returncode == 0, proc.stderr.decode()
        return plain(json.loads(proc.stdout.decode()))

    def nodes(self):
        """The names of the lab's node containers, sorted."""
        out = subprocess.run(['docker', 'ps', '-a', '--filter', 'label=%s=%s' % (LABEL, self.name), '--format',
                              '{{.Names}}'], stdout=subprocess.PIPE, check=True, timeout=60).stdout.decode()
        return sorted(out.split())

    def objects(self):
        """Containers, networks and volumes carrying this lab's label."""
        found = {}
        for kind, cmd in (('containers', ['docker', 'ps', '-aq']), ('networks', ['docker', 'network', 'ls', '-q']),
                          ('volumes', ['docker', 'volume', 'ls', '-q'])):
            out = subprocess.run(cmd + ['--filter', 'label=%s=%s' % (LABEL, self.name)],
                                 stdout=subprocess.PIPE, check=True).stdout.decode().split()
            found[kind] = out
        return found


def stats(result):
    return result['stats']


def total_changed(result):
    return sum(host['changed'] for host in result['stats'].values())


def changed_tasks(result):
    """Names of the tasks that reported a change, for assertion messages."""
    names = []
    for play in result.get('plays', []):
        for task in play['tasks']:
            if any(res.get('changed') for res in task['hosts'].values()):
                names.append(task['task']['name'])
    return names


def failure_messages(result):
    messages = []
    for play in result.get('plays', []):
        for task in play['tasks']:
            for host, res in task['hosts'].items():
                for res_or_item in [res] + list(res.get('results', []) or []):
                    if isinstance(res_or_item, dict) and (res_or_item.get('failed') or res_or_item.get('unreachable')):
                        messages.append('%s: %s: %s %s' % (task['task']['name'], host, res_or_item.get('msg'),
                                                           res_or_item.get('stderr', '')))
    return '\n'.join(messages)


@pytest.fixture(scope='session')
def state_root(tmp_path_factory):
    return str(tmp_path_factory.mktemp('labs'))
