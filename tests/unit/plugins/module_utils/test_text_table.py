# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain-text tables."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.picocloud.edge.plugins.module_utils.text_table import text_table


def test_columns_are_as_wide_as_their_widest_cell_and_missing_cells_show_a_dash():
    rows = [{'name': 'pico-01', 'address': '172.30.10.11'}, {'name': 'pico-02'}, None]
    assert text_table(rows, [['name', 'NODE'], {'key': 'address', 'title': 'ADDRESS'}]) == [
        'NODE     ADDRESS',
        'pico-01  172.30.10.11',
        'pico-02  -',
        '-        -',
    ]


def test_an_empty_table_is_its_header():
    assert text_table([], [('a', 'A'), ('b', 'BEE')], missing='?') == ['A  BEE']
