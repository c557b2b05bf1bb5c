# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.bench at a small size on the converged site's native nodes: a storm of 20 services 5 at a time,
density bounded at 15 containers per app, serving at 50 and 100 concurrent clients with 200 requests, the footprint
and cold/warm starts. The run document, the plots and the report exist; the numbers come from this run (one sample
per launch, positive times, every plot read back with as many points as the run has samples); and nothing the bench
made is left on any node. The emulated arm64 node is left out (--limit '!lab_emulated'): it is too slow to bench."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import time

import pytest

from picocloud_test import Site, node_exec

from ansible_collections.picocloud.edge.plugins.module_utils.bench import plots
from ansible_collections.picocloud.edge.plugins.module_utils.bench import schema

STORM_N = 20
STORM_C = 5
DENSITY_MAX = 15
STEPS = [50, 100]
REQUESTS = 200
LIMIT = '!lab_emulated'


@pytest.fixture(scope='module')
def site():
    return Site.current()


@pytest.fixture(scope='module')
def native_nodes(site):
    return site.native()


@pytest.fixture(scope='module')
def bench(site, tmp_path_factory):
    """One small bench run; its output directory, the run document and the run's wall time."""
    out = tmp_path_factory.mktemp('bench')
    started = time.time()
    run = site.playbook('picocloud.edge.bench', limit=LIMIT, timeout=900, extra_vars={
        'bench_output_dir': str(out),
        'bench_storm_count': STORM_N, 'bench_storm_concurrency': STORM_C,
        'bench_density_max_count': DENSITY_MAX, 'bench_density_max_seconds': 120,
        'bench_serving_concurrency': STEPS, 'bench_serving_requests': REQUESTS,
        'bench_start_repeats': 2, 'bench_start_restart': False,
    })
    wall = time.time() - started
    run.ok()
    dirs = glob.glob(os.path.join(str(out), '*'))
    assert len(dirs) == 1, dirs
    with open(os.path.join(dirs[0], 'run.json')) as handle:
        doc = json.load(handle)
    print('bench wall time: %.1f s' % wall)
    return {'dir': dirs[0], 'doc': doc, 'wall': wall}


def test_the_run_document_is_valid_and_holds_every_experiment(bench, native_nodes):
    doc = schema.validate(bench['doc'])
    assert sorted(doc['experiments']) == ['density', 'footprint', 'serving', 'start_latency', 'storm']
    assert sorted(doc['nodes']) == sorted(native_nodes)


def test_the_storm_has_one_sample_per_launch_each_running_after_its_request(bench, native_nodes):
    storm = bench['doc']['experiments']['storm']
    samples = storm['samples']
    assert storm['parameters']['count'] == STORM_N and storm['parameters']['concurrency'] == STORM_C
    assert sorted(s['index'] for s in samples) == list(range(STORM_N))
    assert all(s['ok'] for s in samples), [s['error'] for s in samples if not s['ok']]
    assert all(s['running_at'] > s['requested_at'] and s['observed_at'] >= s['running_at'] for s in samples)
    assert {s['node'] for s in samples} <= set(native_nodes)
    assert {s['worker'] for s in samples} <= set(range(STORM_C))


def test_density_stays_within_its_bound_with_memory_read_after_every_container(bench):
    density = bench['doc']['experiments']['density']
    assert len(density['apps']) == 3
    for app in density['apps']:
        counts = [s['count'] for s in app['samples']]
        assert counts == list(range(1, len(counts) + 1)) and 1 <= len(counts) <= DENSITY_MAX, app['app']
        assert app['stop_reason'] in ('threshold', 'count', 'time'), app.get('error')
        assert all(0 < s['mem_available_kib'] <= s['mem_total_kib'] for s in app['samples'])


def test_serving_has_every_step_of_both_variants_from_ab(bench):
    steps = bench['doc']['experiments']['serving']['steps']
    assert sorted((s['variant'], s['concurrency']) for s in steps) == sorted(
        (variant, c) for variant in ('native', 'container') for c in STEPS)
    for step in steps:
        assert step['ab']['argv'][0] == 'ab' and step['requests'] == REQUESTS
        assert 'Complete requests:      %d' % REQUESTS in step['ab']['stdout'], step['ab']['stderr']
        assert step['finished_at'] > step['started_at']


def test_footprint_and_start_samples_are_positive(bench, native_nodes):
    footprint = bench['doc']['experiments']['footprint']['samples']
    assert {s['node'] for s in footprint} == set(native_nodes)
    assert all(s['rss_kib'] > 0 for s in footprint)
    assert {s['daemon'] for s in footprint} >= {'dockerd', 'containerd', 'consul'}
    starts = bench['doc']['experiments']['start_latency']['containers']
    assert sorted(s['mode'] for s in starts) == ['cold', 'cold', 'warm', 'warm']
    assert all(s['running_at'] > s['requested_at'] for s in starts)


def test_the_safe_footprint_setting_runs_by_default_in_dockerd_and_the_consul_agent(native_nodes):
    """picocloud_go_gc_percent (default 50, the site layer) reaches the running daemons as GOGC (docs/bench.md)."""
    for host in native_nodes:
        for daemon in ('dockerd', 'consul'):
            env = node_exec(host, 'sh', '-c', 'tr "\\0" "\\n" < /proc/"$(pidof -s %s)"/environ' % daemon).stdout
            assert 'GOGC=50' in env.splitlines(), (host, daemon)


def test_plots_and_report_exist_and_the_plots_show_the_runs_samples(bench):
    doc = bench['doc']
    names = dict((os.path.basename(p)[:-4], p) for p in glob.glob(os.path.join(bench['dir'], '*.png')))
    assert sorted(names) == ['density', 'footprint', 'serving', 'start_latency', 'storm_cdf', 'storm_launch_times']
    meta = {}
    for name, path in names.items():
        with open(path, 'rb') as handle:
            data = handle.read()
        assert data[:8] == b'\x89PNG\r\n\x1a\n' and os.stat(path).st_mode & 0o777 == 0o644
        meta[name] = plots.read_metadata(data)
        assert meta[name]['run_id'] == doc['run_id']
    assert meta['storm_cdf']['series'] == {'your site': STORM_N}
    assert sum(meta['storm_launch_times']['series'].values()) == STORM_N
    assert meta['density']['series'] == dict((a['app'], len(a['samples'])) for a in doc['experiments']['density']['apps'])
    assert meta['start_latency']['series'] == {'cold': 2, 'warm': 2}
    assert meta['serving']['series']['native median'] == len(STEPS) == meta['serving']['series']['container p99']
    with open(os.path.join(bench['dir'], 'report.md')) as handle:
        report = handle.read()
    assert doc['run_id'] in report and 'VM cluster' in report


def test_nothing_the_bench_made_is_left_on_the_nodes(bench, native_nodes, site):
    managers = [host for host in site.hosts('swarm_managers') if host in native_nodes]
    services = node_exec(managers[0], 'docker', 'service', 'ls', '-q', '--filter', 'label=picocloud.bench')
    assert services.returncode == 0 and services.stdout.strip() == ''
    for node in native_nodes:
        containers = node_exec(node, 'docker', 'ps', '-aq', '--filter', 'label=picocloud.bench')
        assert containers.returncode == 0 and containers.stdout.strip() == '', node
        assert node_exec(node, 'test', '-e', '/var/tmp/picocloud-bench-www').returncode == 1, node
        units = node_exec(node, 'systemctl', 'list-units', '--all', '--no-legend', 'picocloud-bench-*')
        assert units.stdout.strip() == '', node
        assert node_exec(node, 'sh', '-c', 'ls /var/tmp/picocloud-bench-* 2>/dev/null').stdout == '', node


def test_the_small_bench_stays_within_its_time_budget(bench):
    assert bench['wall'] < 240, 'the small bench took %.0f s' % bench['wall']


def test_a_failing_experiment_still_removes_what_it_made(site, native_nodes, tmp_path):
    """The serving container is given the storm's busybox image, which has no python3, so the container cannot start
    and the experiment fails after its native server and page exist; its always-block must stop the server and
    remove the container and the page."""
    run = site.playbook('picocloud.edge.bench', limit=LIMIT, timeout=600, extra_vars={
        'bench_output_dir': str(tmp_path), 'bench_experiments': ['serving'],
        'bench_serving_concurrency': [50], 'bench_serving_requests': 100, 'bench_serving_image': '{{ bench_storm_image }}',
    })
    assert run.rc != 0
    assert 'Serve it from a container' in run.failure_text()
    assert glob.glob(os.path.join(str(tmp_path), '*', 'run.json')) == []
    for node in native_nodes:
        assert node_exec(node, 'docker', 'ps', '-aq', '--filter', 'label=picocloud.bench').stdout.strip() == '', node
        assert node_exec(node, 'test', '-e', '/var/tmp/picocloud-bench-www').returncode == 1, node
        units = node_exec(node, 'systemctl', 'list-units', '--all', '--no-legend', 'picocloud-bench-*')
        assert units.stdout.strip() == '', node


def packages(node):
    """The node's installed Debian packages (dpkg's own list)."""
    listing = node_exec(node, 'dpkg-query', '-W', '-f', '${db:Status-Abbrev} ${Package}\n', check=True).stdout
    return sorted(line.split()[1] for line in listing.splitlines() if line.startswith('ii'))


@pytest.fixture(scope='module')
def serving_target(site, native_nodes):
    """The node the serving experiment picks by default: the last native swarm worker."""
    return [host for host in site.hosts('swarm_workers') if host in native_nodes][-1]


def test_ab_runs_on_the_node_named_as_load_generator_and_what_it_installed_there_is_purged(site, native_nodes,
                                                                                           serving_target, tmp_path):
    """bench_serving_generator names a node: ab runs there against the serving node (the run document says so, every
    step completes), apache2-utils is installed for the run from the node's own apt sources and purged after it, so
    the node's package list is the one it had before."""
    generator = [host for host in native_nodes if host != serving_target][0]
    before = packages(generator)
    assert 'apache2-utils' not in before
    run = site.playbook('picocloud.edge.bench', limit=LIMIT, timeout=600, extra_vars={
        'bench_output_dir': str(tmp_path), 'bench_experiments': ['serving'], 'bench_serving_generator': generator,
        'bench_serving_concurrency': [10], 'bench_serving_requests': 50,
    }).ok()
    assert packages(generator) == before
    [document] = glob.glob(os.path.join(str(tmp_path), '*', 'run.json'))
    with open(document) as handle:
        serving = schema.validate(json.load(handle))['experiments']['serving']
    assert serving['parameters']['generator'] == generator and serving['parameters']['node'] == serving_target
    assert sorted(step['variant'] for step in serving['steps']) == ['container', 'native']
    for step in serving['steps']:
        assert 'Complete requests:      50' in step['ab']['stdout'], step['ab']['stderr']
        assert 'Failed requests:        0' in step['ab']['stdout']
    for task in ('Install ab for this run on the load generator %s' % generator,
                 'Purge what the run installed on the load generator (apache2-utils and its dependencies)'):
        assert [res.get('changed') for res in run.results(task).values()] == [True], task


@pytest.mark.parametrize('generator', ['no-such-node', 'target'])
def test_a_load_generator_outside_the_play_or_on_the_serving_node_is_refused_and_nothing_runs(
        site, native_nodes, serving_target, tmp_path, generator):
    name = serving_target if generator == 'target' else generator
    run = site.playbook('picocloud.edge.bench', limit=LIMIT, timeout=300, extra_vars={
        'bench_output_dir': str(tmp_path), 'bench_experiments': ['serving'], 'bench_serving_generator': name,
        'bench_serving_node': serving_target,
    })
    assert run.rc != 0
    expected = ("bench: bench_serving_generator must be empty (ab on the controller) or a node of this play (%s) other "
                "than the serving node %s; got '%s'. Nothing was changed." % (', '.join(native_nodes), serving_target, name))
    results = run.results('Check the load generator (the controller, or another node of this play)')
    assert [res.get('msg') for res in results.values() if res.get('failed')] == [expected], run.failure_text()
    assert os.listdir(str(tmp_path)) == []
    for node in native_nodes:
        assert node_exec(node, 'docker', 'ps', '-aq', '--filter', 'label=picocloud.bench').stdout.strip() == '', node
        assert node_exec(node, 'test', '-e', '/var/tmp/picocloud-bench-www').returncode == 1, node
