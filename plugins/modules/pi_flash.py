#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: pi_flash
short_description: Write a card image to an SD card, verify it, and never touch the wrong disk
version_added: 0.1.0
description:
  - Streams a raw or compressed image (raw, C(.xz), C(.gz), C(.zst), C(.zip), told apart by magic bytes as
    in M(picocloud.edge.pi_image)) onto a block device or a regular file.
  - The image is read once; its sha256 is computed while writing. The write is flushed (C(O_DIRECT) and
    C(fsync)) and then read back around the page cache and compared, so a verified write proves the
    medium, not RAM.
  - Before the first byte is written the module refuses, with a message naming the device and the reason,
    a partition instead of a whole disk, the system disk (a physical disk that backs C(/), C(/boot),
    C(/usr), C(/var), C(/home), the EFI system partition or active swap, also through LVM,
    device-mapper, dm-crypt, md or a ZFS pool) and anything that sits on it (an unmounted LV in the root
    volume group, an md array, an encrypted volume), a disk with anything mounted, used as swap or
    stacked on it, a read-only card, a non-removable disk unless O(force), a device smaller than the
    image, and a source whose O(checksum) does not match.
  - The device is checked again each time it is opened after the checksum and decompression, which
    can take minutes. It must still be a device node (a vanished one is never created as a regular
    file), with the same device number and size, and the same checks must still pass; otherwise
    nothing is written.
  - When the device already holds exactly this image the module does nothing (O(skip_identical)).
author:
  - picocloud.edge developers (@picocloud)
attributes:
  check_mode:
    support: full
    description: Runs every safety check and the O(skip_identical) comparison (both only read), and reports
      whether a write would happen; nothing is written.
  diff_mode:
    support: none
    description: The content is a binary disk image; the result reports sizes and hashes instead.
  idempotent:
    support: full
    description: With O(skip_identical=true) a second run on the same card finds it identical and reports
      C(changed=false).
options:
  src:
    description:
      - The image on the controller (the host the module runs on). Raw, or compressed with xz, gzip, zstd
        or zip (one C(.img) member).
    type: path
    required: true
  device:
    description:
      - The whole-disk device to write, for example C(/dev/sdb), C(/dev/mmcblk0), C(/dev/loop3), a stable
        C(/dev/disk/by-id/usb-...) link, or C(/dev/rdisk4) on macOS.
      - A regular file is also accepted (created with mode 0600 when missing; never truncated, like a card);
        the device checks do not apply to it, but it must still be the same file when it is opened.
    type: path
    required: true
  checksum:
    description:
      - C(sha256:<hex>) of the O(src) file as it is (compressed or not). Checked before anything is
        written.
    type: str
  verify:
    description: Read the written bytes back, around the page cache, and compare their sha256.
    type: bool
    default: true
  skip_identical:
    description:
      - Compare the image with the device first and do nothing when they are equal (C(changed=false)).
      - Costs one read of the device when the card holds this image, and one block when it does not.
    type: bool
    default: true
  force:
    description:
      - Allow a disk that is not removable (loop devices, internal SATA/NVMe/eMMC disks).
      - It never overrides the system-disk, in-use, read-only or size checks.
    type: bool
    default: false
  progress_file:
    description:
      - Append progress lines (bytes, percent, MB/s, ETA; at most one a second) to this file while the
        module runs, for C(tail -f).
    type: path
  eject:
    description: Eject the card after a successful write (C(eject) on Linux, C(diskutil eject) on macOS).
    type: bool
    default: false
  block_size:
    description:
      - Bytes per read and write, rounded up to a multiple of 4096. The default, 4 MiB, was the fastest in
        the measurements recorded in C(benchmarks/bench_pi_flash.py).
    type: int
    default: 4194304
notes:
  - Runs as root on the machine that holds the card, usually the technician's laptop (C(connection=local)).
  - Written because no maintained module writes and verifies a disk image with these safety checks;
    M(community.general.filesystem) and M(ansible.builtin.command) with C(dd) do neither.
  - When the uncompressed size is not recorded in the file (gzip, zstd), the image is decompressed once
    before writing to learn its size; that also rejects a truncated download before the card is touched.
  - A failure after writing started reports how many bytes were written and says the card is not bootable.
  - Verification of a loop device reads through the loop driver; without C(losetup --direct-io=on) the
    backing file's page cache may answer.
  - macOS support (C(/dev/rdiskN), C(diskutil)) is implemented from Apple's documented C(diskutil info -plist)
    keys and has not been run on a Mac.
seealso:
  - module: picocloud.edge.pi_image
  - name: Field technician guide
    description: docs/field-technician.md in the collection, the whole flash flow.
    link: https://example.invalid/picocloud/edge/docs/field-technician.md
'''

EXAMPLES = r'''
- name: Flash a card and verify it
  picocloud.edge.pi_flash:
    src: /var/cache/picocloud/node1.img
    device: /dev/sdb
    progress_file: /tmp/flash-node1.log

- name: Flash a compressed release with a checksum, then eject
  picocloud.edge.pi_flash:
    src: /var/cache/picocloud/2025-05-13-raspios-bookworm-arm64-lite.img.xz
    checksum: sha256:62d025b9bc7ca0e1facfec74ae56ac13978b6745c58177f081d39fbb8041ed45
    device: /dev/mmcblk0
    eject: true

- name: Write into a regular file (image pipelines, tests)
  picocloud.edge.pi_flash:
    src: /tmp/node1.img
    device: /tmp/card-copy.img

- name: Write to a loop device (not removable, so force is needed)
  picocloud.edge.pi_flash:
    src: /tmp/node1.img
    device: /dev/loop3
    force: true
'''

RETURN = r'''
bytes_written:
  description: Bytes written to the device by this run (0 when skipped or in check mode).
  returned: always
  type: int
  sample: 2147483648
seconds:
  description: Wall time of the whole run (checks, compare, write and verify), in seconds.
  returned: always
  type: float
  sample: 96.4
mb_per_s:
  description: Write throughput in MB/s (10^6 bytes), from the start of the write to the end of its fsync.
  returned: always
  type: float
  sample: 22.3
verified:
  description: True when the device was read back and matched (after a write, or by the O(skip_identical)
    comparison).
  returned: always
  type: bool
skipped:
  description: True when the device already held this image and nothing was written.
  returned: always
  type: bool
image_size:
  description: Uncompressed image size in bytes (null when the run stopped before it was known).
  returned: always
  type: int
  sample: 2147483648
sha256:
  description: sha256 of the raw image bytes written (null when nothing was written).
  returned: always
  type: str
device:
  description: What the module found out about the target.
  returned: always
  type: dict
  contains:
    path:
      description: The O(device) as given.
      type: str
    name:
      description: Kernel name of the whole disk (C(sdb), C(mmcblk0)); null for a regular file.
      type: str
    size:
      description: Size in bytes (null for a new regular file).
      type: int
    removable:
      description: Whether the disk counts as removable (removable flag, USB bus, or an SD card in a slot).
      type: bool
    model:
      description: Model string from sysfs (or the SD card's name), when there is one.
      type: str
    vendor:
      description: Vendor string from sysfs, when there is one.
      type: str
    bus:
      description: C(usb), C(mmc), C(nvme), C(ata), C(scsi), C(virtio), C(loop), C(virtual) or C(unknown).
      type: str
    type:
      description: C(disk), C(SD), C(MMC), C(nvme), C(loop), C(file), ...
      type: str
  sample:
    path: /dev/sdb
    name: sdb
    size: 31914983424
    removable: true
    model: SD/MMC
    vendor: Generic-
    bus: usb
    type: disk
'''

import sys

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.picocloud.edge.plugins.module_utils.flash import flow


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type='path', required=True),
            device=dict(type='path', required=True),
            checksum=dict(type='str'),
            verify=dict(type='bool', default=True),
            skip_identical=dict(type='bool', default=True),
            force=dict(type='bool', default=False),
            progress_file=dict(type='path'),
            eject=dict(type='bool', default=False),
            block_size=dict(type='int', default=flow.writer.DEFAULT_BLOCK_SIZE),
        ),
        supports_check_mode=True,
    )
    if module.params['block_size'] <= 0:
        module.fail_json(msg='block_size must be a positive number of bytes')
    try:
        result = flow.flash(module.params, check_mode=module.check_mode, platform=sys.platform,
                            run_command=module.run_command, warn=module.warn)
    except flow.FlashFailed as exc:
        module.fail_json(msg=str(exc), **exc.result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
