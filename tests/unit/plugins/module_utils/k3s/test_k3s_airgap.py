# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k3s airgap asset names per architecture and the sha256sum-<arch>.txt checks, with real files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import shutil
import subprocess

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import airgap

PI4_64 = {'machine': 'aarch64', 'debian_arch': 'arm64', 'arm_version': 8}
PI4_32 = {'machine': 'aarch64', 'debian_arch': 'armhf', 'arm_version': 8}
PI3_32 = {'machine': 'armv7l', 'debian_arch': 'armhf', 'arm_version': 7}
PI_ZERO = {'machine': 'armv6l', 'debian_arch': 'armhf', 'arm_version': 6}
LAB = {'machine': 'x86_64', 'debian_arch': 'amd64', 'arm_version': None}


@pytest.mark.parametrize('arch, expected', [
    (LAB, {'arch': 'amd64', 'binary': 'k3s', 'images': 'k3s-airgap-images-amd64.tar.zst',
           'checksums': 'sha256sum-amd64.txt'}),
    (PI4_64, {'arch': 'arm64', 'binary': 'k3s-arm64', 'images': 'k3s-airgap-images-arm64.tar.zst',
              'checksums': 'sha256sum-arm64.txt'}),
    (PI3_32, {'arch': 'arm', 'binary': 'k3s-armhf', 'images': 'k3s-airgap-images-arm.tar.zst',
              'checksums': 'sha256sum-arm.txt'}),
    (PI4_32, {'arch': 'arm', 'binary': 'k3s-armhf', 'images': 'k3s-airgap-images-arm.tar.zst',
              'checksums': 'sha256sum-arm.txt'}),
])
def test_release_names_follow_k3s_packaging(arch, expected):
    assert airgap.assets(arch) == expected


@pytest.mark.parametrize('name, release', [
    ('x86_64', 'amd64'), ('amd64', 'amd64'), ('aarch64', 'arm64'), ('arm64', 'arm64'),
    ('armv7l', 'arm'), ('armv7', 'arm'), ('armhf', 'arm'), ('arm', 'arm'),
])
def test_armv7_maps_to_the_armhf_names_whatever_the_spelling(name, release):
    assert airgap.release_arch(name) == release


def test_armhf_binary_is_k3s_armhf_never_k3s_arm():
    assert airgap.assets('armv7l')['binary'] == 'k3s-armhf'


@pytest.mark.parametrize('arch', [PI_ZERO, 'armv6l', 'armel', 'armv6'])
def test_armv6_is_refused_with_the_reason(arch):
    with pytest.raises(K3sError, match='k3s publishes no ARMv6 build.*Pi Zero, Zero W or 1'):
        airgap.assets(arch)


@pytest.mark.parametrize('arch', ['riscv64', 'i386', {'machine': 'mips'}, None])
def test_architectures_k3s_does_not_build_are_refused(arch):
    with pytest.raises(K3sError, match='k3s publishes builds for amd64, arm64 and armhf'):
        airgap.assets(arch)


def test_every_image_tarball_goes_to_the_node_except_other_arches_k3s_images():
    names = ['k3s', 'k3s-armhf', 'sha256sum-arm.txt', 'k3s-airgap-images-arm.tar.zst',
             'k3s-airgap-images-arm64.tar.zst', 'k3s-airgap-images-amd64.tar.gz', 'site-apps.tar', 'busybox.tar.gz',
             'notes.txt', '.hidden.tar', 'sub/dir.tar']
    assert airgap.image_tarballs(names, PI3_32) == [
        'busybox.tar.gz', 'k3s-airgap-images-arm.tar.zst', 'site-apps.tar']


def _sha256(path):
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.fixture
def artifacts(tmp_path):
    """An artifacts dir laid out like a k3s release for arm, its checksum file made by coreutils sha256sum."""
    if not shutil.which('sha256sum'):
        pytest.skip('coreutils sha256sum is needed to write a real checksum file')
    (tmp_path / 'k3s-armhf').write_bytes(b'\x7fELF stand-in bytes for the armhf binary\n')
    (tmp_path / 'k3s-airgap-images-arm.tar.zst').write_bytes(b'(\xb5/\xfd images')
    listing = subprocess.run(['sha256sum', 'k3s-armhf', 'k3s-airgap-images-arm.tar.zst'], cwd=str(tmp_path),
                             capture_output=True, text=True, check=True, timeout=30).stdout
    (tmp_path / 'sha256sum-arm.txt').write_text(listing)
    return tmp_path


def test_real_sha256sum_output_is_parsed_and_real_files_verify(artifacts):
    checksums = (artifacts / 'sha256sum-arm.txt').read_text()
    for name in ('k3s-armhf', 'k3s-airgap-images-arm.tar.zst'):
        actual = _sha256(str(artifacts / name))
        assert airgap.verify_sha256(checksums, name, actual, 'sha256sum-arm.txt') == actual


def test_a_corrupted_binary_is_refused_naming_both_checksums_and_nothing_is_installed(artifacts, tmp_path_factory):
    checksums = (artifacts / 'sha256sum-arm.txt').read_text()
    expected = airgap.expected_sha256(checksums, 'k3s-armhf')
    with open(str(artifacts / 'k3s-armhf'), 'ab') as handle:
        handle.write(b'one flipped byte')
    actual = _sha256(str(artifacts / 'k3s-armhf'))
    destination = tmp_path_factory.mktemp('node-bin')

    def install():
        airgap.verify_sha256(checksums, 'k3s-armhf', actual, 'sha256sum-arm.txt')
        shutil.copy(str(artifacts / 'k3s-armhf'), str(destination / 'k3s'))

    with pytest.raises(K3sError) as info:
        install()
    message = str(info.value)
    assert 'k3s-armhf does not match sha256sum-arm.txt' in message
    assert actual in message and expected in message
    assert 'Nothing was installed' in message
    assert os.listdir(str(destination)) == []


def test_a_checksum_file_without_the_assets_line_is_refused(artifacts):
    checksums = (artifacts / 'sha256sum-arm.txt').read_text()
    with pytest.raises(K3sError, match='sha256sum-arm.txt has no line for k3s-arm64 .*same k3s release'):
        airgap.expected_sha256(checksums, 'k3s-arm64', 'sha256sum-arm.txt')


@pytest.mark.parametrize('text, message', [
    ('not a checksum line\n', 'line 1 is not "<sha256>  <file>"'),
    ('%s  k3s\n%s  k3s\n' % ('a' * 64, 'b' * 64), 'k3s is listed twice with different checksums'),
    (b'binary', 'expected the text of a sha256sum file'),
])
def test_malformed_checksum_files_are_refused(text, message):
    with pytest.raises(K3sError, match=message):
        airgap.parse_checksums(text)


def test_binary_mode_lines_and_dot_slash_names_are_read():
    sums = airgap.parse_checksums('%s *k3s\n\n%s  ./k3s-arm64\n' % ('A' * 64, 'b' * 64))
    assert sums == {'k3s': 'a' * 64, 'k3s-arm64': 'b' * 64}


def test_an_actual_value_that_is_no_checksum_is_refused():
    with pytest.raises(K3sError, match="k3s: 'deadbeef' is not a sha256 checksum"):
        airgap.verify_sha256('%s  k3s\n' % ('a' * 64), 'k3s', 'deadbeef')
