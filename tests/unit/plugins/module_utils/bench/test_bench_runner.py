# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node-side experiments against a fake engine with a simulated clock: samples in the run document's shape,
bounds honoured, failures recorded, everything labelled and removed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import struct
import threading
import zlib

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.bench import engine as bench_engine
from ansible_collections.picocloud.edge.plugins.module_utils.bench import runner
from ansible_collections.picocloud.edge.plugins.module_utils.bench import schema

T0 = 1796000000.0


class Clock:
    """A simulated clock shared by threads; sleep advances it."""

    def __init__(self):
        self.now = T0
        self.lock = threading.Lock()

    def __call__(self):
        with self.lock:
            self.now += 0.001
            return self.now

    def sleep(self, seconds):
        with self.lock:
            self.now += seconds


def iso(epoch):
    whole = int(epoch)
    import datetime
    return datetime.datetime.utcfromtimestamp(whole).strftime('%Y-%m-%dT%H:%M:%S') + '.%09dZ' % int(round((epoch - whole) * 1e9))


class FakeEngine:
    """Services run ``launch_s`` after creation on nodes n1..n3; ``fail`` names service indexes that fail."""

    def __init__(self, clock, launch_s=0.3, fail=(), refuse=()):
        self.clock = clock
        self.launch_s = launch_s
        self.fail = set(fail)
        self.refuse = set(refuse)
        self.services_made = {}
        self.containers_made = {}
        self.lock = threading.Lock()
        self.meminfo_available = 400 * 1024

    def nodes(self):
        return [{'ID': 'id%d' % i, 'Description': {'Hostname': 'n%d' % i}} for i in (1, 2, 3)]

    def image(self, ref):
        return {'RepoDigests': ['reg:5000/picocloud/static@sha256:' + 'a' * 64]}

    def create_service(self, spec):
        index = int(spec['Name'].split('-')[3])
        if index in self.refuse:
            raise bench_engine.EngineError('POST', '/services/create', 500, 'no room')
        with self.lock:
            ident = 'svc%d' % index
            self.services_made[ident] = (index, self.clock(), spec)
        return {'ID': ident}

    def tasks(self, service):
        index, created, spec = self.services_made[service[0]]
        now = self.clock.now
        if now < created + self.launch_s:
            return [{'CreatedAt': iso(created + 0.002), 'NodeID': 'id1', 'Status': {'State': 'preparing', 'Timestamp': iso(now)}}]
        state = 'failed' if index in self.fail else 'running'
        return [{'CreatedAt': iso(created + 0.002), 'NodeID': 'id%d' % (index % 3 + 1),
                 'Status': {'State': state, 'Timestamp': iso(created + self.launch_s), 'Err': 'exit 1' if state == 'failed' else ''}}]

    def services(self, label):
        return [{'ID': ident, 'Spec': spec} for ident, (dummy, dummy2, spec) in self.services_made.items()]

    def remove_service(self, ident):
        del self.services_made[ident]

    def create_container(self, name, spec):
        ident = 'c%d' % len(self.containers_made)
        self.containers_made[ident] = {'name': name, 'spec': spec, 'running': False, 'started': None}
        return {'Id': ident}

    def start_container(self, ident):
        self.containers_made[ident]['running'] = True
        self.containers_made[ident]['started'] = self.clock() + 0.05
        self.meminfo_available -= 30 * 1024

    def stop_container(self, ident, timeout=1):
        self.containers_made[ident]['running'] = False

    def inspect_container(self, ident):
        made = self.containers_made[ident]
        return {'State': {'Running': made['running'], 'StartedAt': iso(made['started']) if made['started'] else bench_engine.ZERO_TIME,
                          'Status': 'running' if made['running'] else 'exited'}}

    def containers(self, label):
        return [{'Id': ident, 'Names': ['/' + made['name']], 'Labels': made['spec']['Labels']}
                for ident, made in self.containers_made.items()]

    def remove_container(self, ident):
        self.containers_made.pop(ident, None)


def test_timestamp_parser_keeps_microseconds_and_zone_and_refuses_other_text():
    assert bench_engine.parse_timestamp('2026-12-04T22:40:01.123456789Z') == pytest.approx(1796424001.123457, abs=1e-6)
    assert bench_engine.parse_timestamp('2026-12-04T23:40:01+01:00') == 1796424001
    assert bench_engine.parse_timestamp(bench_engine.ZERO_TIME) is None
    with pytest.raises(ValueError, match="not an RFC 3339 engine timestamp: 'yesterday'"):
        bench_engine.parse_timestamp('yesterday')


def test_storm_records_every_launch_with_orchestrator_times_and_removes_nothing_itself():
    clock = Clock()
    fake = FakeEngine(clock)
    seen = []
    result = runner.storm(fake, 'r1', 'reg:5000/picocloud/static:1.0', 12, 3, 5, 60, 0.05, clock, clock.sleep,
                          lambda done, count: seen.append((done, count)))
    samples = result['samples']
    assert [s['index'] for s in samples] == list(range(12))
    assert all(s['ok'] and s['node'] in ('n1', 'n2', 'n3') for s in samples)
    assert all(s['running_at'] - s['requested_at'] == pytest.approx(0.3, abs=0.01) for s in samples)
    assert all(s['observed_at'] >= s['running_at'] for s in samples)
    assert {s['worker'] for s in samples} <= {0, 1, 2}
    assert sorted(seen) == [(k, 12) for k in range(1, 13)]
    assert result['image'].startswith('reg:5000/picocloud/static@sha256:')
    spec = list(fake.services_made.values())[0][2]
    assert spec['Labels'] == {'picocloud.bench': 'r1'} and spec['TaskTemplate']['ContainerSpec']['Labels'] == {'picocloud.bench': 'r1'}


def test_storm_names_each_node_as_the_inventory_does_when_its_hostname_differs():
    clock = Clock()
    samples = runner.storm(FakeEngine(clock), 'r1', 'img:1', 6, 2, 5, 60, 0.05, clock, clock.sleep,
                           names={'n1': 'site-01', 'n2': 'site-02'})['samples']
    assert {s['node'] for s in samples} <= {'site-01', 'site-02', 'n3'}
    assert {s['node'] for s in samples} & {'site-01', 'site-02'}


def test_storm_samples_validate_as_a_run_document_section():
    clock = Clock()
    result = runner.storm(FakeEngine(clock), 'r1', 'img:1', 6, 2, 5, 60, 0.05, clock, clock.sleep)
    storm = {'parameters': {'count': 6, 'concurrency': 2, 'image': result['image']},
             'runner': {'host': 'n1', 'clock_offset_s': 0.0, 'clock_offset_uncertainty_s': 0.0},
             'started_at': result['started_at'], 'finished_at': result['finished_at'], 'samples': result['samples']}
    problems = []
    schema.STORM.check(json.loads(json.dumps(storm)), 'storm', problems)
    assert problems == []


def test_storm_records_refused_failed_and_slow_launches_as_failed_samples_with_their_error():
    clock = Clock()
    fake = FakeEngine(clock, fail={1}, refuse={2})
    samples = runner.storm(fake, 'r1', 'img:1', 4, 2, 5, 60, 0.05, clock, clock.sleep)['samples']
    assert [s['ok'] for s in samples] == [True, False, False, True]
    assert samples[1]['error'] == 'task failed: exit 1'
    assert 'HTTP 500: no room' in samples[2]['error']
    slow = runner.storm(FakeEngine(clock, launch_s=10), 'r2', 'img:1', 2, 1, 1, 60, 0.05, clock, clock.sleep)['samples']
    assert all(not s['ok'] and s['error'].startswith('not running after 1 s') for s in slow)


def test_storm_stops_requesting_once_its_time_bound_is_spent():
    clock = Clock()
    samples = runner.storm(FakeEngine(clock, launch_s=1.0), 'r1', 'img:1', 10, 1, 5, 2.5, 0.05, clock, clock.sleep)['samples']
    assert len(samples) == 10
    assert 2 <= sum(s['ok'] for s in samples) <= 4
    assert all(s['error'].startswith('not launched: the storm ran out of its time bound') for s in samples if not s['ok'])


def test_storm_refuses_a_bad_run_id_before_it_creates_anything():
    clock = Clock()
    fake = FakeEngine(clock)
    with pytest.raises(runner.BenchError, match="run_id: must be letters.*got 'a b'"):
        runner.storm(fake, 'a b', 'img:1', 2, 1, 5, 60, 0.05, clock, clock.sleep)
    assert fake.services_made == {}


def meminfo_of(fake):
    return lambda: 'MemTotal:        1024000 kB\nMemFree:  1 kB\nMemAvailable:   %d kB\n' % fake.meminfo_available


def test_density_stops_below_the_threshold_and_removes_each_apps_containers():
    clock = Clock()
    fake = FakeEngine(clock)
    apps = runner.density(fake, 'r1', [{'app': 'static', 'image': 'img:1'}], 50, 100, 600, 1, meminfo_of(fake), clock, clock.sleep)
    app = apps[0]
    assert app['stop_reason'] == 'threshold'
    assert [s['count'] for s in app['samples']] == list(range(1, len(app['samples']) + 1))
    assert app['samples'][-1]['mem_available_kib'] < 50 * 1024 <= app['samples'][-2]['mem_available_kib']
    assert app['baseline']['mem_available_kib'] == 400 * 1024
    assert fake.containers_made == {}


def test_density_honours_the_count_bound_and_records_an_exiting_container_as_an_error():
    clock = Clock()
    fake = FakeEngine(clock)
    apps = runner.density(fake, 'r1', [{'app': 'a', 'image': 'img:1'}], 1, 3, 600, 1, meminfo_of(fake), clock, clock.sleep)
    assert apps[0]['stop_reason'] == 'count' and len(apps[0]['samples']) == 3
    fake.start_container = lambda ident: None
    apps = runner.density(fake, 'r2', [{'app': 'b', 'image': 'img:1'}], 1, 3, 600, 1, meminfo_of(fake), clock, clock.sleep)
    assert apps[0]['stop_reason'] == 'error' and apps[0]['samples'] == []
    assert 'container 1 of b exited' in apps[0]['error']
    assert fake.containers_made == {}


def test_start_latency_times_cold_and_warm_starts_to_the_engines_started_at_and_removes_the_container():
    clock = Clock()
    fake = FakeEngine(clock)
    samples = runner.start_latency(fake, 'r1', 'img:1', 2, 'n2', 10, clock, clock.sleep)
    assert [s['mode'] for s in samples] == ['cold', 'warm', 'cold', 'warm']
    assert all(s['running_at'] > s['requested_at'] and s['node'] == 'n2' for s in samples)
    assert fake.containers_made == {}


def test_footprint_sums_vmrss_per_daemon_and_skips_other_processes(tmp_path):
    for pid, name, rss in ((10, 'dockerd', 50000), (11, 'containerd', 30000), (12, 'consul', 40000),
                           (13, 'containerd-shim', 9000), (14, 'consul', 1000), (15, 'bash', 3000)):
        os.makedirs(str(tmp_path / str(pid)))
        (tmp_path / str(pid) / 'status').write_text('Name:\t%s\nVmRSS:\t  %d kB\n' % (name, rss))
    (tmp_path / 'self').mkdir()
    samples = runner.footprint(str(tmp_path), 'n1', lambda: T0)
    assert [(s['daemon'], s['rss_kib'], s['pids']) for s in samples] == [
        ('consul', 41000, [12, 14]), ('containerd', 30000, [11]), ('dockerd', 50000, [10])]


def test_cleanup_removes_the_runs_services_and_containers_and_fails_naming_what_stays():
    clock = Clock()
    fake = FakeEngine(clock)
    runner.storm(fake, 'r1', 'img:1', 2, 1, 5, 60, 0.05, clock, clock.sleep)
    fake.create_container('picocloud-bench-start-0-r1', runner.container_spec('img:1', 'r1'))
    removed = runner.cleanup(fake, 'r1', True, 10, clock, clock.sleep)
    assert sorted(removed) == ['picocloud-bench-start-0-r1', 'picocloud-bench-storm-0-r1', 'picocloud-bench-storm-1-r1']
    assert fake.services_made == {} and fake.containers_made == {}
    fake.create_container('picocloud-bench-x-0-r1', runner.container_spec('img:1', 'r1'))
    fake.remove_container = lambda ident: None
    with pytest.raises(runner.BenchError, match='1 bench container.*still present after 2 s: picocloud-bench-x-0-r1'):
        runner.cleanup(fake, 'r1', False, 2, clock, clock.sleep)


def test_noise_png_is_a_valid_png_of_about_100_kb():
    data = runner.noise_png(185, 185, 2026)
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    assert 95000 < len(data) < 110000
    length = struct.unpack('>I', data[33:37])[0]
    raw = zlib.decompress(data[41:41 + length])
    assert len(raw) == 185 * (1 + 185 * 3)
