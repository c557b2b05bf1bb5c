#!/usr/bin/env bash
# shellcheck shell=bash
# The Debian packages that `make setup`, `make test` and `make demo` rely on, in one place.
#
#   scripts/system-packages.sh            install the missing ones (apt-get; as root, or through sudo)
#   scripts/system-packages.sh --list     print the list
#   . scripts/system-packages.sh          (sourced) only define PICOCLOUD_SYSTEM_PACKAGES
#
# Only what is missing is installed, so a second call costs one dpkg-query.
PICOCLOUD_SYSTEM_PACKAGES=(
    # set-up: the venv, wheels that compile, lint
    git make python3 python3-venv python3-dev gcc shellcheck
    openssh-client ca-certificates openssl util-linux sudo iproute2
    # inventory discovery: the IEEE MA-M and MA-S registries (netaddr ships MA-L and IAB only)
    ieee-data
    # images and flashing: FAT tools, partitioning, compressors, cloud-init's validators, FUSE FAT mounts
    dosfstools mtools fdisk xz-utils zstd zip unzip e2fsprogs cloud-init fusefat
    # the lab: node images from Debian packages, emulated arm64 nodes, the Docker engine
    debootstrap mmdebstrap qemu-user-static binfmt-support docker.io
    # site registry seeding (multi-arch manifest lists), the portal's browser test, load generation
    skopeo buildah chromium chromium-driver apache2-utils
    # the catalogue tests: a TLS registry on loopback (scripts/catalog-push.sh is tested against it)
    docker-registry
)
export PICOCLOUD_SYSTEM_PACKAGES

picocloud_missing_packages() {
    local pkg
    for pkg in "${PICOCLOUD_SYSTEM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$pkg"
    done
}

picocloud_install_packages() {
    local missing sudo=()
    mapfile -t missing < <(picocloud_missing_packages)
    [ "${#missing[@]}" -gt 0 ] || return 0
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "system-packages: missing ${missing[*]}; run this script as root (there is no sudo)" >&2
            return 1
        fi
        sudo=(sudo)
    fi
    echo "system-packages: installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case ${1:-install} in
        --list) printf '%s\n' "${PICOCLOUD_SYSTEM_PACKAGES[@]}" ;;
        install) picocloud_install_packages ;;
        *) echo "usage: $0 [install|--list]" >&2; exit 2 ;;
    esac
fi
