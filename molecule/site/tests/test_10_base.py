# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.base: the state of every converged node, then lock-out protection, refusals and the real
reboot path (each of those restores what it changed)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest

from picocloud_test import Site, node_exec, testinfra_hosts as _hosts, wait_for

testinfra_hosts = _hosts()
HERE = os.path.dirname(os.path.abspath(__file__))
BASE = os.path.join(HERE, '..', 'playbooks', 'base.yml')
FLAGS = ['cgroup_memory=1', 'cgroup_enable=memory', 'cgroup_enable=cpuset']
PI_LINE = ('console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait '
           'quiet splash plymouth.ignore-serial-consoles cfg80211.ieee80211_regdom=GB')
DROPIN = '/etc/ssh/sshd_config.d/01-picocloud-base.conf'


def ssh(address, *args):
    # generous bounds: sshd on an emulated node does its key exchange under qemu-user
    base = ['ssh', '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
            '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=120', '-o', 'LogLevel=ERROR']
    return subprocess.run(base + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300, check=False)


def sh(node, script):
    result = node_exec(node, 'sh', '-c', script)
    assert result.returncode == 0, result.stderr
    return result.stdout


def put_cmdline(node, text):
    """Replace cmdline.txt as the copy module does (a new file beside it, renamed over it), never by truncating it
    in place: the lab's FUSE FAT (fusefat) frees the cluster of a file truncated and rewritten in place while the
    file keeps pointing at it, which fsck.vfat then reports (a lab limit; a Pi's kernel vfat has no such bug)."""
    result = node_exec(node, 'sh', '-c', 'rm -f /boot/firmware/cmdline.new && cat > /boot/firmware/cmdline.new && mv /boot/firmware/cmdline.new '
                                         '/boot/firmware/cmdline.txt', input=text)
    assert result.returncode == 0, result.stderr


def admin_key(site):
    return os.path.join(site.lab.state_dir, 'id_ed25519')


def offered_methods(site, node):
    """The authentication methods sshd offers the admin user (PreferredAuthentications=none)."""
    return ssh(site.address(node), '-o', 'PreferredAuthentications=none',
               '%s@%s' % (site.hostvars(node)['ansible_user'], site.address(node)), 'true').stderr


def key_login(site, node):
    return ssh(site.address(node), '-i', admin_key(site), '-o', 'IdentitiesOnly=yes',
               '%s@%s' % (site.hostvars(node)['ansible_user'], site.address(node)), 'id -un').stdout.strip()


def amd64_workers(site):
    return site.native('swarm_workers') or site.native()[-1:]


@pytest.fixture
def wrong_key(tmp_path):
    key = tmp_path / 'wrong_ed25519'
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'picocloud-site-wrong', '-f', str(key)],
                   check=True)
    return (tmp_path / 'wrong_ed25519.pub').read_text().strip()


@pytest.fixture
def passwords_allowed(site):
    """A node back in the state of a freshly flashed card (password login allowed); key-only again afterwards."""
    node = amd64_workers(site)[0]
    saved = sh(node, 'cat ' + DROPIN)
    sh(node, 'rm ' + DROPIN + ' && systemctl reload ssh')
    # sshd re-executes itself after the reload's SIGHUP and refuses connections until it listens again: wait (bounded)
    # until it offers password logins, as below for key-only
    assert wait_for(lambda: 'publickey,password' in offered_methods(site, node), timeout=60, step=2), \
        offered_methods(site, node)
    yield node
    node_exec(node, 'sh', '-c', 'cat > %s && systemctl reload ssh' % DROPIN, input=saved)
    # `systemctl reload ssh` returns once sshd got its SIGHUP; sshd then re-executes itself, so wait (bounded)
    assert wait_for(lambda: 'Permission denied (publickey).' in offered_methods(site, node), timeout=60, step=2), \
        offered_methods(site, node)


# --- the state of every converged node --------------------------------------------------------------------

def test_cmdline_is_one_line_with_each_cgroup_flag_exactly_once_and_the_rest_kept(host):
    text = host.file('/boot/firmware/cmdline.txt').content_string
    assert text.count('\n') == 1 and text.endswith('\n')
    tokens = text.split()
    for flag in FLAGS:
        assert tokens.count(flag) == 1, flag
    # the line pi_image wrote on the node's card, which the first converge kept under a FAT-safe name
    backups = sorted(name for name in host.file('/boot/firmware').listdir()
                     if name.startswith('cmdline.txt.') and name.endswith('.bak'))
    assert backups, 'no cmdline.txt backup next to cmdline.txt'
    original = host.file('/boot/firmware/' + backups[0]).content_string.split()
    assert tokens[:-3] == original, 'the original tokens, in their order'


def test_password_and_keyboard_interactive_logins_are_refused(host):
    site = Site.current()
    assert 'Permission denied (publickey).' in offered_methods(site, host.backend.get_hostname())


def test_key_login_with_only_the_admin_key_works(host):
    site = Site.current()
    assert key_login(site, host.backend.get_hostname()) == site.hostvars(host.backend.get_hostname())['ansible_user']


def test_sshd_config_validates_is_key_only_and_refuses_root(host):
    assert host.run('/usr/sbin/sshd -t').rc == 0
    effective = host.check_output('/usr/sbin/sshd -T -C user=pico,host=localhost,addr=127.0.0.1').splitlines()
    assert 'passwordauthentication no' in effective
    assert 'kbdinteractiveauthentication no' in effective
    assert 'permitrootlogin no' in effective
    assert host.file(DROPIN).mode == 0o644


def test_root_cannot_log_in_even_with_a_key_in_its_authorized_keys(host):
    """PermitRootLogin no (the default since 0.2.0): prohibit-password would still have let this key in."""
    site = Site.current()
    node = host.backend.get_hostname()
    public = open(admin_key(site) + '.pub').read()
    sh(node, 'install -d -m 0700 /root/.ssh && cp -p /root/.ssh/authorized_keys /root/.ssh/authorized_keys.site-test '
             '2>/dev/null; true')
    node_exec(node, 'sh', '-c', 'cat >> /root/.ssh/authorized_keys', input=public)
    try:
        result = ssh(site.address(node), '-i', admin_key(site), '-o', 'IdentitiesOnly=yes', 'root@' + site.address(node), 'true')
        assert result.returncode == 255 and 'Permission denied' in result.stderr
    finally:
        sh(node, 'if [ -e /root/.ssh/authorized_keys.site-test ]; then mv /root/.ssh/authorized_keys.site-test '
                 '/root/.ssh/authorized_keys; else rm -f /root/.ssh/authorized_keys; fi')


def test_swap_is_off_and_stays_off(host):
    fstab = host.file('/etc/fstab').content_string
    active = [line for line in fstab.splitlines() if line.split()[2:3] == ['swap'] and not line.startswith('#')]
    assert active == []
    assert '# swap turned off by picocloud.edge.base: /swapfile none swap sw 0 0' in fstab
    assert not host.file('/swapfile').exists
    assert not host.file('/var/swap').exists
    assert 'CONF_SWAPSIZE=0' in host.file('/etc/dphys-swapfile').content_string.splitlines()


def test_a_swap_entry_that_names_a_directory_is_turned_off_and_the_directory_is_kept(host):
    """prepare.yml lists a directory (with a file in it) as a swap area in fstab: base comments the entry out and
    removes only regular swap files, so the directory and its file are still there (`file: absent` on every listed
    path deleted a directory recursively)."""
    fstab = host.file('/etc/fstab').content_string.splitlines()
    assert '# swap turned off by picocloud.edge.base: /srv/not-a-swap-file none swap sw 0 0' in fstab
    assert host.file('/srv/not-a-swap-file').is_directory
    assert host.file('/srv/not-a-swap-file/keep.txt').content_string == 'kept\n'


def test_dphys_swapfile_stand_in_unit_is_stopped_and_disabled(host):
    unit = host.service('dphys-swapfile')
    assert not unit.is_running
    assert not unit.is_enabled


def test_rpi_swap_stand_in_sets_up_no_swap_from_the_next_boot(host):
    dropin = host.file('/etc/rpi/swap.conf.d/90-picocloud-base.conf')
    assert dropin.mode == 0o644 and dropin.user == 'root'
    assert ['[Main]', 'Mechanism=none'] == dropin.content_string.splitlines()[1:]


def test_zram_writeback_timer_stand_in_is_stopped_and_masked(host):
    # stopped before it was masked: "inactive", not "failed" (which would leave the system "degraded")
    assert host.check_output('systemctl show rpi-zram-writeback.timer -p ActiveState --value') == 'inactive'
    assert host.check_output('systemctl is-enabled rpi-zram-writeback.timer || true') == 'masked'


def test_timesyncd_is_configured_with_the_site_servers(host):
    dropin = host.file('/etc/systemd/timesyncd.conf.d/50-picocloud-base.conf').content_string.splitlines()
    assert 'NTP=ntp.site.invalid' in dropin
    assert 'FallbackNTP=ntp2.site.invalid' in dropin
    assert host.service('systemd-timesyncd').is_enabled


def test_hostname_is_picocloud_hostname(host):
    site = Site.current()
    node = host.backend.get_hostname()
    expected = site.hostvars(node).get('picocloud_hostname', node.split('.')[0])
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


# --- lock-out protection, refusals and the reboot path (each restores what it changed) ---------------------

def test_lock_out_protection_wrong_admin_key_fails_clearly_and_changes_nothing(site, passwords_allowed, wrong_key):
    node = passwords_allowed
    assert 'publickey,password' in offered_methods(site, node)
    keys_before = sh(node, 'sha256sum /home/*/.ssh/authorized_keys')
    run = site.playbook(BASE, limit=node, extra_vars={'base_ssh_admin_keys': [wrong_key]})
    assert run.rc != 0
    assert 'key login cannot be proven' in run.failure_text()
    assert 'is not one of base_ssh_admin_keys' in run.failure_text()
    assert sh(node, 'test -e %s && echo present || echo absent' % DROPIN).strip() == 'absent'
    assert sh(node, 'sha256sum /home/*/.ssh/authorized_keys') == keys_before
    assert 'publickey,password' in offered_methods(site, node), 'the original (password) login still works'
    assert key_login(site, node), 'the original key login still works'


def test_lock_out_protection_unprovable_login_puts_authorized_keys_back(site, passwords_allowed, wrong_key):
    """The keys get installed, the proof login fails (nothing listens on the port), the role restores them."""
    node = passwords_allowed
    keys_before = sh(node, 'cat /home/*/.ssh/authorized_keys')
    admin = open(admin_key(site) + '.pub').read().strip()
    run = site.playbook(BASE, limit=node, extra_vars={'base_ssh_admin_keys': [admin, wrong_key], 'base_ssh_port': 2})
    assert run.rc != 0
    assert 'could not be proven' in run.failure_text()
    assert 'Password logins stay on' in run.failure_text()
    assert sh(node, 'cat /home/*/.ssh/authorized_keys') == keys_before
    assert sh(node, 'test -e %s && echo present || echo absent' % DROPIN).strip() == 'absent'
    assert 'publickey,password' in offered_methods(site, node)


# The file pi_facts reads to tell whether the memory controller is on (cgroup v2, else v1), and its edit.
FAKE_NO_MEMORY = (
    'if [ -e /sys/fs/cgroup/cgroup.controllers ]; then real=/sys/fs/cgroup/cgroup.controllers; '
    "sed 's/ *memory//' $real > /run/site-test-cgroups; else real=/proc/cgroups; "
    "awk '$1 == \"memory\" {$4 = 0} {print}' OFS='\t' $real > /run/site-test-cgroups; fi; "
    'mount --bind /run/site-test-cgroups $real')


@pytest.fixture
def no_memory_controller(site):
    """The node's kernel says it has no memory cgroup controller: the file pi_facts reads (cgroup.controllers
    on cgroup v2, /proc/cgroups on v1) is bind-mounted over by one without `memory` inside the node, so pi_facts
    reads what a Pi without the flags reports. A reboot of the node (a new mount namespace) removes it, as the
    flags do on a real Pi."""
    node = amd64_workers(site)[0]
    sh(node, FAKE_NO_MEMORY)
    yield node
    node_exec(node, 'sh', '-c', 'umount /sys/fs/cgroup/cgroup.controllers /proc/cgroups 2>/dev/null; '
                                'rm -f /run/site-test-cgroups')


def test_missing_cmdline_on_a_node_without_the_memory_controller_fails_clearly_and_changes_nothing(site, no_memory_controller):
    node = no_memory_controller
    sh(node, 'mv /boot/firmware/cmdline.txt /boot/firmware/cmdline.txt.moved-by-test')
    try:
        run = site.playbook(BASE, limit=node)
        assert run.rc != 0
        assert 'needs the memory cgroup' in run.failure_text()
        assert 'has no cmdline.txt in /boot/firmware or /boot' in run.failure_text()
        assert run.stats[node]['changed'] == 0
    finally:
        sh(node, 'mv /boot/firmware/cmdline.txt.moved-by-test /boot/firmware/cmdline.txt')


def test_armv6_with_k3s_is_refused_before_any_change(site):
    """Fake facts from the test side (site_test_facts): the amd64 lab node looks like an armv6 Pi Zero."""
    node = amd64_workers(site)[0]
    cmdline_before = sh(node, 'sha256sum /boot/firmware/cmdline.txt')
    hostname_before = sh(node, 'hostname')
    run = site.playbook(BASE, limit=node, extra_vars={
        'picocloud_orchestrator': 'k3s', 'base_hostname': 'renamed-by-mistake',
        'site_test_facts': {'arch': {'arm_version': 6}, 'board': {'model': 'Raspberry Pi Zero W Rev 1.1'}}})
    assert run.rc != 0
    assert '%s is armv6 (Raspberry Pi Zero W Rev 1.1)' % node in run.failure_text()
    assert 'k3s has no armv6 build' in run.failure_text()
    assert run.stats[node]['changed'] == 0
    assert sh(node, 'hostname') == hostname_before
    assert sh(node, 'sha256sum /boot/firmware/cmdline.txt') == cmdline_before


@pytest.fixture
def cmdline_kept(site):
    """cmdline.txt of an amd64 worker, put back as it was whatever the test does to it."""
    node = amd64_workers(site)[0]
    saved = sh(node, 'cat /boot/firmware/cmdline.txt')
    yield node
    put_cmdline(node, saved)
    assert sh(node, 'cat /boot/firmware/cmdline.txt') == saved


def test_reboot_path_runs_for_real_and_the_play_continues(site, cmdline_kept, no_memory_controller):
    """With the flags out of cmdline.txt and no memory controller, the role writes the flags and reboots the
    node (PID 1 restarts); after the reboot the controller is back and the play goes on."""
    node = no_memory_controller
    put_cmdline(node, PI_LINE + '\n')
    sh(node, 'rm -f /var/tmp/base-play-continued')
    started_before = sh(node, "awk '{print $22}' /proc/1/stat").strip()
    run = site.playbook(BASE, limit=node).ok()
    ran = [t['task']['name'] for t in run.tasks() if node in t['hosts'] and not t['hosts'][node].get('skipped')]
    # (the json callback names a role's task and handler '<role> : <name>')
    assert 'picocloud.edge.base : Reboot the other nodes, base_reboot_serial at a time' in ran, ran
    started_after = sh(node, "awk '{print $22}' /proc/1/stat").strip()
    assert started_after != started_before, 'PID 1 restarted: the node rebooted'
    assert sh(node, 'cat /var/tmp/base-play-continued').strip() == started_after, 'the play went on after the reboot'
    tokens = sh(node, 'cat /boot/firmware/cmdline.txt').split()
    for flag in FLAGS:
        assert tokens.count(flag) == 1
    facts = site.playbook('picocloud.edge.verify', tags='nodes', limit=node).ok()
    assert 'memcg+flags' in facts.results('Record this node\'s row')[node]['ansible_facts']['verify_node_row']['base'], \
        'the (fake) missing controller is back after the reboot'
    # the node is back in its clusters before the next test
    assert wait_for(lambda: site.playbook('picocloud.edge.verify', tags='swarm,consul').rc == 0, timeout=240, step=10)


def test_no_reboot_when_the_running_kernel_has_the_controller(site, cmdline_kept):
    """The lab kernel has the memory controller: a changed cmdline.txt must not reboot the node."""
    node = cmdline_kept
    put_cmdline(node, PI_LINE + '\n')
    started_before = sh(node, "awk '{print $22}' /proc/1/stat").strip()
    run = site.playbook(BASE, limit=node).ok()
    assert run.stats[node]['changed'] >= 1
    assert sh(node, "awk '{print $22}' /proc/1/stat").strip() == started_before
    assert sh(node, 'cat /boot/firmware/cmdline.txt').split().count('cgroup_enable=memory') == 1
    backups = sh(node, 'ls /boot/firmware/').split()
    assert [b for b in backups if b.startswith('cmdline.txt.') and b.endswith('.bak') and ':' not in b], backups
