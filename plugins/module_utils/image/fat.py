# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot partition of a card image, read and written in place through pyfatfs.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Names are looked up case-insensitively: pyfatfs lists 8.3 names upper-case (CMDLINE.TXT) even
when the entry carries the lower-case flag, and the firmware does not care about case either.

Replacing a file is ordered so that an interruption leaves either the old or the new content:
1. the new content goes to freshly allocated clusters, and the FAT copies that mark them used
   are written and fsync'ed;
2. the file's 32-byte directory entry (one sector write) is switched to the new cluster chain
   and size, and fsync'ed;
3. only then is the old chain freed in the FAT.
An interruption after step 1 or 2 leaves a few allocated clusters that no file owns ("lost
clusters"), which ``fsck.vfat -a`` reclaims; no file is ever cross-linked, truncated or mixed.
A new file's directory entry (with its long-name entries) is written in one directory write
after its data, so it appears with its full content or not at all. All files of one run share
these steps, so a run costs a handful of fsyncs whatever the number of files. The FAT "dirty" bit is set
while the partition is open for writing and cleared when it is closed, so an interrupted run is
visible to fsck and to the kernel.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import struct
import warnings

try:
    from pyfatfs.DosDateTime import DosDateTime
    from pyfatfs.EightDotThree import EightDotThree
    from pyfatfs.FATDirectoryEntry import FATDirectoryEntry, make_lfn_entry
    from pyfatfs.PyFatFS import PyFatBytesIOFS
    from pyfatfs._exceptions import PyFATException
    HAS_PYFATFS = True
except ImportError:
    HAS_PYFATFS = False

    class PyFATException(Exception):
        """Stand-in so except clauses work when pyfatfs is missing."""

MAX_DEPTH = 16
DIRECTORY_ATTR = 0x10


class FatError(Exception):
    """The boot partition cannot be read or written."""


def _name_of(entry):
    return entry.get_entry_name() if hasattr(entry, 'get_entry_name') else str(entry)


class BootFS(object):
    """A FAT file system at ``offset`` inside an image file."""

    def __init__(self, image_path, offset, writable=False, hooks=None):
        if not HAS_PYFATFS:
            raise FatError('the pyfatfs Python package is required to read the boot partition')
        self._hooks = hooks or {}
        self._offset = offset
        self._handle = open(image_path, 'r+b' if writable else 'rb', buffering=0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                self._fs = PyFatBytesIOFS(self._handle, offset=offset, utc=True)
        except (PyFATException, ValueError, IndexError, OSError) as exc:
            self._handle.close()
            raise FatError('cannot read the FAT boot partition at byte %d: %s' % (offset, exc))
        self.pyfat = self._fs.fs
        self.writable = writable

    def close(self):
        if self._handle is None:
            return
        try:
            self.pyfat.close()  # clears the dirty bit when writable, then closes the handle
        finally:
            if not self._handle.closed:
                self._handle.close()
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- reading ------------------------------------------------------------------------------
    def label(self):
        """Volume label: the root directory's volume-id entry, else the boot sector's field."""
        dummy_dirs, dummy_files, specials = self.pyfat.root_dir.get_entries()
        for entry in specials:
            if entry.is_volume_id():
                return bytes(entry)[:11].decode(self.pyfat.encoding, 'replace').strip()
        header = self.pyfat.fat_header or {}
        label = header.get('BS_VolLab', b'')
        if isinstance(label, bytes):
            label = label.decode('ascii', 'replace')
        return label.strip()

    def _children(self, directory):
        dirs, files, dummy = directory.get_entries()
        return dirs + files

    def _lookup(self, path):
        """(parent entry, entry or None, final name) for a '/'-separated path, case-insensitively."""
        parts = [part for part in path.strip('/').split('/') if part]
        if not parts or len(parts) > MAX_DEPTH:
            raise FatError('invalid boot-partition path %r' % path)
        directory = self.pyfat.root_dir
        for part in parts[:-1]:
            match = self._match(directory, part)
            if match is None:
                return None, None, parts[-1]
            if not match.is_directory():
                raise FatError('%s: %s is a file, not a directory' % (path, part))
            directory = match
        return directory, self._match(directory, parts[-1]), parts[-1]

    def _match(self, directory, name):
        wanted = name.lower()
        for entry in self._children(directory):
            if str(entry).lower() == wanted or entry.get_short_name().lower() == wanted:
                return entry
        return None

    def names(self, path='/'):
        """Names in a directory, as stored (long names where present)."""
        if path.strip('/'):
            dummy_parent, directory, dummy_name = self._lookup(path)
            if directory is None or not directory.is_directory():
                return []
        else:
            directory = self.pyfat.root_dir
        return [str(entry) for entry in self._children(directory)]

    def exists(self, path):
        return self._lookup(path)[1] is not None

    def read(self, path):
        """File content as bytes, or None when absent."""
        dummy_parent, entry, dummy_name = self._lookup(path)
        if entry is None:
            return None
        if entry.is_directory():
            raise FatError('%s is a directory on the boot partition' % path)
        size = entry.filesize
        if size == 0:
            return b''
        chunks = []
        remaining = size
        for cluster in self.pyfat.get_cluster_chain(entry.get_cluster()):
            chunk = self.pyfat.read_cluster_contents(cluster)
            chunks.append(chunk[:remaining])
            remaining -= len(chunks[-1])
            if remaining <= 0:
                break
        data = b''.join(chunks)
        if len(data) != size:
            raise FatError('%s is shorter on disk than its directory entry says' % path)
        return data

    # -- writing ------------------------------------------------------------------------------
    def _sync(self, step):
        if step in ('fat-allocated', 'entry-switched', 'old-freed', 'removed', 'mkdir'):
            self._update_fsinfo()
        os.fsync(self._handle.fileno())
        hook = self._hooks.get(step)
        if hook is not None:
            hook()

    def _update_fsinfo(self):
        """Keep the FAT32 FSInfo free-cluster count right (pyfatfs does not), so fsck stays clean."""
        self._handle.seek(self._offset)
        boot = self._handle.read(512)
        if boot[82:87] != b'FAT32':
            return
        bytes_per_sector = struct.unpack('<H', boot[11:13])[0]
        sectors_per_cluster = boot[13]
        reserved = struct.unpack('<H', boot[14:16])[0]
        fats = boot[16]
        total = struct.unpack('<I', boot[32:36])[0] or struct.unpack('<H', boot[19:21])[0]
        fat_size = struct.unpack('<I', boot[36:40])[0]
        fsinfo_sector = struct.unpack('<H', boot[48:50])[0]
        if not fsinfo_sector or fsinfo_sector == 0xffff:
            return
        clusters = (total - reserved - fats * fat_size) // sectors_per_cluster
        table = self.pyfat.fat
        free = sum(1 for value in table[2:clusters + 2] if value == 0)
        address = self._offset + fsinfo_sector * bytes_per_sector
        self._handle.seek(address)
        info = bytearray(self._handle.read(512))
        if info[0:4] != b'RRaA' or info[484:488] != b'rrAa':
            return
        next_free = next((index for index in range(2, clusters + 2) if table[index] == 0), 0xffffffff)
        info[488:492] = struct.pack('<I', free)
        info[492:496] = struct.pack('<I', next_free)
        self._handle.seek(address)
        self._handle.write(bytes(info))

    def _mkdirs(self, path):
        parts = [part for part in path.strip('/').split('/') if part][:-1]
        built = ''
        for part in parts:
            built += '/' + part
            dummy_parent, entry, dummy_name = self._lookup(built)
            if entry is None:
                self._fs.makedir(built)
                self._sync('mkdir')

    def _new_entry(self, parent, name, cluster, size):
        short_name = EightDotThree(encoding=self.pyfat.encoding)
        short_name.set_str_name(short_name.make_8dot3_name(name, parent))
        entry = FATDirectoryEntry.new(name=short_name, tz=datetime.timezone.utc, encoding=self.pyfat.encoding,
                                      cluster=cluster, filesize=size)
        sfn = short_name.get_unpadded_filename()
        if sfn != name:
            entry.set_lfn_entry(make_lfn_entry(name, short_name))
        return entry

    def write(self, path, data):
        """Create or replace one file (see write_many)."""
        self.write_many([(path, data)])

    def write_many(self, items):
        """Create or replace files with the ordering described in the module docstring.

        All files share each step, so a run costs three fsyncs whatever the number of files:
        data + FAT allocation, then the directory entries, then freeing the old clusters.
        """
        if not self.writable:
            raise FatError('the boot partition is open read-only')
        if not items:
            return
        pyfat = self.pyfat
        prepared = []
        try:
            for path, data in items:
                self._mkdirs(path)
                parent, entry, name = self._lookup(path)
                if entry is not None and entry.is_directory():
                    raise FatError('%s is a directory on the boot partition' % path)
                cluster = 0
                if data:
                    cluster = pyfat.allocate_bytes(len(data))[0]
                    pyfat.write_data_to_cluster(data, cluster, extend_cluster=False)
                prepared.append((parent, entry, name, cluster, len(data)))
            self._sync('data')
            pyfat.flush_fat()
            self._sync('fat-allocated')
            parents, old_clusters = [], []
            for parent, entry, name, cluster, size in prepared:
                if entry is not None:
                    if entry.get_cluster():
                        old_clusters.append(entry.get_cluster())
                    stamp = DosDateTime.now(tz=datetime.timezone.utc)
                    entry.set_cluster(cluster)
                    entry.filesize = size
                    entry.wrttime = stamp.serialize_time()
                    entry.wrtdate = stamp.serialize_date()
                    entry.lstaccessdate = stamp.serialize_date()
                else:
                    parent.add_subdirectory(self._new_entry(parent, name, cluster, size))
                if not any(parent is seen for seen in parents):
                    parents.append(parent)
            for parent in parents:
                pyfat.update_directory_entry(parent)
            pyfat.flush_fat()  # a directory may have grown by a cluster
            self._sync('entry-switched')
            if old_clusters:
                for cluster in old_clusters:
                    pyfat.free_cluster_chain(cluster)
                pyfat.flush_fat()
                self._sync('old-freed')
        except PyFATException as exc:
            raise FatError('cannot write %s on the boot partition: %s'
                           % (', '.join(path for path, dummy in items), exc))

    def remove(self, path):
        parent, entry, dummy_name = self._lookup(path)
        if entry is None:
            return False
        self._fs.remove(self._path_of(entry))
        self.pyfat.flush_fat()
        self._sync('removed')
        return True

    def _path_of(self, entry):
        return entry.get_full_path()


def read_files(image_path, offset, names):
    """{name: bytes or None} for names on the boot partition, and its label and listing."""
    with BootFS(image_path, offset) as bootfs:
        return {name: bootfs.read(name) for name in names}, bootfs.label(), bootfs.names()
