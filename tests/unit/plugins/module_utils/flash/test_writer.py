# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Streamed write, read-back digest and comparison of pi_flash on real files (and real xz/zip streams)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import io
import os
import subprocess

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.flash import writer
from ansible_collections.picocloud.edge.plugins.module_utils.flash.progress import Progress
from ansible_collections.picocloud.edge.plugins.module_utils.image import source

MIB = 1024 * 1024


def image_bytes(size, seed=1):
    """Deterministic pseudo-random bytes with an MBR boot signature, so source.detect_format says raw."""
    data = bytearray(hashlib.sha256(b'%d' % seed).digest() * (size // 32 + 1))[:size]
    for index in range(0, size, 4096):
        data[index] = (index // 4096 + seed) % 256
    data[510:512] = b'\x55\xaa'
    return bytes(data)


def test_write_image_unaligned_size_lands_byte_exact_with_its_sha256(tmp_path):
    data = image_bytes(5 * MIB + 123)
    target = str(tmp_path / 'card.img')
    log = str(tmp_path / 'progress.log')
    result = writer.write_image(io.BytesIO(data), target, block_size=MIB, progress=Progress(log), total=len(data))
    assert result['bytes_written'] == len(data)
    assert result['sha256'] == hashlib.sha256(data).hexdigest()
    with open(target, 'rb') as handle:
        assert handle.read() == data
    last = open(log).read().splitlines()[-1]
    assert ' write %d/%d bytes 100.0%% ' % (len(data), len(data)) in last


def test_write_image_keeps_the_tail_of_a_larger_target_like_a_card(tmp_path):
    target = tmp_path / 'card.img'
    target.write_bytes(b'\xee' * (3 * MIB))
    data = image_bytes(MIB + 7)
    writer.write_image(io.BytesIO(data), str(target), block_size=MIB)
    content = target.read_bytes()
    assert content[:len(data)] == data and content[len(data):] == b'\xee' * (3 * MIB - len(data))


def test_read_digest_and_same_content_match_what_was_written(tmp_path):
    data = image_bytes(3 * MIB + 5)
    target = str(tmp_path / 'card.img')
    writer.write_image(io.BytesIO(data), target, block_size=MIB)
    assert writer.read_digest(target, len(data), block_size=MIB) == hashlib.sha256(data).hexdigest()
    assert writer.same_content(io.BytesIO(data), target, len(data), block_size=MIB) is True


@pytest.mark.parametrize('where', [0, MIB + 17, 3 * MIB + 4])
def test_same_content_finds_a_single_differing_byte(tmp_path, where):
    data = image_bytes(3 * MIB + 5)
    changed = bytearray(data)
    changed[where] ^= 0xff
    target = tmp_path / 'card.img'
    target.write_bytes(bytes(changed))
    assert writer.same_content(io.BytesIO(data), str(target), len(data), block_size=MIB) is False


def test_same_content_false_when_target_is_shorter_or_image_longer(tmp_path):
    data = image_bytes(2 * MIB)
    target = tmp_path / 'card.img'
    target.write_bytes(data[:MIB])
    assert writer.same_content(io.BytesIO(data), str(target), len(data), block_size=MIB) is False
    target.write_bytes(data)
    assert writer.same_content(io.BytesIO(data + b'x'), str(target), len(data), block_size=MIB) is False


def test_truncated_xz_stream_stops_the_write_and_reports_bytes_written(tmp_path):
    """A real .xz cut in half, streamed through source.open_image straight into the writer."""
    raw = tmp_path / 'image.raw'
    raw.write_bytes(os.urandom(4 * MIB)[:510] + b'\x55\xaa' + os.urandom(4 * MIB - 512))
    subprocess.run(['xz', '-0', '-k', '-T1', str(raw)], check=True)
    packed = tmp_path / 'image.raw.xz'
    packed.write_bytes(packed.read_bytes()[:packed.stat().st_size // 2])
    target = str(tmp_path / 'card.img')
    with pytest.raises(writer.FlashError) as err:
        with source.open_image(str(packed)) as reader:
            writer.write_image(reader, target, block_size=MIB)
    assert isinstance(err.value.cause, source.SourceError)
    assert 'truncated or corrupt' in str(err.value)
    assert err.value.bytes_written == os.path.getsize(target)
    assert 0 < err.value.bytes_written < 4 * MIB


def test_target_errors_become_flash_error_with_a_message(tmp_path):
    with pytest.raises((writer.FlashError, OSError)):
        writer.write_image(io.BytesIO(image_bytes(MIB)), str(tmp_path / 'missing-dir' / 'card.img'))


def test_normalise_block_size():
    assert writer.normalise_block_size(None) == writer.DEFAULT_BLOCK_SIZE
    assert writer.normalise_block_size(1) == 64 * 1024
    assert writer.normalise_block_size(MIB + 1) == MIB + 4096


def test_read_full_gathers_short_reads():
    class Dribble(object):
        def __init__(self, data):
            self.data = data

        def read(self, size):
            chunk, self.data = self.data[:min(size, 3)], self.data[min(size, 3):]
            return chunk
    assert writer.read_full(Dribble(b'abcdefghij'), 8) == b'abcdefgh'


# --- the target is opened as it was checked -----------------------------------------------------------

def test_a_new_regular_file_target_is_created_with_mode_0600(tmp_path):
    old_umask = os.umask(0o022)
    try:
        writer.write_image(io.BytesIO(image_bytes(MIB)), str(tmp_path / 'card.img'), block_size=MIB)
    finally:
        os.umask(old_umask)
    assert os.stat(str(tmp_path / 'card.img')).st_mode & 0o777 == 0o600


def test_a_device_node_that_vanished_is_never_created_as_a_regular_file(tmp_path):
    path = str(tmp_path / 'sdz')
    expect = {'kind': 'device', 'rdev': os.makedev(8, 240), 'size': 64 * MIB}
    with pytest.raises(writer.TargetChanged) as err:
        writer.write_image(io.BytesIO(image_bytes(MIB)), path, block_size=MIB, expect=expect)
    assert str(err.value) == 'it has disappeared since it was checked: is the card still inserted?'
    assert err.value.bytes_written == 0 and not os.path.exists(path)


def test_another_device_behind_the_path_at_open_time_is_refused(tmp_path):
    """/dev/null and /dev/zero stand in for two disks: the path was checked as one and now leads to the other."""
    path = str(tmp_path / 'card')
    os.symlink('/dev/null', path)
    expect = writer.identity_of('/dev/zero')
    with pytest.raises(writer.TargetChanged) as err:
        writer.read_digest(path, 4096, block_size=MIB, expect=expect)
    assert str(err.value) == 'it is no longer the device that was checked (device %d:%d, now %d:%d)' % (
        os.major(os.stat('/dev/zero').st_rdev), os.minor(os.stat('/dev/zero').st_rdev),
        os.major(os.stat('/dev/null').st_rdev), os.minor(os.stat('/dev/null').st_rdev))


def test_a_device_path_that_became_a_regular_file_is_refused(tmp_path):
    path = tmp_path / 'sdz'
    path.write_bytes(b'\x01' * MIB)
    expect = {'kind': 'device', 'rdev': os.makedev(8, 240), 'size': MIB}
    with pytest.raises(writer.TargetChanged, match='no longer a device node'):
        writer.write_image(io.BytesIO(image_bytes(MIB)), str(path), block_size=MIB, expect=expect)
    assert path.read_bytes() == b'\x01' * MIB


def test_a_file_replaced_after_the_check_is_refused_and_left_alone(tmp_path):
    target, other = tmp_path / 'card.img', tmp_path / 'other.img'
    target.write_bytes(b'\x01' * MIB)
    expect = writer.identity_of(str(target))
    other.write_bytes(b'\x02' * MIB)
    os.replace(str(other), str(target))
    with pytest.raises(writer.TargetChanged, match='^it was replaced by another file since it was checked$'):
        writer.write_image(io.BytesIO(image_bytes(MIB)), str(target), block_size=MIB, expect=expect)
    assert target.read_bytes() == b'\x02' * MIB


def test_a_file_that_appeared_after_the_check_is_refused_and_left_alone(tmp_path):
    target = tmp_path / 'card.img'
    expect = writer.identity_of(str(target))
    target.write_bytes(b'\x03' * MIB)
    with pytest.raises(writer.TargetChanged, match='^a file appeared at this path after it was checked$'):
        writer.write_image(io.BytesIO(image_bytes(MIB)), str(target), block_size=MIB, expect=expect)
    assert target.read_bytes() == b'\x03' * MIB


def test_the_recheck_runs_once_the_target_is_open_and_before_any_byte_is_written(tmp_path):
    target = tmp_path / 'card.img'
    target.write_bytes(b'\x04' * MIB)
    calls = []

    def recheck():
        calls.append(os.path.getsize(str(target)))
        raise writer.TargetChanged('re-checked when it was opened: it is in use')
    with pytest.raises(writer.TargetChanged, match='it is in use'):
        writer.write_image(io.BytesIO(image_bytes(2 * MIB)), str(target), block_size=MIB, recheck=recheck)
    assert calls == [MIB] and target.read_bytes() == b'\x04' * MIB


def test_the_write_reports_the_identity_the_read_back_must_find(tmp_path):
    target = str(tmp_path / 'card.img')
    data = image_bytes(MIB)
    result = writer.write_image(io.BytesIO(data), target, block_size=MIB, expect=writer.identity_of(target))
    info = os.stat(target)
    assert result['identity'] == {'kind': 'file', 'exists': True, 'dev_ino': (info.st_dev, info.st_ino)}
    assert writer.read_digest(target, len(data), block_size=MIB, expect=result['identity']) == \
        hashlib.sha256(data).hexdigest()
