# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/lab/files/build-card.py: the card the lab nodes' boot partitions come from, built with the real tools
(sfdisk, mkfs.vfat, fsck.vfat, mkfs.ext4, mtools) from stand-in firmware blobs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.image import flavor, mbr

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = os.path.join(HERE, '..', '..', '..', 'roles', 'lab', 'files')
BUILD = os.path.join(FILES, 'build-card.py')
BOOT_START = 4 * 1024 * 1024
TOOLS = ('sfdisk', 'mkfs.vfat', 'fsck.vfat', 'mkfs.ext4', 'mdir', 'mtype')

pytestmark = pytest.mark.skipif([tool for tool in TOOLS if shutil.which(tool) is None] != [],
                                reason='needs sfdisk, dosfstools, e2fsprogs and mtools')


def firmware(tmp_path, names=('bootcode.bin', 'start4.elf', 'start.elf', 'fixup4.dat', 'fixup.dat')):
    directory = tmp_path / 'firmware'
    directory.mkdir()
    for name in names:
        (directory / name).write_bytes(b'stand-in for ' + name.encode() + b'\n')
    return str(directory)


def build(tmp_path, firmware_dir):
    out = str(tmp_path / 'card.img')
    proc = subprocess.run([sys.executable, BUILD, firmware_dir, os.path.join(FILES, 'boot'), out],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False, timeout=120)
    return proc, out


@pytest.fixture(scope='module')
def card(tmp_path_factory):
    """One card built from stand-in firmware, shared by the tests that only read it."""
    tmp_path = tmp_path_factory.mktemp('card')
    proc, out = build(tmp_path, firmware(tmp_path))
    assert proc.returncode == 0, proc.stdout
    return out


def mtools(*argv):
    return subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=True, timeout=60,
                          env=dict(os.environ, MTOOLS_SKIP_CHECK='1')).stdout.decode()


def test_the_card_is_pi_os_shaped_with_the_labs_disk_id_and_a_clean_fat32_bootfs(card, tmp_path):
    layout = subprocess.run(['sfdisk', '-d', card], stdout=subprocess.PIPE, check=True).stdout.decode()
    assert 'label-id: 0x4e639091' in layout
    assert 'start=        8192, size=     1048576, type=c' in layout
    assert 'start=     1056768, size=      131072, type=83' in layout
    with open(card, 'rb') as handle:
        handle.seek(BOOT_START)
        boot_sector = handle.read(90)
    assert boot_sector[82:90] == b'FAT32   ' and boot_sector[71:82] == b'bootfs     '
    part = str(tmp_path / 'boot.vfat')
    subprocess.run(['dd', 'if=' + card, 'of=' + part, 'bs=1M', 'skip=4', 'count=512', 'status=none'], check=True)
    assert subprocess.run(['fsck.vfat', '-n', part], stdout=subprocess.PIPE, check=False).returncode == 0


def test_every_boot_file_has_a_long_name_entry_as_pi_gen_writes_it_and_the_firmware_is_on_it(card):
    image = '%s@@%d' % (card, BOOT_START)
    # mdir shows the long name after the 8.3 one; a short name with only the case bits shows none
    listing = mtools('mdir', '-i', image, '::/')
    for name in ('bootcode.bin', 'start4.elf', 'fixup4.dat', 'cmdline.txt', 'config.txt', 'issue.txt', 'overlays'):
        assert ' ' + name in listing, name
    assert mtools('mtype', '-i', image, '::/start4.elf') == 'stand-in for start4.elf\n'
    with open(os.path.join(FILES, 'boot', 'cmdline.txt')) as handle:
        assert mtools('mtype', '-i', image, '::/cmdline.txt') == handle.read()


def test_pi_image_finds_the_boot_partition_and_takes_the_card_for_raspberry_pi_os_with_firstrun(card):
    with open(card, 'rb') as handle:
        boot = mbr.find_boot_partition(handle, mbr.parse_partitions(handle, os.path.getsize(card)))
    assert (boot['index'], boot['start'], boot['size']) == (1, BOOT_START, 512 * 1024 * 1024)
    image = '%s@@%d' % (card, BOOT_START)
    names = [line.strip().rsplit('/', 1)[-1] for line in mtools('mdir', '-b', '-i', image, '::/').splitlines()]
    issue = mtools('mtype', '-i', image, '::/issue.txt').encode()
    assert flavor.detect({'issue.txt': issue}, names, 'bootfs')[0] == 'rpios-firstrun'


def test_firmware_without_start4_elf_is_refused_and_no_card_is_left(tmp_path):
    proc, card = build(tmp_path, firmware(tmp_path, names=('bootcode.bin',)))
    assert proc.returncode != 0
    assert 'holds no raspi-firmware blobs (start4.elf is missing)' in proc.stdout.decode()
    assert not os.path.exists(card)
    assert os.listdir(str(tmp_path)) == ['firmware']
