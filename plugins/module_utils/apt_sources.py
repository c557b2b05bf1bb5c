# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Debian mirror and apt proxy of the controller's own apt configuration.

Private to the picocloud.edge collection. apt itself parses the sources (one-line ``sources.list``
and deb822 ``*.sources`` alike): ``apt-get indextargets --no-release-info`` lists every configured
index target, and ``apt-config dump`` the proxy settings. This module only picks from what apt says.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import subprocess

from ansible_collections.picocloud.edge.plugins.module_utils.node import parse_os_release

DEFAULT_MIRROR = 'http://deb.debian.org/debian'
# The format asked from `apt-get indextargets`: one target per line.
INDEXTARGETS_FORMAT = '$(REPO_URI) $(RELEASE) $(TARGET_OF)'
# Suites of other archives that share a Debian mirror's host but are not the main archive.
_SIDE_SUITES = ('-security', '-updates', '-backports', '-proposed-updates', '-debug')


def pick_mirror(indextargets_text, os_release, default=DEFAULT_MIRROR):
    """The Debian mirror the controller uses, from `apt-get indextargets` output.

    Only a Debian controller's sources name a Debian mirror: on any other OS (Ubuntu's archive does
    not carry Debian suites) the default is returned. Of the `deb` targets, the first whose suite is
    the controller's own codename wins (its main archive, not -security or -updates); then the first
    main-archive suite of any name; then the default.
    """
    if os_release.get('ID') != 'debian':
        return default
    codename = os_release.get('VERSION_CODENAME', '')
    main_suites = []
    for line in indextargets_text.splitlines():
        fields = line.split()
        if len(fields) != 3 or fields[2] != 'deb':
            continue
        uri, suite = fields[0].rstrip('/'), fields[1]
        if not uri.startswith(('http://', 'https://')) or suite.endswith(_SIDE_SUITES):
            continue
        if codename and suite == codename:
            return uri
        main_suites.append(uri)
    return main_suites[0] if main_suites else default


def pick_proxy(apt_config_text):
    """The http proxy of `apt-config dump` output (Acquire::http::Proxy), or '' when none is set."""
    for line in apt_config_text.splitlines():
        key, _sep, value = line.partition(' ')
        if key == 'Acquire::http::Proxy':
            value = value.strip().rstrip(';').strip().strip('"')
            if value and value.upper() != 'DIRECT':
                return value
    return ''


def _run(argv):
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True,
                              timeout=30).stdout.decode('utf-8', 'replace')
    except (OSError, subprocess.SubprocessError):
        return ''


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return ''


def system_mirror(default=DEFAULT_MIRROR, os_release_path='/etc/os-release'):
    """The Debian mirror of this machine's apt sources, or the default when it names none."""
    os_release = parse_os_release(_read(os_release_path) or _read('/usr/lib/os-release'))
    targets = _run(['apt-get', 'indextargets', '--no-release-info', '--format', INDEXTARGETS_FORMAT])
    return pick_mirror(targets, os_release, default)


def system_proxy():
    """The http proxy apt uses on this machine, or ''."""
    return pick_proxy(_run(['apt-config', 'dump', 'Acquire::http::Proxy']))
