# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pi_flash sequence end to end on regular-file targets, with real raw/xz/zip images."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import stat
import subprocess
import zipfile

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.flash import device as device_utils
from ansible_collections.picocloud.edge.plugins.module_utils.flash import flow, writer

MIB = 1024 * 1024


def make_raw(path, size=3 * MIB + 512, seed=b'x'):
    block = hashlib.sha512(seed).digest() * 64
    data = bytearray((block * (size // len(block) + 1))[:size])
    data[510:512] = b'\x55\xaa'
    for index in range(4096, size, 4096):
        data[index] = (index // 4096) % 256
    with open(path, 'wb') as handle:
        handle.write(data)
    return bytes(data)


def params(src, device, **extra):
    base = dict(src=src, device=device, checksum=None, verify=True, skip_identical=True, force=False,
                progress_file=None, eject=False, block_size=MIB)
    base.update(extra)
    return base


def digest(path):
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_check_apply_reapply_check_on_a_file_target(tmp_path):
    src, target = str(tmp_path / 'node.img'), str(tmp_path / 'card.img')
    data = make_raw(src)
    first_check = flow.flash(params(src, target), check_mode=True)
    assert first_check['changed'] is True and not os.path.exists(target)
    applied = flow.flash(params(src, target, progress_file=str(tmp_path / 'p.log')))
    assert applied['changed'] is True and applied['verified'] is True and applied['skipped'] is False
    assert applied['bytes_written'] == len(data) and applied['sha256'] == hashlib.sha256(data).hexdigest()
    assert applied['mb_per_s'] > 0 and applied['device']['type'] == 'file'
    again = flow.flash(params(src, target))
    assert again['changed'] is False and again['skipped'] is True and again['bytes_written'] == 0
    last_check = flow.flash(params(src, target), check_mode=True)
    assert last_check['changed'] is False and last_check['skipped'] is True
    log = open(str(tmp_path / 'p.log')).read()
    assert ' write ' in log and ' verify ' in log and 'verified=True' in log


def test_verification_catches_one_flipped_byte_between_write_and_verify(tmp_path, monkeypatch):
    src, target = str(tmp_path / 'node.img'), str(tmp_path / 'card.img')
    make_raw(src)
    read_digest = writer.read_digest

    def flip_then_read_back(path, written, *args, **kwargs):
        with open(path, 'r+b') as handle:
            handle.seek(written // 2)
            byte = handle.read(1)
            handle.seek(written // 2)
            handle.write(bytes([byte[0] ^ 0x01]))
        return read_digest(path, written, *args, **kwargs)
    monkeypatch.setattr(writer, 'read_digest', flip_then_read_back)
    with pytest.raises(flow.FlashFailed) as err:
        flow.flash(params(src, target))
    assert str(err.value).startswith('verification failed: %s does not hold what was written' % target)
    assert 'NOT bootable' in str(err.value)
    assert err.value.result['verified'] is False and err.value.result['changed'] is True


def test_checksum_mismatch_refused_before_writing_target_untouched(tmp_path):
    src, target = str(tmp_path / 'node.img'), tmp_path / 'card.img'
    make_raw(src)
    target.write_bytes(b'\x01' * MIB)
    with pytest.raises(flow.FlashFailed) as err:
        flow.flash(params(src, str(target), checksum='sha256:' + '0' * 64))
    assert str(err.value).startswith('checksum mismatch for %s' % src)
    assert str(err.value).endswith('nothing was written to %s' % target)
    assert target.read_bytes() == b'\x01' * MIB and err.value.result['bytes_written'] == 0


def test_right_checksum_is_accepted(tmp_path):
    src, target = str(tmp_path / 'node.img'), str(tmp_path / 'card.img')
    make_raw(src)
    result = flow.flash(params(src, target, checksum='sha256:' + digest(src)))
    assert result['changed'] and digest(target) == digest(src)


def test_xz_source_streams_and_verifies(tmp_path):
    src = str(tmp_path / 'node.img')
    data = make_raw(src)
    subprocess.run(['xz', '-0', '-T1', src], check=True)
    result = flow.flash(params(src + '.xz', str(tmp_path / 'card.img')))
    assert result['verified'] and result['image_size'] == len(data)
    assert open(str(tmp_path / 'card.img'), 'rb').read() == data


def test_truncated_xz_refused_before_writing_target_untouched(tmp_path):
    src = str(tmp_path / 'node.img')
    make_raw(src, size=4 * MIB, seed=b'y')
    subprocess.run(['xz', '-0', '-T1', src], check=True)
    packed = src + '.xz'
    with open(packed, 'r+b') as handle:
        handle.truncate(os.path.getsize(packed) // 2)
    target = tmp_path / 'card.img'
    target.write_bytes(b'\x02' * MIB)
    with pytest.raises(flow.FlashFailed) as err:
        flow.flash(params(packed, str(target)))
    assert 'is truncated or corrupt' in str(err.value)
    assert str(err.value).endswith('nothing was written to %s' % target)
    assert target.read_bytes() == b'\x02' * MIB


def test_corrupt_zip_fails_mid_write_saying_bytes_written_and_not_bootable(tmp_path):
    """The zip records its size, so writing starts; a damaged deflate stream stops it midway."""
    src = str(tmp_path / 'node.img')
    make_raw(src, size=4 * MIB, seed=b'z')
    with open(src, 'ab') as handle:
        handle.write(os.urandom(4 * MIB))  # incompressible second half
    archive = str(tmp_path / 'node.zip')
    with zipfile.ZipFile(archive, 'w', zipfile.ZIP_DEFLATED) as handle:
        handle.write(src, 'node.img')
    with open(archive, 'r+b') as handle:
        size = os.path.getsize(archive)
        handle.seek(size - 64 * 1024)
        handle.write(os.urandom(16 * 1024))
    target = str(tmp_path / 'card.img')
    with pytest.raises(flow.FlashFailed) as err:
        flow.flash(params(archive, target))
    message = str(err.value)
    written = err.value.result['bytes_written']
    assert 'truncated or corrupt' in message
    assert 'wrote %d of %d bytes to %s before the error' % (written, 8 * MIB, target) in message
    assert message.endswith('the card is NOT bootable: flash it again')
    assert 0 < written < 8 * MIB and err.value.result['changed'] is True


def test_missing_src_and_src_as_target_refused(tmp_path):
    with pytest.raises(flow.FlashFailed, match='does not exist or is not a file; nothing was written'):
        flow.flash(params(str(tmp_path / 'absent.img'), str(tmp_path / 'card.img')))
    src = str(tmp_path / 'node.img')
    make_raw(src)
    with pytest.raises(flow.FlashFailed, match='it is the source image itself'):
        flow.flash(params(src, src))


def test_missing_device_node_is_not_created(tmp_path):
    with pytest.raises(flow.FlashFailed, match='/dev/sdzz9 does not exist: is the card inserted'):
        flow.flash(params(str(tmp_path / 'x.img'), '/dev/sdzz9'))


def test_verify_false_and_skip_identical_false_always_write(tmp_path):
    src, target = str(tmp_path / 'node.img'), str(tmp_path / 'card.img')
    make_raw(src)
    flow.flash(params(src, target))
    result = flow.flash(params(src, target, verify=False, skip_identical=False))
    assert result['changed'] is True and result['verified'] is False and result['bytes_written'] > 0


def test_eject_is_skipped_for_files_and_loops():
    assert 'regular file' in flow.eject_target({'type': 'file', 'path': '/tmp/x'}, 'linux', None)
    assert 'loop device' in flow.eject_target({'type': 'loop', 'path': '/dev/loop0'}, 'linux', None)
    calls = []
    assert flow.eject_target({'type': 'disk', 'path': '/dev/sdb'}, 'linux',
                             lambda argv: calls.append(argv) or (0, '', '')) is None
    assert calls == [['eject', '/dev/sdb']]
    assert 'can be removed' in flow.eject_target({'type': 'disk', 'path': '/dev/disk4'}, 'darwin',
                                                 lambda argv: (1, '', 'busy'))


# --- the target is re-checked when it is opened after the checksum ------------------------------------

def during_checksum(monkeypatch, action):
    """Run action() right after the checksum, which is where minutes pass on a real image."""
    verify_checksum = flow.source.verify_checksum

    def verify_then_act(*args, **kwargs):
        result = verify_checksum(*args, **kwargs)
        action()
        return result
    monkeypatch.setattr(flow.source, 'verify_checksum', verify_then_act)


def test_a_new_file_target_is_created_0600(tmp_path):
    src, target = str(tmp_path / 'node.img'), str(tmp_path / 'card.img')
    make_raw(src)
    old_umask = os.umask(0o022)
    try:
        assert flow.flash(params(src, target))['verified'] is True
    finally:
        os.umask(old_umask)
    assert os.stat(target).st_mode & 0o777 == 0o600


def test_a_file_target_replaced_during_the_checksum_is_refused_and_left_alone(tmp_path, monkeypatch):
    src, target, other = str(tmp_path / 'node.img'), tmp_path / 'card.img', tmp_path / 'other.img'
    make_raw(src)
    target.write_bytes(b'\x01' * 4 * MIB)
    other.write_bytes(b'\x02' * 4 * MIB)
    during_checksum(monkeypatch, lambda: os.replace(str(other), str(target)))
    with pytest.raises(flow.FlashFailed) as err:
        flow.flash(params(src, str(target), checksum='sha256:' + digest(src)))
    assert str(err.value) == ('refusing to write to %s: it was replaced by another file since it was checked; '
                              'nothing was written to it' % target)
    assert target.read_bytes() == b'\x02' * 4 * MIB and err.value.result['bytes_written'] == 0


# --- real block devices (loop devices; root only): the node, the device and its verdict at open time ---

@pytest.fixture
def loops(tmp_path):
    """loops(n) -> [(loop device path, backing file)], each 8 MiB; detached at the end."""
    if os.geteuid() != 0 or not os.path.exists('/dev/loop-control'):
        pytest.skip('needs root and loop devices')
    made = []

    def make(count):
        for index in range(count):
            backing = str(tmp_path / ('disk%d.raw' % index))
            with open(backing, 'wb') as handle:
                handle.write(b'\xa5' * 8 * MIB)
            proc = subprocess.run(['losetup', '--find', '--show', backing], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, check=False)
            if proc.returncode != 0:
                pytest.skip('losetup failed: %s' % proc.stderr.decode().strip())
            made.append((proc.stdout.decode().strip(), backing))
        return made
    yield make
    for device, dummy in made:
        subprocess.run(['losetup', '--detach', device], check=False)


def node_for(path, device):
    """A block-device node at path for device (as a card reader's /dev node would be)."""
    try:
        os.mknod(path, stat.S_IFBLK | 0o600, os.stat(device).st_rdev)
        os.close(os.open(path, os.O_RDONLY))
    except OSError as exc:
        pytest.skip('cannot make or open a device node in %s: %s' % (os.path.dirname(path), exc))
    return path


@pytest.mark.parametrize('skip_identical', [True, False])
def test_a_device_node_that_vanishes_during_the_checksum_is_not_recreated_as_a_file(
        tmp_path, monkeypatch, loops, skip_identical):
    """Without skip_identical the old code created a regular file at the node's path, wrote and "verified" it."""
    (device, backing), = loops(1)
    src = str(tmp_path / 'node.img')
    make_raw(src, size=2 * MIB)
    card = node_for(str(tmp_path / 'card'), device)
    before = digest(backing)
    during_checksum(monkeypatch, lambda: os.unlink(card))
    with pytest.raises(flow.FlashFailed) as err:
        flow.flash(params(src, card, force=True, checksum='sha256:' + digest(src), skip_identical=skip_identical))
    assert str(err.value) == ('refusing to write to %s: it has disappeared since it was checked: is the card '
                              'still inserted?; nothing was written to it' % card)
    assert not os.path.exists(card) and digest(backing) == before


def test_another_device_behind_the_node_after_the_checksum_is_refused(tmp_path, monkeypatch, loops):
    (first, first_backing), (second, second_backing) = loops(2)
    src = str(tmp_path / 'node.img')
    make_raw(src, size=2 * MIB)
    card = node_for(str(tmp_path / 'card'), first)
    before = (digest(first_backing), digest(second_backing))

    def swap():
        os.unlink(card)
        node_for(card, second)
    during_checksum(monkeypatch, swap)
    with pytest.raises(flow.FlashFailed) as err:
        flow.flash(params(src, card, force=True, checksum='sha256:' + digest(src)))
    rdev = [os.stat(name).st_rdev for name in (first, second)]
    assert str(err.value) == ('refusing to write to %s: it is no longer the device that was checked (device %d:%d, '
                              'now %d:%d); nothing was written to it' % (card, os.major(rdev[0]), os.minor(rdev[0]),
                                                                         os.major(rdev[1]), os.minor(rdev[1])))
    assert (digest(first_backing), digest(second_backing)) == before


def test_a_device_whose_size_changed_during_the_checksum_is_refused(tmp_path, monkeypatch, loops):
    (device, backing), = loops(1)
    src = str(tmp_path / 'node.img')
    make_raw(src, size=2 * MIB)

    def grow():
        with open(backing, 'ab') as handle:
            handle.write(b'\xa5' * 4 * MIB)
        subprocess.run(['losetup', '--set-capacity', device], check=True)
    before = digest(backing)
    during_checksum(monkeypatch, grow)
    with pytest.raises(flow.FlashFailed) as err:
        flow.flash(params(src, device, force=True, checksum='sha256:' + digest(src)))
    assert str(err.value).startswith('refusing to write to %s: ' % device)
    assert '8388608 bytes' in str(err.value) and '12582912' in str(err.value)
    assert str(err.value).endswith('; nothing was written to it')
    with open(backing, 'rb') as handle:
        assert handle.read(8 * MIB) == b'\xa5' * 8 * MIB
    assert digest(backing) != before  # only grown, by the test itself


def test_a_device_mounted_during_the_checksum_is_refused_by_the_repeated_verdict(tmp_path, monkeypatch, loops, sysroot):
    """The recorded loop layout, with the real loop device in it; a mount appears in its proc/mounts."""
    (device, backing), = loops(1)
    name = os.path.basename(device)

    def with_this_loop(layout):
        spec = layout['devices'].pop('loop1')
        spec['devpath'] = '/sys/devices/virtual/block/' + name
        spec['attrs']['size'] = str(8 * MIB // 512)
        layout['devices'][name] = spec
    root = sysroot('loop', edit=with_this_loop)
    src = str(tmp_path / 'node.img')
    make_raw(src, size=2 * MIB)
    before = digest(backing)

    def mount():
        with open(os.path.join(root, 'proc', 'mounts'), 'a') as handle:
            handle.write('%s /media/card vfat rw,relatime 0 0\n' % device)
    during_checksum(monkeypatch, mount)
    with pytest.raises(flow.FlashFailed) as err:
        flow.flash(params(src, device, force=True, checksum='sha256:' + digest(src)),
                   layout=device_utils.SysBlock(root))
    assert str(err.value) == ('refusing to write to %s: re-checked when it was opened: it is in use (%s is mounted '
                              'on /media/card); unmount it first; nothing was written to it' % (device, device))
    assert digest(backing) == before


def test_a_loop_device_left_alone_is_written_and_verified(tmp_path, loops):
    (device, backing), = loops(1)
    src = str(tmp_path / 'node.img')
    data = make_raw(src, size=2 * MIB)
    result = flow.flash(params(src, device, force=True, checksum='sha256:' + digest(src)))
    assert result['verified'] is True and result['bytes_written'] == len(data)
    with open(backing, 'rb') as handle:
        assert handle.read(len(data)) == data
