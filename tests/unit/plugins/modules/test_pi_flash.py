# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pi_flash run as Ansible runs it (a subprocess fed ANSIBLE_MODULE_ARGS)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.flash import device as device_utils


def run_module(args, check_mode=False):
    payload = {'ANSIBLE_MODULE_ARGS': dict(args, _ansible_check_mode=check_mode)}
    proc = subprocess.run(
        [sys.executable, '-m', 'ansible_collections.picocloud.edge.plugins.modules.pi_flash'],
        input=json.dumps(payload).encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    return json.loads(proc.stdout.decode())


def make_image(path, size=2 * 1024 * 1024):
    data = bytearray(hashlib.sha256(b'pi').digest() * (size // 32))
    data[510:512] = b'\x55\xaa'
    with open(path, 'wb') as handle:
        handle.write(data)


def test_module_check_apply_reapply_check_on_a_regular_file(tmp_path):
    src, target = str(tmp_path / 'node.img'), str(tmp_path / 'card.img')
    make_image(src)
    args = {'src': src, 'device': target}
    check = run_module(args, check_mode=True)
    assert check['changed'] is True and not os.path.exists(target)
    applied = run_module(args)
    assert applied['changed'] is True and applied['verified'] is True and applied['bytes_written'] == 2 * 1024 * 1024
    assert set(applied) >= {'changed', 'bytes_written', 'seconds', 'mb_per_s', 'verified', 'skipped', 'device'}
    assert set(applied['device']) >= {'size', 'removable', 'model', 'bus'}
    again = run_module(args)
    assert again['changed'] is False and again['skipped'] is True
    check_again = run_module(args, check_mode=True)
    assert check_again['changed'] is False


def test_module_rejects_non_positive_block_size(tmp_path):
    result = run_module({'src': str(tmp_path / 'a'), 'device': str(tmp_path / 'b'), 'block_size': 0})
    assert result['failed'] and result['msg'] == 'block_size must be a positive number of bytes'


def root_device():
    for source, mountpoint, dummy in device_utils.parse_mounts(open('/proc/mounts').read()):
        if mountpoint == '/' and source.startswith('/dev/') and os.path.exists(source):
            return source
    return None


def first_mib_digest(disk):
    """sha256 of the disk's first MiB; None where even root may not open the disk (sandboxed VMs)."""
    try:
        with open(disk, 'rb') as handle:
            return hashlib.sha256(handle.read(1024 * 1024)).hexdigest()
    except (IOError, OSError):
        return None


@pytest.mark.skipif(os.geteuid() != 0 or root_device() is None, reason='needs root and / on a /dev block device')
def test_module_refuses_the_system_disk_in_check_mode_and_reads_nothing_of_it(tmp_path):
    src = str(tmp_path / 'node.img')
    make_image(src)
    disk = root_device()
    before = first_mib_digest(disk)
    result = run_module({'src': src, 'device': disk, 'force': True}, check_mode=True)
    assert result['failed'] is True
    assert result['msg'].startswith('refusing to write to %s: it is the system disk (it backs /' % disk)
    assert result['bytes_written'] == 0 and result['changed'] is False
    assert first_mib_digest(disk) == before
