#!/usr/bin/env bash
# Download one Debian package from a suite/component the machine's own apt
# sources do not list, without touching the system's apt configuration,
# and unpack it.
#
#   roles/lab/files/debian-fetch.sh SUITE COMPONENTS ARCH PACKAGE DEST
#   e.g. roles/lab/files/debian-fetch.sh bookworm "main non-free-firmware" amd64 raspi-firmware .cache/raspi-firmware
#
# DEST/PACKAGE_*.deb is kept, and DEST/root holds the unpacked files.
# A second call with the .deb already present does nothing. The mirror is PICOCLOUD_DEBIAN_MIRROR, or
# the one this machine's apt sources use; apt's own proxy settings (Acquire::http::Proxy) apply.
set -euo pipefail

suite=$1 components=$2 arch=$3 package=$4 dest=$5
here=$(cd "$(dirname "$0")" && pwd)
# The controller's own Debian mirror (its apt sources, one-line or deb822) unless one is given.
mirror=${PICOCLOUD_DEBIAN_MIRROR:-$(python3 "$here/debian-mirror.py")}

mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
if compgen -G "$dest/${package}_*.deb" >/dev/null && [ -d "$dest/root" ]; then
    exit 0
fi

state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
echo "deb [arch=$arch] $mirror $suite $components" > "$state/sources.list"
apt_opts=(
    -o "APT::Sandbox::User=root"
    -o "Dir::Etc::sourcelist=$state/sources.list"
    -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$state/lists"
    -o "Dir::Cache=$state/cache"
    -o "APT::Architecture=$arch"
    -o "APT::Architectures=$arch"
    -o "Debug::NoLocking=1"
)
apt-get "${apt_opts[@]}" -qq update
(cd "$dest" && apt-get "${apt_opts[@]}" -qq download "$package:$arch")
rm -rf "$dest/root"
dpkg-deb -x "$dest"/"${package}"_*.deb "$dest/root"
echo "debian-fetch: $package ($suite/$arch) unpacked in $dest/root"
