# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Customising real fixture images (sfdisk + mkfs.vfat + mtools + raspi-firmware), checked with
fsck.vfat -n and mtype; bad input leaves src byte-identical and dest absent."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import subprocess
import zipfile

import pytest
import yaml

import fixtures
import shell_sandbox
from ansible_collections.picocloud.edge.plugins.module_utils.image import bootfiles
from ansible_collections.picocloud.edge.plugins.module_utils.image import customize
from ansible_collections.picocloud.edge.plugins.module_utils.image import fat

GIB = fixtures.GIB


def params(src, **overrides):
    base = {
        'src': src, 'dest': None, 'checksum': None, 'force': False, 'flavor': 'auto',
        'hostname': 'node1',
        'user': {'name': 'admin', 'password': 's3cret-pass', 'password_hash': None, 'sudo': True, 'groups': None,
                 'ssh_authorized_keys': ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN/Cr3JXqmLW7u+g9pTh+wyqDHpSQEIQczXkVx9q admin@ops']},
        'ssh': {'enabled': True, 'password_authentication': False},
        'wifi': {'ssid': 'picocloud', 'password': 'wifi-passphrase', 'country': 'DE', 'hidden': False},
        'network': {'interface': 'eth0', 'address': '192.168.10.11/24', 'gateway': '192.168.10.1', 'dns': ['192.168.10.1']},
        'timezone': 'Europe/Berlin', 'keymap': 'de', 'locale': 'en_GB.UTF-8',
        'cmdline': {'add': ['quiet'], 'remove': ['splash']}, 'cgroups': True,
        'config_txt': {'all': {'arm_64bit': 1, 'dtoverlay': ['disable-bt']}, 'pi4': {'arm_boost': 1}},
        'user_data': None, 'files': [{'path': 'picocloud/node.txt', 'content': 'node=node1\n'}],
    }
    base.update(overrides)
    return base


def sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 22), b''):
            digest.update(block)
    return digest.hexdigest()


def assert_card_is_sound(path, workdir, flavor, before_config):
    rc, out = fixtures.fsck(path, workdir)
    assert rc == 0, out
    cmdline = fixtures.mtype(path, 'cmdline.txt')
    assert cmdline.count('\n') == 1 and cmdline.endswith('\n')
    tokens = cmdline.split()
    assert len(tokens) == len(set(tokens))
    for flag in bootfiles.CGROUP_TOKENS + ('quiet',):
        assert tokens.count(flag) == 1
    assert 'splash' not in tokens
    config = fixtures.mtype(path, 'config.txt')
    before, after = bootfiles.config_sections(before_config), bootfiles.config_sections(config)
    for name, lines in before.items():
        if name.lower() not in ('all', '', 'pi4'):
            assert after[name] == lines
    assert 'dtoverlay=disable-bt' in config
    assert fixtures.mtype(path, 'picocloud/node.txt') == 'node=node1\n'
    return tokens


@pytest.mark.parametrize('flavor', sorted(fixtures.FLAVOR_FILES))
def test_each_flavour_is_customised_soundly_and_idempotently(image, tmp_path, flavor):
    path = image(flavor)
    before_config = fixtures.mtype(path, 'config.txt')
    checked = customize.run(params(path), check_mode=True)
    assert checked['changed'] and checked['flavor'] == flavor
    assert fixtures.mtype(path, 'config.txt') == before_config  # check mode wrote nothing

    result = customize.run(params(path), check_mode=False)
    assert result['changed'] and result['flavor'] == flavor
    assert result['files_changed'] == checked['files_changed']
    assert result['boot_partition'] == {'index': 1, 'offset': fixtures.BOOT_START, 'size': fixtures.BOOT_SIZE,
                                        'label': fixtures.FLAVOR_FILES[flavor]['label']}
    assert [p['index'] for p in result['partitions']] == [1, 2]
    tokens = assert_card_is_sound(path, str(tmp_path), flavor, before_config)

    if flavor == 'rpios-firstrun':
        assert result['instance_id'] is None
        assert tokens[-3:] == ['systemd.run=/boot/firstrun.sh', 'systemd.run_success_action=reboot',
                               'systemd.unit=kernel-command-line.target']
        userconf = fixtures.mtype(path, 'userconf.txt')
        assert userconf.startswith('admin:$6$') and 's3cret-pass' not in userconf
        assert fixtures.mtype(path, 'ssh') == ''
        run = shell_sandbox.dry_run(fixtures.mtype(path, 'firstrun.sh'), userconf_txt=userconf)
        assert run.stderr == '' and ['set_hostname', 'node1'] in run.args_of('imager_custom')
    else:
        meta = yaml.safe_load(fixtures.mtype(path, 'meta-data'))
        assert meta['instance-id'] == result['instance_id']
        user_data = fixtures.mtype(path, 'user-data')
        assert user_data.startswith('#cloud-config\n') and 's3cret-pass' not in user_data
        assert 'wifi-passphrase' not in user_data + fixtures.mtype(path, 'network-config')
        network = yaml.safe_load(fixtures.mtype(path, 'network-config'))
        assert (network['version'] if flavor == 'hypriot' else network['network']['version']) == (1 if flavor == 'hypriot' else 2)
        if flavor == 'rpios-cloudinit':
            assert 'ds=nocloud;i=%s' % result['instance_id'] in tokens

    snapshot = sha256(path)
    again = customize.run(params(path), check_mode=False)
    assert not again['changed'] and again['files_changed'] == [] and again['diff'] == []
    assert again['instance_id'] == result['instance_id']
    assert sha256(path) == snapshot
    assert not customize.run(params(path), check_mode=True)['changed']


def test_diff_shows_before_and_after_and_masks_secrets(image):
    path = image('rpios-cloudinit')
    result = customize.run(params(path), check_mode=True)
    by_name = dict((entry['before_header'], entry) for entry in result['diff'])
    assert 'cgroup_memory=1' in by_name['boot:/cmdline.txt']['after']
    assert 'cgroup_memory=1' not in by_name['boot:/cmdline.txt']['before']
    user_data = by_name['boot:/user-data']['after']
    assert '********' in user_data and '$6$' not in user_data
    assert '********' in by_name['boot:/network-config']['after']


def test_a_changed_option_gives_a_new_instance_id_and_rewrites_only_what_changed(image):
    path = image('ubuntu')
    first = customize.run(params(path), check_mode=False)
    second = customize.run(params(path, hostname='node2'), check_mode=False)
    assert second['instance_id'] != first['instance_id']
    assert second['files_changed'] == ['meta-data', 'user-data']


def test_eight_gib_sparse_image_is_customised_in_place(tmp_path):
    if fixtures.missing_tools() or fixtures.firmware_dir() is None:
        pytest.skip('image tools or firmware missing')
    path = fixtures.build_image(str(tmp_path / 'big.img'), 'rpios-firstrun', size=8 * GIB)
    result = customize.run(params(path), check_mode=False)
    assert result['changed'] and result['partitions'][1]['size'] == 8 * GIB - fixtures.BOOT_START - fixtures.BOOT_SIZE
    assert os.stat(path).st_blocks * 512 < GIB  # still sparse
    assert fixtures.fsck(path, str(tmp_path))[0] == 0


@pytest.mark.parametrize('fmt', ['xz', 'gz', 'zip', 'zst'])
def test_compressed_src_is_streamed_to_dest_then_customised(compressed, tmp_path, fmt):
    raw, src = compressed['raw'], compressed[fmt]
    src_digest = sha256(src)
    dest = str(tmp_path / 'node1.img')
    checksum = 'sha256:' + src_digest
    checked = customize.run(params(src, dest=dest, checksum=checksum), check_mode=True)
    assert checked['changed'] and checked['dest_created'] and not os.path.exists(dest)
    result = customize.run(params(src, dest=dest, checksum=checksum), check_mode=False)
    assert result['changed'] and result['src_format'] == fmt
    assert result['files_changed'] == checked['files_changed']
    assert os.path.getsize(dest) == os.path.getsize(raw)
    assert os.stat(dest).st_mode & 0o777 == 0o600
    assert os.stat(dest).st_blocks * 512 < 256 * 1024 * 1024
    assert fixtures.fsck(dest, str(tmp_path))[0] == 0
    again = customize.run(params(src, dest=dest, checksum=checksum), check_mode=False)
    assert not again['changed']
    assert sha256(src) == src_digest
    assert [name for name in os.listdir(str(tmp_path)) if name.startswith('.')] == []


# --- bad input: a clear error, src byte-identical, dest absent ---------------------------------

def expect_failure(src, message, dest=None, **overrides):
    before = sha256(src)
    with pytest.raises(customize.CustomizeError) as err:
        customize.run(params(src, dest=dest, **overrides), check_mode=False)
    assert message in str(err.value), str(err.value)
    assert sha256(src) == before
    if dest:
        assert not os.path.exists(dest)
        leftovers = [n for n in os.listdir(os.path.dirname(dest)) if n.startswith('.')]
        assert leftovers == []
    return str(err.value)


def test_a_file_that_is_not_a_disk_image(tmp_path):
    src = tmp_path / 'notes.img'
    src.write_bytes(b'just some text\n' * 100)
    expect_failure(str(src), 'is not a disk image')


def test_a_partition_table_without_fat_partition(image, tmp_path):
    path = image('rpios-firstrun')
    subprocess.run(['sfdisk', '--no-reread', '--no-tell-kernel', '-q', '--part-type', path, '1', '83'], check=True)
    expect_failure(path, 'has no FAT boot partition')


@pytest.mark.parametrize('fmt', ['xz', 'gz', 'zst', 'zip'])
def test_a_truncated_compressed_image(compressed, tmp_path, fmt):
    data = open(compressed[fmt], 'rb').read()
    src = tmp_path / ('cut.img.' + fmt)
    src.write_bytes(data[:len(data) // 2])
    os.mkdir(str(tmp_path / 'out'))
    expect_failure(str(src), 'is truncated or corrupt', dest=str(tmp_path / 'out' / 'node.img'))


@pytest.mark.parametrize('members, message', [(0, 'found 0'), (2, 'found 2')])
def test_a_zip_with_zero_or_several_images(tmp_path, members, message):
    src = str(tmp_path / 'images.zip')
    with zipfile.ZipFile(src, 'w') as archive:
        archive.writestr('README.md', 'hello')
        for index in range(members):
            archive.writestr('card%d.img' % index, b'\0' * 510 + b'\x55\xaa')
    os.mkdir(str(tmp_path / 'out'))
    expect_failure(src, 'must hold exactly one .img file, ' + message, dest=str(tmp_path / 'out' / 'node.img'))


def test_a_checksum_mismatch(compressed, tmp_path):
    os.mkdir(str(tmp_path / 'out'))
    message = expect_failure(compressed['gz'], 'checksum mismatch for', dest=str(tmp_path / 'out' / 'node.img'),
                             checksum='sha256:' + '0' * 64)
    assert 'expected sha256:' + '0' * 64 in message


def test_an_unknown_flavour_under_auto(tmp_path):
    if fixtures.missing_tools() or fixtures.firmware_dir() is None:
        pytest.skip('image tools or firmware missing')
    other_os = {'label': 'DATA', 'readme.md': 'other OS\n'}
    path = fixtures.build_image(str(tmp_path / 'other.img'), 'rpios-firstrun', boot_files=other_os)
    expect_failure(path, 'unknown flavour')


@pytest.mark.parametrize('overrides, message', [
    ({'network': {'interface': 'eth0', 'address': '10.0.0.1/33', 'gateway': None, 'dns': []}}, 'not a valid CIDR'),
    ({'wifi': {'ssid': 'lab', 'password': 'abcdefgh', 'country': None, 'hidden': False}}, 'wifi.country is required'),
    ({'user_data': {'runcmd': 'reboot'}}, 'does not match the cloud-config schema'),
])
def test_invalid_options_fail_before_anything_is_written(image, overrides, message):
    expect_failure(image('rpios-cloudinit'), message, **overrides)


def test_compressed_src_without_dest_is_refused(compressed):
    expect_failure(compressed['xz'], 'set dest')


# --- interrupted writes --------------------------------------------------------------------------

class Crash(Exception):
    pass


@pytest.mark.parametrize('step', ['data', 'fat-allocated', 'entry-switched', 'old-freed'])
def test_an_interrupted_replacement_leaves_old_or_new_content(image, tmp_path, step):
    path = image('rpios-firstrun')
    old = fixtures.mtype(path, 'cmdline.txt')
    new = 'console=tty1 root=/dev/mmcblk0p2 ' + 'x' * 9000 + '\n'  # several clusters

    def crash():
        raise Crash(step)

    bootfs = fat.BootFS(path, fixtures.BOOT_START, fixtures.BOOT_SIZE, writable=True, hooks={step: crash})
    with pytest.raises(Crash):
        bootfs.write('cmdline.txt', new.encode())
    bootfs._handle.close()  # the process dies here: nothing else is written, the dirty bit stays set
    bootfs.pyfat.initialized = False  # so garbage collection does not try to close it again
    content = fixtures.mtype(path, 'cmdline.txt')
    assert content == (old if step in ('data', 'fat-allocated') else new)
    rc, out = fixtures.fsck(path, str(tmp_path))
    problems = [line for line in out.splitlines()[1:] if line.strip()]
    allowed = ('Dirty bit', 'Leaving filesystem', 'files,', 'Reclaimed', 'unused cluster', 'Free cluster summary',
               'Auto-correcting', 'Automatically removing dirty bit', '1) Remove dirty bit', '2) No action',
               'some data may be corrupt', 'was not properly unmounted')
    assert all(any(word in line for word in allowed) for line in problems), out
    assert 'cross-linked' not in out.lower() and 'file size' not in out.lower()
