# shellcheck shell=bash
# Debian packages that `make setup` / `make test` / `make demo` rely on.
# Sourced by .ci/run; keep the list in one place.
PICOCLOUD_SYSTEM_PACKAGES=(
    git make python3 python3-venv python3-dev gcc shellcheck
    openssh-client ca-certificates openssl util-linux
    dosfstools mtools fdisk xz-utils zstd zip unzip e2fsprogs cloud-init
    debootstrap qemu-user-static binfmt-support
    docker.io
)
export PICOCLOUD_SYSTEM_PACKAGES
