# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target-device safety for pi_flash: which disk a path is, what uses it, and may we write it.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Everything here reads files under a ``root`` directory (``/`` on a live system, a recorded tree in
the unit tests): ``sys/class/block`` (every disk and partition; each entry resolves into
``sys/devices/...``, and that path tells the bus), ``proc/mounts``, ``proc/swaps`` and udev's
``run/udev/data`` (only to find the member disks of a ZFS pool). Nothing here writes.

The system disks are the physical disks under ``/``, ``/boot``, ``/usr``, ``/var``, ``/home``,
``/boot/firmware``, the EFI system partition (``/boot/efi`` or ``/efi``) and active swap: from each
such mount, ``slaves/`` links are followed down through partitions, device-mapper, LVM, dm-crypt
and md to the whole disks at the bottom. A ZFS mount names a dataset, not a device: its pool's
member disks are the devices udev tags ``ID_FS_TYPE=zfs_member`` with ``ID_FS_LABEL`` = the pool
(when udev tags none, every non-removable disk is treated as possibly holding the pool). A target
is the system disk when the physical disks under it (the target itself for a plain disk; the
``slaves/`` of a dm or md target, followed down) include a system disk: an unmounted LV in the
root disk's volume group, an md array or a dm-crypt volume on the system disk all count.

The checks, in the order ``check()`` applies them (the first failure wins):

1. the path is a whole disk, not a partition;
2. the disk is not the system disk and does not share a physical disk with it (see above);
3. neither the disk nor any partition (nor anything stacked on them) is mounted, used as swap or
   held by another device (``holders/``);
4. the medium is writable (``ro`` is 0: SD cards have a lock switch);
5. the disk is removable, unless ``force``: ``removable`` is 1, or the bus is USB, or it is an SD
   card in an SD slot (``mmcblk*`` with ``device/type`` = ``SD``; such slots often report
   ``removable`` = 0). eMMC (type ``MMC``), NVMe, SATA, virtio, loop devices and everything else
   count as fixed;
6. the disk is at least as large as the image.

``force`` only ever relaxes check 5.

macOS (``/dev/rdiskN``, ``/dev/diskN``): :func:`darwin_facts` builds the same facts dict from
``diskutil info -plist`` and ``mount`` output. It is unit-tested against documented plist keys
only; no Mac was available to record a real layout.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat

# Mount points whose backing disk is "the system disk" (/boot/efi and /efi: the EFI system partition).
SYSTEM_MOUNTPOINTS = ('/', '/boot', '/boot/firmware', '/boot/efi', '/efi', '/usr', '/var', '/home')
DEVNUM_RE = re.compile(r'[0-9]+:[0-9]+')

# SCSI peripheral device types (``/sys/block/sdX/device/type``).
SCSI_TYPES = {'0': 'disk', '5': 'cdrom', '7': 'optical', '14': 'rbc'}

# Bounds for walks over sysfs links (holders/slaves chains are a few levels deep in practice).
MAX_STACK_DEPTH = 16
MAX_DEVICES = 4096


def reachable(start, neighbours):
    """Every device reachable from start through neighbours(), visiting at most MAX_DEVICES."""
    seen, todo = set(), list(start)
    for dummy in range(MAX_DEVICES):
        if not todo:
            break
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(neighbours(current))
    return seen


class DeviceError(Exception):
    """A refusal; str() names the device and the reason."""


def unescape_mount_field(field):
    """/proc/mounts escapes space, tab, newline and backslash as octal (\\040 ...)."""
    return re.sub(r'\\([0-7]{3})', lambda match: chr(int(match.group(1), 8)), field)


def parse_mounts(text):
    """/proc/mounts (or /proc/self/mounts) text -> list of (source, mountpoint, fstype)."""
    mounts = []
    for line in (text or '').splitlines():
        fields = line.split()
        if len(fields) >= 3:
            mounts.append((unescape_mount_field(fields[0]), unescape_mount_field(fields[1]), fields[2]))
    return mounts


def parse_swaps(text):
    """/proc/swaps text -> list of active swap file or device paths (header skipped)."""
    swaps = []
    for line in (text or '').splitlines()[1:]:
        fields = line.split()
        if fields:
            swaps.append(unescape_mount_field(fields[0]))
    return swaps


def human_size(size):
    """1073741824 -> '1.0 GiB' (for messages)."""
    value = float(size)
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if value < 1024 or unit == 'TiB':
            return ('%d %s' % (value, unit)) if unit == 'B' else ('%.1f %s' % (value, unit))
        value /= 1024.0
    return '%d B' % size  # pragma: no cover


def bus_from_devpath(devpath, name):
    """The bus a disk hangs on, from its resolved sysfs path (…/devices/…/block/NAME)."""
    path = devpath or ''
    if name.startswith('loop') or '/devices/virtual/block/loop' in path:
        return 'loop'
    for marker, bus in (('/usb', 'usb'), ('/mmc_host/', 'mmc'), ('/nvme/', 'nvme'), ('/virtio', 'virtio'),
                        ('/ata', 'ata'), ('/host', 'scsi')):
        if marker in path:
            return bus
    if '/devices/virtual/' in path:
        return 'virtual'
    return 'unknown'


def is_removable(removable_flag, bus, device_type):
    """The removable rule of check 5 (see the module docstring)."""
    if removable_flag:
        return True
    if bus == 'usb':
        return True
    return bus == 'mmc' and device_type == 'SD'


class SysBlock(object):
    """Read-only view of sys/class/block, proc/mounts and proc/swaps under ``root``."""

    def __init__(self, root='/'):
        self.root = root
        self.live = os.path.abspath(root) == '/'
        self.class_block = os.path.join(root, 'sys', 'class', 'block')

    # -- raw reads ---------------------------------------------------------------------------
    def _read(self, *parts):
        try:
            with open(os.path.join(self.root, *parts), 'r') as handle:
                return handle.read()
        except (IOError, OSError, UnicodeDecodeError):
            return None

    def mounts(self):
        return parse_mounts(self._read('proc', 'mounts'))

    def swaps(self):
        return parse_swaps(self._read('proc', 'swaps'))

    def names(self):
        try:
            return sorted(os.listdir(self.class_block))[:MAX_DEVICES]
        except OSError:
            return []

    def path(self, name):
        return os.path.realpath(os.path.join(self.class_block, name))

    def attr(self, name, rel):
        try:
            with open(os.path.join(self.path(name), rel), 'r') as handle:
                return handle.read().strip()
        except (IOError, OSError, UnicodeDecodeError):
            return None

    def exists(self, name):
        return bool(name) and os.path.isdir(self.path(name))

    def is_partition(self, name):
        return os.path.exists(os.path.join(self.path(name), 'partition'))

    def parent(self, name):
        """Whole disk of a partition (the directory above it in sysfs); a disk is its own parent."""
        if self.is_partition(name):
            return os.path.basename(os.path.dirname(self.path(name)))
        return name

    def partitions(self, disk):
        base = self.path(disk)
        try:
            entries = sorted(os.listdir(base))
        except OSError:
            return []
        return [entry for entry in entries if os.path.exists(os.path.join(base, entry, 'partition'))]

    def _links(self, name, kind):
        try:
            return sorted(os.listdir(os.path.join(self.path(name), kind)))
        except OSError:
            return []

    def holders(self, name):
        return self._links(name, 'holders')

    def udev(self, name):
        """udev's properties of a device (``run/udev/data/b<major>:<minor>``); {} when udev has none."""
        dev = self.attr(name, 'dev')
        if not dev or not DEVNUM_RE.fullmatch(dev):
            return {}
        properties = {}
        for line in (self._read('run', 'udev', 'data', 'b' + dev) or '').splitlines():
            if line.startswith('E:') and '=' in line:
                key, value = line[2:].split('=', 1)
                properties[key] = value
        return properties

    def zfs_members(self, pool):
        """Devices udev identifies as members (vdevs) of the ZFS pool."""
        members = []
        for name in self.names():
            properties = self.udev(name)
            if properties.get('ID_FS_TYPE') == 'zfs_member' and properties.get('ID_FS_LABEL') == pool:
                members.append(name)
        return members

    def slaves(self, name):
        return self._links(name, 'slaves')

    # -- names for paths ---------------------------------------------------------------------
    def _dm_name(self, mapper_name):
        for name in self.names():
            if name.startswith('dm-') and self.attr(name, 'dm/name') == mapper_name:
                return name
        return None

    def _by_devnum(self, rdev):
        link = os.path.join(self.root, 'sys', 'dev', 'block', '%d:%d' % (os.major(rdev), os.minor(rdev)))
        if os.path.exists(link):
            return os.path.basename(os.path.realpath(link))
        return None

    def name_for_path(self, dev_path):
        """/dev/sdb, /dev/disk/by-id/..., /dev/mapper/x -> sysfs name ('sdb', 'dm-0'); None if unknown."""
        if not dev_path or not dev_path.startswith('/'):
            return None
        path = dev_path
        if self.live:
            path = os.path.realpath(dev_path)
            try:
                info = os.stat(path)
            except OSError:
                info = None
            if info is not None and stat.S_ISBLK(info.st_mode):
                name = self._by_devnum(info.st_rdev)
                if name:
                    return name
        if path.startswith('/dev/mapper/'):
            return self._dm_name(path[len('/dev/mapper/'):])
        if path.startswith('/dev/'):
            name = path[len('/dev/'):].replace('/', '!')
            if self.exists(name):
                return name
        return None

    def names_for_mount(self, source, mountpoint):
        """Block devices behind one mount: by its source path, and (live) by the mount point's st_dev."""
        names = set()
        name = self.name_for_path(source)
        if name:
            names.add(name)
        if self.live:
            try:
                dev = os.stat(mountpoint).st_dev
            except OSError:
                dev = None
            if dev is not None and os.major(dev) != 0:
                name = self._by_devnum(dev)
                if name:
                    names.add(name)
        return names

    # -- stacks --------------------------------------------------------------------------------
    def disks_under(self, name):
        """Whole disks a device finally sits on (dm-0 -> sda2 -> sda)."""
        bottoms = set()

        def slaves_or_bottom(current):
            slaves = self.slaves(current)
            if not slaves:
                bottoms.add(current)
            return slaves

        reachable([name], slaves_or_bottom)
        return set(self.parent(bottom) for bottom in bottoms)

    def stacked_on(self, disk):
        """The disk, its partitions and everything held on top of them (dm, md, LVM), recursively."""
        return reachable([disk] + self.partitions(disk), self.holders)

    def system_disks(self):
        """{disk name: [reasons]} for the physical disks under the system mount points and active swap.

        A ZFS mount whose pool's members udev does not name gives the key None."""
        reasons = {}

        def add(names, reason):
            for name in names:
                for disk in self.disks_under(name):
                    reasons.setdefault(disk, []).append(reason)

        for source, mountpoint, fstype in self.mounts():
            if mountpoint not in SYSTEM_MOUNTPOINTS:
                continue
            if fstype == 'zfs':
                pool = source.split('/')[0]
                members = self.zfs_members(pool)
                if members:
                    add(members, 'it holds ZFS pool %s, which backs %s' % (pool, mountpoint))
                else:
                    reasons.setdefault(None, []).append('it may hold ZFS pool %s, which backs %s (udev names none of '
                                                        'the pool\'s disks)' % (pool, mountpoint))
            else:
                add(self.names_for_mount(source, mountpoint), 'it backs %s' % mountpoint)
        for swap in self.swaps():
            # a swap partition by its path; a swap file (live only) by the device its file system is on
            add(self.names_for_mount(swap, swap), 'it holds active swap %s' % swap)
        return dict((disk, sorted(set(items))) for disk, items in reasons.items())

    def uses(self, disk):
        """What keeps the disk busy: ['/dev/sdb1 is mounted on /media/x', 'sdb2 is held by dm-3', ...]."""
        members = self.stacked_on(disk)
        uses = []
        for source, mountpoint, dummy in self.mounts():
            # by source path only: stat()ing every mount point could hang on a dead network mount
            if self.name_for_path(source) in members:
                uses.append('%s is mounted on %s' % (source, mountpoint))
        for swap in self.swaps():
            if self.name_for_path(swap) in members:
                uses.append('%s is active swap' % swap)
        for member in sorted(members):
            for holder in self.holders(member):
                uses.append('%s is held by %s' % (member, holder))
        return sorted(set(uses))


def system_reasons(layout, disk, removable):
    """Why the disk (or the dm/md device) is the system disk: its own reasons, then those of every
    physical disk it sits on; [] when it shares no physical disk with the system."""
    system = layout.system_disks()
    reasons = list(system.get(disk, []))
    for physical in sorted(layout.disks_under(disk)):
        if physical != disk:
            reasons.extend('it sits on %s, which %s' % (physical, reason[len('it '):]) for reason in system.get(physical, []))
    if not removable:
        reasons.extend(system.get(None, []))
    return reasons


def linux_facts(device_path, layout):
    """Facts about a Linux block device path, read from ``layout`` (a SysBlock)."""
    name = layout.name_for_path(device_path)
    if name is None:
        raise DeviceError('%s is not a block device known to the kernel (no entry in /sys/class/block)'
                          % device_path)
    disk = layout.parent(name)
    devpath = layout.path(disk)
    bus = bus_from_devpath(devpath, disk)
    if bus == 'loop':
        device_type = 'loop'
    elif bus == 'mmc':
        device_type = layout.attr(disk, 'device/type') or 'unknown'
    elif bus == 'nvme':
        device_type = 'nvme'
    else:
        scsi_type = layout.attr(disk, 'device/type')
        device_type = SCSI_TYPES.get(scsi_type, 'disk' if scsi_type is None else 'scsi-type-%s' % scsi_type)
    removable_flag = layout.attr(disk, 'removable') == '1'
    size = layout.attr(disk, 'size')
    model = layout.attr(disk, 'device/model') or layout.attr(disk, 'device/name')
    vendor = layout.attr(disk, 'device/vendor')
    removable = is_removable(removable_flag, bus, device_type)
    return {
        'path': device_path,
        'name': disk,
        'partition_of': disk if name != disk else None,
        'size': int(size) * 512 if size and size.isdigit() else None,
        'removable': removable,
        'removable_flag': removable_flag,
        'bus': bus,
        'type': device_type,
        'model': model.strip() if model else None,
        'vendor': vendor.strip() if vendor else None,
        'read_only': layout.attr(disk, 'ro') == '1',
        'system_reasons': system_reasons(layout, disk, removable),
        'uses': layout.uses(disk),
        'backing_file': layout.attr(disk, 'loop/backing_file'),
    }


DARWIN_DEVICE_RE = re.compile(r'^/dev/(r?)(disk[0-9]+)((?:s[0-9]+)+)?$')


def split_darwin_device(path):
    """'/dev/rdisk4' -> {'disk': 'disk4', 'raw': '/dev/rdisk4', 'buffered': '/dev/disk4', 'partition': False}."""
    match = DARWIN_DEVICE_RE.match(path or '')
    if not match:
        return None
    disk = match.group(2)
    return {'disk': disk, 'raw': '/dev/r' + disk, 'buffered': '/dev/' + disk,
            'partition': match.group(3) is not None}


def parse_darwin_mount(text):
    """macOS ``mount`` output ('/dev/disk3s1 on / (apfs, local, journaled)') -> [(source, mountpoint, fstype)]."""
    mounts = []
    for line in (text or '').splitlines():
        match = re.match(r'^(\S+) on (.+) \(([^,)]+)', line)
        if match:
            mounts.append((match.group(1), match.group(2), match.group(3)))
    return mounts


def darwin_whole_disks(info):
    """Whole disks behind one ``diskutil info -plist`` dict (APFS volumes name their physical stores)."""
    disks = set()
    for store in info.get('APFSPhysicalStores') or []:
        split = split_darwin_device('/dev/' + store.get('APFSPhysicalStore', ''))
        if split:
            disks.add(split['disk'])
    if not disks and info.get('ParentWholeDisk'):
        disks.add(info['ParentWholeDisk'])
    return disks


def darwin_facts(device_path, info, system_infos, mount_text):
    """Facts for a macOS disk from ``diskutil info -plist DEV`` (a dict), the infos of the system
    mount points (``diskutil info -plist /`` and so on, each a dict) and ``mount`` output."""
    split = split_darwin_device(device_path)
    if split is None:
        raise DeviceError('%s is not a macOS disk device (/dev/diskN or /dev/rdiskN)' % device_path)
    disk = split['disk']
    system_reasons = []
    for mountpoint, system_info in sorted(system_infos.items()):
        if disk in darwin_whole_disks(system_info or {}):
            system_reasons.append('it backs %s' % mountpoint)
    uses = []
    for source, mountpoint, dummy in parse_darwin_mount(mount_text):
        source_split = split_darwin_device(source)
        if source_split and source_split['disk'] == disk:
            uses.append('%s is mounted on %s' % (source, mountpoint))
    internal = info.get('Internal')
    removable_flag = bool(info.get('RemovableMedia') or info.get('Removable') or info.get('Ejectable'))
    bus = (info.get('BusProtocol') or 'unknown').lower()
    return {
        'path': device_path,
        'name': disk,
        'partition_of': disk if split['partition'] else None,
        'size': info.get('TotalSize') or info.get('Size'),
        'removable': bool(removable_flag or internal is False),
        'removable_flag': removable_flag,
        'bus': bus,
        'type': 'disk',
        'model': info.get('MediaName'),
        'vendor': None,
        'read_only': info.get('WritableMedia') is False,
        'system_reasons': system_reasons,
        'uses': sorted(uses),
        'backing_file': None,
    }


def check(facts, force=False, image_size=None):
    """Raise DeviceError for the first failed check (order in the module docstring); else return facts."""
    path = facts['path']
    if facts.get('partition_of'):
        raise DeviceError('refusing to write to %s: it is a partition of %s; give the whole disk'
                          % (path, facts['partition_of']))
    if facts['system_reasons']:
        raise DeviceError('refusing to write to %s: it is the system disk (%s)'
                          % (path, '; '.join(facts['system_reasons'])))
    if facts['uses']:
        raise DeviceError('refusing to write to %s: it is in use (%s); unmount it first'
                          % (path, '; '.join(facts['uses'])))
    if facts['read_only']:
        raise DeviceError('refusing to write to %s: the device is read-only (is the card\'s lock switch on?)'
                          % path)
    if not facts['removable'] and not force:
        raise DeviceError('refusing to write to %s: it is not a removable device (removable=%d, bus=%s, '
                          'type=%s); set force=true only if you are sure this is the card'
                          % (path, int(facts['removable_flag']), facts['bus'], facts['type']))
    if image_size is not None and facts['size'] is not None and facts['size'] < image_size:
        raise DeviceError('refusing to write to %s: the device is too small (%s, %d bytes) for the image '
                          '(%s, %d bytes)' % (path, human_size(facts['size']), facts['size'],
                                              human_size(image_size), image_size))
    return facts


def public_facts(facts):
    """The subset returned to users as ``device``."""
    keys = ('path', 'name', 'size', 'removable', 'model', 'vendor', 'bus', 'type')
    return dict((key, facts.get(key)) for key in keys)
