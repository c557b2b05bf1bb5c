# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading card images: format detection, checksums, streaming decompression and sparse copies.

Private to the picocloud.edge collection: no compatibility promise to other collections.
Shared by the pi_image and pi_flash modules; the public names below keep their signatures.

Formats are told apart by magic bytes, never by file name:
- xz   FD 37 7A 58 5A 00 (.img.xz, the Raspberry Pi OS download format);
- gz   1F 8B;
- zip  50 4B 03 04 (or 50 4B 05 06 for an empty archive), one ``.img`` member (HypriotOS releases);
- zst  28 B5 2F FD;
- raw  anything else that carries the 55 AA boot signature at byte 510 (MBR, or GPT's protective MBR).

Decompression always streams: no temporary copy of the whole image is ever made.

xz is decompressed in-process by Python's lzma module (liblzma, the library the xz CLI uses).
An ``xz -dc`` subprocess pipe was measured too (benchmarks/bench_pi_image.py, 2-core VM, xz-utils
5.4.1 which decompresses single-threaded by default): the in-process path matched ``xz -dc in >
file`` (ratio 1.0) while the pipe reached only 0.69, because of the extra copy through the pipe.
``open_image(path, prefer_subprocess=True)`` still selects the pipe.

zst uses the maintained ``zstandard`` binding when it is installed, else the ``zstd`` binary; when
neither is there a ``.zst`` source is refused with a clear message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import gzip
import hashlib
import lzma
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zipfile
import zlib

try:
    import zstandard
    HAS_ZSTANDARD = True
except ImportError:
    zstandard = None
    HAS_ZSTANDARD = False

XZ_MAGIC = b'\xfd7zXZ\x00'
GZ_MAGIC = b'\x1f\x8b'
ZIP_MAGICS = (b'PK\x03\x04', b'PK\x05\x06')
ZST_MAGIC = b'\x28\xb5\x2f\xfd'
# Compressed formats we recognise but do not read, so the message can name them.
OTHER_MAGICS = (
    (b'BZh', 'bzip2'),
    (b'7z\xbc\xaf\x27\x1c', '7-Zip'),
    (b'\x04\x22\x4d\x18', 'lz4'),
    (b'Rar!\x1a\x07', 'RAR'),
)

DEFAULT_BLOCK = 4 * 1024 * 1024
COPY_BLOCK = 1024 * 1024
# Bounds on the xz index walk of raw_size (real images carry a few bytes of padding and a small index).
MAX_XZ_PADDING = 1024 * 1024
MAX_XZ_INDEX = 64 * 1024 * 1024
_ZERO_BLOCKS = {}


class SourceError(Exception):
    """Bad or unreadable source; str() is a clear user-facing message."""


def parse_checksum(text):
    """'sha256:<64 hex>' -> ('sha256', '<lowercase hex>'); SourceError on anything else."""
    match = re.match(r'^\s*(sha256)\s*:\s*([0-9a-fA-F]{64})\s*$', text or '')
    if not match:
        raise SourceError("checksum must look like 'sha256:<64 hex digits>', got %r" % (text,))
    return match.group(1).lower(), match.group(2).lower()


def file_digest(path, algorithm='sha256', block_size=DEFAULT_BLOCK):
    """Hex digest of a file's bytes, read in blocks."""
    digest = hashlib.new(algorithm)
    with open(path, 'rb') as handle:
        while True:
            block = handle.read(block_size)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def verify_checksum(path, checksum):
    """Raise SourceError unless the file's digest matches 'sha256:<hex>'; returns the hex digest."""
    algorithm, expected = parse_checksum(checksum)
    try:
        actual = file_digest(path, algorithm)
    except (IOError, OSError) as exc:
        raise SourceError('cannot read %s: %s' % (path, exc))
    if actual != expected:
        raise SourceError('checksum mismatch for %s: expected %s:%s, got %s:%s'
                          % (path, algorithm, expected, algorithm, actual))
    return actual


def _head(path, size):
    try:
        with open(path, 'rb') as handle:
            return handle.read(size)
    except (IOError, OSError) as exc:
        raise SourceError('cannot read %s: %s' % (path, exc))


def detect_format(path):
    """'raw' | 'xz' | 'gz' | 'zip' | 'zst' from the magic bytes; SourceError for anything else."""
    head = _head(path, 512)
    if head.startswith(XZ_MAGIC):
        return 'xz'
    if head.startswith(GZ_MAGIC):
        return 'gz'
    if head.startswith(ZIP_MAGICS):
        return 'zip'
    if head.startswith(ZST_MAGIC):
        return 'zst'
    for magic, name in OTHER_MAGICS:
        if head.startswith(magic):
            raise SourceError('%s is %s-compressed; use a raw .img, .img.xz, .img.gz, .img.zst or a .zip'
                              % (path, name))
    if len(head) < 512:
        raise SourceError('%s is not a disk image: it is %d bytes long, shorter than one sector'
                          % (path, len(head)))
    if head[510:512] != b'\x55\xaa':
        raise SourceError('%s is not a disk image: no partition table (the 55 AA boot signature is missing '
                          'at byte 510) and not a known compressed format' % path)
    return 'raw'


def _zip_member(archive, path):
    members = [info for info in archive.infolist()
               if not info.is_dir() and info.filename.lower().endswith('.img')
               and not info.filename.startswith('__MACOSX/')]
    if len(members) != 1:
        names = ', '.join(info.filename for info in members) or 'none'
        raise SourceError('%s must hold exactly one .img file, found %d (%s)' % (path, len(members), names))
    return members[0]


def _varint(data, pos):
    """xz multibyte integer at data[pos]; returns (value, new_pos)."""
    value = 0
    for shift in range(0, 63, 7):
        if pos >= len(data):
            raise ValueError('truncated integer')
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7f) << shift
        if not byte & 0x80:
            return value, pos
    raise ValueError('integer too long')


def _xz_uncompressed_size(path):
    """Sum of the uncompressed sizes recorded in every stream index of an .xz file (None if unsure).

    Every read is bounded: stream padding of more than MAX_XZ_PADDING bytes or an index larger
    than MAX_XZ_INDEX makes the size unknown (the caller then counts it by decompressing)."""
    total = 0
    with open(path, 'rb') as handle:
        end = handle.seek(0, os.SEEK_END)
        for dummy in range(4096):  # bound: streams per file
            # skip stream padding (multiples of 4 zero bytes), read as one block
            tail_size = min(end, MAX_XZ_PADDING + 12)
            handle.seek(end - tail_size)
            tail = handle.read(tail_size)
            padding = (len(tail) - len(tail.rstrip(b'\0'))) // 4 * 4
            if padding > MAX_XZ_PADDING:
                return None
            end -= padding
            if end < 24:
                return None
            handle.seek(end - 12)
            footer = handle.read(12)
            if footer[10:12] != b'YZ':
                return None
            backward_size = (struct.unpack('<I', footer[4:8])[0] + 1) * 4
            index_start = end - 12 - backward_size
            if index_start < 12 or backward_size > MAX_XZ_INDEX:
                return None
            handle.seek(index_start)
            index = handle.read(backward_size)
            if not index or index[0] != 0:
                return None
            count, pos = _varint(index, 1)
            compressed = 0
            for dummy_record in range(count):
                unpadded, pos = _varint(index, pos)
                size, pos = _varint(index, pos)
                compressed += (unpadded + 3) // 4 * 4
                total += size
            stream_start = index_start - compressed - 12
            if stream_start < 0:
                return None
            if stream_start == 0:
                return total
            end = stream_start
    return None


def raw_size(path):
    """Uncompressed size in bytes when cheaply known, else None."""
    fmt = detect_format(path)
    try:
        if fmt == 'raw':
            return os.path.getsize(path)
        if fmt == 'zip':
            with zipfile.ZipFile(path) as archive:
                return _zip_member(archive, path).file_size
        if fmt == 'xz':
            return _xz_uncompressed_size(path)
    except (ValueError, zipfile.BadZipFile, struct.error):
        return None
    except (IOError, OSError) as exc:
        raise SourceError('cannot read %s: %s' % (path, exc))
    return None


class _GuardedReader(object):
    """Turns every decompression failure raised by read() into SourceError."""

    ERRORS = (lzma.LZMAError, zlib.error, EOFError, zipfile.BadZipFile, gzip.BadGzipFile, ValueError)

    def __init__(self, inner, path, fmt):
        self._inner = inner
        self._path = path
        self._fmt = fmt
        self.bytes_read = 0

    def read(self, size=-1):
        try:
            data = self._inner.read(size)
        except SourceError:
            raise
        except self.ERRORS + ((zstandard.ZstdError,) if HAS_ZSTANDARD else ()) as exc:
            raise SourceError('%s is truncated or corrupt: %s' % (self._path, exc or type(exc).__name__))
        except (IOError, OSError) as exc:
            raise SourceError('%s is truncated or corrupt: %s' % (self._path, exc))
        self.bytes_read += len(data)
        return data


class _PipeReader(object):
    """stdout of a decompressor subprocess; read() raises SourceError when it exits non-zero."""

    def __init__(self, argv, path):
        self._path = path
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=self._stderr, bufsize=DEFAULT_BLOCK)

    def read(self, size=-1):
        data = self._proc.stdout.read(size)
        if data or size == 0:
            return data
        if self._proc.wait() != 0:
            self._stderr.seek(0)
            message = self._stderr.read().decode('utf-8', 'replace').strip().splitlines()
            raise SourceError('%s is truncated or corrupt: %s' % (self._path, message[-1] if message else
                                                                  'exit code %d' % self._proc.returncode))
        return data

    def close(self):
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.stdout.close()
        self._proc.wait()
        self._stderr.close()


def _check_zip_integrity(path):
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise SourceError('%s is truncated or corrupt: %s' % (path, exc))


@contextlib.contextmanager
def open_image(path, prefer_subprocess=None):
    """Yield a binary reader whose read(n) streams the raw image bytes of path.

    prefer_subprocess: None (default) uses lzma for xz and the zstandard binding for zst (the
    zstd binary when the binding is missing); True prefers the xz/zstd binaries; False forces the
    in-process decompressors.
    """
    fmt = detect_format(path)
    with contextlib.ExitStack() as stack:
        if fmt == 'raw':
            inner = stack.enter_context(open(path, 'rb'))
        elif fmt == 'gz':
            inner = stack.enter_context(gzip.open(path, 'rb'))
        elif fmt == 'xz':
            xz_bin = shutil.which('xz') if prefer_subprocess is True else None
            if xz_bin:
                inner = _PipeReader([xz_bin, '-dc', '--', path], path)
                stack.callback(inner.close)
            else:
                inner = stack.enter_context(lzma.open(path, 'rb'))
        elif fmt == 'zip':
            archive = stack.enter_context(_check_zip_integrity(path))
            member = _zip_member(archive, path)
            try:
                inner = stack.enter_context(archive.open(member))
            except (zipfile.BadZipFile, zlib.error, NotImplementedError) as exc:
                raise SourceError('%s is truncated or corrupt: %s' % (path, exc))
        else:  # zst
            zstd_bin = shutil.which('zstd') if prefer_subprocess is not False or not HAS_ZSTANDARD else None
            if HAS_ZSTANDARD and not (prefer_subprocess is True and zstd_bin):
                raw = stack.enter_context(open(path, 'rb'))
                inner = stack.enter_context(
                    zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True,
                                                               read_size=DEFAULT_BLOCK))
                inner = _ZstdEndCheck(inner, raw, path)
            elif zstd_bin:
                inner = _PipeReader([zstd_bin, '-dcq', '--', path], path)
                stack.callback(inner.close)
            else:
                raise SourceError('%s is zstd-compressed, but neither the zstandard Python package nor the '
                                  'zstd binary is installed on the controller' % path)
        yield _GuardedReader(inner, path, fmt)


class _ZstdEndCheck(object):
    """zstandard's stream reader stops quietly at a truncated frame; catch that case."""

    def __init__(self, inner, raw, path):
        self._inner = inner
        self._raw = raw
        self._path = path

    def read(self, size=-1):
        data = self._inner.read(size)
        if not data and size != 0:
            # A complete stream leaves the decompressor at a frame boundary with all input consumed.
            position = self._raw.tell()
            end = os.fstat(self._raw.fileno()).st_size
            if position != end or not _zstd_frames_complete(self._path):
                raise SourceError('%s is truncated or corrupt: the zstd stream ends inside a frame' % self._path)
        return data


def _zstd_frames_complete(path):
    """Walk the zstd frame headers/blocks of path and say whether the last frame is complete."""
    with open(path, 'rb') as handle:
        end = handle.seek(0, os.SEEK_END)
        pos = 0
        for dummy in range(1 << 20):  # bound: frames per file
            if pos == end:
                return True
            handle.seek(pos)
            magic = handle.read(4)
            if len(magic) < 4:
                return False
            number = struct.unpack('<I', magic)[0]
            if 0x184D2A50 <= number <= 0x184D2A5F:  # skippable frame
                size = handle.read(4)
                if len(size) < 4:
                    return False
                pos += 8 + struct.unpack('<I', size)[0]
                continue
            if magic != ZST_MAGIC:
                return False
            descriptor = handle.read(1)
            if not descriptor:
                return False
            flags = descriptor[0]
            fcs_flag = flags >> 6
            single_segment = (flags >> 5) & 1
            checksum_flag = (flags >> 2) & 1
            dict_id_size = (0, 1, 2, 4)[flags & 3]
            fcs_size = (1 if single_segment else 0, 2, 4, 8)[fcs_flag]
            pos += 5 + (0 if single_segment else 1) + dict_id_size + fcs_size
            for dummy_block in range(1 << 24):  # bound: blocks per frame
                handle.seek(pos)
                header = handle.read(3)
                if len(header) < 3:
                    return False
                value = header[0] | header[1] << 8 | header[2] << 16
                last, block_type, block_size = value & 1, (value >> 1) & 3, value >> 3
                pos += 3 + (1 if block_type == 1 else block_size)
                if pos > end:
                    return False
                if last:
                    break
            pos += 4 if checksum_flag else 0
            if pos > end:
                return False
    return False


def _zero_block(size):
    block = _ZERO_BLOCKS.get(size)
    if block is None:
        block = _ZERO_BLOCKS[size] = bytes(size)
    return block


def copy_sparse(reader, dest_path, block_size=COPY_BLOCK, digest=None):
    """Stream reader into dest_path, seeking over all-zero blocks; returns the bytes written.

    The data goes to a temporary file beside dest_path that replaces it only once the whole stream
    was read without error, so a failed copy leaves dest_path absent or untouched. The file is then
    truncated to the full size, so trailing zero blocks stay holes. ``digest`` (a hashlib object),
    when given, is updated with every byte of the stream.
    """
    directory = os.path.dirname(os.path.abspath(dest_path))
    handle, tmp_path = tempfile.mkstemp(prefix='.%s.' % os.path.basename(dest_path), suffix='.part',
                                        dir=directory)
    total = 0
    try:
        with os.fdopen(handle, 'wb') as out:
            pending_seek = False
            while True:
                block = reader.read(block_size)
                if not block:
                    break
                if digest is not None:
                    digest.update(block)
                if block == _zero_block(len(block)):
                    pending_seek = True
                else:
                    if pending_seek:
                        out.seek(total)
                        pending_seek = False
                    out.write(block)
                total += len(block)
            out.truncate(total)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_path, dest_path)
    except BaseException:
        try:
            os.unlink(tmp_path)
        except OSError:
            pass
        raise
    return total


def decompress_to(path, dest_path, block_size=COPY_BLOCK, digest=None):
    """Stream the raw image of path (any supported format) into dest_path, sparse; returns its size."""
    with open_image(path) as reader:
        return copy_sparse(reader, dest_path, block_size=block_size, digest=digest)
