# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot partition of a card image: checked by a bounded reader of our own, then edited through pyfatfs.

Private to the picocloud.edge collection: no compatibility promise to other collections.

pyfatfs trusts what it reads: it follows a cluster chain until it ends (a chain that loops keeps it
busy forever), and it reads and writes wherever the boot sector's numbers point, even past the end of
the partition. So before pyfatfs sees a volume, :class:`Volume` reads it itself, with every read
bounded by the partition and by the image:

- the boot sector's geometry (sector and cluster sizes, reserved sectors, FAT count and size, root
  directory, sector count) must be plausible and the whole file system must lie inside its partition;
- the first FAT must cover every cluster, and every cluster chain reachable from the root directory
  (each directory, each file) is walked at most once per cluster: a chain that loops, reaches a free,
  bad or reserved entry, leaves the volume, or shares a cluster with another chain is refused;
- directories nest at most ``MAX_DEPTH`` deep.

A write (:meth:`BootFS.apply`) also checks, still before the first byte is written, that every path
resolves (no file where a directory is needed, no directory where a file is), that new names are
valid FAT long names, and that the free clusters inside the volume cover the worst case the write
can allocate, so pyfatfs never has to reach past the volume's last cluster. Only then is the
partition opened for writing. Every failure is a :class:`FatError` whose message names the
structure, and a refused write leaves every byte of the image as it was.

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
    from fs.errors import FSError
    HAS_PYFATFS = True
except ImportError:
    HAS_PYFATFS = False

    class PyFATException(Exception):
        """Stand-in so except clauses work when pyfatfs is missing."""

    class FSError(Exception):
        """Stand-in for pyfilesystem2's base error when pyfatfs is missing."""

MAX_DEPTH = 16
DIRECTORY_ATTR = 0x10
VOLUME_ATTR = 0x08
LFN_ATTR = 0x0f
LFN_ATTR_MASK = 0x3f
ENTRY = 32
# Bounds on what a boot partition may ask of memory: pyfatfs keeps the FAT as one Python list.
MAX_CLUSTERS = 1 << 22
MAX_FAT_BYTES = 16 * 1024 * 1024
# A new name costs at most 21 long-name entries plus its 8.3 entry.
MAX_NEW_ENTRIES = 22
BAD_NAME_CHARS = frozenset('"*/:<>?\\|')
MEDIA_BYTES = frozenset([0xf0, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff])
# Per FAT type: highest data-cluster value, the bad-cluster mark, the lowest end-of-chain mark.
CLUSTER_VALUES = {12: (0xfef, 0xff7, 0xff8), 16: (0xffef, 0xfff7, 0xfff8), 32: (0x0fffffef, 0x0ffffff7, 0x0ffffff8)}
FAT12_SPECIAL_EOC = 0xff0  # pyfatfs ends a FAT12 chain here too

# What pyfatfs (and the pyfilesystem2 layer under it) raises on data it cannot use.
PYFAT_ERRORS = (PyFATException, FSError, ValueError, IndexError, KeyError, struct.error, OSError)


class FatError(Exception):
    """The boot partition cannot be read or written."""


def _name_of(entry):
    return entry.get_entry_name() if hasattr(entry, 'get_entry_name') else str(entry)


def _u16(data, pos):
    return struct.unpack_from('<H', data, pos)[0]


def _u32(data, pos):
    return struct.unpack_from('<I', data, pos)[0]


def _read_exact(handle, pos, length, what):
    handle.seek(pos)
    data = handle.read(length)
    if len(data) != length:
        raise FatError('%s ends at byte %d of the image, before its %d bytes could be read'
                       % (what, pos + len(data), length))
    return data


class Geometry(object):
    """Where a FAT volume keeps what, from its boot sector; every sector number is relative to the volume."""

    def __init__(self, boot, size, where):
        self.where = where
        prefix = '%s: the FAT boot sector' % where
        if len(boot) < 512 or boot[510:512] != b'\x55\xaa':
            raise FatError('%s has no 55 AA signature' % prefix)
        if not (boot[0] == 0xe9 or (boot[0] == 0xeb and boot[2] == 0x90)):
            raise FatError('%s does not start with a jump instruction (EB xx 90 or E9)' % prefix)
        self.bytes_per_sector = _u16(boot, 11)
        self.sectors_per_cluster = boot[13]
        self.reserved = _u16(boot, 14)
        self.fats = boot[16]
        self.root_entries = _u16(boot, 17)
        total16, total32 = _u16(boot, 19), _u32(boot, 32)
        fat16_size = _u16(boot, 22)
        fat32_size = _u32(boot, 36) if fat16_size == 0 else 0
        if self.bytes_per_sector not in (512, 1024, 2048, 4096):
            raise FatError('%s gives %d bytes per sector (512, 1024, 2048 or 4096 expected)'
                           % (prefix, self.bytes_per_sector))
        if self.sectors_per_cluster not in (1, 2, 4, 8, 16, 32, 64, 128):
            raise FatError('%s gives %d sectors per cluster (a power of two up to 128 expected)'
                           % (prefix, self.sectors_per_cluster))
        if self.reserved == 0:
            raise FatError('%s gives 0 reserved sectors' % prefix)
        if self.fats not in (1, 2):
            raise FatError('%s gives %d FAT copies (1 or 2 expected)' % (prefix, self.fats))
        if boot[21] not in MEDIA_BYTES:
            raise FatError('%s has an invalid media byte 0x%02x' % (prefix, boot[21]))
        if (self.root_entries * ENTRY) % self.bytes_per_sector:
            raise FatError('%s gives %d root directory entries, which do not fill whole sectors'
                           % (prefix, self.root_entries))
        self.total_sectors = total16 or total32
        self.fat_sectors = fat16_size or fat32_size
        if not self.total_sectors:
            raise FatError('%s gives a sector count of 0' % prefix)
        if not self.fat_sectors:
            raise FatError('%s gives a FAT size of 0 sectors' % prefix)
        bps = self.bytes_per_sector
        if self.total_sectors * bps > size:
            raise FatError('%s gives %d sectors of %d bytes (%d bytes), more than its partition holds (%d bytes)'
                           % (prefix, self.total_sectors, bps, self.total_sectors * bps, size))
        self.root_dir_sectors = (self.root_entries * ENTRY + bps - 1) // bps
        self.root_dir_sector = self.reserved + self.fats * self.fat_sectors
        self.first_data_sector = self.root_dir_sector + self.root_dir_sectors
        if self.first_data_sector >= self.total_sectors:
            raise FatError('%s puts the data area at sector %d, past the end of the file system (%d sectors): '
                           'reserved sectors, FAT size or root directory size are too large'
                           % (prefix, self.first_data_sector, self.total_sectors))
        self.clusters = (self.total_sectors - self.first_data_sector) // self.sectors_per_cluster
        if self.clusters < 1:
            raise FatError('%s leaves no room for a single cluster' % prefix)
        # The FAT type as pyfatfs (and Linux) decide it: a zero 16-bit FAT size means FAT32.
        if fat16_size == 0:
            self.fat_type = 32
        else:
            self.fat_type = 12 if self.clusters < 4085 else 16
        max_data = CLUSTER_VALUES[self.fat_type][0]
        if self.clusters > MAX_CLUSTERS or self.clusters + 1 > max_data:
            raise FatError('%s gives %d clusters, more than this module handles on a boot partition (%d)'
                           % (prefix, self.clusters, min(MAX_CLUSTERS, max_data - 1)))
        self.fat_bytes = self.fat_sectors * bps
        if self.fat_bytes > MAX_FAT_BYTES:
            raise FatError('%s gives a FAT of %d bytes, more than this module handles on a boot partition (%d)'
                           % (prefix, self.fat_bytes, MAX_FAT_BYTES))
        entries = self.fat_bytes * 2 // 3 if self.fat_type == 12 else self.fat_bytes * 8 // self.fat_type
        if entries < self.clusters + 2:
            raise FatError('%s gives a FAT of %d sectors with room for %d entries, too small for its %d clusters'
                           % (prefix, self.fat_sectors, entries, self.clusters))
        self.cluster_bytes = bps * self.sectors_per_cluster
        self.root_cluster = self.fsinfo_sector = self.backup_boot_sector = None
        if self.fat_type == 32:
            self.root_cluster = _u32(boot, 44)
            if not 2 <= self.root_cluster <= self.clusters + 1:
                raise FatError('%s puts the root directory at cluster %d, outside the volume (clusters 2-%d)'
                               % (prefix, self.root_cluster, self.clusters + 1))
            self.fsinfo_sector = _u16(boot, 48)
            if self.fsinfo_sector not in (0, 0xffff) and self.fsinfo_sector >= self.reserved:
                raise FatError('%s puts the FSInfo sector at %d, outside the %d reserved sectors'
                               % (prefix, self.fsinfo_sector, self.reserved))
            self.backup_boot_sector = _u16(boot, 50)
            if self.backup_boot_sector >= self.reserved:
                raise FatError('%s puts the backup boot sector at %d, outside the %d reserved sectors'
                               % (prefix, self.backup_boot_sector, self.reserved))
        elif self.root_entries == 0:
            raise FatError('%s gives a FAT%d root directory of 0 entries' % (prefix, self.fat_type))

    def cluster_offset(self, cluster):
        """Byte offset of a data cluster from the start of the volume."""
        return ((cluster - 2) * self.sectors_per_cluster + self.first_data_sector) * self.bytes_per_sector


def _decode_fat(data, fat_type, count):
    """The first count entries of a FAT as a list of ints."""
    if fat_type == 32:
        return [value & 0x0fffffff for value in struct.unpack_from('<%dI' % count, data)]
    if fat_type == 16:
        return list(struct.unpack_from('<%dH' % count, data))
    table = []
    for index in range(count):
        pos = index * 3 // 2
        pair = data[pos] | data[pos + 1] << 8
        table.append(pair >> 4 if index & 1 else pair & 0xfff)
    return table


def _short_name(raw):
    base, ext = raw[:8].rstrip(b' '), raw[8:11].rstrip(b' ')
    return base + (b'.' + ext if ext else b'')


def _printable(name):
    """A name read from disk, safe to put in a message (other bytes as \\xNN)."""
    return ''.join(chr(byte) if 0x20 <= byte < 0x7f else '\\x%02x' % byte for byte in bytearray(name))


class Volume(object):
    """A FAT volume read and checked without pyfatfs (see the module docstring).

    After construction: ``geometry``; ``fat`` (the first FAT's entries for clusters 0 to
    clusters + 1); ``free`` (free clusters inside the volume); ``root_free_entries`` (free slots of
    a FAT12/16 root directory, None on FAT32).
    """

    def __init__(self, handle, offset, size, image_size):
        where = 'the boot partition (FAT file system at byte %d)' % offset
        if offset < 0 or size <= 0 or offset + size > image_size:
            raise FatError('%s: its partition (%d bytes) does not lie inside the image (%d bytes)'
                           % (where, size, image_size))
        self._handle = handle
        self._offset = offset
        self.where = where
        self.geometry = Geometry(_read_exact(handle, offset, 512, '%s: the boot sector' % where), size, where)
        geometry = self.geometry
        raw = _read_exact(handle, offset + geometry.reserved * geometry.bytes_per_sector,
                          geometry.fat_bytes, '%s: the FAT' % where)
        self.fat = _decode_fat(raw, geometry.fat_type, geometry.clusters + 2)
        self.free = self.fat[2:].count(0)
        self.root_free_entries = None
        self._owner = {}
        self._walk()

    # -- chains ---------------------------------------------------------------------------------
    def chain(self, first, what):
        """The clusters of the chain starting at first; FatError for anything but a clean, ending chain."""
        geometry = self.geometry
        last = geometry.clusters + 1
        max_data, bad, end = CLUSTER_VALUES[geometry.fat_type]
        if not 2 <= first <= last:
            raise FatError('%s: %s starts at cluster %d, outside the volume (clusters 2-%d)'
                           % (self.where, what, first, last))
        clusters, seen, current = [], set(), first
        for dummy in range(geometry.clusters):  # bound: a chain visits each cluster at most once
            clusters.append(current)
            seen.add(current)
            value = self.fat[current]
            if value >= end or (geometry.fat_type == 12 and value == FAT12_SPECIAL_EOC):
                return clusters
            if value == 0:
                problem = 'reaches a free cluster after cluster %d' % current
            elif value == bad:
                problem = 'reaches a cluster marked bad after cluster %d' % current
            elif value < 2 or value > max_data:
                problem = 'holds the reserved value 0x%x at cluster %d' % (value, current)
            elif value > last:
                problem = 'points past the last cluster of the volume (%d > %d) at cluster %d' % (value, last, current)
            elif value in seen:
                problem = 'loops back to cluster %d from cluster %d' % (value, current)
            else:
                current = value
                continue
            raise FatError('%s: the cluster chain of %s %s' % (self.where, what, problem))
        raise FatError('%s: the cluster chain of %s is longer than the volume' % (self.where, what))

    def _own(self, clusters, what):
        for cluster in clusters:
            other = self._owner.get(cluster)
            if other is not None:
                raise FatError('%s: %s and %s share cluster %d (cross-linked cluster chains)'
                               % (self.where, other, what, cluster))
            self._owner[cluster] = what

    # -- directories ----------------------------------------------------------------------------
    def _walk(self):
        """Check every directory and every cluster chain reachable from the root."""
        geometry = self.geometry
        if geometry.fat_type == 32:
            clusters = self.chain(geometry.root_cluster, 'the root directory')
            self._own(clusters, 'the root directory')
            todo = [('/', clusters, 0)]
        else:
            todo = [('/', None, 0)]
        for dummy in range(geometry.clusters + 1):  # bound: each directory owns at least one cluster
            if not todo:
                return
            path, clusters, depth = todo.pop()
            for name, attr, first, size in self._entries(path, clusters):
                child = path + name
                if attr & DIRECTORY_ATTR:
                    if depth + 1 > MAX_DEPTH:
                        raise FatError('%s: directory %s is nested deeper than %d levels'
                                       % (self.where, child, MAX_DEPTH))
                    if first == 0:
                        raise FatError('%s: directory %s has no first cluster' % (self.where, child))
                    chain = self.chain(first, 'directory %s' % child)
                    self._own(chain, 'directory %s' % child)
                    todo.append((child + '/', chain, depth + 1))
                elif first:
                    self._own(self.chain(first, child), child)
                elif size:
                    raise FatError('%s: %s is %d bytes long but has no first cluster' % (self.where, child, size))

    def _entries(self, path, clusters):
        """(name, attr, first cluster, size) of the entries pyfatfs would list in one directory.

        Mirrors pyfatfs: each cluster is read up to its first end mark (a 00 byte), deleted and
        long-name entries are skipped, and so are the dot entries and the volume label."""
        geometry = self.geometry
        if clusters is None:
            start = self._offset + geometry.root_dir_sector * geometry.bytes_per_sector
            chunks = [_read_exact(self._handle, start, geometry.root_entries * ENTRY,
                                  '%s: the root directory' % self.where)]
        else:
            chunks = (_read_exact(self._handle, self._offset + geometry.cluster_offset(cluster),
                                  geometry.cluster_bytes, '%s: directory %s' % (self.where, path))
                      for cluster in clusters)
        live = 0
        for chunk in chunks:
            for pos in range(0, len(chunk), ENTRY):
                raw = chunk[pos:pos + ENTRY]
                if raw[0] == 0x00:
                    break
                if raw[0] == 0xe5:
                    continue
                live += 1
                attr = raw[11]
                if attr & LFN_ATTR_MASK == LFN_ATTR:
                    continue
                short = _short_name(raw)
                if short in (b'.', b'..') or attr & VOLUME_ATTR:
                    continue
                yield (_printable(short), attr, _u16(raw, 26) | _u16(raw, 20) << 16,
                       _u32(raw, 28))
        if clusters is None:
            self.root_free_entries = geometry.root_entries - live

    # -- room for a write -----------------------------------------------------------------------
    def check_room(self, sizes, path_depths, new_root_names):
        """Refuse a write whose worst case needs more clusters (or root entries) than are free.

        sizes: byte counts of the files to write; path_depths: the number of components of each
        path (each may need a new directory and grow its parent); new_root_names: names that would
        get new entries in a FAT12/16 root directory, whose size is fixed."""
        geometry = self.geometry
        per_entry = 1 + -(-MAX_NEW_ENTRIES * ENTRY // geometry.cluster_bytes)
        needed = sum(-(-size // geometry.cluster_bytes) for size in sizes)
        needed += sum(depth * per_entry for depth in path_depths)
        if needed > self.free:
            raise FatError('%s: not enough free space for this change: it may need %d clusters of %d bytes, '
                           '%d are free' % (self.where, needed, geometry.cluster_bytes, self.free))
        if self.root_free_entries is not None and new_root_names:
            entries = sum(2 + len(name) // 13 for name in new_root_names)
            if entries > self.root_free_entries:
                raise FatError('%s: the FAT%d root directory has %d free entries, %d are needed for %s'
                               % (self.where, geometry.fat_type, self.root_free_entries, entries,
                                  ', '.join(new_root_names)))


def check_new_name(name, path):
    """A name pyfatfs can store as a long name; FatError naming the path otherwise."""
    if (not name or len(name) > 255 or name in ('.', '..') or name != name.rstrip('. ')
            or any(char in BAD_NAME_CHARS or ord(char) < 0x20 or ord(char) == 0x7f for char in name)):
        raise FatError('cannot create %s on the boot partition: %r is not a valid FAT file name' % (path, name))


class BootFS(object):
    """A FAT file system of size bytes at offset inside an image file.

    The volume is checked (:class:`Volume`) before pyfatfs opens it, and pyfatfs opens it read-only.
    With ``writable``, :meth:`apply` runs its own checks, then re-opens the volume for writing.
    ``hooks`` maps a step name ('data', 'fat-allocated', 'entry-switched', 'old-freed', 'removed',
    'mkdir') to a callable run right after that step is on disk.
    """

    def __init__(self, image_path, offset, size, writable=False, hooks=None):
        if not HAS_PYFATFS:
            raise FatError('the pyfatfs Python package is required to read the boot partition')
        self._path = image_path
        self._hooks = hooks or {}
        self._offset = offset
        self._writing = False
        self.writable = writable
        self._handle = open(image_path, 'rb', buffering=0)
        try:
            self.volume = Volume(self._handle, offset, size, os.fstat(self._handle.fileno()).st_size)
            self._fs = self._open_pyfat(self._handle)
        except BaseException:
            self._handle.close()
            self._handle = None
            raise
        self.pyfat = self._fs.fs

    def _open_pyfat(self, handle):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                return PyFatBytesIOFS(handle, offset=self._offset, utc=True)
        except PYFAT_ERRORS as exc:
            raise FatError('cannot read the FAT boot partition at byte %d: %s' % (self._offset, exc))

    def close(self):
        if self._handle is None:
            return
        try:
            self.pyfat.close()  # clears the dirty bit when writing, then closes the handle
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
        try:
            dummy_dirs, dummy_files, specials = self.pyfat.root_dir.get_entries()
            for entry in specials:
                if entry.is_volume_id():
                    return bytes(entry)[:11].decode(self.pyfat.encoding, 'replace').strip()
        except PYFAT_ERRORS as exc:
            raise FatError('cannot read the root directory of the boot partition: %s' % exc)
        label = self.pyfat.bpb_header.get('BS_VolLab') or b''
        if isinstance(label, bytes):
            label = label.decode('ascii', 'replace')
        return label.strip()

    def _children(self, directory):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')  # pyfatfs warns about broken long names it then ignores
                dirs, files, dummy = directory.get_entries()
        except PYFAT_ERRORS as exc:
            raise FatError('cannot read a directory of the boot partition: %s' % exc)
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
        try:
            for entry in self._children(directory):
                if str(entry).lower() == wanted or entry.get_short_name().lower() == wanted:
                    return entry
        except PYFAT_ERRORS as exc:
            raise FatError('cannot read a name in a directory of the boot partition: %s' % exc)
        return None

    def names(self, path='/'):
        """Names in a directory, as stored (long names where present)."""
        if path.strip('/'):
            dummy_parent, directory, dummy_name = self._lookup(path)
            if directory is None or not directory.is_directory():
                return []
        else:
            directory = self.pyfat.root_dir
        try:
            return [str(entry) for entry in self._children(directory)]
        except PYFAT_ERRORS as exc:
            raise FatError('cannot read a name in %s on the boot partition: %s' % (path, exc))

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
        try:
            for cluster in self.pyfat.get_cluster_chain(entry.get_cluster()):
                chunk = self.pyfat.read_cluster_contents(cluster)
                chunks.append(chunk[:remaining])
                remaining -= len(chunks[-1])
                if remaining <= 0:
                    break
        except PYFAT_ERRORS as exc:
            raise FatError('cannot read %s on the boot partition: %s' % (path, exc))
        data = b''.join(chunks)
        if len(data) != size:
            raise FatError('%s is shorter on disk than its directory entry says' % path)
        return data

    # -- checks before writing -----------------------------------------------------------------
    def _plan_write(self, path):
        """Raise FatError unless path can be written; return the names it adds to the root directory."""
        parts = [part for part in path.strip('/').split('/') if part]
        if not parts or len(parts) > MAX_DEPTH:
            raise FatError('invalid boot-partition path %r' % path)
        directory = self.pyfat.root_dir
        for depth, part in enumerate(parts):
            match = self._match(directory, part)
            if match is None:
                for name in parts[depth:]:
                    check_new_name(name, path)
                return [part] if depth == 0 else []
            if depth == len(parts) - 1:
                if match.is_directory():
                    raise FatError('%s is a directory on the boot partition' % path)
                return []
            if not match.is_directory():
                raise FatError('%s: %s is a file, not a directory' % (path, part))
            directory = match
        return []

    def _plan_remove(self, path):
        dummy_parent, entry, dummy_name = self._lookup(path)
        if entry is not None and entry.is_directory():
            raise FatError('%s is a directory on the boot partition; only files are removed' % path)
        return entry is not None

    def _begin_writing(self):
        """Re-open the (checked) volume for writing: pyfatfs sets the dirty bit, the first byte written."""
        if self._writing:
            return
        handle = open(self._path, 'r+b', buffering=0)
        try:
            writer = self._open_pyfat(handle)
        except BaseException:
            handle.close()
            raise
        self.pyfat.close()
        self._handle, self._fs, self.pyfat = handle, writer, writer.fs
        self._writing = True

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
        geometry = self.volume.geometry
        if geometry.fat_type != 32 or geometry.fsinfo_sector in (0, 0xffff):
            return
        clusters = geometry.clusters
        table = self.pyfat.fat
        free = table[2:clusters + 2].count(0)
        address = self._offset + geometry.fsinfo_sector * geometry.bytes_per_sector
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
        """Create or replace one file (see apply)."""
        self.apply([(path, data)])

    def write_many(self, items):
        """Create or replace files (see apply)."""
        self.apply(items)

    def remove(self, path):
        """Remove one file; False when it was not there (see apply)."""
        existed = self._plan_remove(path)
        self.apply([], [path])
        return existed

    def apply(self, items, removes=()):
        """Create or replace the files in items [(path, bytes)], then remove the files in removes.

        Every check comes first (paths, names, free room); then the writes follow the ordering in
        the module docstring. All files share each step, so a run costs three fsyncs whatever the
        number of files: data + FAT allocation, then the directory entries, then freeing the old
        clusters.
        """
        if not self.writable:
            raise FatError('the boot partition is open read-only')
        items, removes = list(items), list(removes)
        root_names = []
        for path, dummy_data in items:
            root_names.extend(self._plan_write(path))
        removes = [path for path in removes if self._plan_remove(path)]
        if not items and not removes:
            return
        self.volume.check_room([len(data) for dummy, data in items],
                               [len([part for part in path.split('/') if part]) for path, dummy in items],
                               sorted(set(root_names)))
        self._begin_writing()
        try:
            if items:
                self._write_items(items)
            for path in removes:
                dummy_parent, entry, dummy_name = self._lookup(path)
                if entry is not None:
                    self._fs.remove(entry.get_full_path())
                    self.pyfat.flush_fat()
                    self._sync('removed')
        except PYFAT_ERRORS as exc:
            raise FatError('cannot write %s on the boot partition: %s'
                           % (', '.join([path for path, dummy in items] + removes), exc))

    def _write_items(self, items):
        pyfat = self.pyfat
        prepared = []
        for path, data in items:
            self._mkdirs(path)
            parent, entry, name = self._lookup(path)
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


def read_files(image_path, offset, size, names):
    """{name: bytes or None} for names on the boot partition, and its label and listing."""
    with BootFS(image_path, offset, size) as bootfs:
        return {name: bootfs.read(name) for name in names}, bootfs.label(), bootfs.names()


def apply(image_path, offset, size, items, removes=(), hooks=None):
    """Create or replace items [(path, bytes)] and remove removes on the boot partition, checks first."""
    with BootFS(image_path, offset, size, writable=True, hooks=hooks) as bootfs:
        bootfs.apply(items, removes)
