# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the lab's card image: shaped like a Raspberry Pi OS Bookworm image as pi-gen makes it.

    build-card.py FIRMWARE_DIR BOOT_FILES_DIR OUT

- an MBR with the disk id of the lab's cmdline.txt (root=PARTUUID=4e639091-02);
- partition 1: a 512 MiB FAT32 boot partition labelled bootfs at 4 MiB, made as pi-gen makes it
  (mkdosfs -F 32 -s 4), holding Debian's raspi-firmware blobs (bootcode.bin, start*.elf, fixup*.dat from
  FIRMWARE_DIR), the lab's cmdline.txt, config.txt and issue.txt (from BOOT_FILES_DIR) and overlays/README;
- partition 2: a small, empty ext4 root partition labelled rootfs (the lab node's root is its container).

The boot files are written through pyfatfs, which gives each name a long-name entry as Linux's vfat does
when pi-gen copies them onto the card, so FUSE and mtools list them in lower case. fsck.vfat -a then
brings the FSInfo free-cluster count up to date, and fsck.vfat -n must find the partition clean. OUT is
written beside its final name and renamed only when complete. Needs sfdisk, mkfs.vfat, fsck.vfat and
mkfs.ext4 on PATH, and the pyfatfs package (the picocloud.edge collection's own requirement).
"""

import glob
import os
import subprocess
import sys
import tempfile

from pyfatfs.PyFatFS import PyFatFS

MIB = 1024 * 1024
SECTOR = 512
DISK_ID = '0x4e639091'
BOOT_START = 4 * MIB
BOOT_SIZE = 512 * MIB
ROOT_SIZE = 64 * MIB
FIRMWARE = ('bootcode.bin', 'start*.elf', 'fixup*.dat')
BOOT_FILES = ('cmdline.txt', 'config.txt', 'issue.txt')
OVERLAYS_README = b'Device-tree overlays for the Raspberry Pi (none in the lab card: the lab boots no Pi kernel).\n'


def run(*argv, **kwargs):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False, **kwargs)
    return proc.returncode, proc.stdout.decode('utf-8', 'replace')


def must(*argv, **kwargs):
    code, output = run(*argv, **kwargs)
    if code != 0:
        raise SystemExit('build-card: %s failed (rc %d): %s' % (argv[0], code, output.strip()))
    return output


def boot_contents(firmware_dir, files_dir):
    """[(path on the partition, bytes)] in the order they are written."""
    blobs = sorted(set(path for pattern in FIRMWARE for path in glob.glob(os.path.join(firmware_dir, pattern))))
    if not any(os.path.basename(path) == 'start4.elf' for path in blobs):
        raise SystemExit('build-card: %s holds no raspi-firmware blobs (start4.elf is missing)' % firmware_dir)
    contents = []
    for path in blobs + [os.path.join(files_dir, name) for name in BOOT_FILES]:
        with open(path, 'rb') as handle:
            contents.append(('/' + os.path.basename(path), handle.read()))
    contents.append(('/overlays/README', OVERLAYS_README))
    return contents


def make_boot_partition(path, contents):
    with open(path, 'wb') as handle:
        handle.truncate(BOOT_SIZE)
    must('mkfs.vfat', '-F', '32', '-s', '4', '-n', 'bootfs', '-i', DISK_ID[2:], path)
    fs = PyFatFS(path)
    try:
        fs.makedir('/overlays')
        for name, data in contents:
            fs.writebytes(name, data)
    finally:
        fs.close()
    code, output = run('fsck.vfat', '-a', path)
    if code not in (0, 1):
        raise SystemExit('build-card: fsck.vfat -a found the new boot partition broken: %s' % output.strip())
    code, output = run('fsck.vfat', '-n', path)
    if code != 0:
        raise SystemExit('build-card: fsck.vfat -n does not find the new boot partition clean: %s' % output.strip())


def copy_sparse(src, dest, offset):
    """Copy src into dest at offset, skipping runs of zeros (dest is sparse)."""
    zero = bytes(MIB)
    with open(src, 'rb') as source, open(dest, 'r+b') as target:
        target.seek(offset)
        while True:
            block = source.read(MIB)
            if not block:
                break
            if block == zero[:len(block)]:
                target.seek(len(block), 1)
            else:
                target.write(block)


def build(firmware_dir, files_dir, out):
    contents = boot_contents(firmware_dir, files_dir)
    work = tempfile.mkdtemp(prefix='picocloud-lab-card.', dir=os.path.dirname(os.path.abspath(out)))
    try:
        part = os.path.join(work, 'boot.vfat')
        card = os.path.join(work, 'card.img')
        make_boot_partition(part, contents)
        size = BOOT_START + BOOT_SIZE + ROOT_SIZE
        with open(card, 'wb') as handle:
            handle.truncate(size)
        layout = ('label: dos\nlabel-id: %s\nunit: sectors\n\nstart=%d, size=%d, type=c\nstart=%d, size=%d, type=83\n'
                  % (DISK_ID, BOOT_START // SECTOR, BOOT_SIZE // SECTOR, (BOOT_START + BOOT_SIZE) // SECTOR,
                     ROOT_SIZE // SECTOR))
        must('sfdisk', '--no-reread', '--no-tell-kernel', '-q', card, input=layout.encode())
        copy_sparse(part, card, BOOT_START)
        must('mkfs.ext4', '-q', '-F', '-L', 'rootfs', '-E',
             'offset=%d,lazy_itable_init=1,lazy_journal_init=1' % (BOOT_START + BOOT_SIZE), card, '%dk' % (ROOT_SIZE // 1024))
        os.chmod(card, 0o644)
        os.rename(card, out)
    finally:
        for name in os.listdir(work):
            os.unlink(os.path.join(work, name))
        os.rmdir(work)


if __name__ == '__main__':
    if len(sys.argv) != 4:
        raise SystemExit('usage: build-card.py FIRMWARE_DIR BOOT_FILES_DIR OUT')
    build(*sys.argv[1:])
    print('build-card: %s' % sys.argv[3])
