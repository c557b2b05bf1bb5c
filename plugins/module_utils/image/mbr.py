# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MBR and GPT partition-table parsing for card images.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Layouts follow the published formats: the MBR partition table is four 16-byte entries at
byte 446 followed by 55 AA; logical partitions hang off an extended partition (type 05/0F/85)
as a chain of EBRs; a protective MBR entry of type EE announces a GPT whose header sits at
LBA 1 ("EFI PART") and points at the partition-entry array (UEFI spec, chapter 5).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct
import uuid

SECTOR = 512
FAT_MBR_TYPES = frozenset([0x01, 0x04, 0x06, 0x0b, 0x0c, 0x0e, 0xef])
EXTENDED_MBR_TYPES = frozenset([0x05, 0x0f, 0x85])
GPT_FAT_TYPES = frozenset([
    'c12a7328-f81f-11d2-ba4b-00a0c93ec93b',  # EFI system partition
    'ebd0a0a2-b9e5-4433-87c0-68b6b72699c7',  # Microsoft basic data
])
MAX_LOGICAL = 128
MAX_GPT_ENTRIES = 1024


class PartitionError(Exception):
    """The image has no usable partition table or no FAT partition."""


def _read_at(handle, offset, size):
    handle.seek(offset)
    return handle.read(size)


def _mbr_entries(sector):
    for slot in range(4):
        raw = sector[446 + slot * 16:446 + (slot + 1) * 16]
        boot, ptype, start, count = raw[0], raw[4], struct.unpack('<I', raw[8:12])[0], struct.unpack('<I', raw[12:16])[0]
        yield slot, boot, ptype, start, count


def _parse_gpt(handle, image_size, name):
    header = _read_at(handle, SECTOR, 92)
    if header[:8] != b'EFI PART':
        raise PartitionError('%s has a protective MBR but no GPT header at LBA 1' % name)
    entries_lba, count, entry_size = struct.unpack('<QII', header[72:88])
    if entry_size < 128 or count > MAX_GPT_ENTRIES:
        raise PartitionError('%s has an implausible GPT header' % name)
    table = _read_at(handle, entries_lba * SECTOR, count * entry_size)
    partitions = []
    for index in range(count):
        raw = table[index * entry_size:index * entry_size + 128]
        if len(raw) < 128:
            break
        type_guid = str(uuid.UUID(bytes_le=raw[:16]))
        if type_guid == '00000000-0000-0000-0000-000000000000':
            continue
        first, last = struct.unpack('<QQ', raw[32:48])
        label = raw[56:128].decode('utf-16-le', 'replace').split('\x00')[0]
        partitions.append({
            'index': index + 1,
            'scheme': 'gpt',
            'type': type_guid,
            'start': first * SECTOR,
            'size': (last - first + 1) * SECTOR,
            'bootable': False,
            'fat': type_guid in GPT_FAT_TYPES,
            'name': label,
        })
    return partitions


def _parse_logical(handle, extended_start, name):
    partitions = []
    ebr_lba = extended_start
    index = 5
    for dummy in range(MAX_LOGICAL):
        sector = _read_at(handle, ebr_lba * SECTOR, SECTOR)
        if len(sector) < SECTOR or sector[510:512] != b'\x55\xaa':
            break
        entries = list(_mbr_entries(sector))
        dummy_slot, boot, ptype, start, count = entries[0]
        if ptype and count:
            partitions.append({
                'index': index,
                'scheme': 'mbr',
                'type': '0x%02x' % ptype,
                'start': (ebr_lba + start) * SECTOR,
                'size': count * SECTOR,
                'bootable': boot == 0x80,
                'fat': ptype in FAT_MBR_TYPES,
                'name': '',
            })
            index += 1
        next_type, next_start = entries[1][2], entries[1][3]
        if next_type not in EXTENDED_MBR_TYPES or not next_start:
            break
        ebr_lba = extended_start + next_start
    return partitions


def parse_partitions(handle, image_size, name='the image'):
    """List of partitions (index, scheme, type, start, size in bytes, bootable, fat, name)."""
    sector = _read_at(handle, 0, SECTOR)
    if len(sector) < SECTOR or sector[510:512] != b'\x55\xaa':
        raise PartitionError('%s is not a disk image: no partition table (the 55 AA boot signature '
                             'is missing at byte 510)' % name)
    entries = list(_mbr_entries(sector))
    if any(ptype == 0xee for dummy, dummy_boot, ptype, dummy_start, dummy_count in entries):
        partitions = _parse_gpt(handle, image_size, name)
    else:
        partitions = []
        for slot, boot, ptype, start, count in entries:
            if not ptype or not count:
                continue
            if ptype in EXTENDED_MBR_TYPES:
                partitions.extend(_parse_logical(handle, start, name))
                continue
            partitions.append({
                'index': slot + 1,
                'scheme': 'mbr',
                'type': '0x%02x' % ptype,
                'start': start * SECTOR,
                'size': count * SECTOR,
                'bootable': boot == 0x80,
                'fat': ptype in FAT_MBR_TYPES,
                'name': '',
            })
    if not partitions:
        raise PartitionError('%s is not a disk image: its partition table lists no partition' % name)
    for part in partitions:
        if part['start'] + part['size'] > image_size:
            raise PartitionError('%s is truncated: partition %d ends at byte %d but the image has %d bytes'
                                 % (name, part['index'], part['start'] + part['size'], image_size))
    return sorted(partitions, key=lambda p: p['index'])


def looks_like_fat(boot_sector):
    """True when a partition's first sector is a FAT boot sector (BPB plausibility, 55 AA)."""
    if len(boot_sector) < SECTOR or boot_sector[510:512] != b'\x55\xaa':
        return False
    bytes_per_sector = struct.unpack('<H', boot_sector[11:13])[0]
    sectors_per_cluster = boot_sector[13]
    fats = boot_sector[16]
    return (bytes_per_sector in (512, 1024, 2048, 4096) and sectors_per_cluster in (1, 2, 4, 8, 16, 32, 64, 128)
            and fats in (1, 2) and (boot_sector[54:59] == b'FAT12' or boot_sector[54:59] == b'FAT16'
                                    or boot_sector[82:87] == b'FAT32' or boot_sector[0] in (0xeb, 0xe9)))


def find_boot_partition(handle, partitions, name='the image'):
    """The first FAT partition whose first sector really is a FAT boot sector."""
    for part in partitions:
        if part['fat'] and looks_like_fat(_read_at(handle, part['start'], SECTOR)):
            return part
    raise PartitionError('%s has no FAT boot partition (partition types: %s)'
                         % (name, ', '.join('%d=%s' % (p['index'], p['type']) for p in partitions)))
