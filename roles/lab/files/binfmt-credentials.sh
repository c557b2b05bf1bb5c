#!/usr/bin/env bash
# Re-register the qemu-aarch64 binfmt handler with the C (credentials) flag.
#
# Debian's qemu-user-static registers it with flags "PF": setuid binaries in an
# arm64 container (sudo, su) then run without their privileges ("sudo:
# effective uid is not 0"). With "C" the kernel computes credentials from the
# arm64 binary, as it does for native ones; "O" is implied by C. The magic,
# mask and interpreter are Debian's own (from /proc), only the flags change.
# The change lasts until the next boot, when binfmt-support registers Debian's
# entry again and the lab role runs this again.
set -euo pipefail

entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
interpreter=$(sed -n 's/^interpreter //p' "$entry")
flags=$(sed -n 's/^flags: //p' "$entry")
offset=$(sed -n 's/^offset //p' "$entry")
magic=$(sed -n 's/^magic //p' "$entry" | sed 's/../\\x&/g')
mask=$(sed -n 's/^mask //p' "$entry" | sed 's/../\\x&/g')
case "$flags" in *C*) exit 0 ;; esac
new_flags="${flags//O/}"
new_flags="${new_flags//C/}OC"
echo -1 >"$entry"
printf ':qemu-aarch64:M:%s:%s:%s:%s:%s' "$offset" "$magic" "$mask" "$interpreter" "$new_flags" \
    >/proc/sys/fs/binfmt_misc/register
echo "binfmt: qemu-aarch64 re-registered with flags $new_flags"
