# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pi_image run as Ansible runs it (a subprocess with ANSIBLE_MODULE_ARGS) on a real fixture image."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'module_utils', 'image'))

import fixtures  # noqa: E402  pylint: disable=wrong-import-position

ED25519_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q admin@ops'


def sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 22), b''):
            digest.update(block)
    return digest.hexdigest()


def run_module(args, check_mode=False, diff=False):
    payload = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    proc = subprocess.run(
        [sys.executable, '-m', 'ansible_collections.picocloud.edge.plugins.modules.pi_image'],
        input=json.dumps({'ANSIBLE_MODULE_ARGS': payload}).encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        check=False, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    return json.loads(proc.stdout.decode())


@pytest.fixture
def card(tmp_path):
    if fixtures.missing_tools() or fixtures.firmware_dir() is None:
        pytest.skip('image tools or PICOCLOUD_RASPI_FIRMWARE missing')
    return fixtures.build_image(str(tmp_path / 'card.img'), 'rpios-firstrun')


def test_check_apply_reapply_check_with_diff_and_no_secret_in_output(card):
    args = {'src': card, 'hostname': 'node7', 'cgroups': True,
            'user': {'name': 'admin', 'password': 'top-secret-pw', 'ssh_authorized_keys': [ED25519_KEY]},
            'wifi': {'ssid': 'lab', 'password': 'wifi-secret-pw', 'country': 'DE'}}
    checked = run_module(args, check_mode=True, diff=True)
    assert checked['changed'] and checked['flavor'] == 'rpios-firstrun', checked
    assert fixtures.mtype(card, 'userconf.txt') is None
    applied = run_module(args, diff=True)
    assert applied['changed'] and applied['files_changed'] == checked['files_changed']
    assert sorted(applied['files_changed']) == ['cmdline.txt', 'firstrun.sh', 'ssh', 'userconf.txt']
    assert any(d['before_header'] == 'boot:/cmdline.txt' for d in applied['diff'])
    text = json.dumps(applied)
    assert 'top-secret-pw' not in text and 'wifi-secret-pw' not in text and '$6$' not in text
    assert fixtures.mtype(card, 'userconf.txt').startswith('admin:$6$')
    again = run_module(args, diff=True)
    assert not again['changed'] and again['diff'] == []
    assert not run_module(args, check_mode=True, diff=True)['changed']
    assert fixtures.fsck(card, os.path.dirname(card))[0] == 0


def test_failure_is_reported_with_the_message(card):
    result = run_module({'src': card, 'wifi': {'ssid': 'lab'}})
    assert result['failed'] and 'wifi.country is required' in result['msg']
    result = run_module({'src': card, 'user': {'name': 'a', 'password': 'first-secret', 'password_hash': 'second-secret'}})
    assert result['failed'] and 'password|password_hash' in result['msg']


@pytest.mark.parametrize('args, message', [
    ({'hostname': 'node1\n'}, "hostname='node1\\n' contains a control character (U+000A"),
    ({'keymap': 'de/;1e touch /x #'}, "keymap='de/;1e touch /x #' is not allowed"),
    ({'user': {'name': 'admin', 'ssh_authorized_keys': ['PICOCLOUD_KEYS']}},
     "user.ssh_authorized_keys[0]='PICOCLOUD_KEYS' does not start with a known key type"),
    ({'config_txt': {'pi4]x': {'gpu_mem': 16}}}, "config_txt section 'pi4]x' is not a config.txt conditional filter"),
    ({'wifi': {'ssid': 'lab', 'password': 'pass\nword', 'country': 'DE'}}, 'wifi.password contains a control character'),
])
def test_refused_input_fails_with_the_option_named_and_leaves_the_card_unchanged(card, args, message):
    before = sha256(card)
    result = run_module(dict(args, src=card))
    assert result['failed'] and message in result['msg'], result
    assert 'pass\nword' not in result['msg'] and 'pass\\nword' not in result['msg']
    assert sha256(card) == before
