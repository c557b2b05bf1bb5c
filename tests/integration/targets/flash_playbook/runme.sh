#!/usr/bin/env bash
# The technician's flash playbook end to end: a lab-style inventory, a base image with a real FAT32
# boot partition (Debian's raspi-firmware files) served from a file:// URL, and a loop device as
# the card. Run 1 writes and verifies; run 2 must change nothing (skip_identical).
set -euo pipefail

# ansible-test passes no custom environment to targets, so PICOCLOUD_RASPI_FIRMWARE may be unset here;
# then use Debian's installed package, or the repo's `make firmware` cache found above this directory.
find_firmware() {
    local dir
    if [ -n "${PICOCLOUD_RASPI_FIRMWARE:-}" ]; then echo "$PICOCLOUD_RASPI_FIRMWARE"; return; fi
    if [ -f /usr/lib/raspi-firmware/bootcode.bin ]; then echo /usr/lib/raspi-firmware; return; fi
    dir="$PWD"
    while [ "$dir" != "/" ]; do
        if [ -f "$dir/.cache/raspi-firmware/root/usr/lib/raspi-firmware/bootcode.bin" ]; then
            echo "$dir/.cache/raspi-firmware/root/usr/lib/raspi-firmware"; return
        fi
        dir="$(dirname "$dir")"
    done
}
PICOCLOUD_RASPI_FIRMWARE="$(find_firmware)"
if [ ! -f "${PICOCLOUD_RASPI_FIRMWARE}/bootcode.bin" ]; then
    echo "raspi-firmware not found: set PICOCLOUD_RASPI_FIRMWARE or run make firmware" >&2
    exit 1
fi
WORK="$(mktemp -d "${OUTPUT_DIR:-/tmp}/flash_playbook.XXXXXX")"
LOOP=""
cleanup() {
    if [ -n "$LOOP" ]; then losetup -d "$LOOP" || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- a 96 MiB base image: MBR, 64 MiB FAT32 "bootfs" at 4 MiB, ext4 root behind it, then xz ----------
truncate -s 96M "$WORK/base.img"
printf 'label: dos\nstart=8192, size=131072, type=c\nstart=139264, type=83\n' | sfdisk -q "$WORK/base.img"
truncate -s 64M "$WORK/boot.fat"
mkfs.vfat -F 32 -n bootfs "$WORK/boot.fat" >/dev/null 2>&1  # lower-case label as Raspberry Pi OS has it
printf 'console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait quiet\n' > "$WORK/cmdline.txt"
printf '[all]\narm_64bit=1\ndtparam=audio=on\n' > "$WORK/config.txt"
printf 'Raspberry Pi reference 2025-05-13\n' > "$WORK/issue.txt"
mcopy -i "$WORK/boot.fat" "$WORK/cmdline.txt" "$WORK/config.txt" "$WORK/issue.txt" \
    "$PICOCLOUD_RASPI_FIRMWARE"/bootcode.bin "$PICOCLOUD_RASPI_FIRMWARE"/start*.elf "$PICOCLOUD_RASPI_FIRMWARE"/fixup*.dat ::
dd if="$WORK/boot.fat" of="$WORK/base.img" bs=1M seek=4 conv=notrunc,sparse status=none
truncate -s 28M "$WORK/root.ext4"
mkfs.ext4 -q -F -L rootfs "$WORK/root.ext4"
dd if="$WORK/root.ext4" of="$WORK/base.img" bs=1M seek=68 conv=notrunc,sparse status=none
xz -0 -T1 "$WORK/base.img"
SHA="$(sha256sum "$WORK/base.img.xz" | cut -d' ' -f1)"
HASH="$(openssl passwd -6 -salt picolab pico)"

# --- the card: a loop device over a 128 MiB file ------------------------------------------------
truncate -s 128M "$WORK/card.backing"
LOOP="$(losetup --find --show "$WORK/card.backing")"

# --- a lab-style site inventory --------------------------------------------------------------------
mkdir -p "$WORK/site/group_vars"
cat > "$WORK/site/hosts.yml" <<INV
all:
  vars:
    picocloud_site: lab
    picocloud_orchestrator: swarm
  children:
    picocloud:
      hosts:
        pi-01:
          ansible_host: 10.42.0.11
          picocloud_network: {interface: eth0, address: 10.42.0.11/24, gateway: 10.42.0.1, dns: [10.42.0.1]}
        pi-02:
          ansible_host: 10.42.0.12
INV
cat > "$WORK/site/group_vars/picocloud.yml" <<VARS
picocloud_base_image:
  url: file://$WORK/base.img.xz
  sha256: $SHA
picocloud_image_cache: $WORK/cache
picocloud_user:
  name: pico
  password_hash: '$HASH'
  ssh_authorized_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMk1J4n9gkLx0Ao6Pj4yC7n6uE1o0Zq1uJd2H9xQ3d6y tech@laptop']
picocloud_wifi: {ssid: picocloud-lab, password: correct-horse-battery, country: DE}
picocloud_timezone: Europe/Berlin
VARS

run() {
    ansible-playbook picocloud.edge.flash -i "$WORK/site/hosts.yml" -e node=pi-01 -e "device=$LOOP" -e force=true
}

# --- run 1: download, customise, write, verify ----------------------------------------------------
run | tee "$WORK/run1.log"
grep -q 'Step 2/4: cache the base image' "$WORK/run1.log"
grep -q 'Step 3/4: customise the image for the node' "$WORK/run1.log"
grep -Eq "node=pi-01 device=$LOOP wrote [0-9]+ bytes MB/s=[0-9.]+ verified=True" "$WORK/run1.log"
cmp -n 100663296 "$WORK/cache/nodes/pi-01.img" "$LOOP"

# The card's boot partition is a clean FAT32 that carries the node's settings and the firmware.
dd if="$LOOP" of="$WORK/card-boot.fat" bs=1M skip=4 count=64 status=none
fsck.vfat -n "$WORK/card-boot.fat"
mdir -i "$WORK/card-boot.fat" -b :: | grep -qi 'start4.elf'
grep -q 'pi-01' <(mtype -i "$WORK/card-boot.fat" ::firstrun.sh)
grep -q '10.42.0.11' <(mtype -i "$WORK/card-boot.fat" ::firstrun.sh)
grep -q 'systemd.run=/boot/firstrun.sh' <(mtype -i "$WORK/card-boot.fat" ::cmdline.txt)
grep -q 'cgroup_enable=memory' <(mtype -i "$WORK/card-boot.fat" ::cmdline.txt)

# --- run 2: the same node and card: nothing changes -------------------------------------------------
run | tee "$WORK/run2.log"
grep -Eq 'localhost +: ok=[0-9]+ +changed=0 ' "$WORK/run2.log"
grep -Eq "node=pi-01 device=$LOOP already held this image \(nothing written\) MB/s=0.0 verified=True" "$WORK/run2.log"

# --- a node that is not in the inventory is refused before anything happens ----------------------------
if ansible-playbook picocloud.edge.flash -i "$WORK/site/hosts.yml" -e node=pi-99 -e "device=$LOOP" > "$WORK/run3.log" 2>&1; then
    echo "an unknown node was accepted" >&2
    exit 1
fi
grep -q 'Run as: ansible-playbook picocloud.edge.flash' "$WORK/run3.log"

# --- the same site as one site file (picocloud.edge.site inventory), in a directory without group_vars ---
# A lease file shows an undeclared Raspberry Pi (unclaimed); pi-03 is being decommissioned (absent).
mkdir -p "$WORK/sitefile"
printf '%s dc:a6:32:00:00:09 10.42.0.99 raspberrypi *\n' "$(( $(date +%s) + 3600 ))" > "$WORK/dnsmasq.leases"
cat > "$WORK/sitefile/lab.picocloud.yml" <<SITE
plugin: picocloud.edge.site
site: lab
orchestrator: swarm
image: {url: "file://$WORK/base.img.xz", sha256: "$SHA"}
defaults:
  picocloud_image_cache: "$WORK/cache"
  picocloud_user:
    name: pico
    password_hash: '$HASH'
    ssh_authorized_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMk1J4n9gkLx0Ao6Pj4yC7n6uE1o0Zq1uJd2H9xQ3d6y tech@laptop']
  picocloud_wifi: {ssid: picocloud-lab, password: correct-horse-battery, country: DE}
  picocloud_timezone: Europe/Berlin
discovery: {sources: [leases], lease_files: ["$WORK/dnsmasq.leases"]}
nodes:
  - name: pi-01
    roles: [swarm_manager, consul_server]
    network: {interface: eth0, address: 10.42.0.11/24, gateway: 10.42.0.1, dns: [10.42.0.1]}
  - {name: pi-02, address: 10.42.0.12}
  - {name: pi-03, address: 10.42.0.13, state: absent}
SITE
site_run() {
    ansible-playbook picocloud.edge.flash -i "$WORK/sitefile/lab.picocloud.yml" -e "node=$1" -e "device=$LOOP" -e force=true
}

# run 4: the site file describes the same node, so the card already holds exactly this image
site_run pi-01 | tee "$WORK/run4.log"
grep -Eq 'localhost +: ok=[0-9]+ +changed=0 ' "$WORK/run4.log"
grep -Eq "node=pi-01 device=$LOOP already held this image \(nothing written\) MB/s=0.0 verified=True" "$WORK/run4.log"

# run 5 and 6: an unclaimed Pi and an absent node are refused before anything happens
if site_run unclaimed-dca632000009 > "$WORK/run5.log" 2>&1; then
    echo "an unclaimed Pi was flashed" >&2
    exit 1
fi
grep -q 'is an unclaimed Raspberry Pi' "$WORK/run5.log"
grep -q '(dc:a6:32:00:00:09)' "$WORK/run5.log"
if site_run pi-03 > "$WORK/run6.log" 2>&1; then
    echo "an absent node was flashed" >&2
    exit 1
fi
grep -q 'declared with state: absent' "$WORK/run6.log"
cmp -n 100663296 "$WORK/cache/nodes/pi-01.img" "$LOOP"
echo "flash_playbook: all checks passed"
