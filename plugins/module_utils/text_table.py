# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain-text tables for the reports the playbooks print (verify, bench, ...).

Private to the picocloud.edge collection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def text_table(rows, columns, missing='-'):
    """Lines of a left-aligned table: a header line, then one line per row.

    `columns` is a list of (key, title) pairs (or dicts with `key` and `title`); `rows` a list of dicts.
    A row that is None, or a key a row lacks, shows `missing`. Every column is as wide as its widest cell,
    with two spaces between columns; trailing blanks are removed.
    """
    pairs = [(c['key'], c['title']) if isinstance(c, dict) else (c[0], c[1]) for c in columns]
    cells = [[title for _key, title in pairs]]
    for row in rows:
        row = row or {}
        cells.append([missing if row.get(key) in (None, '') else str(row.get(key)) for key, _title in pairs])
    widths = [max(len(line[i]) for line in cells) for i in range(len(pairs))]
    return ['  '.join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in cells]
