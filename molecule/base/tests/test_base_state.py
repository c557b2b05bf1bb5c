# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.base: the state every converged lab node is in (3 amd64 nodes and 1 arm64 node)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import testinfra.utils.ansible_runner

INVENTORY = os.environ['MOLECULE_INVENTORY_FILE']
EPHEMERAL = os.environ['MOLECULE_EPHEMERAL_DIRECTORY']
HOSTS = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts('all')
FLAGS = ['cgroup_memory=1', 'cgroup_enable=memory', 'cgroup_enable=cpuset']
PI_LINE = ('console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait '
           'quiet splash plymouth.ignore-serial-consoles cfg80211.ieee80211_regdom=GB')


def _address(host):
    return host.check_output('hostname -I').split()[0]


def _ssh(address, *args):
    base = ['ssh', '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
            '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=20', '-o', 'LogLevel=ERROR']
    return subprocess.run(base + list(args), capture_output=True, text=True, timeout=120, check=False)


def test_cmdline_is_one_line_with_each_cgroup_flag_exactly_once_and_the_rest_kept(host):
    text = host.file('/boot/firmware/cmdline.txt').content_string
    assert text.count('\n') == 1 and text.endswith('\n')
    tokens = text.split()
    for flag in FLAGS:
        assert tokens.count(flag) == 1, flag
    assert tokens[:-3] == PI_LINE.split(), 'the original tokens, in their order'


def test_password_and_keyboard_interactive_logins_are_refused(host):
    # PreferredAuthentications=none makes sshd list the methods it still offers.
    result = _ssh(_address(host), '-o', 'PreferredAuthentications=none', 'pico@' + _address(host), 'true')
    assert result.returncode == 255
    assert 'Permission denied (publickey).' in result.stderr, result.stderr


def test_key_login_with_only_the_admin_key_works(host):
    result = _ssh(_address(host), '-i', os.path.join(EPHEMERAL, 'admin_ed25519'), '-o', 'IdentitiesOnly=yes',
                  'pico@' + _address(host), 'id -un')
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == 'pico'


def test_sshd_config_validates_and_is_key_only(host):
    assert host.run('/usr/sbin/sshd -t').rc == 0
    effective = host.check_output('/usr/sbin/sshd -T -C user=pico,host=localhost,addr=127.0.0.1').splitlines()
    assert 'passwordauthentication no' in effective
    assert 'kbdinteractiveauthentication no' in effective
    assert 'permitrootlogin without-password' in effective  # sshd -T's name for prohibit-password
    assert host.file('/etc/ssh/sshd_config.d/01-picocloud-base.conf').mode == 0o644


def test_admin_key_is_installed(host):
    public = open(os.path.join(EPHEMERAL, 'admin_ed25519.pub')).read().split()[1]
    assert public in host.file('/home/pico/.ssh/authorized_keys').content_string


def test_swap_is_off_and_stays_off(host):
    fstab = host.file('/etc/fstab').content_string
    active = [line for line in fstab.splitlines() if line.split()[2:3] == ['swap'] and not line.startswith('#')]
    assert active == []
    assert '# swap turned off by picocloud.edge.base: /swapfile none swap sw 0 0' in fstab
    assert not host.file('/swapfile').exists
    assert not host.file('/var/swap').exists
    assert 'CONF_SWAPSIZE=0' in host.file('/etc/dphys-swapfile').content_string.splitlines()
    # /proc/swaps is the host kernel's inside a lab node; the build host has no swap.
    assert len(host.file('/proc/swaps').content_string.strip().splitlines()) == 1


def test_dphys_swapfile_stand_in_unit_is_stopped_and_disabled(host):
    unit = host.service('dphys-swapfile')
    assert not unit.is_running
    assert not unit.is_enabled


def test_rpi_swap_stand_in_sets_up_no_swap_from_the_next_boot(host):
    dropin = host.file('/etc/rpi/swap.conf.d/90-picocloud-base.conf')
    assert dropin.mode == 0o644 and dropin.user == 'root'
    assert ['[Main]', 'Mechanism=none'] == dropin.content_string.splitlines()[1:]


def test_zram_writeback_timer_stand_in_is_stopped_and_masked(host):
    # a timer: service_facts does not list it, so the role must find it another way
    # stopped before it was masked: "inactive", not "failed" (which would leave the system "degraded")
    assert host.check_output('systemctl show rpi-zram-writeback.timer -p ActiveState --value') == 'inactive'
    assert host.check_output('systemctl is-enabled rpi-zram-writeback.timer || true') == 'masked'


def test_timesyncd_is_configured_with_the_site_servers(host):
    dropin = host.file('/etc/systemd/timesyncd.conf.d/50-picocloud-base.conf').content_string
    assert 'NTP=ntp.molecule.invalid' in dropin.splitlines()
    assert 'FallbackNTP=ntp2.molecule.invalid' in dropin.splitlines()
    assert host.service('systemd-timesyncd').is_enabled
    # Inside a container timesyncd's ConditionVirtualization=!container skips it; on a Pi it runs.
    condition = host.check_output('systemctl show systemd-timesyncd -p ConditionResult --value')
    assert host.service('systemd-timesyncd').is_running or condition == 'no'


def test_hostname_matches_the_inventory(host):
    name = host.backend.get_hostname()
    expected = 'pi-base-02' if name == 'molecule-base-02' else name
    assert host.check_output('hostname') == expected
    assert host.file('/etc/hostname').content_string.strip() == expected
    assert '127.0.1.1\t' + expected in host.file('/etc/hosts').content_string.splitlines()


def test_journal_is_volatile_and_capped(host):
    conf = host.file('/etc/systemd/journald.conf.d/50-picocloud-base.conf').content_string.splitlines()
    assert 'Storage=volatile' in conf
    assert 'RuntimeMaxUse=32M' in conf
    assert host.service('systemd-journald').is_running


def test_base_packages_are_installed(host):
    assert host.package('ca-certificates').is_installed
    assert host.package('systemd-timesyncd').is_installed


def test_the_arm64_node_is_really_arm64():
    """Every test above also ran on molecule-base-04; this proves that node is an arm64 one."""
    node = testinfra.get_host('ansible://molecule-base-04?ansible_inventory=' + INVENTORY)
    assert node.check_output('uname -m') == 'aarch64'
    assert node.check_output('dpkg --print-architecture') == 'arm64'
