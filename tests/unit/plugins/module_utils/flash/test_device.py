# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The device-safety rules of pi_flash against recorded /sys/block + /proc/mounts layouts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.flash import device


def facts_for(sysroot, layout, path, mounts=None):
    return device.linux_facts(path, device.SysBlock(sysroot(layout, mounts)))


# --- USB card reader (sdb, removable=1) on a laptop with an LVM system disk ------------------------

def test_usb_card_reader_facts_read_removable_usb_model(sysroot):
    facts = facts_for(sysroot, 'usb_card_reader', '/dev/sdb')
    assert facts['name'] == 'sdb'
    assert facts['bus'] == 'usb'
    assert facts['type'] == 'disk'
    assert facts['removable'] is True and facts['removable_flag'] is True
    assert facts['model'] == 'SD/MMC' and facts['vendor'] == 'Generic-'
    assert facts['size'] == 62333952 * 512
    assert facts['system_reasons'] == []


def test_usb_card_reader_refused_while_auto_mounted_naming_partition_and_mountpoint(sysroot):
    facts = facts_for(sysroot, 'usb_card_reader', '/dev/sdb')
    with pytest.raises(device.DeviceError) as err:
        device.check(facts)
    assert str(err.value) == ('refusing to write to /dev/sdb: it is in use (/dev/sdb1 is mounted on '
                              '/media/tech/boot fs); unmount it first')


def test_usb_card_reader_accepted_once_unmounted_without_force(sysroot):
    mounts = '/dev/mapper/vg-root / ext4 rw 0 0\n/dev/sda1 /boot ext4 rw 0 0\n'
    facts = facts_for(sysroot, 'usb_card_reader', '/dev/sdb', mounts=mounts)
    assert device.check(facts, force=False, image_size=4 * 1024 ** 3) is facts


def test_lvm_system_disk_found_through_device_mapper_and_swap(sysroot):
    layout = device.SysBlock(sysroot('usb_card_reader'))
    assert layout.system_disks() == {'sda': ['it backs /', 'it backs /boot', 'it holds active swap /dev/dm-1']}
    facts = device.linux_facts('/dev/sda', layout)
    with pytest.raises(device.DeviceError) as err:
        device.check(facts, force=True)
    assert str(err.value).startswith('refusing to write to /dev/sda: it is the system disk (it backs /; ')


def test_holders_count_as_use_even_when_nothing_is_mounted(sysroot):
    layout = device.SysBlock(sysroot('usb_card_reader', mounts=''))
    facts = device.linux_facts('/dev/sda', layout)
    assert 'sda2 is held by dm-0' in facts['uses'] and 'sda2 is held by dm-1' in facts['uses']


def test_partition_path_is_refused_with_the_whole_disk_named(sysroot):
    facts = facts_for(sysroot, 'usb_card_reader', '/dev/sdb2', mounts='')
    with pytest.raises(device.DeviceError) as err:
        device.check(facts)
    assert str(err.value) == 'refusing to write to /dev/sdb2: it is a partition of sdb; give the whole disk'


# --- SD slot (mmcblk0, type SD) next to an eMMC system disk --------------------------------------

def test_sd_slot_counts_as_removable_although_its_flag_is_zero(sysroot):
    facts = facts_for(sysroot, 'sd_slot', '/dev/mmcblk0')
    assert facts['bus'] == 'mmc' and facts['type'] == 'SD'
    assert facts['removable_flag'] is False and facts['removable'] is True
    assert facts['model'] == 'SC32G'
    assert device.check(facts, image_size=2 * 1024 ** 3) is facts


def test_emmc_system_disk_refused_even_with_force(sysroot):
    facts = facts_for(sysroot, 'sd_slot', '/dev/mmcblk1')
    assert facts['type'] == 'MMC' and facts['removable'] is False
    with pytest.raises(device.DeviceError) as err:
        device.check(facts, force=True)
    assert str(err.value) == ('refusing to write to /dev/mmcblk1: it is the system disk '
                              '(it backs /; it backs /boot/firmware)')


def test_sd_slot_smaller_than_image_refused_with_both_sizes(sysroot):
    facts = facts_for(sysroot, 'sd_slot', '/dev/mmcblk0')
    with pytest.raises(device.DeviceError) as err:
        device.check(facts, image_size=64 * 1024 ** 3)
    assert str(err.value) == ('refusing to write to /dev/mmcblk0: the device is too small (29.8 GiB, '
                              '32010928128 bytes) for the image (64.0 GiB, 68719476736 bytes)')


def test_read_only_card_refused(sysroot):
    root = sysroot('sd_slot')
    with open(root + '/sys/devices/platform/emmc2bus/fe340000.mmc/mmc_host/mmc0/mmc0:aaaa/block/mmcblk0/ro', 'w') as fh:
        fh.write('1\n')
    facts = device.linux_facts('/dev/mmcblk0', device.SysBlock(root))
    with pytest.raises(device.DeviceError, match="read-only .is the card's lock switch on"):
        device.check(facts)


# --- NVMe system disk ------------------------------------------------------------------------------

def test_nvme_system_disk_refused_for_root_efi_and_swap(sysroot):
    facts = facts_for(sysroot, 'nvme_system', '/dev/nvme0n1')
    assert facts['bus'] == 'nvme' and facts['type'] == 'nvme'
    assert facts['model'] == 'WDC PC SN730 SDBQNTY-512G-1001'
    assert facts['system_reasons'] == ['it backs /', 'it backs /boot/efi', 'it holds active swap /dev/nvme0n1p3']
    with pytest.raises(device.DeviceError, match=r'^refusing to write to /dev/nvme0n1: it is the system disk'):
        device.check(facts, force=True)


def test_second_nvme_disk_needs_force(sysroot):
    facts = facts_for(sysroot, 'nvme_system', '/dev/nvme1n1')
    with pytest.raises(device.DeviceError) as err:
        device.check(facts)
    assert str(err.value) == ('refusing to write to /dev/nvme1n1: it is not a removable device (removable=0, '
                              'bus=nvme, type=nvme); set force=true only if you are sure this is the card')
    assert device.check(facts, force=True) is facts


# --- loop devices on this VM's layout ----------------------------------------------------------------

def test_loop_device_with_mounted_partition_refused(sysroot):
    facts = facts_for(sysroot, 'loop', '/dev/loop0')
    assert facts['bus'] == 'loop' and facts['type'] == 'loop' and facts['backing_file'] == '/tmp/card.img'
    with pytest.raises(device.DeviceError) as err:
        device.check(facts, force=True)
    assert str(err.value) == ('refusing to write to /dev/loop0: it is in use (/dev/loop0p1 is mounted on '
                              '/tmp/mnt card); unmount it first')


def test_free_loop_device_needs_force_then_size_is_checked(sysroot):
    facts = facts_for(sysroot, 'loop', '/dev/loop1')
    with pytest.raises(device.DeviceError, match='not a removable device .removable=0, bus=loop, type=loop.'):
        device.check(facts)
    with pytest.raises(device.DeviceError, match=r'too small \(16.0 MiB, 16777216 bytes\) for the image '
                                                 r'\(32.0 MiB, 33554432 bytes\)'):
        device.check(facts, force=True, image_size=32 * 1024 * 1024)


def test_whole_disk_virtio_root_without_partition_table_is_the_system_disk(sysroot):
    facts = facts_for(sysroot, 'loop', '/dev/vda')
    assert facts['bus'] == 'virtio'
    assert facts['system_reasons'] == ['it backs /']
    with pytest.raises(device.DeviceError, match=r'system disk \(it backs /\)$'):
        device.check(facts, force=True)


def test_unknown_path_is_refused(sysroot):
    with pytest.raises(device.DeviceError, match='not a block device known to the kernel'):
        facts_for(sysroot, 'loop', '/dev/sdz')


# --- devices that share a physical disk with the system (each was accepted with force before) -------

def refused_as_system(sysroot, layout, path, reasons, mounts=None):
    facts = facts_for(sysroot, layout, path, mounts)
    assert facts['system_reasons'] == reasons
    with pytest.raises(device.DeviceError) as err:
        device.check(facts, force=True)
    assert str(err.value) == 'refusing to write to %s: it is the system disk (%s)' % (path, '; '.join(reasons))


def test_an_unmounted_lv_in_the_root_disks_volume_group_is_the_system_disk(sysroot):
    refused_as_system(sysroot, 'lvm_root_vg', '/dev/mapper/vg0-scratch', [
        'it sits on sda, which backs /', 'it sits on sda, which backs /boot/efi',
        'it sits on sda, which holds active swap /dev/dm-1'])


def test_the_card_reader_next_to_an_lvm_system_disk_is_still_accepted(sysroot):
    facts = facts_for(sysroot, 'lvm_root_vg', '/dev/sdb')
    assert facts['system_reasons'] == [] and device.check(facts, image_size=2 * 1024 ** 3) is facts


def test_an_unmounted_md_array_on_the_system_disks_is_the_system_disk(sysroot):
    refused_as_system(sysroot, 'md_raid_system', '/dev/md1', ['it sits on sda, which backs /', 'it sits on sdb, which backs /'])


def test_each_raid_member_disk_of_the_root_array_is_the_system_disk(sysroot):
    refused_as_system(sysroot, 'md_raid_system', '/dev/sdb', ['it backs /'])
    facts = facts_for(sysroot, 'md_raid_system', '/dev/sdc')
    assert facts['system_reasons'] == [] and device.check(facts) is facts


def test_a_disk_holding_a_member_of_the_zfs_root_pool_is_the_system_disk(sysroot):
    refused_as_system(sysroot, 'zfs_root', '/dev/nvme1n1', ['it holds ZFS pool rpool, which backs /',
                                                            'it holds ZFS pool rpool, which backs /home'])
    refused_as_system(sysroot, 'zfs_root', '/dev/nvme0n1', ['it backs /boot/efi', 'it holds ZFS pool rpool, which backs /',
                                                            'it holds ZFS pool rpool, which backs /home'])


def test_a_disk_outside_the_zfs_root_pool_is_accepted_with_force(sysroot):
    facts = facts_for(sysroot, 'zfs_root', '/dev/nvme2n1')
    assert facts['system_reasons'] == [] and device.check(facts, force=True) is facts


def test_without_udev_data_a_zfs_root_makes_every_fixed_disk_suspect(sysroot):
    root = sysroot('zfs_root')
    shutil.rmtree(os.path.join(root, 'run', 'udev'))
    facts = device.linux_facts('/dev/nvme2n1', device.SysBlock(root))
    reason = "it may hold ZFS pool rpool, which backs / (udev names none of the pool's disks)"
    assert reason in facts['system_reasons']
    with pytest.raises(device.DeviceError, match='it is the system disk'):
        device.check(facts, force=True)


def test_a_crypt_volume_on_the_disk_that_holds_active_swap_is_the_system_disk(sysroot):
    refused_as_system(sysroot, 'swap_partition', '/dev/mapper/crypt-data', ['it sits on sda, which holds active swap /dev/sda2'])
    refused_as_system(sysroot, 'swap_partition', '/dev/sda', ['it holds active swap /dev/sda2'])


def test_the_disk_of_an_efi_partition_mounted_on_efi_is_the_system_disk(sysroot):
    refused_as_system(sysroot, 'efi_system', '/dev/nvme0n1', ['it backs /efi'])
    refused_as_system(sysroot, 'efi_system', '/dev/mapper/vault', ['it sits on nvme0n1, which backs /efi'])


# --- pure parsers and rules ------------------------------------------------------------------------

def test_parse_mounts_unescapes_octal():
    assert device.parse_mounts('/dev/sdb1 /media/a\\040b vfat rw 0 0\nbad\n') == [('/dev/sdb1', '/media/a b', 'vfat')]


def test_parse_swaps_skips_header():
    assert device.parse_swaps('Filename Type Size Used Priority\n/swapfile file 1 0 -2\n') == ['/swapfile']


@pytest.mark.parametrize('devpath,name,bus', [
    ('/sys/devices/virtual/block/loop3', 'loop3', 'loop'),
    ('/sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb', 'sdb', 'usb'),
    ('/sys/devices/platform/emmc2bus/fe340000.mmc/mmc_host/mmc0/mmc0:aaaa/block/mmcblk0', 'mmcblk0', 'mmc'),
    ('/sys/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/nvme0n1', 'nvme0n1', 'nvme'),
    ('/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda', 'sda', 'ata'),
    ('/sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda', 'vda', 'virtio'),
    ('/sys/devices/virtual/block/dm-0', 'dm-0', 'virtual'),
    ('/sys/devices/platform/whatever/block/xyz', 'xyz', 'unknown'),
])
def test_bus_from_devpath(devpath, name, bus):
    assert device.bus_from_devpath(devpath, name) == bus


@pytest.mark.parametrize('flag,bus,dtype,expected', [
    (True, 'scsi', 'disk', True), (False, 'usb', 'disk', True), (False, 'mmc', 'SD', True),
    (False, 'mmc', 'MMC', False), (False, 'nvme', 'nvme', False), (False, 'loop', 'loop', False),
])
def test_removable_rule(flag, bus, dtype, expected):
    assert device.is_removable(flag, bus, dtype) is expected


def test_human_size():
    assert device.human_size(512) == '512 B'
    assert device.human_size(3 * 1024 ** 3) == '3.0 GiB'


# --- macOS path forms (no Mac here: built from Apple's documented diskutil plist keys) ----------------

def test_split_darwin_device_forms():
    assert device.split_darwin_device('/dev/rdisk4') == {'disk': 'disk4', 'raw': '/dev/rdisk4',
                                                         'buffered': '/dev/disk4', 'partition': False}
    assert device.split_darwin_device('/dev/disk4s1')['partition'] is True
    assert device.split_darwin_device('/dev/disk3s1s1')['disk'] == 'disk3'
    assert device.split_darwin_device('/dev/sdb') is None


def test_darwin_facts_not_from_a_real_mac_card_reader_allowed_and_system_refused():
    mount_text = ('/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)\n'
                  '/dev/disk3s5 on /System/Volumes/Data (apfs, local, journaled, nobrowse)\n')
    root_info = {'ParentWholeDisk': 'disk3', 'APFSPhysicalStores': [{'APFSPhysicalStore': 'disk0s2'}]}
    card = {'DeviceIdentifier': 'disk4', 'Internal': False, 'RemovableMedia': True, 'BusProtocol': 'USB',
            'TotalSize': 31914983424, 'MediaName': 'SD Card Reader', 'WritableMedia': True}
    facts = device.darwin_facts('/dev/rdisk4', card, {'/': root_info}, mount_text)
    assert facts['removable'] and facts['bus'] == 'usb' and facts['size'] == 31914983424
    assert device.check(facts, image_size=2 * 1024 ** 3) is facts
    internal = {'DeviceIdentifier': 'disk0', 'Internal': True, 'RemovableMedia': False, 'BusProtocol': 'Apple Fabric',
                'TotalSize': 500277792768, 'MediaName': 'APPLE SSD AP0512Q'}
    facts = device.darwin_facts('/dev/rdisk0', internal, {'/': root_info}, mount_text)
    with pytest.raises(device.DeviceError, match=r'/dev/rdisk0: it is the system disk \(it backs /\)'):
        device.check(facts, force=True)
    mounted = device.darwin_facts('/dev/rdisk4', card, {'/': root_info}, mount_text + '/dev/disk4s1 on /Volumes/bootfs (msdos, local)\n')
    with pytest.raises(device.DeviceError, match='/dev/disk4s1 is mounted on /Volumes/bootfs'):
        device.check(mounted)


def test_public_facts_subset():
    assert set(device.public_facts({'path': 'p', 'size': 1, 'uses': []})) == {
        'path', 'name', 'size', 'removable', 'model', 'vendor', 'bus', 'type'}


def test_live_layout_finds_the_disk_backing_root():
    """On the machine running the tests: the device behind / is the system disk."""
    layout = device.SysBlock('/')
    system = layout.system_disks()
    if not system:
        pytest.skip('/ is not on a block device here (container overlay)')
    assert any('it backs /' in reasons for reasons in system.values())
