# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the site scenario's verifier; the helpers themselves are in tests/helpers/picocloud_test.py.

File names order the modules; a test marked `site_order('last')` runs after every other test: the last check mode
of the converged site."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from picocloud_test import Site

ORDER = {'last': 3}


def pytest_configure(config):
    config.addinivalue_line('markers', 'site_order(when): run last (conftest.py)')
    config.addinivalue_line('markers', 'lifecycle: a node or site lifecycle test (re-flash, loss, reboot, upgrade, '
                                       'decommission, backup, a 0.1.0 site\'s trust migration, the registry\'s '
                                       'runtime switch): `make test-all`, not `make test` (docs/testing.md)')
    config.addinivalue_line('markers', 'k3s_stand_in: the k3s role against the k3s-stand-in (test_k3s_stand_in*.py): '
                                       '`make test-all` and `make k3s-tests`, not `make test` (docs/testing.md)')


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    def rank(item):
        marker = item.get_closest_marker('site_order')
        if marker is not None:
            return ORDER[marker.args[0]]
        return 0 if item.module.__name__.startswith('test_00_') else 2
    items.sort(key=rank)  # stable: file order within each rank


@pytest.fixture(scope='session')
def site():
    """The converged site under test (the molecule scenario's lab, or PICOCLOUD_TEST_LAB_DIR's)."""
    return Site.current()
