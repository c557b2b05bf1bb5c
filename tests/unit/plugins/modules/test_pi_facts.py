# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pi_facts run as Ansible runs it, on this (x86, non-Pi) machine."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.picocloud.edge.plugins.modules import pi_facts


def run_module(check_mode):
    args = {'ANSIBLE_MODULE_ARGS': {'_ansible_check_mode': check_mode}}
    proc = subprocess.run(
        [sys.executable, '-m', 'ansible_collections.picocloud.edge.plugins.modules.pi_facts'],
        input=json.dumps(args).encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout.decode())


@pytest.mark.parametrize('check_mode', [False, True])
def test_pi_facts_on_this_host_reports_real_values_and_never_changes(check_mode):
    result = run_module(check_mode)
    facts = result['ansible_facts']['picocloud']
    assert result['changed'] is False
    assert facts['arch']['machine'] == os.uname()[4]
    if os.uname()[4] == 'x86_64':
        assert facts['arch']['debian_arch'] == 'amd64'
        assert facts['arch']['arm_version'] is None
        assert facts['board']['is_raspberry_pi'] is False
    assert facts['cgroups']['version'] in (1, 2)
    assert isinstance(facts['cgroups']['memory_controller'], bool)
    assert set(facts['boot']) == {'firmware_dir', 'cmdline_path', 'config_path'}
    assert 'temperature_c' in facts['power']
    with open('/etc/os-release') as handle:
        assert 'ID=%s' % facts['os']['id'] in handle.read()
    with open('/proc/meminfo') as handle:
        total_kb = int(handle.readline().split()[1])
    assert facts['memory']['total_mb'] == total_kb // 1024
    assert facts['memory']['nominal_mb'] == facts['memory']['total_mb']  # not a Pi: no board size
    with open('/proc/1/comm') as handle:
        assert facts['init']['system'] == handle.read().strip()
    assert isinstance(facts['swap']['areas'], list)


def test_read_text_missing_file_is_none(tmp_path):
    assert pi_facts.read_text(str(tmp_path / 'absent')) is None
    assert pi_facts.first_text([str(tmp_path / 'absent'), '/proc/self/stat']) is not None
