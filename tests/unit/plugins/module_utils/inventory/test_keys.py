# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one-variable shortcut gives what Jinja gives, and hands everything else to Jinja."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.picocloud.edge.plugins.module_utils.inventory.keys import NOT_PLAIN, plain_key_value

VARIABLES = {'arch': 'arm64', 'none': None, 'count': 3, 'names': ['web', 'db'], 'empty': ''}


@pytest.mark.parametrize('expression', [
    'arch', " arch | default('unknown') ", "missing | default('unknown')", 'none', "none | default('x')", 'count',
    'names', "empty | default('x')",
])
def test_shortcut_equals_jinja(expression):
    jinja = Templar(loader=DataLoader(), variables=VARIABLES).evaluate_expression(trust_as_template(expression))
    assert plain_key_value(expression, VARIABLES) == jinja


@pytest.mark.parametrize('expression, variables', [
    ('missing', VARIABLES),                                   # undefined: Jinja raises, strict decides
    ("arch | upper", VARIABLES),                              # a filter other than a literal default
    ("arch | default(other)", VARIABLES),                     # a default that is an expression
    ('meta', {'meta': {'rack': 'r1'}}),                       # a mapping
    ('templated', {'templated': '{{ arch }}'}),               # text that Jinja would render
    ('names', {'names': ['web', '{{ x }}']}),
])
def test_anything_else_goes_to_jinja(expression, variables):
    assert plain_key_value(expression, variables) is NOT_PLAIN
