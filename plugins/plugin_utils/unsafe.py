# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mark data from the network as unsafe, so Ansible never templates it (controller side).

Private to the picocloud.edge collection: no compatibility promise to other collections.

The same rule as community.general's plugin_utils.unsafe (a dependency that ansible-test's import
check cannot see): a string that holds ``{`` or ``}`` is wrapped with ansible-core's ``wrap_var``;
containers are copied with their items marked. From ansible-core 2.19 on, data a plugin makes is not
trusted as a template anyway; this keeps 2.17 and 2.18 safe too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections.abc import Mapping, Set

from ansible.module_utils.common.collections import is_sequence
from ansible.utils.unsafe_proxy import AnsibleUnsafe, wrap_var

TEMPLATE_CHARS = re.compile('[{}]')


def make_unsafe(value):
    """`value` with every string that could hold template text marked unsafe."""
    if value is None or isinstance(value, AnsibleUnsafe):
        return value
    if isinstance(value, Mapping):
        return dict((make_unsafe(key), make_unsafe(item)) for key, item in value.items())
    if isinstance(value, Set):
        return set(make_unsafe(item) for item in value)
    if is_sequence(value):
        return type(value)(make_unsafe(item) for item in value)
    if isinstance(value, bytes):
        text = value.decode('utf-8', 'replace')
    elif isinstance(value, str):
        text = value
    else:
        return value
    return wrap_var(value) if TEMPLATE_CHARS.search(text) else value
