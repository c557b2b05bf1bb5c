# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab for real: Docker engine, systemd nodes, SSH, qemu-user arm64, the site file read by the
picocloud.edge.site plugin (neighbour discovery on the lab bridge) and the nodes' FAT32 boot partitions.

Each lab has its own name and subnet, so it never meets `make demo`'s lab.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import io
import json
import os
import socket
import subprocess
import tarfile

import pytest
import yaml

from conftest import Lab, changed_tasks, failure_messages, total_changed
from picocloud_test import node_exec, wait_for

BOOT = '/boot/firmware'
FAT_MOUNT = '/run/picocloud-lab/bootfs'
PARTITION = '/var/lib/picocloud-lab/boot.vfat'


def pi_facts(lab):
    """picocloud.edge.pi_facts on every node of a lab, over SSH: {host: facts}."""
    # --tags nodes: the node table only (these labs never ran site.yml, so there is no swarm or Consul to check)
    rc, result = lab.playbook('picocloud.edge.verify', '-i', lab.inventory, '--tags', 'nodes')
    assert rc == 0, failure_messages(result)
    facts = {}
    for task in result['plays'][0]['tasks']:
        # picocloud.edge.picocloud's facts.yml: "Gather Pi facts (board, arch, ...)", with its role's prefix
        if 'Gather Pi facts' in task['task']['name']:
            for host, res in task['hosts'].items():
                facts[host] = res['ansible_facts']['picocloud']
    return facts


def digest(path):
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.mark.parametrize('count', [0, 21])
def test_node_count_outside_1_to_20_is_refused_and_creates_nothing(state_root, count):
    lab = Lab('picobad', '172.30.21.0/24', state_root)
    rc, result = lab.run('-e', 'lab_nodes=%d' % count)
    assert rc != 0
    assert 'lab_nodes=%d is refused: a lab has 1 to 20 nodes' % count in failure_messages(result)
    assert lab.objects() == {'containers': [], 'networks': [], 'volumes': []}


def test_check_mode_on_a_fresh_lab_reports_changes_and_creates_nothing(state_root):
    lab = Lab('picocheck', '172.30.26.0/24', state_root)
    rc, result = lab.run('-e', 'lab_nodes=2', '--check')
    assert rc == 0, failure_messages(result)
    assert total_changed(result) > 0
    assert lab.objects() == {'containers': [], 'networks': [], 'volumes': []}


@pytest.fixture
def foreign_image():
    """An image that is not the lab's: empty, imported from an empty tar (no registry, and no lab node image
    needed, so the test runs before any lab built one). A container is created from it, never started."""
    name = 'picocloud-test-foreign:empty'
    empty = io.BytesIO()
    tarfile.open(fileobj=empty, mode='w').close()
    subprocess.run(['docker', 'import', '-', name], input=empty.getvalue(), stdout=subprocess.DEVNULL, check=True, timeout=120)
    try:
        yield name
    finally:
        subprocess.run(['docker', 'rmi', name], stdout=subprocess.DEVNULL, check=False, timeout=120)


def test_name_clash_with_foreign_container_is_refused_and_foreign_container_survives(state_root, foreign_image):
    lab = Lab('picoclash', '172.30.22.0/24', state_root)
    subprocess.run(['docker', 'rm', '-f', 'picoclash-01'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    subprocess.run(['docker', 'create', '--name', 'picoclash-01', foreign_image, '/never-started'],
                   stdout=subprocess.DEVNULL, check=True, timeout=120)
    try:
        rc, result = lab.run('-e', 'lab_nodes=1')
        assert rc != 0
        assert 'never touches Docker objects it did not create' in failure_messages(result)
        assert 'container picoclash-01' in failure_messages(result)
        # lab down removes only what carries the lab's label
        lab.down()
        assert subprocess.run(['docker', 'inspect', 'picoclash-01'], stdout=subprocess.DEVNULL, check=False).returncode == 0
    finally:
        subprocess.run(['docker', 'rm', '-f', 'picoclash-01'], stdout=subprocess.DEVNULL, check=False)


@pytest.fixture(scope='module')
def picotest(state_root):
    """A three-node lab shared by the tests below (each restores what it changes); lab down at the end leaves
    nothing of it but the cached node image."""
    lab = Lab('picotest', '172.30.23.0/24', state_root)
    try:
        lab.up()
        yield lab
    finally:
        lab.down()
    assert lab.objects() == {'containers': [], 'networks': [], 'volumes': []}
    assert not os.path.exists(lab.state_dir)
    assert subprocess.run(['docker', 'image', 'inspect', 'picocloud-lab-node:amd64'],
                          stdout=subprocess.DEVNULL, check=False).returncode == 0


def container_mac(node):
    out = subprocess.run(['docker', 'inspect', '-f', '{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}', node],
                         stdout=subprocess.PIPE, check=True, timeout=60).stdout.decode().strip()
    return out.lower()


def sh(node, script, timeout=120):
    """(rc, stdout, stderr) of a shell script run as root inside a lab node."""
    proc = node_exec(node, 'sh', '-c', script, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def boot_mounts(node):
    """(source fstype) of /boot/firmware and fstype of the FAT mount beneath it, as the node sees them."""
    top = sh(node, 'findmnt -n -o SOURCE,FSTYPE -M %s' % BOOT)[1].split()
    fat = sh(node, 'findmnt -n -o FSTYPE -M %s' % FAT_MOUNT)[1].strip()
    return top, fat


def test_three_node_lab_up_twice_is_a_noop_in_check_mode_too_and_keeps_its_site_file_and_key(picotest):
    lab = picotest
    site = yaml.safe_load(open(lab.inventory))
    key = digest(lab.state_dir + '/id_ed25519')
    assert site['plugin'] == 'picocloud.edge.site'
    inventory = lab.inventory_data()
    hosts = inventory['picocloud']['hosts']
    assert sorted(hosts) == ['picotest-01', 'picotest-02', 'picotest-03']
    hostvars = inventory['_meta']['hostvars']
    assert [hostvars[h]['ansible_host'] for h in sorted(hosts)] == ['172.30.23.11', '172.30.23.12', '172.30.23.13']
    assert inventory['swarm_managers']['hosts'] == ['picotest-01']
    assert sorted(inventory['swarm_workers']['hosts']) == ['picotest-02', 'picotest-03']
    assert sorted(inventory['consul_servers']['hosts']) == ['picotest-01', 'picotest-02', 'picotest-03']
    for host in hosts:
        # the site file declares the Raspberry Pi OUI MAC each node's container carries
        assert hostvars[host]['picocloud_mac'].startswith('dc:a6:32:')
        assert hostvars[host]['picocloud_mac'] == container_mac(host)

    second = lab.up()
    assert total_changed(second) == 0, changed_tasks(second)
    rc, checked = lab.run('--check')
    assert rc == 0, failure_messages(checked)
    assert total_changed(checked) == 0, changed_tasks(checked)
    assert yaml.safe_load(open(lab.inventory)) == site
    assert digest(lab.state_dir + '/id_ed25519') == key

    facts = pi_facts(lab)
    assert sorted(facts) == sorted(hosts)
    for host in hosts:
        assert facts[host]['arch']['machine'] == 'x86_64'
        assert facts[host]['boot']['cmdline_path'] == '/boot/firmware/cmdline.txt'


def test_the_site_plugin_finds_a_node_by_its_mac_in_the_neighbour_table_once_its_address_is_not_pinned(picotest,
                                                                                                       tmp_path):
    lab = picotest
    site = yaml.safe_load(open(lab.inventory))
    node = site['nodes'][1]
    address = node.pop('address')
    unpinned = tmp_path / 'unpinned.picocloud.yml'
    unpinned.write_text(yaml.safe_dump(site, sort_keys=False))

    def neighbour_entry():
        """The controller's neighbour entry for the node, after traffic with it (an SSH connection, as a real
        site's controller has with its Pis); the lab's bridge is on the controller."""
        try:
            socket.create_connection((address, 22), timeout=5).close()
        except OSError:
            return None
        out = subprocess.run(['ip', '-json', 'neigh', 'show', 'to', address], stdout=subprocess.PIPE, check=True,
                             timeout=10).stdout.decode()
        return [entry for entry in json.loads(out or '[]') if entry.get('lladdr', '').lower() == node['mac']
                and set(entry.get('state', [])) & {'REACHABLE', 'STALE', 'DELAY', 'PROBE'}]

    assert wait_for(neighbour_entry, timeout=30, step=2), 'no neighbour entry for %s (%s)' % (address, node['mac'])
    hostvars = lab.inventory_data(str(unpinned))['_meta']['hostvars']
    assert hostvars[node['name']]['ansible_host'] == address
    assert hostvars[node['name']]['picocloud_address_source'] == 'neighbours'
    assert hostvars[node['name']]['picocloud_mac'] == node['mac']
    others = [n['name'] for n in site['nodes'] if n['name'] != node['name']]
    assert [hostvars[name]['picocloud_address_source'] for name in others] == ['pinned', 'pinned']


def test_each_nodes_boot_firmware_is_the_fat32_boot_partition_of_the_card_pi_image_wrote_for_it(picotest):
    for node in picotest.nodes():
        partition = os.path.join(picotest.state_dir, 'nodes', node, 'boot.vfat')
        with open(partition, 'rb') as handle:
            boot_sector = handle.read(90)
        assert boot_sector[82:90] == b'FAT32   ' and boot_sector[71:82] == b'bootfs     '
        assert boot_mounts(node) == (['/run/picocloud-lab/bootfs', 'fuse'], 'fuse.fusefat')
        rc, files, err = sh(node, 'ls %s' % BOOT)
        assert rc == 0, err
        for name in ('bootcode.bin', 'start4.elf', 'fixup4.dat', 'config.txt', 'cmdline.txt', 'issue.txt',
                     'firstrun.sh', 'userconf.txt', 'ssh'):
            assert name in files.split(), name
        # pi_image's customisation for this node (Raspberry Pi Imager's firstrun format)
        assert node in sh(node, 'cat %s/firstrun.sh' % BOOT)[1]
        assert sh(node, 'cat %s/userconf.txt' % BOOT)[1].startswith('pico:')
        cmdline = sh(node, 'cat %s/cmdline.txt' % BOOT)[1]
        assert cmdline.count('\n') == 1 and 'root=PARTUUID=4e639091-02' in cmdline and 'systemd.run=' in cmdline


def test_the_boot_partition_refuses_what_vfat_refuses_and_answers_chmod_and_chown_as_vfat_does(picotest):
    for node in picotest.nodes():
        before = sh(node, 'ls -la %s' % BOOT)[1]
        # Ansible's own `backup: true` name for cmdline.txt, which vfat (and so a real Pi) refuses
        rc, dummy_out, err = sh(node, "cp %s/cmdline.txt '%s/cmdline.txt.4242.2026-12-04@21:08:10~'" % (BOOT, BOOT))
        assert rc != 0 and 'Operation not permitted' in err, err
        rc, dummy_out, err = sh(node, "echo x > '%s/a:b'" % BOOT)
        assert rc != 0 and 'Operation not permitted' in err, err
        # vfat accepts a chmod and keeps its fixed modes; it refuses a chown to another user
        assert sh(node, 'chmod 0600 %s/config.txt && stat -c %%a %s/config.txt' % (BOOT, BOOT))[1].strip() == '755'
        rc, dummy_out, err = sh(node, 'chown pico %s/config.txt' % BOOT)
        assert rc != 0, err
        # the admin user reads the boot files but cannot write them (Raspberry Pi OS's fmask 0022)
        assert sh(node, 'su pico -c "cat %s/cmdline.txt"' % BOOT)[0] == 0
        assert sh(node, 'su pico -c "touch %s/pico.txt"' % BOOT)[0] != 0
        assert sh(node, 'ls -la %s' % BOOT)[1] == before


def test_a_nodes_boot_partition_and_its_name_are_kept_across_a_restart_and_the_fat_is_clean_once_unmounted(picotest):
    node = picotest.nodes()[-1]
    started = sh(node, "awk '{print $22}' /proc/1/stat")[1].strip()
    assert sh(node, 'printf kept > %s/restart.txt' % BOOT)[0] == 0
    # a name given on the node (as the base role gives picocloud_hostname) survives the restart, as on a Pi,
    # although Docker writes the container's hostname and /etc/hosts afresh at each start
    assert sh(node, 'echo renamed-node > /etc/hostname && hostname -F /etc/hostname && '
                    'printf "127.0.1.1\\trenamed-node\\n" >> /etc/hosts')[0] == 0
    sh(node, 'systemctl reboot', timeout=60)

    def back():
        """The node runs again (a new PID 1) with its boot partition mounted."""
        rc, out, dummy_err = sh(node, "awk '{print $22}' /proc/1/stat; systemctl is-active picocloud-lab-boot", timeout=30)
        lines = out.split()
        return rc == 0 and len(lines) == 2 and lines[0] != started and lines[1] == 'active'

    assert wait_for(back, timeout=120, step=2), 'the node did not come back with its boot partition'
    assert boot_mounts(node) == (['/run/picocloud-lab/bootfs', 'fuse'], 'fuse.fusefat')
    assert sh(node, 'cat %s/restart.txt' % BOOT)[1] == 'kept'
    assert sh(node, 'hostname; cat /etc/hostname; grep -c "^127.0.1.1.renamed-node$" /etc/hosts')[1].split() == \
        ['renamed-node', 'renamed-node', '1']
    assert sh(node, 'rm %s/restart.txt' % BOOT)[0] == 0
    # unmounted, as a Pi's boot partition is when it is checked, the FAT is clean
    assert sh(node, 'systemctl stop picocloud-lab-boot')[0] == 0
    rc, out, err = sh(node, 'fsck.vfat -n %s' % PARTITION)
    assert sh(node, 'systemctl start picocloud-lab-boot')[0] == 0
    assert rc == 0, out + err
    assert boot_mounts(node) == (['/run/picocloud-lab/bootfs', 'fuse'], 'fuse.fusefat')
    assert sh(node, 'test -e %s/restart.txt' % BOOT)[0] != 0

    after = picotest.up()
    assert total_changed(after) == 0, changed_tasks(after)


def test_an_arm64_lab_node_reports_aarch64_and_mounts_its_fat_boot_partition(state_root):
    """A lab of lab_arch=arm64 (every node emulated under qemu-user). A mixed lab (lab_arm64_nodes) is the site
    scenario's own: its emulated node's architecture, facts and boot partition are checked there
    (molecule/site/tests/test_00_nodes.py, test_30_swarm.py, test_boot_partition.py)."""
    arm = Lab('picoarm', '172.30.25.0/24', state_root)
    try:
        arm.up('-e', 'lab_nodes=1', '-e', 'lab_arch=arm64')
        facts = pi_facts(arm)
        assert facts['picoarm-01']['arch'] == {'machine': 'aarch64', 'debian_arch': 'arm64', 'arm_version': 8}
        # the emulated node mounts its FAT32 boot partition too (with the controller's amd64 fusefat, see docs/lab.md)
        assert boot_mounts('picoarm-01') == (['/run/picocloud-lab/bootfs', 'fuse'], 'fuse.fusefat')
        rc, dummy_out, err = sh('picoarm-01', "echo x > '%s/a:b'" % BOOT)
        assert rc != 0 and 'Operation not permitted' in err, err
    finally:
        arm.down()
    assert arm.objects() == {'containers': [], 'networks': [], 'volumes': []}
