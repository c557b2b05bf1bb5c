#!/usr/bin/env bash
# Build a local artifacts dir for the consul role's `artifact` install path from
# Debian bullseye's consul 1.8.7 packages (amd64 and arm64), laid out exactly as
# an official HashiCorp release:
#
#   DEST/consul_1.8.7_linux_amd64.zip   (the binary `consul` at the zip root)
#   DEST/consul_1.8.7_linux_arm64.zip
#   DEST/consul_1.8.7_SHA256SUMS        (`<sha256>  <zip name>` lines)
#
#   scripts/consul-artifacts.sh [DEST] [ARCH...]     (default DEST .cache/consul-artifacts, ARCH amd64 arm64)
#
# The packages are fetched with roles/lab/files/debian-fetch.sh (a private apt
# configuration, never the system's sources). A zip that is already present is
# kept, so a second call does nothing. Needs `zip` (apt-get install zip).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$here/.cache/consul-artifacts}
shift || true
arches=("$@")
[ ${#arches[@]} -gt 0 ] || arches=(amd64 arm64)
version=1.8.7

command -v zip >/dev/null || { echo "consul-artifacts: zip is missing (apt-get install zip)" >&2; exit 1; }
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

for arch in "${arches[@]}"; do
    zipname=consul_${version}_linux_${arch}.zip
    if [ -s "$dest/$zipname" ]; then
        continue
    fi
    work=$dest/.deb-$arch
    "$here/roles/lab/files/debian-fetch.sh" bullseye main "$arch" consul "$work"
    debversion=$(dpkg-deb -f "$work"/consul_*.deb Version)
    case $debversion in
        "$version"+*) ;;
        *) echo "consul-artifacts: bullseye ships consul $debversion, expected $version" >&2; exit 1 ;;
    esac
    stage=$(mktemp -d)
    install -m 0755 "$work/root/usr/bin/consul" "$stage/consul"
    # A fixed timestamp keeps the zip (and its checksum) the same on every build.
    touch -d '2021-01-01 00:00:00 UTC' "$stage/consul"
    (cd "$stage" && zip -X -q "$dest/$zipname.tmp" consul)
    mv "$dest/$zipname.tmp" "$dest/$zipname"
    rm -rf "$stage"
    echo "consul-artifacts: $dest/$zipname"
done

# SHA256SUMS covers every consul_<version>_*.zip present, in HashiCorp's format.
(cd "$dest" && sha256sum consul_${version}_linux_*.zip > consul_${version}_SHA256SUMS.tmp \
    && mv consul_${version}_SHA256SUMS.tmp consul_${version}_SHA256SUMS)
echo "consul-artifacts: $dest/consul_${version}_SHA256SUMS"
