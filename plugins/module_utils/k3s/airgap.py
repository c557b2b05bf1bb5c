# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k3s release asset names per architecture and sha256sum-<arch>.txt checks, private to picocloud.edge.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Names follow k3s's own release tooling (k3s-io/k3s ``scripts/package-cli`` and
``scripts/validate-artifacts``, and install.sh's ``setup_verify_arch``): the binary is ``k3s`` on amd64,
``k3s-arm64`` on arm64 and ``k3s-armhf`` on 32-bit ARM, whose release arch is ``arm``; the images are
``k3s-airgap-images-<arch>.tar[.gz|.zst]`` and the checksums ``sha256sum-<arch>.txt`` with
``arch`` in amd64, arm64, arm. k3s builds 32-bit ARM for ARMv7 only: install.sh maps every ``arm*``
machine to ``k3s-armhf``, which then crashes on an ARMv6 board (Pi Zero/Zero W/1; k3s #2699); we
refuse ARMv6 before anything is copied. k3s-io/k3s-ansible's airgap role looks for ``k3s-arm`` on
armv7l, a name k3s never published; we use ``k3s-armhf``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError

ARCHES = ('amd64', 'arm64', 'arm')
BINARIES = {'amd64': 'k3s', 'arm64': 'k3s-arm64', 'arm': 'k3s-armhf'}
IMAGE_SUFFIXES = ('.tar.zst', '.tar.gz', '.tar')
IMAGES_DIR = '/var/lib/rancher/k3s/agent/images'
ARMV6_MESSAGE = ('k3s publishes no ARMv6 build: its 32-bit ARM binary (k3s-armhf) needs ARMv7, so a Raspberry Pi '
                 'Zero, Zero W or 1 cannot run k3s (k3s-io/k3s #2699). Run Docker Swarm on it, or move it out of '
                 'k3s_servers/k3s_agents.')
# Names a node's architecture may be given as: a Debian architecture, uname -m, or the release arch.
_ALIASES = {
    'amd64': 'amd64', 'x86_64': 'amd64',
    'arm64': 'arm64', 'aarch64': 'arm64', 'armv8': 'arm64',
    'arm': 'arm', 'armhf': 'arm', 'armv7': 'arm', 'armv7l': 'arm', 'armv7hl': 'arm',
}
_ARMV6 = ('armv6', 'armv6l', 'armel')
_LINE_RE = re.compile(r'([0-9a-fA-F]{64}) [ *](\S+)')
_SHA_RE = re.compile(r'[0-9a-fA-F]{64}')


def release_arch(arch):
    """k3s's release arch (amd64, arm64, arm) for a node.

    ``arch`` is the ``arch`` dict of pi_facts (``debian_arch``, ``machine``, ``arm_version``) or a name:
    a Debian architecture (armhf), ``uname -m`` (armv7l) or a release arch. ARMv6 is refused.
    """
    if isinstance(arch, dict):
        if arch.get('arm_version') == 6:
            raise K3sError('arch: %s (machine %r, arm_version 6)' % (ARMV6_MESSAGE, arch.get('machine')))
        names = [arch.get('debian_arch'), arch.get('machine')]
    else:
        names = [arch]
    for name in names:
        if not isinstance(name, str) or not name:
            continue
        key = name.strip().lower()
        if key in _ARMV6:
            raise K3sError('arch: %s (got %r)' % (ARMV6_MESSAGE, name))
        if key in _ALIASES:
            return _ALIASES[key]
    raise K3sError('arch: k3s publishes builds for amd64, arm64 and armhf (ARMv7) only; %r is none of them' % (arch,))


def assets(arch):
    """The release file names for a node: ``{arch, binary, images, checksums}``."""
    release = release_arch(arch)
    return {
        'arch': release,
        'binary': BINARIES[release],
        'images': 'k3s-airgap-images-%s.tar.zst' % release,
        'checksums': 'sha256sum-%s.txt' % release,
    }


def image_tarballs(filenames, arch):
    """The image tarballs of an artifacts dir that belong on a node of ``arch``, sorted.

    Every ``*.tar``, ``*.tar.gz`` and ``*.tar.zst`` goes to agent/images (k3s-io/k3s-ansible #427 copied
    only one), except k3s's own airgap images for another architecture.
    """
    release = release_arch(arch)
    others = tuple('k3s-airgap-images-%s.' % other for other in ARCHES if other != release)
    chosen = []
    for name in filenames or []:
        if not isinstance(name, str) or '/' in name or name.startswith('.'):
            continue
        if name.endswith(IMAGE_SUFFIXES) and not name.startswith(others):
            chosen.append(name)
    return sorted(chosen)


def parse_checksums(text, field='checksums'):
    """A sha256sum file as ``{name: sha256}``; blank lines are skipped, anything else must be a checksum line."""
    if not isinstance(text, str):
        raise K3sError('%s: expected the text of a sha256sum file, got %s' % (field, type(text).__name__))
    sums = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _LINE_RE.fullmatch(line.rstrip())
        if not match:
            raise K3sError('%s: line %d is not "<sha256>  <file>": %r' % (field, number, line[:120]))
        digest, name = match.group(1).lower(), match.group(2)
        if name.startswith('./'):
            name = name[2:]
        if sums.get(name, digest) != digest:
            raise K3sError('%s: %s is listed twice with different checksums' % (field, name))
        sums[name] = digest
    return sums


def expected_sha256(text, name, checksums_name='sha256sum file'):
    """The sha256 that the checksum file lists for ``name``; a missing line is refused."""
    sums = parse_checksums(text, field=checksums_name)
    if name not in sums:
        raise K3sError('%s has no line for %s (it lists: %s); take both files from the same k3s release'
                       % (checksums_name, name, ', '.join(sorted(sums)) or 'nothing'))
    return sums[name]


def verify_sha256(text, name, actual, checksums_name='sha256sum file'):
    """The expected sha256 of ``name`` when ``actual`` matches it; a mismatch is refused with both values."""
    expected = expected_sha256(text, name, checksums_name=checksums_name)
    if not isinstance(actual, str) or not _SHA_RE.fullmatch(actual.strip()):
        raise K3sError('%s: %r is not a sha256 checksum' % (name, actual))
    if actual.strip().lower() != expected:
        raise K3sError('%s does not match %s: the file has sha256 %s, the list says %s; the file is corrupt or '
                       'from another release. Nothing was installed.'
                       % (name, checksums_name, actual.strip().lower(), expected))
    return expected
