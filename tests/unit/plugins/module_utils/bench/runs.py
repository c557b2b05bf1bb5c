# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run documents for the bench tests: built from a seed, with the serving steps' real ab captures."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
AB_DIR = os.path.join(HERE, 'fixtures', 'ab')
T0 = 1796000000.0


def ab_capture(name):
    """A captured ab run (argv, rc, stdout, stderr) as a serving step records it."""
    with open(os.path.join(AB_DIR, name + '.json')) as handle:
        record = json.load(handle)
    return dict((key, record[key]) for key in ('argv', 'rc', 'stdout', 'stderr'))


def nodes(names=('node1', 'node2', 'node3')):
    result = {}
    for index, name in enumerate(names):
        result[name] = {
            'role': 'manager' if index == 0 else 'worker',
            'board': {'is_raspberry_pi': False, 'model': None, 'type': None, 'memory_mb': None,
                      'revision': None, 'processor': None},
            'arch': {'machine': 'x86_64', 'debian_arch': 'amd64', 'arm_version': None},
            'memtotal_mb': 24000,
        }
    return result


def storm(seed, count=20, concurrency=5, node_names=('node1', 'node2', 'node3'), base_ms=400.0, offset_s=0.0):
    """A storm run the way the runner records one: C workers, each requesting, seeing it run, requesting again."""
    rng = random.Random(seed)
    samples = []
    clocks = [T0 + 10.0 + worker * 0.001 for worker in range(concurrency)]
    for index in range(count):
        worker = min(range(concurrency), key=lambda w: (clocks[w], w))
        requested = clocks[worker]
        launch = base_ms * (0.5 + rng.random()) / 1000.0
        running_runner_clock = requested + launch
        observed = running_runner_clock + rng.uniform(0.005, 0.02)
        samples.append({
            'index': index, 'worker': worker, 'node': node_names[index % len(node_names)],
            'requested_at': requested, 'accepted_at': requested + 0.003,
            'running_at': running_runner_clock + offset_s, 'observed_at': observed, 'ok': True, 'error': None,
        })
        clocks[worker] = observed + rng.uniform(0.001, 0.004)
    return {
        'parameters': {'count': count, 'concurrency': concurrency, 'image': 'registry.pico.internal/bench/idle:1'},
        'runner': {'host': 'controller', 'clock_offset_s': offset_s, 'clock_offset_uncertainty_s': 0.002},
        'started_at': T0 + 10.0,
        'finished_at': max(s['observed_at'] for s in samples) + 0.1,
        'samples': samples,
    }


def density(seed, apps=(('static-web', 3000), ('ruby', 9000)), node='node2', total_kib=1024 * 1024,
            start_available_kib=400 * 1024, threshold_mb=50):
    """Apps deployed one by one until available memory falls below the threshold."""
    rng = random.Random(seed)
    result = []
    for app, per_container_kib in apps:
        available = start_available_kib
        at = T0 + 100.0
        baseline = {'at': at, 'mem_total_kib': total_kib, 'mem_available_kib': available}
        samples = []
        while available / 1024.0 >= threshold_mb and len(samples) < 200:
            available -= int(per_container_kib * (0.9 + 0.2 * rng.random()))
            at += 1.5
            samples.append({'count': len(samples) + 1, 'at': at, 'mem_total_kib': total_kib,
                            'mem_available_kib': max(available, 0)})
        result.append({'app': app, 'image': 'registry.pico.internal/bench/%s:1' % app, 'stop_reason': 'threshold',
                       'baseline': baseline, 'samples': samples})
    return {'parameters': {'node': node, 'threshold_mb': threshold_mb, 'max_count': 200, 'max_seconds': 900},
            'apps': result}


def start_latency(seed, kind='lab'):
    rng = random.Random(seed)
    containers = []
    at = T0 + 500.0
    for mode, base in (('cold', 0.9), ('warm', 0.3)):
        for dummy in range(5):
            containers.append({'mode': mode, 'node': 'node2', 'requested_at': at,
                               'running_at': at + base * (0.8 + 0.4 * rng.random())})
            at += 5.0
    method = 'node-restart' if kind == 'lab' else 'reboot'
    boots = [{'node': 'node3', 'method': method, 'requested_at': at, 'ssh_ready_at': at + 4.0 + rng.random(),
              'engine_ready_at': at + 7.0 + rng.random()}]
    return {'parameters': {'image': 'registry.pico.internal/bench/idle:1', 'repeats': 5},
            'containers': containers, 'boots': boots}


def serving(captures=None, requests=1000, concurrency=(50, 250)):
    """Steps made of real ab captures; the default has a clean native run and a container that times out at 250."""
    captures = captures or {('native', 50): 'image_c50_n1000', ('native', 250): 'image_c250_n1000',
                            ('container', 50): 'image_c50_n1000', ('container', 250): 'timeout'}
    steps = []
    at = T0 + 800.0
    for (variant, level), name in sorted(captures.items()):
        steps.append({'variant': variant, 'concurrency': level, 'requests': requests, 'path': '/image.bin',
                      'started_at': at, 'finished_at': at + 2.0, 'ab': ab_capture(name)})
        at += 3.0
    return {'parameters': {'node': 'node2', 'generator': 'controller', 'tool': 'ab', 'requests': requests,
                           'concurrency': list(concurrency)},
            'steps': steps}


def footprint(rss_mb=None):
    """Footprint samples; the default puts the worker node3 over a 150 MB budget."""
    rss_mb = rss_mb or {
        'node1': {'dockerd': 70, 'containerd': 40, 'consul': 60},
        'node2': {'dockerd': 60, 'containerd': 35, 'consul': 50},
        'node3': {'dockerd': 80, 'containerd': 45, 'consul': 60},
    }
    samples = []
    pid = 100
    for node, daemons in sorted(rss_mb.items()):
        for daemon, size in sorted(daemons.items()):
            pid += 1
            samples.append({'node': node, 'daemon': daemon, 'rss_kib': int(size * 1024), 'pids': [pid],
                            'at': T0 + 900.0})
    return {'parameters': {'budget_mb': {'worker': 150}}, 'samples': samples}


def run(seed=1, count=20, concurrency=5, kind='lab', experiments=None, run_id=None):
    """A complete valid run document."""
    doc = {
        'schema': 'picocloud.edge.bench.run',
        'schema_version': 1,
        'run_id': run_id or 'run-%d' % seed,
        'site': {'name': 'pico', 'kind': kind, 'orchestrator': 'swarm'},
        'started_at': T0,
        'finished_at': T0 + 1000.0,
        'versions': {'picocloud.edge': '0.1.0', 'ansible-core': '2.19.14', 'docker': '20.10.24', 'ab': '2.3'},
        'nodes': nodes(),
        'experiments': experiments if experiments is not None else {
            'storm': storm(seed, count, concurrency),
            'density': density(seed),
            'start_latency': start_latency(seed, kind),
            'serving': serving(),
            'footprint': footprint(),
        },
    }
    return copy.deepcopy(doc)
