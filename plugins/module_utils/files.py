# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stat and read several small files in one go (the files_info module's logic).

Private to the picocloud.edge collection. Symlinks are reported, never followed; only regular files are
checksummed, and only those the caller names in `read` are read (up to `max_bytes`).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import hashlib
import os
import pwd
import stat


class FilesError(Exception):
    """A path or a file the caller asked for that cannot be used; the message names it."""


def _name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def describe(path, read=False, max_bytes=65536):
    """What `path` is: None when it does not exist, else a dict with path, isreg, isdir, islnk, mode ('0644'),
    pw_name, gr_name, size, and for regular files checksum (sha1, as ansible's find and copy report it) and, when
    `read`, content (text)."""
    if not isinstance(path, str) or not path.startswith('/') or '\x00' in path:
        raise FilesError('%r is not an absolute path' % (path,))
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    found = {'path': path, 'isreg': stat.S_ISREG(info.st_mode), 'isdir': stat.S_ISDIR(info.st_mode),
             'islnk': stat.S_ISLNK(info.st_mode), 'mode': '%04o' % stat.S_IMODE(info.st_mode),
             'pw_name': _name(pwd.getpwuid, info.st_uid), 'gr_name': _name(grp.getgrgid, info.st_gid), 'size': info.st_size}
    if found['isreg']:
        digest = hashlib.sha1()
        data = b''
        with open(path, 'rb') as handle:
            for chunk in iter(lambda: handle.read(65536), b''):
                digest.update(chunk)
                if read and len(data) <= max_bytes:
                    data += chunk
        found['checksum'] = digest.hexdigest()
        if read:
            if len(data) > max_bytes:
                raise FilesError('%s is %d bytes, more than max_bytes (%d)' % (path, len(data), max_bytes))
            try:
                found['content'] = data.decode('utf-8')
            except UnicodeDecodeError:
                raise FilesError('%s is not UTF-8 text' % path)
    elif read and not found['isdir']:
        raise FilesError('%s is not a regular file' % path)
    return found


def files_info(paths, read=(), max_bytes=65536):
    """{path: describe(path)} for every path that exists; paths in `read` must be in `paths`."""
    paths = list(paths)
    unknown = [path for path in read if path not in paths]
    if unknown:
        raise FilesError('read names paths that are not in paths: %s' % ', '.join(map(str, unknown)))
    result = {}
    for path in paths:
        found = describe(path, path in read, max_bytes)
        if found is not None:
            result[path] = found
    return result
