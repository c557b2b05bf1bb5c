# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.picocloud.edge.plugins.module_utils.image.bootfiles import BootFileError, merge_cmdline


def _tokens(value, name):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [to_text(item) for item in value]
    if isinstance(value, str):
        return value.split()
    raise AnsibleFilterError('cmdline_merge: %s must be a list of tokens or a string, not %s' % (name, type(value).__name__))


def cmdline_merge(text, add=None, remove=None):
    """cmdline.txt text with `add` tokens present once each and `remove` tokens gone, as one line."""
    if text is None:
        text = ''
    if not isinstance(text, str):
        raise AnsibleFilterError('cmdline_merge: the input must be the text of cmdline.txt, not %s' % type(text).__name__)
    try:
        return merge_cmdline(text, add=_tokens(add, 'add'), remove=_tokens(remove, 'remove'))
    except BootFileError as exc:
        raise AnsibleFilterError('cmdline_merge: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'cmdline_merge': cmdline_merge}
