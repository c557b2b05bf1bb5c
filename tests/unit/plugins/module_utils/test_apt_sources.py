# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's Debian mirror and apt proxy, picked from what apt reports."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils import apt_sources

DEBIAN = {'ID': 'debian', 'VERSION_CODENAME': 'bookworm'}

# `apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)'` on a machine with
# deb822 debian.sources (security first, as some images order it) and a third-party repository.
TARGETS = """\
http://deb.debian.org/debian-security/ bookworm-security deb
https://deb.nodesource.com/node_20.x/ nodistro deb
http://mirror.local:3142/debian/ bookworm-updates deb
http://mirror.local:3142/debian/ bookworm deb
http://mirror.local:3142/debian/ bookworm deb-src
"""


def test_the_mirror_of_the_controllers_own_suite_wins_over_security_updates_and_third_party():
    assert apt_sources.pick_mirror(TARGETS, DEBIAN) == 'http://mirror.local:3142/debian'


def test_a_debian_controller_on_another_suite_name_still_gets_its_main_archive():
    targets = 'http://deb.example.org/debian/ stable deb\nhttp://deb.example.org/debian/ stable-updates deb\n'
    assert apt_sources.pick_mirror(targets, DEBIAN) == 'http://deb.example.org/debian'


@pytest.mark.parametrize('os_release', [
    {'ID': 'ubuntu', 'VERSION_CODENAME': 'jammy'},
    {'ID': 'raspbian', 'VERSION_CODENAME': 'bookworm'},
    {},
])
def test_a_controller_that_is_not_debian_gets_the_default(os_release):
    targets = 'http://archive.ubuntu.com/ubuntu/ jammy deb\n'
    assert apt_sources.pick_mirror(targets, os_release) == apt_sources.DEFAULT_MIRROR


@pytest.mark.parametrize('targets', ['', 'garbage\n', 'file:/srv/debian/ bookworm deb\n',
                                     'http://deb.debian.org/debian-security/ bookworm-security deb\n'])
def test_no_usable_mirror_gives_the_default(targets):
    assert apt_sources.pick_mirror(targets, DEBIAN, default='http://fallback/debian') == 'http://fallback/debian'


@pytest.mark.parametrize('dump, proxy', [
    ('Acquire::http::Proxy "http://proxy.local:3128/";\n', 'http://proxy.local:3128/'),
    ('Acquire::http::Proxy "DIRECT";\n', ''),
    ('Acquire::https::Proxy "http://x/";\n', ''),
    ('', ''),
])
def test_the_apt_http_proxy_is_read_from_apt_config(dump, proxy):
    assert apt_sources.pick_proxy(dump) == proxy
