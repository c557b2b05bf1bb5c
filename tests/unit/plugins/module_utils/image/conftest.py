# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Session-wide fixture images, built once with the real tools and copied (sparse) per test."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixtures  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope='session')
def base_images(tmp_path_factory):
    missing = fixtures.missing_tools()
    if missing:
        pytest.skip('image tools missing: %s' % ', '.join(missing))
    if fixtures.firmware_dir() is None:
        pytest.skip('PICOCLOUD_RASPI_FIRMWARE does not point at the raspi-firmware files')
    directory = tmp_path_factory.mktemp('base-images')
    return dict((name, fixtures.build_image(str(directory / ('%s.img' % name)), name))
                for name in fixtures.FLAVOR_FILES)


@pytest.fixture
def image(base_images, tmp_path):
    """image(flavor) -> path of a fresh sparse copy of that flavour's 1 GiB fixture image."""
    def make(name):
        return fixtures.copy_image(base_images[name], str(tmp_path / ('%s.img' % name)))
    return make


@pytest.fixture(scope='session')
def compressed(base_images, tmp_path_factory):
    """The Pi OS cloud-init fixture image as .img.xz, .img.gz, .img.zst and .zip (built once)."""
    import subprocess
    import zipfile
    directory = tmp_path_factory.mktemp('compressed')
    raw = fixtures.copy_image(base_images['rpios-cloudinit'], str(directory / 'card.img'))
    result = {'raw': raw}
    for fmt, argv in (('xz', ['xz', '-T2', '-0', '-k']), ('gz', ['gzip', '-1', '-k']), ('zst', ['zstd', '-q', '-1', '-k'])):
        subprocess.run(argv + [raw], check=True)
        result[fmt] = raw + '.' + fmt
    result['zip'] = str(directory / 'card.zip')
    with zipfile.ZipFile(result['zip'], 'w', zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.write(raw, 'card.img')
    return result
