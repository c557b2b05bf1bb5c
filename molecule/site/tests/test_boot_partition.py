# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nodes' boot partitions after a site run. On the lab each node's /boot/firmware is a real FAT32
filesystem (its card's boot partition, mounted through FUSE with vfat's rules), so what the roles write there
must be what a Raspberry Pi's vfat accepts: the partition stays clean, and the base role's cmdline.txt write
keeps its backup under a name FAT accepts (Ansible's own `backup: true` name holds ':', which vfat refuses).

Runs in the site scenario and, outside molecule, against any converged lab (see tests/helpers/picocloud_test.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

from picocloud_test import Site, node_exec

BOOT = '/boot/firmware'
CMDLINE = BOOT + '/cmdline.txt'
PARTITION = '/var/lib/picocloud-lab/boot.vfat'
UNIT = 'picocloud-lab-boot'
# base_cgroups_flags (roles/base/defaults/main.yml)
FLAGS = ('cgroup_memory=1', 'cgroup_enable=memory', 'cgroup_enable=cpuset')
BACKUP = re.compile(r'cmdline\.txt\.\d{8}T\d{6}Z\.bak')
# The play of picocloud.edge.site that prepares the nodes, on its own.
PREPARE = """---
- name: Prepare the node (the base role, as picocloud.edge.site runs it)
  hosts: picocloud:!absent
  become: true
  gather_facts: false
  roles:
    - role: picocloud.edge.base
"""


def sh(node, script, timeout=120):
    """(rc, stdout, stderr) of a shell script run as root inside a node."""
    proc = node_exec(node, 'sh', '-c', script, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def fat_mounted(node):
    return sh(node, 'findmnt -n -o FSTYPE -M /run/picocloud-lab/bootfs')[1].strip() == 'fuse.fusefat'


def fsck_unmounted(node):
    """fsck.vfat -n of the node's boot partition, unmounted as a Pi's is when it is checked; mounted again after."""
    assert sh(node, 'systemctl stop %s' % UNIT)[0] == 0
    try:
        rc, out, err = sh(node, 'fsck.vfat -n %s' % PARTITION)
    finally:
        assert sh(node, 'systemctl start %s' % UNIT)[0] == 0
    assert fat_mounted(node)
    return rc, out + err


def put_cmdline(node, text):
    """Replace cmdline.txt as the copy module does (a new file beside it, renamed over it), never by truncating it in
    place: the lab's FUSE FAT loses the cluster of a file truncated and rewritten in place (docs/lab.md). Returns rc."""
    new = CMDLINE + '.new'
    return sh(node, 'rm -f %s && printf %%s %s > %s && mv %s %s' % (new, shlex.quote(text), new, new, CMDLINE))[0]


def test_every_nodes_boot_partition_is_mounted_fat_and_clean_after_the_site_run():
    site = Site.current()
    for node in site.hosts():
        assert fat_mounted(node), '%s: /boot/firmware is not its FAT32 boot partition' % node
        rc, report = fsck_unmounted(node)
        assert rc == 0, '%s: fsck.vfat -n: %s' % (node, report)


def test_the_base_role_adds_the_cgroup_flags_on_fat_and_keeps_the_old_cmdline_under_a_name_fat_accepts(tmp_path):
    site = Site.current()
    node = site.hosts('swarm_workers')[0] if site.hosts('swarm_workers') else site.hosts()[-1]
    before = sh(node, 'cat %s' % CMDLINE)[1]
    listing = sh(node, 'ls -a %s' % BOOT)[1].split()
    stripped = ' '.join(token for token in before.split() if token not in FLAGS) + '\n'
    playbook = tmp_path / 'prepare.yml'
    playbook.write_text(PREPARE)
    try:
        assert put_cmdline(node, stripped) == 0
        run = site.playbook(str(playbook), limit=node)
        # with `backup: true` this fails: "Could not make backup of '/boot/firmware/cmdline.txt' to
        # '/boot/firmware/cmdline.txt.<pid>.<date>@<hh:mm:ss>~': [Errno 1] Operation not permitted"
        run.ok()
        assert [task for task in run.changed_tasks()
                if task.endswith('Write the cgroup flags into the single line of cmdline.txt: %s' % node)], run.changed_tasks()
        tokens = sh(node, 'cat %s' % CMDLINE)[1].split()
        assert [tokens.count(flag) for flag in FLAGS] == [1, 1, 1]
        backups = [name for name in sh(node, 'ls -a %s' % BOOT)[1].split() if name not in listing]
        assert len(backups) == 1 and BACKUP.fullmatch(backups[0]), backups
        assert sh(node, 'cat %s/%s' % (BOOT, backups[0]))[1] == stripped
        rc, report = fsck_unmounted(node)
        assert rc == 0, report
    finally:
        put_cmdline(node, before)
        for name in sh(node, 'ls -a %s' % BOOT)[1].split():
            if name not in listing:
                sh(node, 'rm -f %s' % shlex.quote(BOOT + '/' + name))
    assert sh(node, 'cat %s' % CMDLINE)[1] == before
    assert sh(node, 'ls -a %s' % BOOT)[1].split() == listing
