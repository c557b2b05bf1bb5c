# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's nodes, as the site scenario runs them, behave like Pi OS nodes (the node spec of picocloud.edge.lab)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from picocloud_test import Site, static_inventory, testinfra_hosts as _hosts

testinfra_hosts = _hosts()


def test_systemd_reached_running(host):
    # emulated arm64 nodes reach "degraded": some tmpfiles/sysusers units fail under qemu-user (ENVIRONMENT.md)
    expected = 'degraded' if host.ansible.get_variables().get('picocloud_lab_emulated') else 'running'
    assert host.run('systemctl is-system-running').stdout.strip() in ('running', expected)


def test_sshd_listens_with_the_nodes_own_host_key(host):
    assert host.service('ssh').is_running
    assert host.socket('tcp://0.0.0.0:22').is_listening
    assert host.file('/etc/ssh/ssh_host_ed25519_key').mode == 0o600


def test_no_two_nodes_share_a_host_key_or_machine_id(host, site):
    names = site.hosts()
    keys, machine_ids = set(), set()
    for name in names:
        other = host.get_host('ansible://%s?ansible_inventory=%s&sudo=true' % (name, static_inventory(site)))
        keys.add(other.file('/etc/ssh/ssh_host_ed25519_key.pub').content_string.split()[1])
        machine_ids.add(other.file('/etc/machine-id').content_string.strip())
    assert len(keys) == len(names)
    assert len(machine_ids) == len(names)


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


def test_mac_address_is_in_a_raspberry_pi_block_and_unique(host, site):
    mac = host.file('/sys/class/net/eth0/address').content_string.strip()
    assert mac == site.hostvars(host.backend.get_hostname())['picocloud_mac']
    assert mac.startswith('dc:a6:32:')


def test_emulated_nodes_are_really_arm64_and_the_others_amd64(host):
    emulated = host.ansible.get_variables().get('picocloud_lab_emulated', False)
    assert host.check_output('uname -m') == ('aarch64' if emulated else 'x86_64')
    assert host.check_output('dpkg --print-architecture') == ('arm64' if emulated else 'amd64')


def test_the_site_has_an_emulated_arm64_node():
    site = Site.current()
    assert [h for h in site.hosts() if site.hostvars(h).get('picocloud_lab_emulated')], 'no arm64 node in the site lab'
