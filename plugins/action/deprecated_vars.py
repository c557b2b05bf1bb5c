# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    """Return one deprecation per renamed variable that is still set; runs on the controller only."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('renamed', 'version'))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        renamed = self._task.args.get('renamed')
        version = self._task.args.get('version')
        if not isinstance(renamed, dict) or not isinstance(version, str) or not version:
            raise AnsibleActionFail('renamed must be a dict of old name -> replacement, and version a non-empty string')
        still_set = sorted(name for name in renamed if name in (task_vars or {}))
        result.update(changed=False, still_set=still_set)
        if still_set:
            result['deprecations'] = [
                {'msg': 'The variable %s is deprecated; use %s instead (the old name still works until then).'
                        % (name, renamed[name]),
                 'version': version, 'collection_name': 'picocloud.edge'}
                for name in still_set]
        return result
