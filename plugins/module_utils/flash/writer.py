# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Streamed image writes for pi_flash: write while hashing, flush, verify from the medium, compare.

Private to the picocloud.edge collection: no compatibility promise to other collections.

- :func:`write_image` streams a reader (``read(n)`` of raw image bytes) onto the target. A reader
  thread fills the next block while the current one is hashed (sha256, in a second thread; hashlib
  drops the GIL) and written, so the image is read once. Writes use ``O_DIRECT`` when the target
  accepts it (page-aligned buffers, aligned lengths; only a final partial block goes through the page
  cache) and end with ``fsync``, which also flushes the device's own cache.
- :func:`read_digest` reads the written range back with ``O_DIRECT`` (falling back to
  ``posix_fadvise(DONTNEED)`` plus ``BLKFLSBUF`` where O_DIRECT is refused), so verification proves
  the medium, not RAM.
- :func:`same_content` compares the image with what the target holds, block by block, and stops at
  the first difference (``skip_identical``).

Every open of the target is checked against what was checked before (``expect``, see
:func:`identity_of`), because minutes of checksum and decompression can pass in between:

- a device (block, or a macOS raw character device) is never created: it is opened without
  ``O_CREAT``, so a vanished ``/dev`` node is an error, not a new regular file; the open file must
  still be a device with the same ``st_rdev`` and (a block device) the same size (``lseek`` to its
  end), and the caller's ``recheck`` (the same safety verdict as the first check) must pass;
- a regular file that existed must still be the same file (``st_dev``, ``st_ino``); one that did
  not is created with ``O_CREAT | O_EXCL`` and mode 0600, so one that appeared meanwhile is refused.
Any difference raises :class:`TargetChanged` before a byte is read or written.

Block devices are opened with ``O_EXCL``: the kernel then refuses the open while anything mounts or
claims the disk or one of its partitions, a last guard behind the checks in ``device.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import hashlib
import mmap
import os
import stat
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

# 4 MiB measured best on this project's loop-backed target (see benchmarks/bench_pi_flash.py).
DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024
ALIGN = 4096
BLKFLSBUF = 0x1261  # <linux/fs.h> _IO(0x12, 97)
O_DIRECT = getattr(os, 'O_DIRECT', 0)

NEW_FILE_MODE = 0o600


class FlashError(Exception):
    """A failed write, read or verification; carries how many bytes reached the target."""

    def __init__(self, message, bytes_written=0, cause=None):
        super(FlashError, self).__init__(message)
        self.bytes_written = bytes_written
        self.cause = cause


class TargetChanged(FlashError):
    """The target is not what was checked (any more); str() says what changed. Nothing was read or written."""


def identity_of(path, size=None):
    """What a target is, for Target(expect=...): from os.stat(path) now, with the device's size in bytes.

    {'kind': 'device', 'rdev': st_rdev, 'size': size} for a block (or character) device;
    {'kind': 'file', 'exists': True, 'dev_ino': (st_dev, st_ino)} for a regular file;
    {'kind': 'file', 'exists': False, 'dev_ino': None} when nothing is there.
    """
    try:
        info = os.stat(path)
    except OSError:
        return {'kind': 'file', 'exists': False, 'dev_ino': None}
    if stat.S_ISBLK(info.st_mode) or stat.S_ISCHR(info.st_mode):
        return {'kind': 'device', 'rdev': info.st_rdev, 'size': size}
    return {'kind': 'file', 'exists': True, 'dev_ino': (info.st_dev, info.st_ino)}


def _devnum(rdev):
    return '%d:%d' % (os.major(rdev), os.minor(rdev))


def round_up(value, multiple):
    return (value + multiple - 1) // multiple * multiple


def normalise_block_size(block_size):
    """Block size rounded up to a multiple of the O_DIRECT alignment (4 KiB), at least 64 KiB."""
    return round_up(max(int(block_size or DEFAULT_BLOCK_SIZE), 64 * 1024), ALIGN)


def aligned_buffer(size):
    """An anonymous mmap: page-aligned, as O_DIRECT needs."""
    return mmap.mmap(-1, round_up(size, ALIGN))


def is_block_device(path):
    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError:
        return False


def read_full(reader, size):
    """Up to size bytes from reader; shorter only at the end of the stream."""
    data = reader.read(size)
    if len(data) == size or not data:
        return data
    parts, got = [data], len(data)
    for dummy in range(size):  # bound: each turn adds at least one byte
        more = reader.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
        if got >= size:
            break
    return b''.join(parts)


def fill_into(reader, view):
    """Fill view from reader (readinto when the reader has it, else read and copy); returns the count,
    shorter than len(view) only at the end of the stream."""
    size = len(view)
    if not hasattr(reader, 'readinto'):
        data = read_full(reader, size)
        view[:len(data)] = data
        return len(data)
    got = 0
    for dummy in range(size + 1):  # bound: each turn adds at least one byte
        if got >= size:
            break
        count = reader.readinto(view[got:])
        if not count:
            break
        got += count
    return got


class Target(object):
    """An open target: a block device (O_EXCL) or a regular file, with O_DIRECT when possible.

    expect: the identity the target had when it was checked (identity_of), or None to take the
    path as it is now. recheck: a callable run once the target is open and matches expect; it
    raises TargetChanged when the target may no longer be used (the caller's safety verdict).
    """

    def __init__(self, path, write, expect=None, recheck=None):
        self.path = path
        self.expect = expect if expect is not None else identity_of(path)
        self.block = self.expect['kind'] == 'device' and is_block_device(path)
        flags = os.O_WRONLY if write else os.O_RDONLY
        if self.expect['kind'] == 'device':
            if self.block and sys.platform.startswith('linux'):
                flags |= os.O_EXCL
        elif write and not self.expect['exists']:
            flags |= os.O_CREAT | os.O_EXCL
        self.fd = self._open(flags)
        try:
            self._check_identity()
            if recheck is not None:
                recheck()
            self.direct = self._try_direct()
        except BaseException:
            self.close()
            raise

    def _open(self, flags):
        try:
            return os.open(self.path, flags, NEW_FILE_MODE)
        except OSError as exc:
            if exc.errno == errno.EBUSY:
                raise FlashError('refusing to write to %s: the kernel reports it busy (mounted or claimed '
                                 'by another program)' % self.path)
            if exc.errno == errno.ENOENT and self.expect['kind'] == 'device':
                raise TargetChanged('it has disappeared since it was checked: is the card still inserted?')
            if exc.errno == errno.ENOENT and self.expect['exists']:
                raise TargetChanged('it has disappeared since it was checked')
            if exc.errno == errno.EEXIST:
                raise TargetChanged('a file appeared at this path after it was checked')
            raise

    def _check_identity(self):
        info = os.fstat(self.fd)
        expect = self.expect
        if expect['kind'] == 'device':
            if not (stat.S_ISBLK(info.st_mode) or stat.S_ISCHR(info.st_mode)):
                raise TargetChanged('it is no longer a device node (it was replaced since it was checked)')
            if info.st_rdev != expect['rdev']:
                raise TargetChanged('it is no longer the device that was checked (device %s, now %s)'
                                    % (_devnum(expect['rdev']), _devnum(info.st_rdev)))
            if expect.get('size') is not None and stat.S_ISBLK(info.st_mode):  # a macOS raw device has no lseek size
                size = os.lseek(self.fd, 0, os.SEEK_END)
                os.lseek(self.fd, 0, os.SEEK_SET)
                if size != expect['size']:
                    raise TargetChanged('its size changed since it was checked (%d bytes, now %d): another card?'
                                        % (expect['size'], size))
        else:
            if not stat.S_ISREG(info.st_mode):
                raise TargetChanged('it is no longer a regular file')
            if expect['exists'] and (info.st_dev, info.st_ino) != tuple(expect['dev_ino']):
                raise TargetChanged('it was replaced by another file since it was checked')

    def identity(self):
        """The identity of the open target (for the next open of the same target)."""
        info = os.fstat(self.fd)
        if self.expect['kind'] == 'device':
            return dict(self.expect)
        return {'kind': 'file', 'exists': True, 'dev_ino': (info.st_dev, info.st_ino)}

    def _try_direct(self):
        """Turn on O_DIRECT on the open descriptor; False where the file system refuses it (tmpfs)."""
        if not O_DIRECT:
            return False
        try:
            fcntl.fcntl(self.fd, fcntl.F_SETFL, fcntl.fcntl(self.fd, fcntl.F_GETFL) | O_DIRECT)
        except (IOError, OSError):
            return False
        return True

    def drop_direct(self):
        """Leave O_DIRECT for a final unaligned block."""
        if self.direct:
            fcntl.fcntl(self.fd, fcntl.F_SETFL, fcntl.fcntl(self.fd, fcntl.F_GETFL) & ~O_DIRECT)
            self.direct = False

    def drop_cache(self):
        """Make a buffered reader go to the medium: flush and drop this file's cached pages."""
        if hasattr(os, 'posix_fadvise'):
            os.posix_fadvise(self.fd, 0, 0, os.POSIX_FADV_DONTNEED)
        if self.block:
            try:
                fcntl.ioctl(self.fd, BLKFLSBUF)
            except (IOError, OSError):
                pass

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _write_all(target, view):
    """Write view fully at the current offset; an unaligned tail leaves O_DIRECT first."""
    length = len(view)
    aligned = length - length % ALIGN if target.direct else length
    done = 0
    for dummy in range(length + 1):  # bound: each turn writes at least one byte
        if done >= length:
            break
        if done >= aligned:
            target.drop_direct()
            aligned = length
        done += os.write(target.fd, view[done:aligned])
    return done


def write_image(reader, target_path, block_size=DEFAULT_BLOCK_SIZE, progress=None, total=None, expect=None,
                recheck=None):
    """Stream reader onto target_path; returns {'bytes_written', 'sha256', 'seconds', 'identity'}.

    expect and recheck are checked when the target is opened (see Target); 'identity' is what was
    written, for the read-back. Any error from the reader (a truncated or corrupt source) or the
    target becomes FlashError with ``bytes_written`` set to what reached the target.
    """
    block_size = normalise_block_size(block_size)
    buffers = [aligned_buffer(block_size), aligned_buffer(block_size)]
    digest = hashlib.sha256()
    written = 0
    started = time.monotonic()
    if progress is not None:
        progress.start('write', total)

    def fill(buffer):
        view = memoryview(buffer)
        try:
            return fill_into(reader, view)
        finally:
            view.release()

    try:
        with Target(target_path, write=True, expect=expect, recheck=recheck) as target:
            identity = target.identity()
            with ThreadPoolExecutor(1) as read_pool, ThreadPoolExecutor(1) as hash_pool:
                try:
                    count = fill(buffers[0])
                    for turn in range(1 << 40):  # bound: one turn per block
                        if not count:
                            break
                        current = memoryview(buffers[turn % 2])[:count]
                        next_read = read_pool.submit(fill, buffers[(turn + 1) % 2])
                        hashed = hash_pool.submit(digest.update, current)
                        written += _write_all(target, current)
                        hashed.result()
                        current.release()
                        if progress is not None:
                            progress.update(written)
                        count = next_read.result()
                except FlashError:
                    raise
                except Exception as exc:  # the reader's own errors (SourceError, I/O) keep their type in cause
                    raise FlashError(str(exc), written, cause=exc)
            os.fsync(target.fd)
    except FlashError as exc:
        exc.bytes_written = max(exc.bytes_written, written)
        raise
    except (IOError, OSError) as exc:
        raise FlashError('writing %s failed after %d bytes: %s' % (target_path, written, exc), written)
    if progress is not None:
        progress.finish(written)
    return {'bytes_written': written, 'sha256': digest.hexdigest(), 'seconds': time.monotonic() - started,
            'identity': identity}


def _reads(target, size, block_size):
    """(offset, length) of each read of the first size bytes."""
    offset = 0
    for dummy in range(size // block_size + 2):
        if offset >= size:
            return
        length = min(block_size, size - offset)
        yield offset, length
        offset += length


def _pread_exact(target, buffer, offset, length):
    """Read length bytes at offset into buffer (aligned request when O_DIRECT); returns a view."""
    request = round_up(length, ALIGN) if target.direct else length
    view = memoryview(buffer)[:request]
    got = 0
    for dummy in range(request + 1):  # bound: each turn reads at least one byte
        if got >= length:
            break
        count = os.preadv(target.fd, [view[got:]], offset + got)
        if not count:
            raise FlashError('%s ended after %d bytes; expected at least %d'
                             % (target.path, offset + got, offset + length))
        got += count
    view.release()
    return memoryview(buffer)[:length]


@contextmanager
def _reading(target_path, size, block_size, progress, phase, expect=None, recheck=None):
    """Open target_path to read its first size bytes around the page cache, and start progress.

    Yields (target, reads, buffers, block_size): the (offset, length) reads and two aligned buffers
    of the normalised block size, so one read can fill a buffer while the other is being used.
    """
    block_size = normalise_block_size(block_size)
    if progress is not None:
        progress.start(phase, size)
    with Target(target_path, write=False, expect=expect, recheck=recheck) as target:
        if not target.direct:
            target.drop_cache()
        buffers = [aligned_buffer(block_size), aligned_buffer(block_size)]
        yield target, list(_reads(target, size, block_size)), buffers, block_size


def read_digest(target_path, size, block_size=DEFAULT_BLOCK_SIZE, progress=None, expect=None, recheck=None):
    """sha256 hex of the first size bytes of target_path, read around the page cache."""
    digest = hashlib.sha256()
    done = 0
    with _reading(target_path, size, block_size, progress, 'verify', expect, recheck) as (target, reads, buffers, dummy):
        with ThreadPoolExecutor(1) as read_pool:
            pending = read_pool.submit(_pread_exact, target, buffers[0], *reads[0]) if reads else None
            for index in range(len(reads)):
                view = pending.result()
                if index + 1 < len(reads):
                    pending = read_pool.submit(_pread_exact, target, buffers[(index + 1) % 2], *reads[index + 1])
                digest.update(view)
                done += len(view)
                view.release()
                if progress is not None:
                    progress.update(done)
    if progress is not None:
        progress.finish(done)
    return digest.hexdigest()


def same_content(reader, target_path, size, block_size=DEFAULT_BLOCK_SIZE, progress=None, expect=None, recheck=None):
    """True when reader's stream (size bytes long) equals the target's first size bytes.

    Reads the image and the target side by side and stops at the first block that differs, so a
    card that holds another image costs one block. Errors from the reader propagate.
    """
    done = 0
    opened = _reading(target_path, size, block_size, progress, 'compare', expect, recheck)
    with opened as (target, reads, buffers, block_size):
        image_buffers = [bytearray(block_size), bytearray(block_size)]
        with ThreadPoolExecutor(2) as pool:

            def read_image(index, length):
                view = memoryview(image_buffers[index % 2])[:length]
                try:
                    return fill_into(reader, view)
                finally:
                    view.release()

            def submit(index):
                offset, length = reads[index]
                return (pool.submit(read_image, index, length),
                        pool.submit(_pread_exact, target, buffers[index % 2], offset, length))

            pending = submit(0) if reads else (None, None)
            for index in range(len(reads)):
                image_future, target_future = pending
                count = image_future.result()
                try:
                    target_view = target_future.result()
                except FlashError:
                    return False  # the target is shorter than the image
                length = len(target_view)
                if count != length:
                    target_view.release()
                    return False  # the image ended early
                if index + 1 < len(reads):
                    pending = submit(index + 1)  # other buffers: overlaps the next reads with this compare
                image_block = image_buffers[index % 2]
                if length < len(image_block):
                    image_block = image_block[:length]
                # bytearray == buffer is one memcmp (memoryview == memoryview is element-wise and slow)
                equal = image_block == target_view
                target_view.release()
                if not equal:
                    return False  # leaving the pool waits for the reads still under way
                done += length
                if progress is not None:
                    progress.update(done)
        if read_full(reader, 1):
            return False  # the image is longer than size
    if progress is not None:
        progress.finish(done)
    return True
