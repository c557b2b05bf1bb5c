# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.bench_report run by ansible-playbook: check, apply, re-apply, check; a bad run writes nothing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

import runs

from ansible_collections.picocloud.edge.plugins.module_utils.bench import schema

PLAYBOOK = '''
- name: Bench report as a play uses it
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Check mode writes nothing
      picocloud.edge.bench_report: {src: "%(run)s", dest: "%(dest)s"}
      check_mode: true
      register: first_check
    - name: Apply
      picocloud.edge.bench_report: {src: "%(run)s", dest: "%(dest)s"}
      register: apply
    - name: Re-apply
      picocloud.edge.bench_report: {src: "%(run)s", dest: "%(dest)s"}
      register: again
    - name: Check mode again
      picocloud.edge.bench_report: {src: "%(run)s", dest: "%(dest)s"}
      check_mode: true
      register: second_check
    - name: An invalid run
      picocloud.edge.bench_report: {src: "%(bad)s", dest: "%(bad_dest)s"}
      register: bad
      ignore_errors: true
    - name: Keep the results for the test
      ansible.builtin.copy:
        content: "{{ {'first_check': first_check, 'apply': apply, 'again': again, 'second_check': second_check,
                      'bad': bad} | to_json }}"
        dest: "%(results)s"
        mode: '0600'
'''


def run_playbook(tmp_path, extra=()):
    env = dict(os.environ)
    # the directory holding ansible_collections/ of the copy under test (module_utils/bench is 6 levels down)
    env['ANSIBLE_COLLECTIONS_PATH'] = os.path.abspath(os.path.join(os.path.dirname(schema.__file__), *(['..'] * 6)))
    env['ANSIBLE_LOCALHOST_WARNING'] = 'false'
    env['ANSIBLE_INVENTORY_UNPARSED_WARNING'] = 'false'
    env['ANSIBLE_NOCOLOR'] = '1'
    binary = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    proc = subprocess.run([binary, str(tmp_path / 'play.yml')] + list(extra), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, env=env, timeout=300, check=False)
    return proc.returncode, proc.stdout.decode('utf-8', 'replace')


@pytest.fixture(scope='module')
def played(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp('bench-action')
    doc = runs.run()
    (tmp_path / 'run.json').write_text(json.dumps(doc))
    bad = runs.run()
    bad['experiments']['storm']['samples'].pop()
    bad['site']['name'] = 'pi co'
    (tmp_path / 'bad.json').write_text(json.dumps(bad))
    (tmp_path / 'play.yml').write_text(PLAYBOOK % {
        'run': tmp_path / 'run.json', 'dest': tmp_path / 'out', 'bad': tmp_path / 'bad.json',
        'bad_dest': tmp_path / 'bad-out', 'results': tmp_path / 'results.json'})
    rc, log = run_playbook(tmp_path, ['--diff'])
    assert rc == 0, log
    return tmp_path, json.loads((tmp_path / 'results.json').read_text()), doc


def test_check_mode_reports_every_file_and_writes_nothing(played):
    tmp_path, results, doc = played
    check = results['first_check']
    assert check['changed'] is True and check['written'] == []
    assert sorted(os.path.basename(f['path']) for f in check['files'] if f['changed']) == [
        'density.png', 'footprint.png', 'report.md', 'serving.png', 'start_latency.png', 'storm_cdf.png',
        'storm_launch_times.png']
    assert check['diff']['before'] == '' and check['diff']['after'].startswith('# Bench report')


def test_apply_writes_the_report_and_plots_then_nothing_changes(played):
    tmp_path, results, doc = played
    apply = results['apply']
    assert apply['changed'] is True and len(apply['written']) == 7
    assert apply['report'] == str(tmp_path / 'out' / 'report.md')
    assert (tmp_path / 'out' / 'report.md').read_text().startswith('# Bench report: site `pico`, run `run-1`')
    assert results['again']['changed'] is False and results['again']['written'] == []
    assert results['second_check']['changed'] is False


def test_returned_stats_and_plot_counts_come_from_the_run(played):
    tmp_path, results, doc = played
    apply = results['apply']
    assert apply['run_id'] == doc['run_id']
    assert apply['stats']['storm']['count'] == len(doc['experiments']['storm']['samples']) == 20
    assert apply['stats']['storm']['launch_ms']['count'] == 20
    cdf = [p for p in apply['plots'] if p['path'].endswith('storm_cdf.png')][0]
    assert cdf['series'] == {'your site': 20}
    assert apply['sentences']['storm'][0].startswith('Your storm launched 20 containers 5 at a time')


def test_an_invalid_run_fails_with_every_problem_and_writes_nothing(played):
    tmp_path, results, doc = played
    bad = results['bad']
    assert bad['failed'] is True
    assert bad['msg'].startswith('%s: the bench run document is not valid' % (tmp_path / 'bad.json'))
    assert any(p.startswith('site.name: must be a name') for p in bad['problems'])
    assert not os.path.exists(str(tmp_path / 'bad-out'))
