# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pi_flash sequence: check the target, check the source, compare, write, verify, eject.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Every refusal happens before the first byte is written and leaves the target untouched. Once
writing has started, a failure says how many bytes reached the target and that the card is not
bootable.

The target is checked once at the start, then opened again for the comparison, the write and the
read-back, after a checksum and a decompression that can take minutes. Each of those opens checks
that the target is still what was checked (writer.Target: the device number and size of a device,
the inode of a file), and the comparison and the write also repeat the full safety verdict of
device.check on freshly read facts (:func:`recheck_target`): a card swapped for another disk, a
partition mounted meanwhile or a vanished device node are refused with nothing written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import plistlib
import stat
import sys
import time

from ansible_collections.picocloud.edge.plugins.module_utils.flash import device as device_utils
from ansible_collections.picocloud.edge.plugins.module_utils.flash import writer
from ansible_collections.picocloud.edge.plugins.module_utils.flash.progress import Progress, mb_per_s
from ansible_collections.picocloud.edge.plugins.module_utils.image import source

NOT_BOOTABLE = 'the card is NOT bootable: flash it again'


class FlashFailed(Exception):
    """A refusal or failure; ``result`` holds the return values gathered so far."""

    def __init__(self, message, result):
        super(FlashFailed, self).__init__(message)
        self.result = result


def file_target_facts(path, src):
    """Facts for a regular-file target (tests and image pipelines): no device checks apply."""
    parent = os.path.dirname(os.path.abspath(path)) or '/'
    if not os.path.isdir(parent):
        raise device_utils.DeviceError('cannot write to %s: directory %s does not exist' % (path, parent))
    if os.path.exists(path) and os.path.exists(src) and os.path.samefile(path, src):
        raise device_utils.DeviceError('refusing to write to %s: it is the source image itself' % path)
    return {'path': path, 'name': None, 'partition_of': None,
            'size': os.path.getsize(path) if os.path.exists(path) else None,
            'removable': None, 'removable_flag': False, 'bus': None, 'type': 'file', 'model': None,
            'vendor': None, 'read_only': False, 'system_reasons': [], 'uses': [], 'backing_file': None}


def darwin_live_facts(path, run_command):
    """diskutil/mount based facts on macOS (see device.darwin_facts)."""
    def plist(target):
        rc, out, err = run_command(['diskutil', 'info', '-plist', target])
        if rc != 0:
            raise device_utils.DeviceError('diskutil info %s failed: %s' % (target, (err or out).strip()))
        return plistlib.loads(out.encode('utf-8') if not isinstance(out, bytes) else out)

    system_infos = {}
    for mountpoint in ('/', '/System/Volumes/Data'):
        if os.path.isdir(mountpoint):
            system_infos[mountpoint] = plist(mountpoint)
    dummy, mount_text, dummy_err = run_command(['mount'])
    return device_utils.darwin_facts(path, plist(path), system_infos, mount_text)


def target_facts(path, src, platform=None, layout=None, run_command=None):
    """Facts for the target path; DeviceError when it is neither a block device nor a regular file."""
    platform = platform or sys.platform
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is None or stat.S_ISREG(mode):
        if mode is None and path.startswith('/dev/'):
            raise device_utils.DeviceError('%s does not exist: is the card inserted? (a regular file under '
                                           '/dev is never created)' % path)
        return file_target_facts(path, src)
    if stat.S_ISBLK(mode) or (platform == 'darwin' and stat.S_ISCHR(mode)):
        if platform == 'darwin':
            return darwin_live_facts(path, run_command)
        return device_utils.linux_facts(path, layout or device_utils.SysBlock('/'))
    raise device_utils.DeviceError('%s is neither a block device nor a regular file' % path)


@contextlib.contextmanager
def open_source(src):
    """Raw images are read straight from the file (readinto, no copies); anything else through
    source.open_image, which decompresses and reports truncation."""
    if source.detect_format(src) == 'raw':
        with open(src, 'rb', buffering=0) as handle:
            yield handle
    else:
        with source.open_image(src) as reader:
            yield reader


def image_size(src, progress):
    """Raw image size: from the container when cheap, else by decompressing once (which also finds
    a truncated download before anything is written)."""
    size = source.raw_size(src)
    if size is not None:
        return size
    progress.note('scan %s: counting the uncompressed size' % src)
    total = 0
    with source.open_image(src) as reader:
        for dummy in range(1 << 40):  # bound: one turn per block
            block = reader.read(writer.DEFAULT_BLOCK_SIZE)
            if not block:
                break
            total += len(block)
    return total


def eject_target(facts, platform, run_command):
    """Eject a card; returns a warning text or None."""
    if facts['type'] in ('file', 'loop'):
        return 'eject skipped: %s is a %s, not a card' % (facts['path'], 'regular file' if facts['type'] == 'file'
                                                          else 'loop device')
    argv = ['diskutil', 'eject', facts['path']] if platform == 'darwin' else ['eject', facts['path']]
    rc, out, err = run_command(argv)
    if rc != 0:
        return 'eject of %s failed (%s); the data is flushed, so the card can be removed' % (
            facts['path'], (err or out or 'rc=%d' % rc).strip())
    return None


def recheck_target(path, src, facts, force, image_size, platform=None, layout=None, run_command=None):
    """Read the target's facts again and apply the same checks; writer.TargetChanged when the verdict changed."""
    prefix = 'refusing to write to %s: ' % path
    try:
        fresh = target_facts(path, src, platform, layout, run_command)
        if (fresh['name'], fresh['size']) != (facts['name'], facts['size']):
            raise device_utils.DeviceError('%sit is no longer the disk that was checked (%s, %s bytes; now %s, %s bytes)'
                                           % (prefix, facts['name'], facts['size'], fresh['name'], fresh['size']))
        if fresh['type'] != 'file':
            device_utils.check(fresh, force=force, image_size=image_size)
    except device_utils.DeviceError as exc:
        message = str(exc)
        raise writer.TargetChanged('re-checked when it was opened: %s'
                                   % (message[len(prefix):] if message.startswith(prefix) else message))


def flash(params, check_mode=False, platform=None, layout=None, run_command=None, warn=None):
    """Run the whole sequence; returns the module result or raises FlashFailed."""
    platform = platform or sys.platform
    src, path = params['src'], params['device']
    block_size = writer.normalise_block_size(params.get('block_size') or writer.DEFAULT_BLOCK_SIZE)
    progress = Progress(params.get('progress_file'))
    started = time.monotonic()
    result = {'changed': False, 'bytes_written': 0, 'seconds': 0.0, 'mb_per_s': 0.0, 'verified': False,
              'skipped': False, 'device': None, 'image_size': None, 'sha256': None}

    def fail(message):
        progress.note('FAILED: %s' % message)
        result['seconds'] = round(time.monotonic() - started, 3)
        raise FlashFailed(message, result)

    progress.note('check %s -> %s' % (src, path))
    force = params.get('force', False)
    try:
        facts = target_facts(path, src, platform, layout, run_command)
        expect = writer.identity_of(path, facts['size'])
        result['device'] = device_utils.public_facts(facts)
        if facts['type'] != 'file':
            device_utils.check(facts, force=force)
    except device_utils.DeviceError as exc:
        fail(str(exc))
    if not os.path.isfile(src):
        fail('src %s does not exist or is not a file; nothing was written to %s' % (src, path))
    try:
        if params.get('checksum'):
            progress.note('checksum %s' % src)
            source.verify_checksum(src, params['checksum'])
        size = image_size(src, progress)
    except source.SourceError as exc:
        fail('%s; nothing was written to %s' % (exc, path))
    result['image_size'] = size
    if facts['type'] != 'file':
        try:
            device_utils.check(facts, force=force, image_size=size)
        except device_utils.DeviceError as exc:
            fail(str(exc))

    def recheck_device():
        recheck_target(path, src, facts, force, size, platform, layout, run_command)
    # a regular file's safety is its identity alone (checked by writer.Target)
    recheck = recheck_device if facts['type'] != 'file' else None

    def changed(exc):
        fail('refusing to write to %s: %s; nothing was written to it' % (path, exc))

    fits = facts['size'] is not None and facts['size'] >= size
    if params.get('skip_identical', True) and fits:
        try:
            with open_source(src) as reader:
                same = writer.same_content(reader, path, size, block_size, progress, expect=expect, recheck=recheck)
        except source.SourceError as exc:
            fail('%s; nothing was written to %s' % (exc, path))
        except writer.TargetChanged as exc:
            changed(exc)
        except writer.FlashError as exc:
            fail(str(exc))
        if same:
            progress.note('identical: %s already holds this image; nothing to do' % path)
            result.update(skipped=True, verified=True, seconds=round(time.monotonic() - started, 3))
            return result
    if check_mode:
        result.update(changed=True, seconds=round(time.monotonic() - started, 3))
        return result

    try:
        with open_source(src) as reader:
            written = writer.write_image(reader, path, block_size, progress, total=size, expect=expect, recheck=recheck)
    except writer.TargetChanged as exc:
        changed(exc)
    except writer.FlashError as exc:
        result.update(changed=exc.bytes_written > 0, bytes_written=exc.bytes_written)
        cause = exc.cause if exc.cause is not None else exc
        if isinstance(cause, source.SourceError):
            fail('%s; wrote %d of %d bytes to %s before the error: %s'
                 % (cause, exc.bytes_written, size, path, NOT_BOOTABLE))
        fail('writing %s failed after %d of %d bytes (%s): %s'
             % (path, exc.bytes_written, size, cause, NOT_BOOTABLE))
    except source.SourceError as exc:
        fail('%s; nothing was written to %s' % (exc, path))
    result.update(changed=True, bytes_written=written['bytes_written'], sha256=written['sha256'],
                  mb_per_s=mb_per_s(written['bytes_written'], written['seconds']))
    if written['bytes_written'] != size:
        fail('%s ended after %d bytes, but the image is %d bytes long: %s'
             % (src, written['bytes_written'], size, NOT_BOOTABLE))

    if params.get('verify', True):
        # the same device or file as written; the safety verdict is not repeated, because the desktop
        # may well mount the freshly written card's partitions by now
        try:
            actual = writer.read_digest(path, written['bytes_written'], block_size, progress,
                                        expect=written['identity'])
        except (writer.FlashError, IOError, OSError) as exc:
            fail('verifying %s failed: %s: %s' % (path, exc, NOT_BOOTABLE))
        if actual != written['sha256']:
            fail('verification failed: %s does not hold what was written (sha256 written %s, read back %s); the '
                 'card or the reader may be faulty: %s' % (path, written['sha256'], actual, NOT_BOOTABLE))
        result['verified'] = True

    if params.get('eject'):
        message = eject_target(facts, platform, run_command)
        if message and warn:
            warn(message)
    result['seconds'] = round(time.monotonic() - started, 3)
    progress.note('done: %d bytes to %s at %.1f MB/s, verified=%s'
                  % (result['bytes_written'], path, result['mb_per_s'], result['verified']))
    return result
