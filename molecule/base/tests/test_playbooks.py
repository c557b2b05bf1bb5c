# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.base, run again by ansible-playbook from the controller: check mode after converge,
lock-out protection, bad input and the real reboot path. Runs after test_base_state.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess

INVENTORY = os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE'])
EPHEMERAL = os.environ['MOLECULE_EPHEMERAL_DIRECTORY']
SCENARIO = os.environ.get('MOLECULE_SCENARIO_DIRECTORY') or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONVERGE = os.path.join(SCENARIO, 'converge.yml')
AMD64 = ['molecule-base-01', 'molecule-base-02', 'molecule-base-03']
DROPIN = '/etc/ssh/sshd_config.d/01-picocloud-base.conf'
PI_LINE = ('console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait '
           'quiet splash plymouth.ignore-serial-consoles cfg80211.ieee80211_regdom=GB\n')


def playbook(path, limit, extra=None, check=False):
    """Run ansible-playbook with the json callback; return (rc, stats, output text)."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_NOCOLOR='1',
               ANSIBLE_PIPELINING='true')
    cmd = ['ansible-playbook', '-i', INVENTORY, path, '--limit', ','.join(limit)]
    if check:
        cmd.append('--check')
    if extra:
        cmd += ['-e', json.dumps(extra)]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1500, check=False)
    try:
        stats = json.loads(result.stdout)['stats']
    except (ValueError, KeyError):
        stats = {}
    return result.returncode, stats, result.stdout + result.stderr


def sh(node, script, check=True):
    result = subprocess.run(['docker', 'exec', node, 'sh', '-c', script], capture_output=True, text=True, timeout=120, check=False)
    if check:
        assert result.returncode == 0, result.stderr
    return result.stdout


def offered_methods(node):
    """The authentication methods sshd offers the admin user (PreferredAuthentications=none)."""
    address = sh(node, 'hostname -I').split()[0]
    result = subprocess.run(['ssh', '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
                             '-o', 'UserKnownHostsFile=/dev/null', '-o', 'PreferredAuthentications=none',
                             '-o', 'LogLevel=ERROR', 'pico@' + address, 'true'],
                            capture_output=True, text=True, timeout=60, check=False)
    return result.stderr


def key_login(node):
    address = sh(node, 'hostname -I').split()[0]
    return subprocess.run(['ssh', '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
                           '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR',
                           '-i', os.path.join(EPHEMERAL, 'admin_ed25519'), 'pico@' + address, 'id -un'],
                          capture_output=True, text=True, timeout=60, check=False).stdout.strip()


def test_1_second_check_mode_run_reports_no_change_on_every_node():
    rc, stats, output = playbook(CONVERGE, AMD64 + ['molecule-base-04'], check=True)
    assert rc == 0, output[-3000:]
    assert sorted(stats) == AMD64 + ['molecule-base-04']
    for node, counts in stats.items():
        assert counts['changed'] == 0, (node, counts)
        assert counts['failures'] == 0, (node, counts)


def test_2_lock_out_protection_wrong_admin_key_fails_clearly_and_changes_nothing():
    node = 'molecule-base-03'
    saved = sh(node, 'cat ' + DROPIN)
    # Back to the state of a freshly flashed node: passwords allowed.
    sh(node, 'rm ' + DROPIN + ' && systemctl reload ssh')
    try:
        assert 'publickey,password' in offered_methods(node)
        keys_before = sh(node, 'sha256sum /home/pico/.ssh/authorized_keys')
        wrong = open(os.path.join(EPHEMERAL, 'wrong_ed25519.pub')).read().strip()
        rc, stats, output = playbook(CONVERGE, [node], {'base_ssh_admin_keys': [wrong]})
        assert rc != 0
        assert 'key login cannot be proven' in output
        assert 'is not one of base_ssh_admin_keys' in output
        assert sh(node, 'test -e %s && echo present || echo absent' % DROPIN).strip() == 'absent'
        assert sh(node, 'sha256sum /home/pico/.ssh/authorized_keys') == keys_before
        assert 'publickey,password' in offered_methods(node), 'the original (password) login still works'
        assert key_login(node) == 'pico', 'the original key login still works'
    finally:
        sh(node, "cat > %s <<'EOF'\n%sEOF\nsystemctl reload ssh" % (DROPIN, saved))


def test_3_lock_out_protection_unprovable_login_puts_authorized_keys_back():
    """The keys get installed, the proof login fails (nothing listens on the port), the role restores them."""
    node = 'molecule-base-03'
    saved = sh(node, 'cat ' + DROPIN)
    sh(node, 'rm ' + DROPIN + ' && systemctl reload ssh')
    try:
        keys_before = sh(node, 'cat /home/pico/.ssh/authorized_keys')
        admin = open(os.path.join(EPHEMERAL, 'admin_ed25519.pub')).read().strip()
        wrong = open(os.path.join(EPHEMERAL, 'wrong_ed25519.pub')).read().strip()
        rc, stats, output = playbook(CONVERGE, [node], {'base_ssh_admin_keys': [admin, wrong], 'base_ssh_port': 2})
        assert rc != 0
        assert 'could not be proven' in output
        assert 'Password logins stay on' in output
        assert sh(node, 'cat /home/pico/.ssh/authorized_keys') == keys_before
        assert sh(node, 'test -e %s && echo present || echo absent' % DROPIN).strip() == 'absent'
        assert 'publickey,password' in offered_methods(node)
    finally:
        sh(node, "cat > %s <<'EOF'\n%sEOF\nsystemctl reload ssh" % (DROPIN, saved))


def test_4_missing_cmdline_on_a_node_that_needs_cgroups_fails_clearly_with_fixture_fact_override():
    """Fixture fact override: base_fixture_facts says the running kernel lacks the memory controller."""
    node = 'molecule-base-02'
    sh(node, 'mv /boot/firmware/cmdline.txt /boot/firmware/cmdline.txt.moved-by-test')
    try:
        rc, stats, output = playbook(CONVERGE, [node], {'base_fixture_facts': {'cgroups': {'memory_controller': False}}})
        assert rc != 0
        assert 'needs the memory cgroup' in output
        assert 'has no cmdline.txt in /boot/firmware or /boot' in output
        assert stats[node]['changed'] == 0
    finally:
        sh(node, 'mv /boot/firmware/cmdline.txt.moved-by-test /boot/firmware/cmdline.txt')


def test_5_armv6_with_k3s_is_refused_before_any_change_with_fixture_fact_override():
    """Fixture fact override: base_fixture_facts makes the amd64 lab node look like an armv6 Pi Zero."""
    node = 'molecule-base-02'
    cmdline_before = sh(node, 'sha256sum /boot/firmware/cmdline.txt')
    rc, stats, output = playbook(CONVERGE, [node], {
        'picocloud_orchestrator': 'k3s',
        'base_hostname': 'renamed-by-mistake',
        'base_fixture_facts': {'arch': {'arm_version': 6}, 'board': {'model': 'Raspberry Pi Zero W Rev 1.1'}},
    })
    assert rc != 0
    assert 'molecule-base-02 is armv6 (Raspberry Pi Zero W Rev 1.1)' in output
    assert 'k3s has no armv6 build' in output
    assert stats[node]['changed'] == 0
    assert sh(node, 'hostname').strip() == 'pi-base-02'
    assert sh(node, 'sha256sum /boot/firmware/cmdline.txt') == cmdline_before


def test_6_reboot_path_runs_for_real_and_the_play_continues():
    """Fixture fact override: the lab kernel has the memory controller, so base_fixture_facts says it does
    not; with the flags taken out of cmdline.txt the role must change the file and reboot the node."""
    node = 'molecule-base-01'
    sh(node, "printf '%s' '" + PI_LINE + "' > /boot/firmware/cmdline.txt && rm -f /var/tmp/base-play-continued")
    started_before = sh(node, "awk '{print $22}' /proc/1/stat").strip()
    rc, stats, output = playbook(os.path.join(SCENARIO, 'reboot.yml'), [node],
                                 {'base_fixture_facts': {'cgroups': {'memory_controller': False}}})
    assert rc == 0, output[-3000:]
    assert 'Reboot quorum members one at a time' in output
    started_after = sh(node, "awk '{print $22}' /proc/1/stat").strip()
    assert started_after != started_before, 'PID 1 restarted: the node rebooted'
    assert sh(node, 'cat /var/tmp/base-play-continued').strip() == started_after, 'the play went on after the reboot'
    tokens = sh(node, 'cat /boot/firmware/cmdline.txt').split()
    for flag in ('cgroup_memory=1', 'cgroup_enable=memory', 'cgroup_enable=cpuset'):
        assert tokens.count(flag) == 1
    assert stats[node]['failures'] == 0


def test_7_no_reboot_when_the_running_kernel_has_the_controller():
    """The real lab kernel has the memory controller: a changed cmdline.txt must not reboot the node."""
    node = 'molecule-base-02'
    sh(node, "printf '%s' '" + PI_LINE + "' > /boot/firmware/cmdline.txt")
    started_before = sh(node, "awk '{print $22}' /proc/1/stat").strip()
    rc, stats, output = playbook(CONVERGE, [node])
    assert rc == 0, output[-3000:]
    assert stats[node]['changed'] >= 1
    assert sh(node, "awk '{print $22}' /proc/1/stat").strip() == started_before
    assert sh(node, 'cat /boot/firmware/cmdline.txt').split().count('cgroup_enable=memory') == 1
