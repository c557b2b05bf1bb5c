#!/usr/bin/env bash
# Build a local artifacts dir for the containerd role's `artifact` install path from Debian bookworm's
# containerd and runc packages, laid out exactly as the two projects publish their releases:
#
#   DEST/containerd-<version>-linux-<arch>.tar.gz             bin/containerd, bin/ctr, bin/containerd-shim-runc-v2 ...
#   DEST/containerd-<version>-linux-<arch>.tar.gz.sha256sum   `<sha256>  <tarball name>`
#   DEST/runc.<arch>                                          the runc binary
#   DEST/runc.sha256sum                                       `<sha256>  runc.<arch>` for every runc.<arch> present
#
#   scripts/containerd-artifacts.sh [DEST] [ARCH...]     (default DEST .cache/containerd-artifacts, ARCH amd64)
#
# The version is Debian's (1.6.20 in bookworm). Packages come through roles/lab/files/debian-fetch.sh (a private
# apt configuration, never the system's sources). Files that are present are kept, so a second call does nothing.
# The tarball has fixed timestamps and owners, so it (and its checksum) is the same on every build.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$here/.cache/containerd-artifacts}
shift || true
arches=("$@")
[ ${#arches[@]} -gt 0 ] || arches=(amd64)

mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

for arch in "${arches[@]}"; do
    case $arch in
        amd64|arm64) ;;
        *) echo "containerd-artifacts: containerd publishes amd64 and arm64 release builds only, not '$arch'" >&2; exit 2 ;;
    esac
    work=$dest/.deb-$arch
    "$here/roles/lab/files/debian-fetch.sh" bookworm main "$arch" containerd "$work/containerd"
    "$here/roles/lab/files/debian-fetch.sh" bookworm main "$arch" runc "$work/runc"
    debversion=$(dpkg-deb -f "$work"/containerd/containerd_*.deb Version)
    version=${debversion%%~*}
    version=${version%%-*}
    tarball=containerd-$version-linux-$arch.tar.gz
    if [ ! -s "$dest/$tarball" ]; then
        stage=$(mktemp -d)
        mkdir "$stage/bin"
        install -m 0755 "$work"/containerd/root/usr/bin/* "$stage/bin/"
        tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2023-01-01 00:00:00 UTC' \
            -C "$stage" -cf - bin | gzip -n > "$dest/$tarball.tmp"
        mv "$dest/$tarball.tmp" "$dest/$tarball"
        rm -rf "$stage"
    fi
    (cd "$dest" && sha256sum "$tarball" > "$tarball.sha256sum")
    install -m 0755 "$work/runc/root/usr/sbin/runc" "$dest/runc.$arch"
    echo "containerd-artifacts: $dest/$tarball (containerd $debversion), $dest/runc.$arch"
done

(cd "$dest" && sha256sum runc.* | grep -v 'runc.sha256sum' > runc.sha256sum.tmp && mv runc.sha256sum.tmp runc.sha256sum)
echo "containerd-artifacts: $dest/runc.sha256sum"
