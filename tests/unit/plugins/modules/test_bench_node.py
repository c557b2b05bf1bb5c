# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bench_node run as Ansible runs it: the page content (written once, then unchanged, nothing in check mode), the
footprint of this machine's processes, and bad parameters refused with the field and value, before any engine call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys


def run_module(args, check_mode=False):
    payload = {'ANSIBLE_MODULE_ARGS': dict(args, _ansible_check_mode=check_mode)}
    proc = subprocess.run(
        [sys.executable, '-m', 'ansible_collections.picocloud.edge.plugins.modules.bench_node'],
        input=json.dumps(payload).encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)), timeout=60)
    return json.loads(proc.stdout.decode())


def test_content_writes_the_page_and_a_100_kb_image_once_and_check_mode_writes_nothing(tmp_path):
    dest = str(tmp_path / 'www')
    checked = run_module({'experiment': 'content', 'dest': dest}, check_mode=True)
    assert checked['changed'] is True and not os.path.exists(dest)
    first = run_module({'experiment': 'content', 'dest': dest})
    assert first['changed'] is True
    assert sorted(os.listdir(dest)) == ['image.png', 'index.html']
    assert 95000 < os.path.getsize(os.path.join(dest, 'image.png')) < 110000
    assert oct(os.stat(os.path.join(dest, 'index.html')).st_mode & 0o777) == '0o644'
    assert run_module({'experiment': 'content', 'dest': dest})['changed'] is False


def test_footprint_reads_this_machines_processes_without_changing_anything():
    result = run_module({'experiment': 'footprint', 'node': 'controller'})
    assert result['changed'] is False
    for sample in result['samples']:
        assert sample['node'] == 'controller' and sample['rss_kib'] > 0 and sample['pids']


def test_a_count_below_one_is_refused_naming_the_field():
    result = run_module({'experiment': 'storm', 'run_id': 'r1', 'image': 'img:1', 'count': 0,
                         'docker_socket': '/nonexistent/docker.sock'})
    assert result['failed'] is True and result['msg'] == 'count: must be at least 1, got 0'


def test_a_density_app_without_an_image_is_refused_naming_the_app():
    result = run_module({'experiment': 'density', 'run_id': 'r1', 'apps': [{'app': 'static'}],
                         'docker_socket': '/nonexistent/docker.sock'})
    assert result['failed'] is True
    assert result['msg'] == "apps: each app needs exactly a non-empty app and image, got {'app': 'static'}"


def test_an_engine_that_does_not_answer_fails_with_the_socket_error():
    result = run_module({'experiment': 'cleanup', 'run_id': 'r1', 'docker_socket': '/nonexistent/docker.sock'})
    assert result['failed'] is True
    assert result['msg'].startswith('cleanup: GET /version: ') and 'No such file or directory' in result['msg']
