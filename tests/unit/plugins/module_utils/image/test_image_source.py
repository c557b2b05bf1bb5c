# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""image.source on real files compressed by the real xz, gzip, zstd and zip tools."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import shutil
import subprocess
import time
import zipfile

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.image import source

MIB = 1024 * 1024


def make_raw(path, data_mib=2, zero_mib=6):
    """A small 'disk image': boot signature, random data, a zero run and a non-zero tail."""
    with open(path, 'wb') as handle:
        handle.write(b'\0' * 510 + b'\x55\xaa')
        handle.write(os.urandom(data_mib * MIB))
        handle.write(b'\0' * (zero_mib * MIB))
        handle.write(b'tail' * 256)
    return path


def sha256(path):
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def compress(raw, fmt):
    if fmt == 'raw':
        return raw
    if fmt == 'xz':
        subprocess.run(['xz', '-k', '-T2', '-f', raw], check=True)
        return raw + '.xz'
    if fmt == 'gz':
        subprocess.run(['gzip', '-k', '-f', raw], check=True)
        return raw + '.gz'
    if fmt == 'zst':
        subprocess.run(['zstd', '-q', '-f', raw, '-o', raw + '.zst'], check=True)
        return raw + '.zst'
    path = raw[:-4] + '.zip'
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as archive:
        archive.write(raw, os.path.basename(raw))
    return path


@pytest.fixture
def raw(tmp_path):
    return make_raw(str(tmp_path / 'node.img'))


def test_parse_checksum_accepts_sha256_and_lowercases():
    assert source.parse_checksum('sha256:' + 'AB' * 32) == ('sha256', 'ab' * 32)
    assert source.parse_checksum(' sha256:%s\n' % ('0' * 64)) == ('sha256', '0' * 64)


@pytest.mark.parametrize('text', ['', 'md5:' + 'a' * 32, 'sha256:abc', 'a' * 64, 'sha256:' + 'g' * 64, None])
def test_parse_checksum_rejects_anything_else_with_a_clear_message(text):
    with pytest.raises(source.SourceError, match="sha256:<64 hex digits>"):
        source.parse_checksum(text)


def test_verify_checksum_passes_on_match_and_names_both_digests_on_mismatch(raw):
    digest = sha256(raw)
    assert source.file_digest(raw) == digest
    assert source.verify_checksum(raw, 'sha256:' + digest.upper()) == digest
    with pytest.raises(source.SourceError) as err:
        source.verify_checksum(raw, 'sha256:' + '0' * 64)
    assert str(err.value) == 'checksum mismatch for %s: expected sha256:%s, got sha256:%s' % (raw, '0' * 64, digest)


@pytest.mark.parametrize('fmt', ['raw', 'xz', 'gz', 'zip', 'zst'])
def test_detect_format_reads_magic_bytes_not_names(raw, fmt, tmp_path):
    path = compress(raw, fmt)
    renamed = str(tmp_path / 'misleading.name')
    shutil.copy(path, renamed)
    assert source.detect_format(renamed) == fmt


@pytest.mark.parametrize('content, message', [
    (b'hello world\n' * 100, 'not a disk image: no partition table'),
    (b'', 'shorter than one sector'),
    (b'BZh91AY&SY' + b'\0' * 600, 'bzip2-compressed'),
])
def test_detect_format_refuses_garbage(tmp_path, content, message):
    path = tmp_path / 'garbage.img'
    path.write_bytes(content)
    with pytest.raises(source.SourceError, match=message):
        source.detect_format(str(path))


@pytest.mark.parametrize('prefer_subprocess', [True, False])
@pytest.mark.parametrize('fmt', ['raw', 'xz', 'gz', 'zip', 'zst'])
def test_open_image_streams_the_exact_raw_bytes(raw, fmt, prefer_subprocess):
    if fmt == 'zst' and not prefer_subprocess and not source.HAS_ZSTANDARD:
        pytest.skip('the zstandard binding is not installed; the zstd binary path is tested')
    path = compress(raw, fmt)
    digest = hashlib.sha256()
    with source.open_image(path, prefer_subprocess=prefer_subprocess) as reader:
        for dummy in range(100):
            block = reader.read(MIB)
            if not block:
                break
            digest.update(block)
    assert digest.hexdigest() == sha256(raw)


@pytest.mark.parametrize('fmt', ['raw', 'xz', 'zip'])
def test_raw_size_is_known_for_raw_xz_and_zip(raw, fmt):
    assert source.raw_size(compress(raw, fmt)) == os.path.getsize(raw)


def test_raw_size_adds_up_concatenated_xz_streams(raw, tmp_path):
    xz_path = compress(raw, 'xz')
    double = tmp_path / 'double.img.xz'
    double.write_bytes(open(xz_path, 'rb').read() * 2 + b'\0' * 8)
    assert source.raw_size(str(double)) == 2 * os.path.getsize(raw)


@pytest.mark.parametrize('fmt', ['gz', 'zst'])
def test_raw_size_is_none_when_not_reliable(raw, fmt):
    assert source.raw_size(compress(raw, fmt)) is None


@pytest.mark.parametrize('prefer_subprocess', [True, False])
@pytest.mark.parametrize('fmt', ['xz', 'gz', 'zst', 'zip'])
def test_truncated_input_raises_source_error_and_leaves_no_dest(raw, fmt, prefer_subprocess, tmp_path):
    if fmt == 'zst' and not prefer_subprocess and not source.HAS_ZSTANDARD:
        pytest.skip('the zstandard binding is not installed')
    path = compress(raw, fmt)
    truncated = str(tmp_path / ('truncated.' + fmt))
    with open(path, 'rb') as handle:
        data = handle.read()
    with open(truncated, 'wb') as handle:
        handle.write(data[:len(data) // 2])
    before = sha256(truncated)
    dest = str(tmp_path / 'out.img')
    with pytest.raises(source.SourceError, match='is truncated or corrupt'):
        with source.open_image(truncated, prefer_subprocess=prefer_subprocess) as reader:
            source.copy_sparse(reader, dest)
    assert not os.path.exists(dest)
    assert sha256(truncated) == before
    assert [name for name in os.listdir(str(tmp_path)) if name.endswith('.part')] == []


def test_failed_copy_leaves_an_existing_dest_untouched(raw, tmp_path):
    path = compress(raw, 'gz')
    with open(path, 'rb') as handle:
        data = handle.read()
    broken = tmp_path / 'broken.img.gz'
    broken.write_bytes(data[:len(data) // 2])
    dest = tmp_path / 'out.img'
    dest.write_bytes(b'previous image')
    with pytest.raises(source.SourceError):
        source.decompress_to(str(broken), str(dest))
    assert dest.read_bytes() == b'previous image'


@pytest.mark.parametrize('members, message', [
    ([], 'must hold exactly one .img file, found 0 (none)'),
    (['a.img', 'b.img'], 'must hold exactly one .img file, found 2 (a.img, b.img)'),
])
def test_zip_with_zero_or_several_images_is_refused(tmp_path, members, message):
    path = str(tmp_path / 'bundle.zip')
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('README.txt', 'not an image')
        for name in members:
            archive.writestr(name, b'\0' * 510 + b'\x55\xaa')
    before = sha256(path)
    with pytest.raises(source.SourceError) as err:
        with source.open_image(path):
            pass
    assert message in str(err.value)
    assert sha256(path) == before


def test_copy_sparse_keeps_zero_runs_as_holes(raw, tmp_path):
    dest = str(tmp_path / 'copy.img')
    digest = hashlib.sha256()
    written = source.decompress_to(compress(raw, 'xz'), dest, digest=digest)
    size = os.path.getsize(raw)
    assert written == size == os.path.getsize(dest)
    assert sha256(dest) == sha256(raw) == digest.hexdigest()
    # 6 MiB of the 8 MiB are zeros: the copy must allocate well under the full size.
    assert os.stat(dest).st_blocks * 512 < size - 4 * MIB


def test_copy_sparse_keeps_a_trailing_zero_run_at_full_size(tmp_path):
    raw = make_raw(str(tmp_path / 'tail.img'), data_mib=1, zero_mib=0)
    with open(raw, 'ab') as handle:
        handle.write(b'\0' * (4 * MIB))
    dest = str(tmp_path / 'copy.img')
    assert source.decompress_to(compress(raw, 'gz'), dest) == os.path.getsize(raw)
    assert sha256(dest) == sha256(raw)


def test_raw_size_of_an_xz_header_followed_by_zeros_gives_up_quickly(tmp_path):
    """A broken download: xz magic, then 256 MiB of zeros. The old padding walk read it 4 bytes at a time."""
    path = tmp_path / 'broken.img.xz'
    with open(str(path), 'wb') as handle:
        handle.write(b'\xfd7zXZ\x00' + b'\0' * 6)
        handle.truncate(256 * MIB)
    started = time.monotonic()
    assert source.raw_size(str(path)) is None
    assert time.monotonic() - started < 5
