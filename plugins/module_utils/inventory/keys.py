# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A shortcut for the constructed-inventory expressions that are just one variable.

Private to the picocloud.edge collection: no compatibility promise to other collections.

ansible-core 2.19 compiles a Jinja expression on every evaluation, about 1 ms each, so the default
keyed groups alone cost a second for 300 hosts. A key that names one variable, optionally with a
literal default (``picocloud_arch | default('unknown')``), has the variable's value as its result
when that value holds no template text; ``plain_key_value`` returns it without Jinja, and says when
the expression must go to Jinja after all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

PLAIN_KEY = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|\s*default\(\s*'([^'{}%#\\]*)'\s*\))?\s*")
TEMPLATE_MARK = re.compile(r'[{][{%#]')
NOT_PLAIN = object()


def is_plain(value):
    """A scalar, or a list of strings, with no template text in it."""
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return not TEMPLATE_MARK.search(value)
    if isinstance(value, list):
        return all(isinstance(item, str) and not TEMPLATE_MARK.search(item) for item in value)
    return False


def plain_key_value(template, variables):
    """The value of a one-variable expression, or NOT_PLAIN when Jinja must evaluate it."""
    match = PLAIN_KEY.fullmatch(template) if isinstance(template, str) else None
    if not match:
        return NOT_PLAIN
    name, default = match.groups()
    if name in variables:
        return variables[name] if is_plain(variables[name]) else NOT_PLAIN
    return default if default is not None else NOT_PLAIN
