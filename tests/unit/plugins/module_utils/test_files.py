# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""files_info's logic on files a test makes: stat, checksum and read, symlinks never followed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils import files


def test_regular_files_get_mode_owner_checksum_and_only_the_asked_content(tmp_path):
    cert, key = tmp_path / 'cert.pem', tmp_path / 'key.pem'
    cert.write_text('CERT\n')
    key.write_text('SECRET\n')
    key.chmod(0o600)
    found = files.files_info([str(cert), str(key), str(tmp_path), str(tmp_path / 'missing')], read=[str(cert)])
    assert set(found) == {str(cert), str(key), str(tmp_path)}
    assert found[str(cert)]['content'] == 'CERT\n'
    assert 'content' not in found[str(key)]
    assert found[str(key)]['mode'] == '0600' and found[str(key)]['isreg']
    assert found[str(cert)]['checksum'] == hashlib.sha1(b'CERT\n').hexdigest()
    assert found[str(tmp_path)]['isdir'] and 'checksum' not in found[str(tmp_path)]
    assert found[str(cert)]['pw_name'] and found[str(cert)]['gr_name']


def test_a_symlink_is_reported_not_followed(tmp_path):
    target = tmp_path / 'target'
    target.write_text('x')
    link = tmp_path / 'link'
    os.symlink(str(target), str(link))
    found = files.files_info([str(link)])
    assert found[str(link)]['islnk'] and not found[str(link)]['isreg'] and 'checksum' not in found[str(link)]
    with pytest.raises(files.FilesError, match='is not a regular file'):
        files.files_info([str(link)], read=[str(link)])


def test_a_path_under_a_file_is_missing_not_an_error(tmp_path):
    plain = tmp_path / 'plain'
    plain.write_text('x')
    assert files.files_info([str(plain / 'below')]) == {}


@pytest.mark.parametrize('paths, read, message', [
    (['relative'], [], "'relative' is not an absolute path"),
    (['/a'], ['/b'], 'read names paths that are not in paths: /b'),
])
def test_bad_arguments_are_refused_naming_the_path(paths, read, message):
    with pytest.raises(files.FilesError, match=message):
        files.files_info(paths, read)


def test_a_file_too_big_or_not_text_is_refused_when_read(tmp_path):
    big, binary = tmp_path / 'big', tmp_path / 'binary'
    big.write_text('x' * 100)
    binary.write_bytes(b'\xff\xfe')
    with pytest.raises(files.FilesError, match='more than max_bytes'):
        files.files_info([str(big)], [str(big)], max_bytes=10)
    with pytest.raises(files.FilesError, match='is not UTF-8 text'):
        files.files_info([str(binary)], [str(binary)])
    assert 'content' not in files.files_info([str(big)], max_bytes=10)[str(big)]
