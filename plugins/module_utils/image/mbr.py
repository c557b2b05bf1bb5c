# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MBR and GPT partition-table parsing for card images.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Layouts follow the published formats: the MBR partition table is four 16-byte entries at
byte 446 followed by 55 AA; logical partitions hang off an extended partition (type 05/0F/85)
as a chain of EBRs; a protective MBR entry of type EE announces a GPT whose header sits at
LBA 1 ("EFI PART") and points at the partition-entry array (UEFI spec, chapter 5).

Every number is checked before it is used, and every read is bounded by the image:

- a GPT header needs its signature, a header size of 92 to 512 bytes, its own LBA (1), matching
  CRC32s for itself and for its entry array, an entry size of 128 x 2^n bytes up to 4096, at most
  1024 entries, and an entry array inside the image;
- the EBR chain of an extended partition is followed at most ``MAX_LOGICAL`` times, stays inside
  the extended partition and must not come back to an EBR it has visited;
- every partition ends after it starts, inside the image, clear of the partition table itself,
  and overlaps no other partition.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct
import uuid
import zlib

SECTOR = 512
FAT_MBR_TYPES = frozenset([0x01, 0x04, 0x06, 0x0b, 0x0c, 0x0e, 0xef])
EXTENDED_MBR_TYPES = frozenset([0x05, 0x0f, 0x85])
GPT_FAT_TYPES = frozenset([
    'c12a7328-f81f-11d2-ba4b-00a0c93ec93b',  # EFI system partition
    'ebd0a0a2-b9e5-4433-87c0-68b6b72699c7',  # Microsoft basic data
])
MAX_LOGICAL = 128
MAX_GPT_ENTRIES = 1024
MAX_GPT_ENTRY_SIZE = 4096


class PartitionError(Exception):
    """The image has no usable partition table or no FAT partition."""


def _read_at(handle, offset, size, what='the image'):
    handle.seek(offset)
    data = handle.read(size)
    if len(data) != size:
        raise PartitionError('%s is truncated: %s ends at byte %d, but only %d bytes could be read'
                             % (what, what, offset + size, offset + len(data)))
    return data


def _mbr_entries(sector):
    for slot in range(4):
        raw = sector[446 + slot * 16:446 + (slot + 1) * 16]
        boot, ptype, start, count = raw[0], raw[4], struct.unpack('<I', raw[8:12])[0], struct.unpack('<I', raw[12:16])[0]
        yield slot, boot, ptype, start, count


def _parse_gpt(handle, image_size, name):
    if image_size < 2 * SECTOR:
        raise PartitionError('%s has a protective MBR but is too short to hold a GPT header' % name)
    header = _read_at(handle, SECTOR, SECTOR, name)
    if header[:8] != b'EFI PART':
        raise PartitionError('%s has a protective MBR but no GPT header at LBA 1' % name)
    header_size, header_crc = struct.unpack('<II', header[12:20])
    if not 92 <= header_size <= SECTOR:
        raise PartitionError('%s: the GPT header gives a header size of %d bytes (92 to 512 expected)'
                             % (name, header_size))
    if zlib.crc32(header[:16] + b'\0\0\0\0' + header[20:header_size]) & 0xffffffff != header_crc:
        raise PartitionError('%s: the GPT header is damaged (its CRC32 does not match)' % name)
    my_lba = struct.unpack('<Q', header[24:32])[0]
    entries_lba, count, entry_size, table_crc = struct.unpack('<QIII', header[72:92])
    if my_lba != 1:
        raise PartitionError('%s: the GPT header at LBA 1 says it is at LBA %d' % (name, my_lba))
    if entry_size < 128 or entry_size > MAX_GPT_ENTRY_SIZE or entry_size & (entry_size - 1):
        raise PartitionError('%s: the GPT header gives a partition entry size of %d bytes (128 x 2^n, at most %d '
                             'expected)' % (name, entry_size, MAX_GPT_ENTRY_SIZE))
    if count > MAX_GPT_ENTRIES:
        raise PartitionError('%s: the GPT header gives %d partition entries (at most %d expected)'
                             % (name, count, MAX_GPT_ENTRIES))
    table_bytes = count * entry_size
    if entries_lba < 2 or entries_lba * SECTOR + table_bytes > image_size:
        raise PartitionError('%s: the GPT partition entries (LBA %d, %d bytes) do not lie inside the image '
                             '(%d bytes) after the header' % (name, entries_lba, table_bytes, image_size))
    table = _read_at(handle, entries_lba * SECTOR, table_bytes, name)
    if zlib.crc32(table) & 0xffffffff != table_crc:
        raise PartitionError('%s: the GPT partition entries are damaged (their CRC32 does not match the header)'
                             % name)
    reserved = [(0, 2 * SECTOR, 'the GPT header'),
                (entries_lba * SECTOR, table_bytes, 'the GPT partition entries')]
    partitions = []
    for index in range(count):
        raw = table[index * entry_size:index * entry_size + 128]
        type_guid = str(uuid.UUID(bytes_le=raw[:16]))
        if type_guid == '00000000-0000-0000-0000-000000000000':
            continue
        first, last = struct.unpack('<QQ', raw[32:48])
        if last < first:
            raise PartitionError('%s: GPT partition %d ends (LBA %d) before it starts (LBA %d)'
                                 % (name, index + 1, last, first))
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
    return partitions, reserved


def _parse_logical(handle, extended_start, extended_count, name):
    partitions = []
    ebr_lba = extended_start
    extended_end = extended_start + extended_count
    seen = set()
    index = 5
    for dummy in range(MAX_LOGICAL):
        if not extended_start <= ebr_lba < extended_end:
            raise PartitionError('%s: an EBR of the extended partition points to LBA %d, outside the extended '
                                 'partition (LBA %d-%d)' % (name, ebr_lba, extended_start, extended_end - 1))
        if ebr_lba in seen:
            raise PartitionError('%s: the EBR chain of the extended partition loops back to LBA %d' % (name, ebr_lba))
        seen.add(ebr_lba)
        sector = _read_at(handle, ebr_lba * SECTOR, SECTOR, name)
        if sector[510:512] != b'\x55\xaa':
            break
        entries = list(_mbr_entries(sector))
        dummy_slot, boot, ptype, start, count = entries[0]
        if ptype and count:
            if not start or ebr_lba + start + count > extended_end:
                raise PartitionError('%s: logical partition %d (LBA %d, %d sectors) does not lie inside the extended '
                                     'partition after its EBR' % (name, index, ebr_lba + start, count))
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


def _check_layout(partitions, reserved, image_size, name):
    """Every partition inside the image, clear of the partition tables and of every other partition."""
    for part in partitions:
        end = part['start'] + part['size']
        if end > image_size:
            raise PartitionError('%s is truncated: partition %d ends at byte %d but the image has %d bytes'
                                 % (name, part['index'], end, image_size))
        for start, size, what in reserved:
            if part['start'] < start + size and start < end:
                raise PartitionError('%s: partition %d (bytes %d-%d) overlaps %s'
                                     % (name, part['index'], part['start'], end - 1, what))
    ordered = sorted(partitions, key=lambda p: (p['start'], p['index']))
    for before, after in zip(ordered, ordered[1:]):
        if before['start'] + before['size'] > after['start']:
            raise PartitionError('%s: partitions %d and %d overlap (partition %d ends at byte %d, partition %d '
                                 'starts at byte %d)' % (name, before['index'], after['index'], before['index'],
                                                         before['start'] + before['size'] - 1, after['index'],
                                                         after['start']))


def parse_partitions(handle, image_size, name='the image'):
    """List of partitions (index, scheme, type, start, size in bytes, bootable, fat, name)."""
    handle.seek(0)
    sector = handle.read(SECTOR)
    if len(sector) < SECTOR or sector[510:512] != b'\x55\xaa':
        raise PartitionError('%s is not a disk image: no partition table (the 55 AA boot signature '
                             'is missing at byte 510)' % name)
    entries = list(_mbr_entries(sector))
    if any(ptype == 0xee for dummy, dummy_boot, ptype, dummy_start, dummy_count in entries):
        partitions, reserved = _parse_gpt(handle, image_size, name)
    else:
        partitions, reserved = [], [(0, SECTOR, 'the MBR')]
        for slot, boot, ptype, start, count in entries:
            if not ptype or not count:
                continue
            if ptype in EXTENDED_MBR_TYPES:
                if not start or (start + count) * SECTOR > image_size:
                    raise PartitionError('%s: the extended partition (LBA %d, %d sectors) does not lie inside the '
                                         'image after the MBR' % (name, start, count))
                partitions.extend(_parse_logical(handle, start, count, name))
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
    _check_layout(partitions, reserved, image_size, name)
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
    damaged = []
    for part in partitions:
        if part['fat']:
            if looks_like_fat(_read_at(handle, part['start'], SECTOR, name)):
                return part
            damaged.append('partition %d (type %s) does not start with a FAT boot sector' % (part['index'], part['type']))
    raise PartitionError('%s has no FAT boot partition%s (partition types: %s)'
                         % (name, ''.join(': ' + text for text in damaged[:1]),
                            ', '.join('%d=%s' % (p['index'], p['type']) for p in partitions)))
