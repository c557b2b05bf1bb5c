# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""From a run document to the bench's output files: render, plan (check mode) and write.

Private to the picocloud.edge collection: no compatibility promise to other collections.

:func:`render` turns a validated run document into ``{file name: bytes}`` (``report.md`` and the
PNG plots). :func:`plan` compares those bytes with what ``dest`` already holds, writing nothing;
:func:`write` then replaces only the files that differ, each atomically (a temporary file in the
same directory, renamed over the old one), so a re-run with the same run changes nothing and an
interrupted run never leaves a half-written file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible_collections.picocloud.edge.plugins.module_utils.bench import plots as bench_plots
from ansible_collections.picocloud.edge.plugins.module_utils.bench import report as bench_report
from ansible_collections.picocloud.edge.plugins.module_utils.bench import schema
from ansible_collections.picocloud.edge.plugins.module_utils.bench import stats as bench_stats

REPORT_NAME = 'report.md'
FILE_MODE = 0o644
DIR_MODE = 0o755


class OutputError(RuntimeError):
    """The run file cannot be read, or dest cannot be written."""


class Rendered:
    """Everything one run produces: the files (name -> bytes), the statistics and the plots."""

    def __init__(self, files, stats, plots, sentences):
        self.files = files
        self.stats = stats
        self.plots = plots
        self.sentences = sentences


def load(path):
    """Read and validate a run document file (schema.RunDocumentError names every problem)."""
    try:
        with open(path, 'rb') as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        raise OutputError('cannot read the run file %s: %s' % (path, exc))
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise OutputError('the run file %s is not UTF-8: %s' % (path, exc))
    return schema.loads(text)


def render(doc):
    """Statistics, plots and report of a validated run document."""
    run_stats = bench_stats.run_stats(doc)
    plots = bench_plots.render_all(doc, run_stats)
    text = bench_report.build(doc, run_stats, plots)
    files = dict((plot.filename, plot.png) for plot in plots)
    files[REPORT_NAME] = text.encode('utf-8')
    return Rendered(files, run_stats, plots, bench_report.comparisons(run_stats))


def _current(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def plan(dest, files):
    """[{path, name, exists, changed, before}] per file, sorted by name; reads only.

    ``before`` is the current content (None when absent), for a diff of the report.
    """
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise OutputError('dest %s exists and is not a directory' % dest)
    entries = []
    for name in sorted(files):
        path = os.path.join(dest, name)
        before = _current(path)
        entries.append({'name': name, 'path': path, 'exists': before is not None, 'changed': before != files[name],
                        'before': before})
    return entries


def write(dest, files, entries):
    """Create dest if needed and replace every changed file atomically; returns the paths written."""
    try:
        if not os.path.isdir(dest):
            os.makedirs(dest, DIR_MODE)
        written = []
        for entry in entries:
            if not entry['changed']:
                continue
            handle, temporary = tempfile.mkstemp(prefix='.%s.' % entry['name'], dir=dest)
            try:
                with os.fdopen(handle, 'wb') as stream:
                    stream.write(files[entry['name']])
                os.chmod(temporary, FILE_MODE)
                os.rename(temporary, entry['path'])
            except BaseException:
                os.unlink(temporary)
                raise
            written.append(entry['path'])
        return written
    except (IOError, OSError) as exc:
        raise OutputError('cannot write the bench report into %s: %s' % (dest, exc))
