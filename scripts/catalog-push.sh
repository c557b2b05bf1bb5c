#!/usr/bin/env bash
# Push the image archives of an artifacts `images/` directory to a registry, one multi-arch tag (manifest list)
# per <repository>/<tag> directory. The logic lives in the registry role, which the airgap seed
# (playbook picocloud.edge.registry_seed) runs too; see roles/registry/files/registry-push.sh for the options:
#
#   scripts/catalog-push.sh IMAGES_DIR HOST:PORT --ca FILE --cert FILE --key FILE --credentials FILE [--arch ARCH]... [--check]
set -euo pipefail
exec "$(cd "$(dirname "$0")/.." && pwd)/roles/registry/files/registry-push.sh" "$@"
