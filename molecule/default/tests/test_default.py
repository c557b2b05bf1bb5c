# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab node image, as molecule runs it, behaves like a Pi OS node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import testinfra.utils.ansible_runner

HOSTS = testinfra.utils.ansible_runner.AnsibleRunner(os.environ['MOLECULE_INVENTORY_FILE']).get_hosts('all')


def test_systemd_reached_running(host):
    state = host.run('systemctl is-system-running').stdout.strip()
    assert state == 'running'


def test_sshd_listens_with_the_nodes_own_host_key(host):
    assert host.service('ssh').is_running
    assert host.socket('tcp://0.0.0.0:22').is_listening
    assert host.file('/etc/ssh/ssh_host_ed25519_key').mode == 0o600


def test_no_two_nodes_share_a_host_key_or_machine_id(host):
    keys = set()
    machine_ids = set()
    for name in HOSTS:
        other = host.get_host('ansible://%s?ansible_inventory=%s' % (name, os.environ['MOLECULE_INVENTORY_FILE']))
        keys.add(other.file('/etc/ssh/ssh_host_ed25519_key.pub').content_string.split()[1])
        machine_ids.add(other.file('/etc/machine-id').content_string.strip())
    assert len(keys) == len(HOSTS)
    assert len(machine_ids) == len(HOSTS)


def test_boot_firmware_is_pi_os_shaped(host):
    for name in ('bootcode.bin', 'start4.elf', 'fixup4.dat', 'config.txt', 'cmdline.txt'):
        assert host.file('/boot/firmware/' + name).is_file, name
    cmdline = host.file('/boot/firmware/cmdline.txt').content_string
    assert cmdline.count('\n') == 1 and cmdline.endswith('\n')
    assert 'root=PARTUUID=' in cmdline
    config = host.file('/boot/firmware/config.txt').content_string
    assert '[all]' in config and 'arm_64bit=1' in config


def test_var_lib_docker_is_a_volume(host):
    assert host.mount_point('/var/lib/docker').exists


def test_python_and_sudo_for_ansible(host):
    assert host.exists('python3')
    assert host.exists('sudo')
