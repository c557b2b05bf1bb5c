# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.module_utils.text_table import text_table as _text_table


def text_table(rows, columns, missing='-'):
    try:
        return _text_table(list(rows), list(columns), missing)
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError('text_table: rows must be dicts (or null) and columns [key, title] pairs: %s' % exc)


class FilterModule(object):

    def filters(self):
        return {'text_table': text_table}
