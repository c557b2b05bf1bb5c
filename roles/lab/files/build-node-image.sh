#!/usr/bin/env bash
# Build a lab node image from Debian packages with debootstrap and import it
# into the local Docker engine. No registry is needed.
#
#   build-node-image.sh ARCH SUITE MIRROR PACKAGES(comma-separated) FILES_DIR HELPER_ARCH TAG [TAG...]
#
# The image carries systemd, sshd and python3, plus a Raspberry Pi OS style
# /boot/firmware: the real firmware blobs from Debian's raspi-firmware package
# and a cmdline.txt / config.txt shaped like Raspberry Pi OS Bookworm's. On a
# lab node, picocloud-lab-boot.service mounts the node's own FAT32 boot
# partition over it (fusefat, then bindfs for vfat's chmod rules); a container
# without one (a molecule platform) keeps this plain directory.
# The FUSE helpers (fusefat, bindfs) are HELPER_ARCH's, the controller's: Debian
# bookworm builds fusefat for amd64 only, so an emulated arm64 node carries the
# amd64 ones (multiarch), which the host kernel runs natively.
# sshd host keys and the machine-id are generated at each node's first boot,
# so no two nodes share them.
set -euo pipefail

arch=$1 suite=$2 mirror=$3 packages=$4 files=$5 helper_arch=$6
shift 6
tags=("$@")

work=$(mktemp -d /var/tmp/picocloud-lab-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs

# debootstrap does not read apt's configuration: give it apt's proxy, if the controller has one.
proxy=$(python3 "$files/debian-mirror.py" --proxy)
[ -z "$proxy" ] || export http_proxy=$proxy

include=$packages
[ "$helper_arch" != "$arch" ] || include=$packages,fusefat,bindfs
echo "build-node-image: debootstrap $suite/$arch"
debootstrap --variant=minbase --arch="$arch" --include="$include" "$suite" "$root" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

if [ "$helper_arch" != "$arch" ]; then
    echo "build-node-image: FUSE helpers for $helper_arch (multiarch)"
    [ -z "$proxy" ] || printf 'Acquire::http::Proxy "%s";\n' "$proxy" >"$root/etc/apt/apt.conf.d/01picocloud-proxy"
    printf 'deb %s %s main\n' "$mirror" "$suite" >"$root/etc/apt/sources.list"
    chroot "$root" dpkg --add-architecture "$helper_arch"
    if ! { chroot "$root" apt-get -qq update \
           && chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends \
                "fusefat:$helper_arch" "bindfs:$helper_arch"; } >"$work/helpers.log" 2>&1; then
        tail -n 30 "$work/helpers.log" >&2
        exit 1
    fi
fi

echo "build-node-image: raspi-firmware boot files"
PICOCLOUD_DEBIAN_MIRROR=$mirror "$files/debian-fetch.sh" "$suite" "main non-free-firmware" all raspi-firmware "$work/firmware" >/dev/null
install -d -m 0755 "$root/boot/firmware"
cp "$work"/firmware/root/usr/lib/raspi-firmware/{bootcode.bin,start*.elf,fixup*.dat} "$root/boot/firmware/"
install -m 0644 "$files/boot/cmdline.txt" "$files/boot/config.txt" "$root/boot/firmware/"
# The node's own FAT32 boot partition, when the lab gives it one (/var/lib/picocloud-lab/boot.vfat).
install -m 0644 "$files/picocloud-lab-boot.service" "$root/etc/systemd/system/"
install -d "$root/etc/systemd/system/local-fs.target.wants"
ln -sf ../picocloud-lab-boot.service "$root/etc/systemd/system/local-fs.target.wants/picocloud-lab-boot.service"

# Per-node identity at first boot.
rm -f "$root"/etc/ssh/ssh_host_*
install -D -m 0644 "$files/ssh-hostkeys.conf" "$root/etc/systemd/system/ssh.service.d/picocloud-hostkeys.conf"
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

# Same apt sources as a Debian install (the roles run apt inside nodes).
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
SOURCES
# ... and the controller's apt proxy, if it has one.
[ -z "$proxy" ] || printf 'Acquire::http::Proxy "%s";\n' "$proxy" >"$root/etc/apt/apt.conf.d/01picocloud-proxy"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
# The lists are gone: make apt's cache look old, so `apt: cache_valid_time=...` refreshes it.
touch -d @0 "$root/var/lib/apt/lists"

# A bytecode cache for what zipimport compiles (every Ansible module run, from its AnsiballZ zip): about 0.4 s of
# each module run on an emulated node (picocloud_lab_bytecode.py says more).
pydist=$root/usr/lib/python3/dist-packages
install -m 0644 "$files/picocloud_lab_bytecode.py" "$files/picocloud-lab-bytecode.pth" "$pydist/"
install -d -m 0755 "$root/var/cache/picocloud-lab/bytecode"

# Units that make no sense in a container.
for unit in systemd-remount-fs.service getty@tty1.service serial-getty@ttyS0.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

echo "build-node-image: docker import ${tags[0]}"
tar --numeric-owner -C "$root" -c . | docker import \
    -c 'CMD ["/sbin/init"]' \
    -c "LABEL io.picocloud.lab.image=${tags[0]}" - "${tags[0]}" >/dev/null
for tag in "${tags[@]:1}"; do
    docker tag "${tags[0]}" "$tag"
done
