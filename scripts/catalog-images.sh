#!/usr/bin/env bash
# Build the catalogue images (static, mosquitto, webapp, portal) from Debian packages, for amd64 and arm64,
# without any registry and without running a foreign binary:
#
#   scripts/catalog-images.sh DEST [ARCH...]      (ARCH: amd64 arm64, the default, or armhf)
#
# Each image's root file system is unpacked by `mmdebstrap --variant=extract` (packages and their
# dependencies, no maintainer scripts, any architecture) from Debian bookworm on the controller's own
# mirror (roles/lab/files/debian-mirror.py, or PICOCLOUD_DEBIAN_MIRROR). buildah (vfs storage in a temporary
# root, no daemon) adds the app's files and the image config (architecture, entrypoint, ports, non-root
# user, OCI labels) and commits an OCI archive with gzip layers. The layout of DEST, which is the
# `images/` directory of `picocloud_artifacts_dir` (docs/workloads.md):
#
#   DEST/picocloud/<app>/<tag>/linux-<arch>.tar   one OCI archive (oci-archive) per image and architecture
#   DEST/SHA256SUMS                               `<sha256>  <path relative to DEST>` for every archive
#   DEST/.inputs/<app>_<tag>_<arch>               the hash of the inputs an archive was built from
#
# The repository and tag come from the path; every archive under one <tag> directory becomes one entry of
# that tag's manifest list (scripts/catalog-push.sh). An archive whose inputs (this script, the app's files
# under catalog/<app>, the Debian suite, the package list and the architecture) have not changed is kept,
# so a second run builds nothing. Layers and configs carry a fixed timestamp. Needs mmdebstrap, buildah
# and skopeo (scripts/system-packages.sh), and root (mmdebstrap unpacks files owned by root).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
script=$here/scripts/$(basename "$0")
usage="usage: $0 DEST [amd64|arm64|armhf ...]"
dest=${1:?$usage}
shift
arches=("$@")
[ ${#arches[@]} -gt 0 ] || arches=(amd64 arm64)

suite=bookworm
mirror=${PICOCLOUD_DEBIAN_MIRROR:-$(python3 "$here/roles/lab/files/debian-mirror.py")}
proxy=$(python3 "$here/roles/lab/files/debian-mirror.py" --proxy)
# 2026-01-01T00:00:00Z: the created time of every image and the newest mtime of any file in it.
epoch=1767225600

# The catalogue. rootfs: which Debian packages the image holds (one rootfs is shared by the apps that
# name it, and webapp and portal share it as their first layer).
declare -A rootfs_packages=(
    [busybox]="busybox-static"
    [mosquitto]="mosquitto"
    [python]="python3-minimal libpython3.11-stdlib"
)
apps=(static mosquitto webapp portal)
declare -A app_tag=([static]=1.0 [mosquitto]=2.0 [webapp]=1.0 [portal]=1.0)
declare -A app_rootfs=([static]=busybox [mosquitto]=mosquitto [webapp]=python [portal]=python)
declare -A app_user=([static]=65534:65534 [mosquitto]=1883:1883 [webapp]=10001:10001 [portal]=10001:10001)
declare -A app_port=([static]=8080/tcp [mosquitto]=1883/tcp [webapp]=8080/tcp [portal]=8080/tcp)
declare -A app_entrypoint=(
    [static]='["/bin/busybox", "httpd", "-f", "-v", "-p", "8080", "-h", "/www"]'
    [mosquitto]='["/usr/sbin/mosquitto", "-c", "/etc/mosquitto/mosquitto.conf"]'
    [webapp]='["/usr/bin/python3", "-u", "/app/webapp.py"]'
    [portal]='["/usr/bin/python3", "-u", "/app/portal.py"]'
)
declare -A app_title=(
    [static]="Static web site (busybox httpd)"
    [mosquitto]="MQTT broker (Mosquitto)"
    [webapp]="Hit counter and echo web app (Python)"
    [portal]="Pico-Cloud portal: published apps and node health from Consul"
)
# Where catalog/<app>/ goes in the image.
declare -A app_files_dest=([static]=/ [mosquitto]=/etc/mosquitto [webapp]=/app [portal]=/app)
declare -A app_volume=([static]="" [mosquitto]=/var/lib/mosquitto [webapp]=/data [portal]="")

for arch in "${arches[@]}"; do
    case $arch in
        amd64|arm64|armhf) ;;
        *) echo "catalog-images: unknown architecture '$arch' (amd64, arm64 or armhf)" >&2; exit 2 ;;
    esac
done
for tool in mmdebstrap buildah skopeo sha256sum; do
    command -v "$tool" >/dev/null || { echo "catalog-images: $tool is missing (scripts/system-packages.sh)" >&2; exit 1; }
done

mkdir -p "$dest/.inputs"
dest=$(cd "$dest" && pwd)

# OCI platform of a Debian architecture.
oci_arch() { case $1 in amd64) echo amd64 ;; arm64) echo arm64 ;; armhf) echo arm ;; esac; }
oci_variant() { case $1 in arm64) echo v8 ;; armhf) echo v7 ;; *) echo "" ;; esac; }

# The hash of everything an image is built from.
inputs_key() {
    local app=$1 arch=$2
    {
        echo "suite=$suite arch=$arch packages=${rootfs_packages[${app_rootfs[$app]}]}"
        sha256sum < "$script"
        (cd "$here/catalog/$app" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    } | sha256sum | cut -d' ' -f1
}

archive_of() { echo "picocloud/$1/${app_tag[$1]}/linux-$2.tar"; }

work=
cleanup() { [ -z "$work" ] || rm -rf "$work"; }
trap cleanup EXIT

buildah_cmd() {
    buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs "$@"
}

# Unpack one rootfs (once per run) with its packages and their dependencies, then trim it: no
# documentation but the copyright files, no locales, no iconv modules, no apt/dpkg state.
build_rootfs() {
    local name=$1 arch=$2 dir=$work/rootfs-$1-$2 aptopts=()
    [ -d "$dir" ] && return 0
    [ -z "$proxy" ] || aptopts=(--aptopt="Acquire::http::Proxy \"$proxy\";")
    # shellcheck disable=SC2086  # the package list is our own, space-separated
    SOURCE_DATE_EPOCH=$epoch mmdebstrap --quiet --variant=extract --architectures="$arch" \
        --include="$(echo ${rootfs_packages[$name]} | tr ' ' ',')" --skip=cleanup/apt/cache "${aptopts[@]}" \
        "$suite" "$dir" "$mirror" >"$work/mmdebstrap-$name-$arch.log" 2>&1 \
        || { cat "$work/mmdebstrap-$name-$arch.log" >&2; echo "catalog-images: mmdebstrap failed for $name/$arch" >&2; return 1; }
    mkdir -p "$dir/usr/share/picocloud"
    for deb in "$dir"/var/cache/apt/archives/*.deb; do
        # shellcheck disable=SC2016  # dpkg-deb's own format, not a shell expansion
        dpkg-deb --show --showformat='${Package} ${Version} ${Architecture}\n' "$deb"
    done | LC_ALL=C sort > "$dir/usr/share/picocloud/packages.txt"
    rm -rf "$dir"/var/cache/apt "$dir"/var/lib/apt "$dir"/var/lib/dpkg "$dir"/var/log/* "$dir"/etc/apt \
        "$dir"/usr/share/{man,info,locale,lintian,linda,bug} "$dir"/usr/lib/*-linux-*/gconv
    find "$dir/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete 2>/dev/null || true
    find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
    mkdir -p "$dir/etc" "$dir/tmp" "$dir/app" "$dir/data"
    chmod 1777 "$dir/tmp"
    # The users the images run as: no maintainer script ran, so there is no /etc/passwd yet.
    cat > "$dir/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
mosquitto:x:1883:1883:Mosquitto:/var/lib/mosquitto:/usr/sbin/nologin
app:x:10001:10001:app:/app:/usr/sbin/nologin
EOF
    cat > "$dir/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
mosquitto:x:1883:
app:x:10001:
EOF
    if [ "$name" = mosquitto ]; then
        mkdir -p "$dir/var/lib/mosquitto" "$dir/etc/mosquitto/conf.d"
        chown 1883:1883 "$dir/var/lib/mosquitto"
    fi
    chown 10001:10001 "$dir/data"
    find "$dir" -newermt "@$epoch" -exec touch -h -d "@$epoch" {} +
}

# The committed base image (rootfs only) of one rootfs and arch, in the temporary storage.
base_image() {
    local name=$1 arch=$2 ref=localhost/picocloud-base-$1:$2 ctr
    if ! buildah_cmd inspect --type image "$ref" >/dev/null 2>&1; then
        build_rootfs "$name" "$arch"
        ctr=$(buildah_cmd from --quiet scratch)
        buildah_cmd copy --quiet "$ctr" "$work/rootfs-$name-$arch" / >/dev/null
        buildah_cmd config --arch "$(oci_arch "$arch")" --variant "$(oci_variant "$arch")" --os linux \
            --created-by "mmdebstrap --variant=extract $suite: ${rootfs_packages[$name]}" "$ctr"
        buildah_cmd commit --quiet --timestamp "$epoch" --omit-history=false --rm "$ctr" "$ref" >/dev/null
    fi
    echo "$ref"
}

build_image() {
    local app=$1 arch=$2 key=$3 archive ctr base files stage start
    archive=$(archive_of "$app" "$arch")
    start=$(date +%s)
    base=$(base_image "${app_rootfs[$app]}" "$arch")
    ctr=$(buildah_cmd from --quiet --pull-never --arch "$(oci_arch "$arch")" --variant "$(oci_variant "$arch")" "$base")
    stage=$work/files-$app-$arch
    rm -rf "$stage"
    cp -a "$here/catalog/$app/." "$stage"
    find "$stage" -name __pycache__ -prune -exec rm -rf {} +
    chmod -R u=rwX,go=rX "$stage"
    find "$stage" -exec touch -h -d "@$epoch" {} +
    files=${app_files_dest[$app]}
    buildah_cmd copy --quiet --chown 0:0 "$ctr" "$stage/." "$files" >/dev/null
    local config=(
        --arch "$(oci_arch "$arch")" --variant "$(oci_variant "$arch")" --os linux
        --entrypoint "${app_entrypoint[$app]}" --user "${app_user[$app]}" --port "${app_port[$app]}"
        --workingdir /
        --label "org.opencontainers.image.title=picocloud/$app"
        --label "org.opencontainers.image.description=${app_title[$app]}"
        --label "org.opencontainers.image.version=${app_tag[$app]}"
        --label "org.opencontainers.image.vendor=picocloud.edge catalogue"
        --label "org.opencontainers.image.base.name=debian:$suite ($(echo "${rootfs_packages[${app_rootfs[$app]}]}" | tr ' ' ','))"
        --label "io.picocloud.catalog.inputs=$key"
        --created-by "picocloud.edge scripts/catalog-images.sh: catalog/$app -> $files"
    )
    [ -z "${app_volume[$app]}" ] || config+=(--volume "${app_volume[$app]}")
    # No .pyc beside the read-only standard library (the image has none, and compiles nothing at run time).
    [ "${app_rootfs[$app]}" != python ] || config+=(--env PYTHONDONTWRITEBYTECODE=1)
    buildah_cmd config "${config[@]}" "$ctr"
    mkdir -p "$dest/$(dirname "$archive")"
    rm -f "$dest/$archive.tmp"
    buildah_cmd commit --quiet --format oci --timestamp "$epoch" --disable-compression=false --identity-label=false --rm \
        "$ctr" "oci-archive:$dest/$archive.tmp:picocloud/$app:${app_tag[$app]}" >/dev/null
    mv "$dest/$archive.tmp" "$dest/$archive"
    echo "$key" > "$dest/.inputs/${app}_${app_tag[$app]}_$arch"
    echo "catalog-images: built $archive ($(du -k "$dest/$archive" | cut -f1) KiB, $(( $(date +%s) - start )) s)"
}

built=0
for arch in "${arches[@]}"; do
    for app in "${apps[@]}"; do
        key=$(inputs_key "$app" "$arch")
        archive=$(archive_of "$app" "$arch")
        stamp=$dest/.inputs/${app}_${app_tag[$app]}_$arch
        if [ -s "$dest/$archive" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$key" ]; then
            continue
        fi
        if [ -z "$work" ]; then
            work=$(mktemp -d "${TMPDIR:-/tmp}/catalog-images.XXXXXX")
            mkdir -p "$work/storage" "$work/run"
        fi
        build_image "$app" "$arch" "$key"
        built=$((built + 1))
    done
done

# SHA256SUMS covers every archive present under DEST (images of other arches or older tags included).
(cd "$dest" && find . -name '*.tar' -type f -printf '%P\n' | LC_ALL=C sort | xargs -r sha256sum > SHA256SUMS.tmp \
    && mv SHA256SUMS.tmp SHA256SUMS)
echo "catalog-images: $built image(s) built, $(grep -c . "$dest/SHA256SUMS") archive(s) listed in $dest/SHA256SUMS"
