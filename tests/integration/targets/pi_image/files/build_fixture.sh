# shellcheck shell=bash
# Build a 1 GiB sparse Raspberry Pi OS Bookworm-like card image: MBR, 512 MiB FAT32 boot
# partition with Debian's raspi-firmware files, ext4 root on the rest.
# Usage: build_fixture.sh IMAGE FIRMWARE_DIR
set -euo pipefail
img=$1
firmware=$2
export MTOOLS_SKIP_CHECK=1
truncate -s 1G "$img"
printf 'label: dos\nlabel-id: 0x5e3da3c2\nunit: sectors\n\nstart=8192, size=1048576, type=c\nstart=1056768, type=83\n' |
    sfdisk --no-reread --no-tell-kernel -q "$img"
mkfs.vfat -F 32 -n bootfs --offset 8192 "$img" 524288 >/dev/null 2>&1
mkfs.ext4 -q -F -L rootfs -E offset=541065216,lazy_itable_init=1 "$img" 532480k
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'console=serial0,115200 console=tty1 root=PARTUUID=5e3da3c2-02 rootfstype=ext4 fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n' >"$tmp/cmdline.txt"
printf '# Enable audio (loads snd_bcm2835)\ndtparam=audio=on\narm_64bit=1\n\n[cm4]\notg_mode=1\n\n[all]\n' >"$tmp/config.txt"
printf 'Raspberry Pi reference 2024-11-19\n' >"$tmp/issue.txt"
if [ ! -f "$firmware/start.elf" ]; then
    echo "build_fixture.sh: no Raspberry Pi firmware in '$firmware' (run 'make firmware')" >&2
    exit 1
fi
mcopy -i "$img@@4194304" -o "$firmware"/bootcode.bin "$firmware"/start.elf "$firmware"/fixup.dat \
    "$tmp/cmdline.txt" "$tmp/config.txt" "$tmp/issue.txt" ::/
