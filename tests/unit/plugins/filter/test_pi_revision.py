# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.filter.pi_revision import FilterModule


def test_filter_is_registered_and_decodes():
    decode = FilterModule().filters()['pi_revision']
    assert decode('902120')['type'] == 'Zero 2 W'
    assert decode('902120')['model'] is None


def test_filter_error_names_the_filter_and_code():
    decode = FilterModule().filters()['pi_revision']
    with pytest.raises(AnsibleFilterError, match=r"pi_revision: 'zz' is not a hexadecimal"):
        decode('zz')
