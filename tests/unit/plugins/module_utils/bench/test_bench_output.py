# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bench output files: load, plan without writing, write only what changed, atomically, and fail cleanly."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

import runs

from ansible_collections.picocloud.edge.plugins.module_utils.bench import output
from ansible_collections.picocloud.edge.plugins.module_utils.bench import schema

NAMES = ['density.png', 'footprint.png', 'report.md', 'serving.png', 'start_latency.png', 'storm_cdf.png',
         'storm_launch_times.png']


@pytest.fixture(scope='module')
def rendered():
    return output.render(runs.run())


def test_load_reads_and_validates_a_run_file(tmp_path):
    path = tmp_path / 'run.json'
    path.write_text(json.dumps(runs.run()))
    assert output.load(str(path))['run_id'] == 'run-1'


def test_load_names_the_missing_file_and_refuses_other_encodings(tmp_path):
    with pytest.raises(output.OutputError, match='cannot read the run file %s' % (tmp_path / 'absent.json')):
        output.load(str(tmp_path / 'absent.json'))
    path = tmp_path / 'latin1.json'
    path.write_bytes(b'{"site": "caf\xe9"}')
    with pytest.raises(output.OutputError, match='is not UTF-8'):
        output.load(str(path))
    path.write_text(json.dumps(runs.run(experiments={})))
    with pytest.raises(schema.RunDocumentError, match='no experiment in the run'):
        output.load(str(path))


def test_render_gives_the_report_and_every_plot(rendered):
    assert sorted(rendered.files) == NAMES
    assert rendered.files['report.md'].decode('utf-8').startswith('# Bench report: site `pico`, run `run-1`')
    assert set(rendered.sentences) == {'storm', 'density', 'start_latency', 'serving', 'footprint'}


def test_plan_reads_only_and_write_then_changes_nothing(tmp_path, rendered):
    dest = str(tmp_path / 'out')
    entries = output.plan(dest, rendered.files)
    assert [e['name'] for e in entries] == NAMES
    assert all(e['changed'] and not e['exists'] and e['before'] is None for e in entries)
    assert not os.path.exists(dest)
    written = output.write(dest, rendered.files, entries)
    assert sorted(os.path.basename(p) for p in written) == NAMES
    assert sorted(os.listdir(dest)) == NAMES
    assert stat.S_IMODE(os.stat(os.path.join(dest, 'report.md')).st_mode) == 0o644
    again = output.plan(dest, rendered.files)
    assert not any(e['changed'] for e in again)
    assert output.write(dest, rendered.files, again) == []


def test_only_the_changed_file_is_rewritten(tmp_path, rendered):
    dest = str(tmp_path)
    output.write(dest, rendered.files, output.plan(dest, rendered.files))
    report = os.path.join(dest, 'report.md')
    with open(report, 'a') as handle:
        handle.write('edited by hand\n')
    png_mtime = os.stat(os.path.join(dest, 'storm_cdf.png')).st_mtime_ns
    entries = output.plan(dest, rendered.files)
    assert [e['name'] for e in entries if e['changed']] == ['report.md']
    assert [e['before'] for e in entries if e['changed']][0].endswith(b'edited by hand\n')
    assert output.write(dest, rendered.files, entries) == [report]
    assert os.stat(os.path.join(dest, 'storm_cdf.png')).st_mtime_ns == png_mtime
    assert open(report, 'rb').read() == rendered.files['report.md']
    assert not [name for name in os.listdir(dest) if name.startswith('.')]


def test_dest_that_is_a_file_is_refused_and_left_alone(tmp_path, rendered):
    dest = tmp_path / 'taken'
    dest.write_text('keep me')
    with pytest.raises(output.OutputError, match='exists and is not a directory'):
        output.plan(str(dest), rendered.files)
    assert dest.read_text() == 'keep me'


def test_unwritable_dest_fails_with_the_path_and_leaves_no_temporary_file(tmp_path, rendered):
    dest = tmp_path / 'out'
    dest.mkdir()
    entries = output.plan(str(dest), rendered.files)
    (dest / 'report.md').mkdir()
    (dest / 'report.md' / 'x').write_text('a directory in the way')
    with pytest.raises(output.OutputError, match='cannot write the bench report into %s' % dest):
        output.write(str(dest), rendered.files, entries)
    assert not [name for name in os.listdir(str(dest)) if name.startswith('.')]
    assert (dest / 'report.md' / 'x').read_text() == 'a directory in the way'
