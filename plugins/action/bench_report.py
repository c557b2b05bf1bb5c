# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of picocloud.edge.bench_report (documented in plugins/modules/bench_report.py).

It runs on the controller because its input and output are controller files and matplotlib is a
controller requirement: a module would run under whatever interpreter the target (or localhost)
resolves to, which may lack matplotlib.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.plugins.action import ActionBase

from ansible_collections.picocloud.edge.plugins.module_utils.bench import output
from ansible_collections.picocloud.edge.plugins.module_utils.bench import plots
from ansible_collections.picocloud.edge.plugins.module_utils.bench import schema

ARGUMENT_SPEC = {
    'src': {'type': 'path', 'required': True},
    'dest': {'type': 'path', 'required': True},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        src = os.path.abspath(args['src'])
        dest = os.path.abspath(args['dest'])
        try:
            doc = output.load(src)
            rendered = output.render(doc)
            entries = output.plan(dest, rendered.files)
            written = [] if self._task.check_mode else output.write(dest, rendered.files, entries)
        except schema.RunDocumentError as exc:
            result.update(failed=True, msg='%s: %s' % (src, exc), problems=exc.problems)
            return result
        except (output.OutputError, plots.PlotError) as exc:
            result.update(failed=True, msg=str(exc))
            return result
        changed = any(entry['changed'] for entry in entries)
        by_file = dict((plot.filename, plot) for plot in rendered.plots)
        result.update(
            changed=changed,
            run_id=doc['run_id'],
            dest=dest,
            report=os.path.join(dest, output.REPORT_NAME),
            files=[{'path': e['path'], 'changed': e['changed']} for e in entries],
            written=written,
            plots=[{'path': os.path.join(dest, name), 'title': by_file[name].title, 'series': by_file[name].series,
                    'references': by_file[name].references} for name in sorted(by_file)],
            stats=rendered.stats,
            sentences=rendered.sentences,
        )
        if self._task.diff:
            report = [e for e in entries if e['name'] == output.REPORT_NAME][0]
            result['diff'] = {
                'before_header': report['path'], 'after_header': report['path'],
                'before': report['before'].decode('utf-8', 'replace') if report['before'] is not None else '',
                'after': rendered.files[output.REPORT_NAME].decode('utf-8'),
            }
        return result
