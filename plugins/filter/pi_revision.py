# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.module_utils.board import RevisionError, decode_revision


def pi_revision(code):
    """Decode a Raspberry Pi revision code into the pi_facts `board` dict."""
    try:
        return decode_revision(code)
    except RevisionError as exc:
        raise AnsibleFilterError('pi_revision: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'pi_revision': pi_revision}
