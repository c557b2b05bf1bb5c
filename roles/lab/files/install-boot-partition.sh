#!/usr/bin/env bash
# "Flash" a lab node: take the boot partition out of the card picocloud.edge.pi_image customised for it.
#
#   install-boot-partition.sh CARD OFFSET SIZE DEST
#
# OFFSET and SIZE (bytes) are pi_image's boot_partition. DEST (boot.vfat, which the node mounts at
# /boot/firmware) is written beside its final name, checked with fsck.vfat -n and renamed only when it is
# clean, so a node never gets half a partition; the card is removed afterwards.
set -euo pipefail

card=$1 offset=$2 size=$3 dest=$4
partial=$dest.partial

rm -f "$partial"
dd if="$card" of="$partial" bs=1M iflag=skip_bytes,count_bytes skip="$offset" count="$size" conv=sparse status=none
if ! report=$(fsck.vfat -n "$partial" 2>&1); then
    rm -f "$partial"
    echo "install-boot-partition: the boot partition of $card is not clean: $report" >&2
    exit 1
fi
mv "$partial" "$dest"
rm -f "$card"
echo "install-boot-partition: $dest"
