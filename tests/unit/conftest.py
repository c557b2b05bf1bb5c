# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install Ansible's collection loader before any test imports ansible_collections, as the ansible CLIs
(and ansible-test units) do: the inventory plugin tests load plugins by FQCN, which needs it. And run_local_play, for
the tests that run role tasks with ansible-playbook on localhost."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys

import pytest

from ansible.plugins.loader import init_plugin_loader

init_plugin_loader()


@pytest.fixture(scope='session')
def run_local_play():
    """A function that runs a playbook text against an inventory dict of localhost hosts (ansible_connection local),
    with the collection under test, and returns (log, {host: recap line})."""
    # the directory that holds ansible_collections/ of the copy under test (this file is tests/unit/conftest.py)
    collections = os.path.abspath(os.path.join(os.path.dirname(__file__), *(['..'] * 5)))

    def run(tmp_path, inventory, play):
        (tmp_path / 'hosts.json').write_text(json.dumps(inventory))
        (tmp_path / 'play.yml').write_text(play)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
                   ANSIBLE_LOCALHOST_WARNING='false')
        binary = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
        proc = subprocess.run([binary, '-i', str(tmp_path / 'hosts.json'), str(tmp_path / 'play.yml')],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=300, check=False)
        log = proc.stdout.decode('utf-8', 'replace')
        return log, dict(re.findall(r'^(\w+)\s+: (ok=.*)$', log, re.M))
    return run
