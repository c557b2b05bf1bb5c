# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How much a no-op re-run of picocloud.edge.site costs, against the first run.

Brings up a lab of its own (3 nodes by default, lab `rerun` on 172.30.45.0/24), converges it once with
picocloud.edge.site, runs it again --reruns times (3 by default), and prints the wall times, the line
`ratio <re-run/first>` (the median re-run against the first run), and the time of every role in the first run and
in the median re-run (from the picocloud.edge.progress callback). One no-op run on a two-core machine varies by
about a quarter from the next, so one re-run decides nothing; the median of three does better. Targets (issue #13):
re-run <= 0.5 x the first run, and pki <= 10 s in the re-run on 3 nodes (pki's median over the re-runs). The lab is
taken down at the end unless --keep.

    .venv/bin/python benchmarks/bench_site_rerun.py [--nodes 3] [--reruns 3] [--keep] [--json results.json]

Run it from the repository root after `make setup` (it uses the venv's ansible-playbook and the installed
collection) on a quiet machine: the figures are wall times.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')
ARTIFACTS = os.path.join(ROOT, '.cache', 'consul-artifacts')


def env():
    return dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ['PATH'],
                ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.venv', 'collections'),
                ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='true', ANSIBLE_NOCOLOR='1')


def ansible_playbook(*args, **kwargs):
    proc = subprocess.run(['ansible-playbook'] + list(args), env=dict(env(), **kwargs.get('extra_env', {})),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    if proc.returncode != 0:
        sys.exit('ansible-playbook %s failed:\n%s' % (' '.join(args), proc.stdout[-4000:]))
    return proc.stdout


def timed_site_run(inventory, workdir, label):
    """One picocloud.edge.site run with the progress callback; returns (wall seconds, {role: seconds}, changed)."""
    times = os.path.join(workdir, label + '.json')
    start = time.time()
    ansible_playbook('-i', inventory, 'picocloud.edge.site', '-e', 'consul_install_source=artifact',
                     '-e', 'consul_version=1.8.7', '-e', 'picocloud_artifacts_dir=' + ARTIFACTS,
                     extra_env={'ANSIBLE_STDOUT_CALLBACK': 'picocloud.edge.progress',
                                'PICOCLOUD_PROGRESS_TIMES': times,
                                'PICOCLOUD_PROGRESS_LOG': os.path.join(workdir, label + '.log')})
    wall = time.time() - start
    with open(times) as handle:
        data = json.load(handle)
    roles = {}
    for play in data['plays']:
        for role, seconds in play['roles'].items():
            roles[role] = roles.get(role, 0.0) + seconds
    return wall, roles, data['changed']


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--nodes', type=int, default=3)
    parser.add_argument('--lab', default='rerun')
    parser.add_argument('--subnet', default='172.30.45.0/24')
    parser.add_argument('--reruns', type=int, default=3, choices=range(1, 11), metavar='1..10',
                        help='no-op re-runs after the first run; the figures are their medians')
    parser.add_argument('--keep', action='store_true', help='leave the lab up')
    parser.add_argument('--json', help='also write the figures to this file')
    args = parser.parse_args()

    subprocess.run([os.path.join(ROOT, 'scripts', 'consul-artifacts.sh'), ARTIFACTS], check=True,
                   stdout=subprocess.DEVNULL)
    workdir = tempfile.mkdtemp(prefix='bench-site-rerun.')
    state = os.path.join(workdir, 'lab')
    inventory = os.path.join(state, 'lab.picocloud.yml')  # the site plugin reads *.picocloud.yml
    lab = ['picocloud.edge.lab', '-e', 'lab_name=' + args.lab, '-e', 'lab_subnet=' + args.subnet,
           '-e', 'lab_nodes=%d' % args.nodes, '-e', 'lab_state_dir=' + state, '-e', 'lab_inventory_file=' + inventory]
    ansible_playbook(*lab)
    try:
        first, first_roles, first_changed = timed_site_run(inventory, workdir, 'first')
        reruns = [timed_site_run(inventory, workdir, 'rerun-%d' % number) for number in range(1, args.reruns + 1)]
    finally:
        if not args.keep:
            ansible_playbook(*(lab + ['-e', 'lab_state=absent']))
    # the median re-run (by wall time) gives the role table; pki's figure is its own median over the re-runs
    rerun, rerun_roles, dummy = sorted(reruns, key=lambda run: run[0])[len(reruns) // 2]
    pki_times = [run[1].get('pki', 0.0) for run in reruns]
    pki = statistics.median(pki_times)
    ratio = rerun / first
    load = os.getloadavg()
    print('bench_site_rerun: %d-node lab, load average %.1f %.1f %.1f' % ((args.nodes,) + load))
    print('first run   %7.1f s  (%d changed)' % (first, first_changed))
    for number, (wall, roles, changed) in enumerate(reruns, 1):
        print('re-run %-4d %7.1f s  (%d changed; pki %.1f s)' % (number, wall, changed, roles.get('pki', 0.0)))
    print('median re-run %5.1f s' % rerun)
    print('ratio %.2f' % ratio)
    print('%-12s %8s %8s' % ('ROLE', 'FIRST', 'RE-RUN'))
    for role in sorted(set(first_roles) | set(rerun_roles), key=lambda r: -first_roles.get(r, 0)):
        print('%-12s %7.1fs %7.1fs' % (role, first_roles.get(role, 0), rerun_roles.get(role, 0)))
    print('target: re-run <= 0.5 x first: %s; pki re-run <= 10 s on 3 nodes: %s (median %.1f s)'
          % ('met' if ratio <= 0.5 else 'NOT met', 'met' if pki <= 10 else 'NOT met', pki))
    changed = [run[2] for run in reruns]
    if any(changed):
        print('WARNING: the re-runs changed %s results; they are not no-ops' % changed)
    if args.json:
        with open(args.json, 'w') as handle:
            json.dump({'nodes': args.nodes, 'first_s': first, 'rerun_s': rerun, 'ratio': ratio, 'load': load,
                       'reruns_s': [run[0] for run in reruns], 'pki_s': pki_times, 'pki_median_s': pki,
                       'first_roles': first_roles, 'rerun_roles': rerun_roles, 'rerun_changed': changed},
                      handle, indent=1)


if __name__ == '__main__':
    main()
