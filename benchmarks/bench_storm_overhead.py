# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the bench's own cost (issue 18): how much of the launch storm's time is the runner's, not the swarm's.

Runs picocloud.edge.bench with only the storm on a site (a lab) and prints:

* S, the measured storm: from the first launch request to the last task running, as the orchestrator stamps it
  (``total_s`` of the run's statistics);
* T, the playbook's storm tasks, from the start of "Start the storm" to the end of "Collect the storm's samples",
  as Ansible's own task timings report them: starting the async job, the progress lines, collecting the samples;
* the runner's overhead ratio (T - S) / S: the time the playbook spent on the storm beyond the storm itself, over
  the storm (goal <= 5 %);
* inside the storm, the runner's share of its slots' time (``runner_overhead_fraction``): how long after a task ran
  the runner noticed (observe lag) plus how long a slot stayed idle before its next request (refill gap), over
  concurrency x the runner's storm time.

Set-up (facts, image pulls) and clean-up are not part of T: they are the same whatever the storm measures.
Run it from the repository root with the collection installed (make setup), against a converged lab:

    python benchmarks/bench_storm_overhead.py inventories/lab/lab.picocloud.yml [--count 250] [--concurrency 5]
"""

from __future__ import absolute_import, division, print_function

import argparse
import datetime
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

from ansible_collections.picocloud.edge.plugins.module_utils.bench import stats as bench_stats

FIRST_TASK = 'Start the storm'
LAST_TASK = "Collect the storm's samples"
GOAL = 0.05


def parse_time(text):
    return datetime.datetime.strptime(text.rstrip('Z'), '%Y-%m-%dT%H:%M:%S.%f').replace(
        tzinfo=datetime.timezone.utc).timestamp()


def task_span(report):
    """Start of the first storm task and end of the last one, from the ansible.posix.json callback's output."""
    start = end = None
    for play in report['plays']:
        for task in play['tasks']:
            name = task['task']['name']
            if FIRST_TASK in name:
                start = parse_time(task['task']['duration']['start'])
            if LAST_TASK in name:
                end = parse_time(task['task']['duration']['end'])
    if start is None or end is None:
        raise SystemExit('the playbook output has no "%s" or "%s" task; did the storm run?' % (FIRST_TASK, LAST_TASK))
    return start, end


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('inventory')
    parser.add_argument('--count', type=int, default=250)
    parser.add_argument('--concurrency', type=int, default=5)
    parser.add_argument('--limit', default='!lab_emulated')
    parser.add_argument('--timeout', type=int, default=3600)
    args = parser.parse_args()
    out = tempfile.mkdtemp(prefix='bench-storm-overhead-')
    extra = {'bench_experiments': ['storm'], 'bench_storm_count': args.count,
             'bench_storm_concurrency': args.concurrency, 'bench_output_dir': out}
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_LOAD_CALLBACK_PLUGINS='1')
    env.pop('ANSIBLE_CALLBACKS_ENABLED', None)
    started = time.time()
    proc = subprocess.run(['ansible-playbook', '-i', args.inventory, '--limit', args.limit, '-e', json.dumps(extra),
                           'picocloud.edge.bench'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, timeout=args.timeout, check=False)
    wall = time.time() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode('utf-8', 'replace')[-3000:])
        raise SystemExit('the bench playbook failed (rc %d)' % proc.returncode)
    start, end = task_span(json.loads(proc.stdout.decode('utf-8')))
    runs = glob.glob(os.path.join(out, '*', 'run.json'))
    with open(runs[0]) as handle:
        storm = json.load(handle)['experiments']['storm']
    figures = bench_stats.storm_stats(storm)
    measured = figures['total_s']
    tasks = end - start
    ratio = (tasks - measured) / measured
    print('storm: %d services, %d at a time, %d running, %d failed' % (
        figures['count'], figures['concurrency'], figures['ok'], figures['failed']))
    print('S  measured storm (first request -> last task running, orchestrator): %8.2f s' % measured)
    print('T  playbook storm tasks (start job .. collect samples, Ansible timings): %8.2f s' % tasks)
    print('runner overhead (T - S) / S:                                       %8.2f %%  (goal <= %d %%) %s' % (
        100 * ratio, 100 * GOAL, 'OK' if ratio <= GOAL else 'OVER'))
    print('inside the storm: observe lag mean %.1f ms, refill gap mean %.1f ms, share of slot time %.2f %%' % (
        figures['observe_lag_ms']['mean'] or 0, figures['refill_gap_ms']['mean'] or 0,
        100 * (figures['runner_overhead_fraction'] or 0)))
    print('launch ms: mean %.0f, p50 %.0f, p95 %.0f, max %.0f' % tuple(
        figures['launch_ms'][key] for key in ('mean', 'p50', 'p95', 'max')))
    print('playbook wall time (set-up, storm, clean-up, report): %.1f s; output in %s' % (wall, os.path.dirname(runs[0])))
    return 0 if ratio <= GOAL else 1


if __name__ == '__main__':
    sys.exit(main())
