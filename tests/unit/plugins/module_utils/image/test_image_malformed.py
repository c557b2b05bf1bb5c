# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Malformed card images: each is refused with one clear CustomizeError naming the structure, within a
time limit (the old code hung on some), and the image stays byte-identical (sha256 before and after).

The images are the small fixtures of fuzzing.py (MBR or GPT, FAT32 with 512-byte clusters), built
with sfdisk, mkfs.vfat and mtools, then damaged at the byte offsets their structures have."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import struct
import subprocess

import pytest

import fixtures
import fuzzing
from ansible_collections.picocloud.edge.plugins.module_utils.image import customize
from ansible_collections.picocloud.edge.plugins.module_utils.image import fat
from ansible_collections.picocloud.edge.plugins.module_utils.image import mbr

SECTOR = fuzzing.SECTOR
LIMIT = 20  # seconds; the old code never answered on a looping chain


@pytest.fixture(scope='module')
def bases(tmp_path_factory):
    if fuzzing.missing_tools():
        pytest.skip('image tools missing: %s' % ', '.join(fuzzing.missing_tools()))
    directory = tmp_path_factory.mktemp('malformed')
    result = {}
    for scheme in ('mbr', 'gpt'):
        path = fuzzing.build_fixture(str(directory / ('%s.img' % scheme)), scheme)
        result[scheme] = (path, fuzzing.targets(path, scheme))
    return result


@pytest.fixture
def card(bases, tmp_path):
    """card(scheme) -> (path of a fresh copy of the fixture, its structure map)."""
    def make(scheme='mbr'):
        base, info = bases[scheme]
        path = str(tmp_path / ('card-%s.img' % scheme))
        shutil.copyfile(base, path)
        return path, info
    return make


def poke(path, offset, data):
    with open(path, 'r+b') as handle:
        handle.seek(offset)
        handle.write(data)


def set_fat(path, info, cluster, value):
    """Write one FAT entry in every FAT copy."""
    for copy in range(info['fats']):
        poke(path, info['fat_start'] + copy * info['fat_bytes'] + 4 * cluster, struct.pack('<I', value))


def refused(path, message, check_mode=False, **overrides):
    """Customising path fails with a CustomizeError containing message, in time, and changes no byte."""
    before = fuzzing.sha256(path)
    with fuzzing.deadline(LIMIT):
        with pytest.raises(customize.CustomizeError) as err:
            customize.run(dict(fuzzing.params(path), **overrides), check_mode=check_mode)
    assert message in str(err.value), str(err.value)
    assert fuzzing.sha256(path) == before
    return str(err.value)


# --- cluster chains ------------------------------------------------------------------------------------

def test_the_fixture_itself_is_customised_and_stays_fsck_clean(card, tmp_path):
    path, dummy_info = card()
    result = customize.run(fuzzing.params(path), check_mode=False)
    assert result['changed'] and 'cmdline.txt' in result['files_changed']
    rc, out = fixtures.fsck(path, str(tmp_path), offset=fuzzing.BOOT_LBA * SECTOR, size=fuzzing.BOOT_SECTORS * SECTOR)
    assert rc == 0, out


def test_a_looping_chain_on_cmdline_txt_is_refused_before_the_dirty_bit_or_any_entry_is_written(card):
    path, info = card()
    cluster = info['chains']['cmdline.txt'][-1]
    set_fat(path, info, cluster, cluster)
    message = refused(path, 'the cluster chain of /CMDLINE.TXT loops back to cluster %d' % cluster)
    assert message.startswith('the boot partition (FAT file system at byte %d): ' % (fuzzing.BOOT_LBA * SECTOR))


def test_a_looping_chain_is_refused_in_check_mode_too(card):
    path, info = card()
    cluster = info['chains']['cmdline.txt'][-1]
    set_fat(path, info, cluster, cluster)
    refused(path, 'loops back', check_mode=True)


def test_a_looping_root_directory_chain_is_refused_before_pyfatfs_opens_the_volume(card):
    path, info = card()
    root = info['chains']['root']
    set_fat(path, info, root[-1], root[0])
    refused(path, 'the cluster chain of the root directory loops back to cluster %d' % root[0])


def test_a_looping_subdirectory_chain_is_refused(card):
    path, info = card()
    overlays = info['chains']['overlays']
    set_fat(path, info, overlays[-1], overlays[-1])
    refused(path, 'the cluster chain of directory /OVERLAYS loops back')


def test_a_chain_that_leaves_the_volume_is_refused(card):
    path, info = card()
    chain = info['chains']['config.txt']
    set_fat(path, info, chain[0], info['clusters'] + 2)
    refused(path, 'the cluster chain of /CONFIG.TXT points past the last cluster of the volume')


def test_a_chain_that_reaches_a_free_cluster_is_refused(card):
    path, info = card()
    chain = info['chains']['config.txt']
    set_fat(path, info, chain[0], info['used_clusters'][-2])  # the first free cluster
    refused(path, 'the cluster chain of /CONFIG.TXT reaches a free cluster')


def test_cross_linked_files_are_refused_so_replacing_one_never_frees_the_other(card):
    """The old code freed config.txt's old chain, and with it a cluster that cmdline.txt still used."""
    path, info = card()
    dtb = [name for name in info['chains'] if name.startswith('bcm27')][0]
    set_fat(path, info, info['chains']['config.txt'][-1], info['chains'][dtb][-1])
    refused(path, 'share cluster %d (cross-linked cluster chains)' % info['chains'][dtb][-1])


# --- the boot sector against its partition ---------------------------------------------------------

def test_a_file_system_larger_than_its_partition_is_refused_and_the_next_partition_is_untouched(card):
    """The boot partition is cut short in the MBR, and the root partition starts right behind it:
    the old code put the new files' clusters into the root partition."""
    path, info = card()
    with open(path, 'rb') as handle:
        handle.seek(info['boot'])
        boot = handle.read(SECTOR)
    reserved, fats, fat_sectors = struct.unpack('<H', boot[14:16])[0], boot[16], struct.unpack('<I', boot[36:40])[0]
    first_free = info['used_clusters'][-2]
    new_size = reserved + fats * fat_sectors + (first_free - 2)  # ends where the next allocation would go
    image_sectors = fuzzing.IMAGE_SIZE // SECTOR
    poke(path, 446 + 12, struct.pack('<I', new_size))
    poke(path, 446 + 16 + 8, struct.pack('<II', fuzzing.BOOT_LBA + new_size, image_sectors - fuzzing.BOOT_LBA - new_size))
    message = refused(path, 'more than its partition holds (%d bytes)' % (new_size * SECTOR))
    assert 'the FAT boot sector gives %d sectors of 512 bytes' % fuzzing.BOOT_SECTORS in message


@pytest.mark.parametrize('offset, fmt, value, message', [
    (36, '<I', 35000, 'puts the data area at sector'),
    (32, '<I', 1000, 'puts the data area at sector 1104, past the end of the file system (1000 sectors)'),
    (32, '<I', fuzzing.BOOT_SECTORS + 1, 'gives 69633 sectors of 512 bytes (35652096 bytes), more than its partition '
                                         'holds (35651584 bytes)'),
    (50, '<H', 0xffff, 'puts the backup boot sector at 65535, outside the 32 reserved sectors'),
    (48, '<H', 0x4000, 'puts the FSInfo sector at 16384, outside the 32 reserved sectors'),
    (44, '<I', 0x7fffffff, 'puts the root directory at cluster 2147483647, outside the volume'),
    (21, '<B', 0x12, 'has an invalid media byte 0x12'),
])
def test_boot_sector_fields_outside_the_volume_or_implausible_are_refused_naming_the_field(card, offset, fmt, value, message):
    path, info = card()
    poke(path, info['boot'] + offset, struct.pack(fmt, value))
    refused(path, 'the FAT boot sector ' + message)


@pytest.mark.parametrize('offset, value', [(13, 3), (16, 9), (510, 0)])
def test_a_fat_partition_without_a_fat_boot_sector_is_named(card, offset, value):
    path, info = card()
    poke(path, info['boot'] + offset, bytes([value]))
    refused(path, 'has no FAT boot partition: partition 1 (type 0x0c) does not start with a FAT boot sector')


def test_a_fat_too_small_for_its_clusters_is_refused(card):
    path, info = card()
    poke(path, info['boot'] + 36, struct.pack('<I', 100))
    poke(path, info['boot'] + 32, struct.pack('<I', fuzzing.BOOT_SECTORS))
    refused(path, 'with room for 12800 entries, too small for its')


# --- partition tables ------------------------------------------------------------------------------------

def gpt_header_field(path, offset, fmt, value, fix_crc=True):
    fuzzing.apply_mutations(path, [{'offset': SECTOR + offset, 'data': struct.pack(fmt, value), 'gpt_crc': fix_crc}])


def test_a_gpt_entry_size_of_one_gib_is_refused_without_reading_it(card):
    """The old code asked for count x entry size bytes at once and died with MemoryError."""
    path, dummy_info = card('gpt')
    gpt_header_field(path, 84, '<I', 0x40000000)
    with open(path, 'rb') as handle:
        with pytest.raises(mbr.PartitionError, match='partition entry size of 1073741824 bytes'):
            mbr.parse_partitions(handle, os.path.getsize(path), path)
    refused(path, 'the GPT header gives a partition entry size of 1073741824 bytes')


@pytest.mark.parametrize('offset, fmt, value, fix_crc, message', [
    (84, '<I', 0x40000000, False, 'the GPT header is damaged (its CRC32 does not match)'),
    (80, '<I', 0xffffffff, True, 'the GPT header gives 4294967295 partition entries'),
    (72, '<Q', 1 << 40, True, 'the GPT partition entries (LBA 1099511627776, 16384 bytes) do not lie inside the image'),
    (12, '<I', 4096, True, 'the GPT header gives a header size of 4096 bytes'),
    (24, '<Q', 7, True, 'the GPT header at LBA 1 says it is at LBA 7'),
])
def test_gpt_header_fields_are_checked_before_use(card, offset, fmt, value, fix_crc, message):
    path, dummy_info = card('gpt')
    gpt_header_field(path, offset, fmt, value, fix_crc)
    refused(path, message)


def test_a_gpt_partition_that_ends_before_it_starts_is_refused(card):
    path, info = card('gpt')
    fuzzing.apply_mutations(path, [{'offset': info['gpt_entries'] + 40, 'data': struct.pack('<Q', 10),
                                    'gpt_crc': True}])
    refused(path, 'GPT partition 1 ends (LBA 10) before it starts (LBA 2048)')


def test_a_damaged_gpt_entry_array_is_refused(card):
    path, info = card('gpt')
    poke(path, info['gpt_entries'] + 40, struct.pack('<Q', 10))
    refused(path, 'the GPT partition entries are damaged (their CRC32 does not match the header)')


def test_overlapping_mbr_partitions_are_refused(card):
    path, dummy_info = card()
    poke(path, 446 + 16 + 8, struct.pack('<I', fuzzing.BOOT_LBA + 100))
    refused(path, 'partitions 1 and 2 overlap')


def test_a_partition_over_the_mbr_is_refused(card):
    path, dummy_info = card()
    poke(path, 446 + 32, bytes([0, 0, 0, 0, 0x83, 0, 0, 0]) + struct.pack('<II', 0, 64))
    refused(path, 'partition 3 (bytes 0-32767) overlaps the MBR')


def test_a_looping_ebr_chain_is_refused(card):
    path, dummy_info = card()
    start = fuzzing.ROOT_LBA
    count = fuzzing.IMAGE_SIZE // SECTOR - start
    poke(path, 446 + 16, bytes([0, 0, 0, 0, 0x0f, 0, 0, 0]) + struct.pack('<II', start, count))

    def ebr(logical_start, next_start):
        table = bytes([0, 0, 0, 0, 0x83, 0, 0, 0]) + struct.pack('<II', logical_start, 50)
        table += bytes([0, 0, 0, 0, 0x05, 0, 0, 0]) + struct.pack('<II', next_start, 100)
        return table + bytes(32) + b'\x55\xaa'
    poke(path, start * SECTOR + 446, ebr(1, 200))
    poke(path, (start + 200) * SECTOR + 446, ebr(1, 200))  # points back at itself
    refused(path, 'the EBR chain of the extended partition loops back to LBA %d' % (start + 200))


# --- checks of the write itself, before its first byte ------------------------------------------------

def test_a_full_volume_is_refused_before_the_dirty_bit_is_set(card):
    """The old code set the dirty bit and wrote file data before pyfatfs ran out of clusters."""
    path, info = card()
    with open(path, 'r+b') as handle:
        for copy in range(info['fats']):
            start = info['fat_start'] + copy * info['fat_bytes']
            handle.seek(start)
            table = bytearray(handle.read(4 * (info['clusters'] + 2)))
            for pos in range(8, len(table), 4):
                if table[pos:pos + 4] == b'\0\0\0\0':
                    table[pos:pos + 4] = struct.pack('<I', 0x0fffffff)
            handle.seek(start)
            handle.write(bytes(table))
    refused(path, 'not enough free space for this change')


def test_a_path_through_a_file_is_refused_before_anything_is_written(card):
    path, dummy_info = card()
    files = [{'path': 'picocloud/node.txt', 'content': 'node\n'}, {'path': 'cmdline.txt/inner', 'content': 'x'}]
    refused(path, 'cmdline.txt/inner: cmdline.txt is a file, not a directory', files=files)


def test_a_name_fat_cannot_store_is_refused_before_anything_is_written(card):
    path, dummy_info = card()
    refused(path, "'node:1.txt' is not a valid FAT file name", files=[{'path': 'picocloud/node:1.txt', 'content': 'x'}])


def test_writing_over_a_directory_is_refused(card):
    path, dummy_info = card()
    refused(path, 'overlays is a directory on the boot partition', files=[{'path': 'overlays', 'content': 'x'}])


# --- FAT16 ---------------------------------------------------------------------------------------------

def fat16_card(path, root_entries, files):
    """An MBR image with a 64 MiB FAT16 boot partition (type 0e) at 1 MiB holding files."""
    with open(path, 'wb') as handle:
        handle.truncate(80 * fuzzing.MIB)
    subprocess.run(['sfdisk', '--no-reread', '--no-tell-kernel', '-q', path], check=True,
                   input=b'label: dos\nunit: sectors\n\nstart=2048, size=131072, type=e\nstart=133120, type=83\n')
    subprocess.run(['mkfs.vfat', '-F', '16', '-r', str(root_entries), '-n', 'bootfs', '--offset', '2048', path, '65536'],
                   check=True, stdout=subprocess.PIPE)
    staging = path + '.files'
    os.mkdir(staging)
    for name, data in files.items():
        with open(os.path.join(staging, name), 'wb') as handle:
            handle.write(data)
    subprocess.run(['mcopy', '-i', '%s@@%d' % (path, fuzzing.MIB)] + [os.path.join(staging, name) for name in sorted(files)]
                   + ['::/'], check=True, env=dict(os.environ, MTOOLS_SKIP_CHECK='1'))
    shutil.rmtree(staging)
    return path


def test_a_fat16_boot_partition_is_customised_and_stays_fsck_clean(bases, tmp_path):
    files = dict((name, fuzzing.BOOT_FILES[name]) for name in ('cmdline.txt', 'config.txt', 'issue.txt'))
    path = fat16_card(str(tmp_path / 'fat16.img'), 512, files)
    result = customize.run(fuzzing.params(path), check_mode=False)
    assert result['changed'] and result['boot_partition']['size'] == 64 * fuzzing.MIB
    rc, out = fixtures.fsck(path, str(tmp_path), offset=fuzzing.MIB, size=64 * fuzzing.MIB)
    assert rc == 0, out
    with fat.BootFS(path, fuzzing.MIB, 64 * fuzzing.MIB) as bootfs:
        assert bootfs.volume.geometry.fat_type == 16
        assert bootfs.read('picocloud/node.txt') == b'node=node1\n' * 100


def test_a_full_fat16_root_directory_is_refused_before_anything_is_written(bases, tmp_path):
    """The old code wrote the new files' data and the FAT, then pyfatfs found no room in the root."""
    files = dict((name, fuzzing.BOOT_FILES[name]) for name in ('cmdline.txt', 'config.txt', 'issue.txt'))
    files.update(('F%d.DAT' % index, b'x') for index in range(58))
    path = fat16_card(str(tmp_path / 'fat16.img'), 64, files)  # 64 root entries: label + 61 files + 2 free
    with fat.BootFS(path, fuzzing.MIB, 64 * fuzzing.MIB) as bootfs:
        assert bootfs.volume.geometry.root_entries == 64 and bootfs.volume.root_free_entries == 2
    refused(path, 'the FAT16 root directory has 2 free entries, 8 are needed for firstrun.sh, overlays, picocloud, ssh')
