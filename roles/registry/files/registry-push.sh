#!/usr/bin/env bash
# Push the image archives of an artifacts `images/` directory (scripts/catalog-images.sh writes one) to a
# registry, one multi-arch tag per <repository>/<tag> directory. picocloud.edge.registry's seed entry point
# (playbook picocloud.edge.registry_seed) runs it, and scripts/catalog-push.sh is a wrapper of it:
#
#   registry-push.sh IMAGES_DIR HOST:PORT --ca FILE --cert FILE --key FILE --credentials FILE [--arch ARCH]... [--check]
#
#   IMAGES_DIR/<repository>/<tag>/*.tar   OCI archives or docker archives (`docker save`), one per platform
#   IMAGES_DIR/SHA256SUMS                 must list every archive present; a missing line or a wrong sum stops the
#                                         push before anything is sent
#
# --ca is the CA that signed the registry's certificate, --cert/--key the client certificate the registry
# asks for, and --credentials a file (keep it 0600) whose first line is `user:password`. The password
# never appears on a command line or in the output. Each tag becomes a manifest list (an OCI index)
# holding every archive of its directory, pushed with `buildah manifest push --all`, so the per-platform
# manifests keep the digests they have in the archives. A tag whose list already holds exactly those
# digests is reported unchanged and not pushed again.
#
# --arch (repeatable; amd64, arm64 or arm, as OCI names them) keeps only the archives of those architectures,
# so a site gets the platforms it runs; without it every archive goes. --check pushes nothing and reports
# each tag as `unchanged` or `would push`. Each tag prints one line: `<repository>:<tag> pushed <digest>`,
# `unchanged` or `would push`, with its platforms.
set -euo pipefail

usage="usage: $0 IMAGES_DIR HOST:PORT --ca FILE --cert FILE --key FILE --credentials FILE [--arch ARCH]... [--check]"
[ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
images=$1 registry=$2
shift 2
ca='' cert='' key='' credentials='' check=false arches=()
while [ $# -gt 0 ]; do
    case $1 in
        --check) check=true; shift; continue ;;
        --ca) ca=${2:-} ;;
        --cert) cert=${2:-} ;;
        --key) key=${2:-} ;;
        --credentials) credentials=${2:-} ;;
        --arch)
            [[ ${2:-} =~ ^(amd64|arm64|arm)$ ]] || { echo "catalog-push: --arch must be amd64, arm64 or arm, got '${2:-}'" >&2; exit 2; }
            arches+=("$2") ;;
        *) echo "catalog-push: unknown option '$1'; $usage" >&2; exit 2 ;;
    esac
    shift 2 || { echo "catalog-push: option '$1' needs a value" >&2; exit 2; }
done

fail() { echo "catalog-push: $*" >&2; exit 1; }
[[ $registry =~ ^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?:[0-9]{1,5}$ ]] \
    || fail "registry must be HOST:PORT, got '$registry'"
for opt in ca cert key credentials; do
    [ -n "${!opt}" ] || fail "--$opt is required; $usage"
    [ -r "${!opt}" ] || fail "--$opt: cannot read '${!opt}'"
done
[ -d "$images" ] || fail "IMAGES_DIR: '$images' is not a directory"
[ -s "$images/SHA256SUMS" ] || fail "IMAGES_DIR: '$images/SHA256SUMS' is missing"
images=$(cd "$images" && pwd)
user_password=$(head -n 1 "$credentials" | tr -d '\r\n')
[[ $user_password =~ ^[^:]+:.+$ ]] || fail "--credentials: the first line of '$credentials' must be user:password"

# Every archive must be listed, and every listed archive must match, before anything is pushed.
mapfile -t archives < <(cd "$images" && find . -mindepth 3 -name '*.tar' -type f -printf '%P\n' | LC_ALL=C sort)
[ ${#archives[@]} -gt 0 ] || fail "IMAGES_DIR: no <repository>/<tag>/*.tar archive under '$images'"
for archive in "${archives[@]}"; do
    awk -v f="$archive" '$2 == f || $2 == "*" f { found = 1 } END { exit !found }' "$images/SHA256SUMS" \
        || fail "SHA256SUMS has no line for '$archive'; nothing was pushed"
done
(cd "$images" && sha256sum --check --quiet --strict --ignore-missing SHA256SUMS) >&2 \
    || fail "an archive does not match SHA256SUMS (see above); nothing was pushed"

work=$(mktemp -d "${TMPDIR:-/tmp}/catalog-push.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 0700 "$work"
# The containers-tools layout of a certificate dir: *.crt are CAs, a *.cert with its *.key is the client.
mkdir -p "$work/certs" "$work/storage" "$work/run"
cp "$ca" "$work/certs/ca.crt"
cp "$cert" "$work/certs/client.cert"
(umask 077 && cp "$key" "$work/certs/client.key")
(umask 077 && printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$registry" "$(printf '%s' "$user_password" | base64 -w0)" \
    > "$work/auth.json")
unset user_password
tls=(--cert-dir "$work/certs" --authfile "$work/auth.json")
buildah_cmd() { buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs "$@"; }

# The containers-tools reference of an archive: an OCI archive has an oci-layout file, anything else is read as a
# docker archive.
archive_ref() {
    if tar -xOf "$1" oci-layout >/dev/null 2>&1; then echo "oci-archive:$1"; else echo "docker-archive:$1"; fi
}

# The sorted manifest digests of an index/list on stdin.
list_digests() { python3 -c 'import json, sys; print(" ".join(sorted(m["digest"] for m in json.load(sys.stdin).get("manifests", []))))'; }

# Every tag's name and every archive's platform are read before anything is pushed.
declare -A platform_of=() ref_of=()
mapfile -t tagdirs < <(printf '%s\n' "${archives[@]}" | xargs -n1 dirname | LC_ALL=C sort -u)
for tagdir in "${tagdirs[@]}"; do
    repository=${tagdir%/*} tag=${tagdir##*/}
    [[ $repository =~ ^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$ ]] \
        || fail "'$repository' (from $tagdir) is not a valid repository name; nothing was pushed"
    [[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || fail "'$tag' (from $tagdir) is not a valid tag; nothing was pushed"
    seen=' '
    for archive in "$images/$tagdir"/*.tar; do
        ref_of[$archive]=$(archive_ref "$archive")
        platform=$(skopeo inspect --config "${ref_of[$archive]}" 2>"$work/inspect.err" | python3 -c \
            'import json, sys; c = json.load(sys.stdin); print("/".join(filter(None, [c["os"], c["architecture"], c.get("variant")])))' \
            2>/dev/null) \
            || fail "$tagdir/${archive##*/} is not one image that skopeo reads as an OCI or docker archive" \
                    "($(tail -n 1 "$work/inspect.err")); nothing was pushed"
        [[ $seen != *" $platform "* ]] || fail "$tagdir has two archives of $platform; nothing was pushed"
        seen+="$platform "
        platform_of[$archive]=$platform
    done
done

for tagdir in "${tagdirs[@]}"; do
    repository=${tagdir%/*} tag=${tagdir##*/}
    target=docker://$registry/$repository:$tag
    list=picocloud-push-$(printf '%s' "$tagdir" | sha256sum | cut -c1-16)
    buildah_cmd manifest create "$list" >/dev/null
    platforms=()
    for archive in "$images/$tagdir"/*.tar; do
        platform=${platform_of[$archive]} ref=${ref_of[$archive]}
        if [ ${#arches[@]} -gt 0 ] && ! printf '%s\n' "${arches[@]}" | grep -qx "$(echo "$platform" | cut -d/ -f2)"; then
            continue
        fi
        if [[ $ref == docker-archive:* ]]; then
            # A docker archive (`docker save`) holds its layers uncompressed, and the push would gzip them: the
            # registry would then hold other manifest digests than the list names. skopeo's copy to an OCI layout
            # gzips them first (the same bytes on every run, so an unchanged tag stays unchanged), and that is added.
            layout=$work/layout-$(printf '%s' "$archive" | sha256sum | cut -c1-16)
            skopeo copy --quiet "$ref" "oci:$layout:image" >/dev/null || fail "$archive: skopeo could not copy the docker archive"
            ref=oci:$layout:image
        fi
        buildah_cmd manifest add "$list" "$ref" >/dev/null
        platforms+=("$platform")
    done
    if [ ${#platforms[@]} -eq 0 ]; then
        echo "catalog-push: $repository:$tag skipped (no archive for ${arches[*]})"
        continue
    fi
    wanted=$(buildah_cmd manifest inspect "$list" | list_digests)
    current=$(skopeo inspect --raw "${tls[@]}" "$target" 2>/dev/null | list_digests 2>/dev/null || true)
    if [ "$current" = "$wanted" ]; then
        echo "catalog-push: $repository:$tag unchanged (${platforms[*]})"
        continue
    fi
    if [ "$check" = true ]; then
        echo "catalog-push: $repository:$tag would push (${platforms[*]})"
        continue
    fi
    rm -f "$work/digest"
    buildah_cmd manifest push --quiet --all "${tls[@]}" --digestfile "$work/digest" "$list" "$target" >/dev/null \
        || fail "$repository:$tag: the push to $registry failed (see above)"
    # Read the tag back: a push is reported only when the registry holds the list just pushed.
    pushed=$(skopeo inspect --raw "${tls[@]}" "$target" | list_digests) \
        || fail "$repository:$tag: the registry at $registry did not answer after the push"
    if [ "$pushed" != "$wanted" ] || [ ! -s "$work/digest" ]; then
        fail "$repository:$tag: the registry at $registry does not hold the pushed list (it has: '${pushed}')"
    fi
    echo "catalog-push: $repository:$tag pushed $(cat "$work/digest") (${platforms[*]})"
done
