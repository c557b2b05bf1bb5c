# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builds realistic card-image fixtures with the real tools: sfdisk, mkfs.vfat, mtools, mkfs.ext4.

One image per flavour (HypriotOS-like, Pi OS Bookworm-like, Pi OS Trixie cloud-init-like and
Ubuntu-like): a sparse 1-8 GiB file, an MBR with a 512 MiB FAT32 boot partition at 4 MiB and an
ext4 root partition on the rest. The boot partition carries Debian's raspi-firmware files
(bootcode.bin, start*.elf, fixup*.dat from $PICOCLOUD_RASPI_FIRMWARE) and each OS's own boot
files, written after the published images (see docs/image.md for the sources).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

MIB = 1024 * 1024
GIB = 1024 * MIB
BOOT_START = 4 * MIB
BOOT_SIZE = 512 * MIB
TOOLS = ('sfdisk', 'mkfs.vfat', 'fsck.vfat', 'mcopy', 'mtype', 'mmd', 'mkfs.ext4')

CONFIG_TXT_BOOKWORM = """# For more options and information see
# http://rptl.io/configtxt
# Some settings may impact device functionality. See link above for details

# Uncomment some or all of these to enable the optional hardware interfaces
#dtparam=i2c_arm=on
#dtparam=i2s=on
#dtparam=spi=on

# Enable audio (loads snd_bcm2835)
dtparam=audio=on

# Automatically load overlays for detected cameras
camera_auto_detect=1

# Automatically load overlays for detected DSI displays
display_auto_detect=1

# Automatically load initramfs files, if found
auto_initramfs=1

# Enable DRM VC4 V3D driver
dtoverlay=vc4-kms-v3d
max_framebuffers=2

# Don't have the firmware create an initial video= setting in cmdline.txt.
# Use the kernel's default instead.
disable_fw_kms_setup=1

# Run in 64-bit mode
arm_64bit=1

# Disable compensation for displays with overscan
disable_overscan=1

# Run as fast as firmware / board allows
arm_boost=1

[cm4]
# Enable host mode on the 2711 built-in XHCI USB controller.
# This line should be removed if the legacy DWC2 controller is required
# (e.g. for USB device mode) or if USB support is not required.
otg_mode=1

[cm5]
dtoverlay=dwc2,dr_mode=host

[all]
"""

CONFIG_TXT_HYPRIOT = """hdmi_force_hotplug=1
enable_uart=0

# camera settings, see http://elinux.org/RPiconfig#Camera
start_x=0
disable_camera_led=1
gpu_mem=16
"""

CONFIG_TXT_UBUNTU = """[all]
kernel=vmlinuz
cmdline=cmdline.txt
initramfs initrd.img followkernel

[pi4]
max_framebuffers=2
arm_boost=1

[all]
# Enable the audio output, I2C and SPI interfaces on the GPIO header. As these
# parameters related to the base device-tree they must appear *before* any
# other dtoverlay= specification
dtparam=audio=on
dtparam=i2c_arm=on
dtparam=spi=on

# Enable the KMS ("full" KMS) graphics overlay, leaving GPU memory as the
# default (the kernel is in control of graphics memory with full KMS)
dtoverlay=vc4-kms-v3d
disable_fw_kms_setup=1

[cm4]
# Enable the USB2 outputs on the IO board (assuming your CM4 is plugged into
# such a board)
dtoverlay=dwc2,dr_mode=host

[all]
"""

HYPRIOT_USER_DATA = """#cloud-config
# vim: syntax=yaml
#

# Set your hostname here, the manage_etc_hosts will update the hosts file entries as well
hostname: black-pearl
manage_etc_hosts: true

# You could modify this for your own user information
users:
  - name: pirate
    gecos: "Hypriot Pirate"
    sudo: ALL=(ALL) NOPASSWD:ALL
    shell: /bin/bash
    groups: users,docker,video,input
    plain_text_passwd: hypriot
    lock_passwd: false
    ssh_pwauth: true
    chpasswd: { expire: false }

package_upgrade: false

# These commands will be ran once on first boot only
runcmd:
  # Pickup the hostname changes
  - 'systemctl restart avahi-daemon'
"""

TRIXIE_USER_DATA = """#cloud-config

# This is the user-data configuration file for cloud-init. By default this sets
# up an initial user called "pi" with password "raspberry", with SSH enabled.
# See https://cloudinit.readthedocs.io/ for more information.
"""

TRIXIE_NETWORK_CONFIG = """# This file contains a netplan-compatible configuration which cloud-init will
# apply on first-boot (note: it will *not* update the config after the first
# boot). Please refer to the cloud-init documentation and the netplan reference
# for full details.
network:
  version: 2
"""

UBUNTU_USER_DATA = """#cloud-config

# This is the user-data configuration file for cloud-init. By default this sets
# up an initial user called "ubuntu" with password "ubuntu", which must be
# changed at first login.

chpasswd:
  expire: true
  users:
  - name: ubuntu
    password: ubuntu
    type: text

# Enable password authentication with the SSH daemon
ssh_pwauth: true
"""

UBUNTU_NETWORK_CONFIG = """network:
  version: 2
  ethernets:
    eth0:
      dhcp4: true
      optional: true
"""

FLAVOR_FILES = {
    'hypriot': {
        'label': 'HypriotOS',
        'cmdline.txt': 'dwc_otg.lpm_enable=0 console=serial0,115200 console=tty1 root=PARTUUID=5e3da3c2-02 '
                       'rootfstype=ext4 cgroup_enable=cpuset cgroup_enable=memory swapaccount=1 elevator=deadline '
                       'fsck.repair=yes rootwait quiet init=/usr/lib/raspi-config/init_resize.sh\n',
        'config.txt': CONFIG_TXT_HYPRIOT,
        'os-release': 'PRETTY_NAME="Raspbian GNU/Linux 10 (buster)"\nNAME="Raspbian GNU/Linux"\nVERSION_ID="10"\n'
                      'ID=raspbian\nID_LIKE=debian\nHYPRIOT_OS="HypriotOS/armhf"\nHYPRIOT_OS_VERSION="v2.0.1"\n'
                      'HYPRIOT_DEVICE="Raspberry Pi"\nHYPRIOT_IMAGE_VERSION="v1.12.3"\n',
        'user-data': HYPRIOT_USER_DATA,
        'meta-data': 'instance-id: pirate001\n',
        'network-config': 'version: 1\nconfig:\n  - type: physical\n    name: eth0\n    subnets:\n      - type: dhcp',
        'fake-hwclock.data': '2020-08-31 21:35:55\n',
    },
    'rpios-firstrun': {
        'label': 'bootfs',
        'cmdline.txt': 'console=serial0,115200 console=tty1 root=PARTUUID=5e3da3c2-02 rootfstype=ext4 '
                       'fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n',
        'config.txt': CONFIG_TXT_BOOKWORM,
        'issue.txt': 'Raspberry Pi reference 2024-11-19\nGenerated using pi-gen, '
                     'https://github.com/RPi-Distro/pi-gen, 891df1e21ed2b6099a2e6a13e26c91dea44b34d4, stage2\n',
    },
    'rpios-cloudinit': {
        'label': 'bootfs',
        'cmdline.txt': 'console=serial0,115200 console=tty1 root=PARTUUID=5e3da3c2-02 rootfstype=ext4 '
                       'fsck.repair=yes rootwait quiet splash plymouth.ignore-serial-consoles\n',
        'config.txt': CONFIG_TXT_BOOKWORM,
        'issue.txt': 'Raspberry Pi reference 2025-10-01\nGenerated using pi-gen, '
                     'https://github.com/RPi-Distro/pi-gen, cc6a0ac9b1a1d0a8e0c1b5e1a5f56f2f1b4b6d0e, stage2\n',
        'user-data': TRIXIE_USER_DATA,
        'meta-data': 'instance-id: rpios-image\n',
        'network-config': TRIXIE_NETWORK_CONFIG,
    },
    'ubuntu': {
        'label': 'system-boot',
        'cmdline.txt': 'console=serial0,115200 multipath=off dwc_otg.lpm_enable=0 console=tty1 root=LABEL=writable '
                       'rootfstype=ext4 rootwait fixrtc quiet splash\n',
        'config.txt': CONFIG_TXT_UBUNTU,
        'README': '==================\nThe Boot Partition\n==================\n\nThis file belongs to the boot '
                  'partition of the Ubuntu Server for Raspberry Pi.\n',
        'user-data': UBUNTU_USER_DATA,
        'meta-data': '# This is the meta-data configuration file for cloud-init.\ninstance-id: cloud-image\n',
        'network-config': UBUNTU_NETWORK_CONFIG,
        'vmlinuz': 'not a real kernel\n',
        'initrd.img': 'not a real initrd\n',
    },
}


def missing_tools():
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def firmware_dir():
    path = os.environ.get('PICOCLOUD_RASPI_FIRMWARE')
    if path and os.path.isfile(os.path.join(path, 'start.elf')):
        return path
    return None


def run(argv, **kwargs):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def mtools_image(path, offset=BOOT_START):
    return '%s@@%d' % (path, offset)


def build_image(path, flavor, size=GIB, boot_files=None, fat_type_code='c', label=None):
    """Create a sparse image at path for flavor ('hypriot', 'rpios-firstrun', 'rpios-cloudinit', 'ubuntu')."""
    files = dict(FLAVOR_FILES[flavor]) if boot_files is None else dict(boot_files)
    label = label or files.pop('label', 'BOOT')
    files.pop('label', None)
    with open(path, 'wb') as handle:
        handle.truncate(size)
    boot_sectors = BOOT_SIZE // 512
    root_start = BOOT_START + BOOT_SIZE
    layout = ('label: dos\nlabel-id: 0x5e3da3c2\nunit: sectors\n\n'
              'start=%d, size=%d, type=%s\nstart=%d, type=83\n'
              % (BOOT_START // 512, boot_sectors, fat_type_code, root_start // 512))
    run(['sfdisk', '--no-reread', '--no-tell-kernel', '-q', path], input=layout.encode())
    run(['mkfs.vfat', '-F', '32', '-n', label, '--offset', str(BOOT_START // 512), path, str(BOOT_SIZE // 1024)])
    run(['mkfs.ext4', '-q', '-F', '-L', 'rootfs', '-E', 'offset=%d,lazy_itable_init=1,lazy_journal_init=1' % root_start,
         path, '%dk' % ((size - root_start) // 1024)])
    image = mtools_image(path)
    env = dict(os.environ, MTOOLS_SKIP_CHECK='1')
    firmware = firmware_dir()
    if firmware:
        names = sorted(name for name in os.listdir(firmware) if os.path.isfile(os.path.join(firmware, name)))
        run(['mcopy', '-i', image, '-o'] + [os.path.join(firmware, name) for name in names] + ['::/'], env=env)
    run(['mmd', '-i', image, '::/overlays'], env=env)
    staging = path + '.files'
    os.mkdir(staging)
    try:
        overlay_readme = os.path.join(staging, 'README')
        with open(overlay_readme, 'w') as handle:
            handle.write('Device-tree overlays for the Raspberry Pi\n')
        run(['mcopy', '-i', image, '-o', overlay_readme, '::/overlays/README'], env=env)
        for name in sorted(files):
            local = os.path.join(staging, name)
            with open(local, 'w') as handle:
                handle.write(files[name])
            run(['mcopy', '-i', image, '-o', local, '::/' + name], env=env)
    finally:
        shutil.rmtree(staging)
    return path


def mtype(path, name, offset=BOOT_START):
    proc = subprocess.run(['mtype', '-i', mtools_image(path, offset), '::/' + name], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=dict(os.environ, MTOOLS_SKIP_CHECK='1'), check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode('utf-8')


def mdir(path, offset=BOOT_START):
    proc = run(['mdir', '-b', '-i', mtools_image(path, offset), '::/'], env=dict(os.environ, MTOOLS_SKIP_CHECK='1'))
    return sorted(line.strip().rsplit('/', 1)[-1] for line in proc.stdout.decode().splitlines() if line.strip())


def fsck(path, workdir, offset=BOOT_START, size=BOOT_SIZE):
    """(returncode, output) of fsck.vfat -n on the boot partition, copied out sparsely."""
    part = os.path.join(workdir, 'boot-partition.fsck')
    with open(path, 'rb') as src, open(part, 'wb') as out:
        src.seek(offset)
        left = size
        zero = bytes(MIB)
        while left > 0:
            block = src.read(min(MIB, left))
            if not block:
                break
            if block == zero[:len(block)]:
                out.seek(len(block), 1)
            else:
                out.write(block)
            left -= len(block)
        out.truncate(size)
    try:
        proc = subprocess.run(['fsck.vfat', '-n', part], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    finally:
        os.unlink(part)
    return proc.returncode, proc.stdout.decode('utf-8', 'replace')


def copy_image(src, dest):
    run(['cp', '--sparse=always', src, dest])
    return dest
