# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Statistics of a bench run, computed from its raw samples only.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Percentiles are nearest-rank: the p-th percentile of n sorted values is the value at rank
``ceil(p / 100 * n)`` (1-based), so every percentile reported is a sample that was measured, never
an interpolation. p50 of [10, 20, 30, 40] is 20; p95 of 20 values is the 19th; p100 is the max.
The serving steps are the exception: their percentiles are ab's own (see ab.py).

MB means MiB (1,048,576 bytes) throughout, as Linux's kB means KiB.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible_collections.picocloud.edge.plugins.module_utils.bench import ab

KIB_PER_MB = 1024.0


def percentile(values, p):
    """Nearest-rank percentile of ``values`` for 0 < p <= 100; None for no values."""
    if not 0 < p <= 100:
        raise ValueError('percentile p must be in (0, 100], got %r' % (p,))
    if not values:
        return None
    ordered = sorted(values)
    rank = int(math.ceil(p / 100.0 * len(ordered)))
    return ordered[max(rank, 1) - 1]


def summary(values):
    """count, total, mean, min, p50, p95, p99 and max of ``values`` (all None but count for none)."""
    values = list(values)
    if not values:
        return {'count': 0, 'total': None, 'mean': None, 'min': None, 'p50': None, 'p95': None, 'p99': None, 'max': None}
    total = sum(values)
    return {
        'count': len(values),
        'total': total,
        'mean': total / len(values),
        'min': min(values),
        'p50': percentile(values, 50),
        'p95': percentile(values, 95),
        'p99': percentile(values, 99),
        'max': max(values),
    }


def mb(kib):
    return kib / KIB_PER_MB


def storm_launch_ms(storm):
    """[(sample, launch time in ms)] for every launch that reached running, in request order.

    A launch runs from the runner's request to the running time the orchestrator reports, moved
    onto the runner's clock by the measured offset (orchestrator clock minus runner clock).
    """
    offset = storm['runner']['clock_offset_s']
    launches = [(sample, (sample['running_at'] - offset - sample['requested_at']) * 1000.0)
                for sample in storm['samples'] if sample['ok']]
    return sorted(launches, key=lambda item: item[0]['index'])


def storm_stats(storm):
    """Total, per-container summary, per-node spread and the runner's own timings of a storm.

    ``total_s`` runs from the first request to the last container running (orchestrator view);
    ``runner_total_s`` to the last one the runner saw running. ``observe_lag_ms`` is how long after a
    container ran the runner noticed; ``refill_gap_ms`` how long a worker slot stayed idle between
    seeing one container run and requesting the next. Both are the runner's overhead, measured, and
    ``runner_overhead_fraction`` is their sum over the slots' time (concurrency x runner_total_s).
    """
    offset = storm['runner']['clock_offset_s']
    samples = storm['samples']
    launches = storm_launch_ms(storm)
    ok = [sample for sample, dummy in launches]
    first_request = min(sample['requested_at'] for sample in samples)
    per_node = {}
    for sample, launch in launches:
        per_node.setdefault(sample['node'], []).append(launch)
    spread = dict((node, {'count': len(values), 'mean_ms': sum(values) / len(values), 'max_ms': max(values)})
                  for node, values in per_node.items())
    lags = [(sample['observed_at'] - (sample['running_at'] - offset)) * 1000.0 for sample in ok]
    gaps = []
    by_worker = {}
    for sample in sorted(samples, key=lambda s: s['requested_at']):
        by_worker.setdefault(sample['worker'], []).append(sample)
    for worker_samples in by_worker.values():
        for previous, current in zip(worker_samples, worker_samples[1:]):
            if previous['observed_at'] is not None:
                gaps.append((current['requested_at'] - previous['observed_at']) * 1000.0)
    runner_total = (max(s['observed_at'] for s in ok) - first_request) if ok else None
    slot_seconds = storm['parameters']['concurrency'] * runner_total if runner_total else None
    return {
        'count': storm['parameters']['count'],
        'concurrency': storm['parameters']['concurrency'],
        'ok': len(ok),
        'failed': len(samples) - len(ok),
        'total_s': (max(s['running_at'] - offset for s in ok) - first_request) if ok else None,
        'runner_total_s': runner_total,
        'runner_overhead_fraction': (sum(lags) + sum(gaps)) / 1000.0 / slot_seconds if slot_seconds else None,
        'launch_ms': summary(launch for dummy, launch in launches),
        'per_node': spread,
        'observe_lag_ms': summary(lags),
        'refill_gap_ms': summary(gaps),
        'clock_offset_uncertainty_ms': storm['runner']['clock_offset_uncertainty_s'] * 1000.0,
    }


def density_stats(density):
    """Per app: the curve (count, memory used MB), containers held, MB per container and why it stopped.

    Memory used is MemTotal - MemAvailable, so the curve and the threshold speak of the same memory.
    """
    params = density['parameters']
    apps = []
    for app in density['apps']:
        base = app['baseline']
        base_used = mb(base['mem_total_kib'] - base['mem_available_kib'])
        curve = [(s['count'], mb(s['mem_total_kib'] - s['mem_available_kib'])) for s in app['samples']]
        last = app['samples'][-1]
        containers = last['count']
        apps.append({
            'app': app['app'],
            'image': app['image'],
            'containers': containers,
            'stop_reason': app['stop_reason'],
            'baseline_available_mb': mb(base['mem_available_kib']),
            'baseline_used_mb': base_used,
            'mem_total_mb': mb(base['mem_total_kib']),
            'final_available_mb': mb(last['mem_available_kib']),
            'final_used_mb': curve[-1][1],
            'mb_per_container': (curve[-1][1] - base_used) / containers,
            'curve': curve,
            'seconds': last['at'] - base['at'],
        })
    return {'node': params['node'], 'threshold_mb': params['threshold_mb'], 'max_count': params['max_count'],
            'max_seconds': params['max_seconds'], 'apps': apps}


def start_latency_stats(start):
    """Container start (ms) by mode, cold and warm; boot to SSH-ready and engine-ready (s) per boot."""
    by_mode = {}
    for sample in start['containers']:
        by_mode.setdefault(sample['mode'], []).append((sample['running_at'] - sample['requested_at']) * 1000.0)
    boots = [{'node': b['node'], 'method': b['method'],
              'ssh_s': b['ssh_ready_at'] - b['requested_at'],
              'engine_s': b['engine_ready_at'] - b['requested_at']} for b in start['boots']]
    return {
        'image': start['parameters']['image'],
        'modes': dict((mode, summary(values)) for mode, values in by_mode.items()),
        'boots': boots,
    }


def serving_stats(serving):
    """Per variant, per concurrency step: ab's figures, failures, and the highest clean step.

    ``max_clean_concurrency`` is the highest step such that it and every lower step had no failure:
    "served every step up to N concurrent clients". None when the lowest step already failed.
    """
    variants = {}
    for step in sorted(serving['steps'], key=lambda s: (s['variant'], s['concurrency'])):
        parsed = ab.parse(step['ab']['stdout'], step['ab']['stderr'], step['ab']['rc'])
        percentiles = parsed['percentiles_ms']
        total_times = parsed['connection_times_ms'].get('total') or {}
        variants.setdefault(step['variant'], []).append({
            'concurrency': step['concurrency'],
            'requests': step['requests'],
            'path': step['path'],
            'finished': parsed['finished'],
            'error': parsed['error'],
            'complete': parsed['complete_requests'] if parsed['finished'] else parsed['completed_before_abort'],
            'failed_requests': parsed['failed_requests'],
            'non_2xx': parsed['non_2xx'],
            'failures': ab.failures(parsed, step['requests']),
            'requests_per_second': parsed['requests_per_second'],
            'median_ms': percentiles.get(50, total_times.get('median')),
            'p95_ms': percentiles.get(95),
            'p99_ms': percentiles.get(99),
            'max_ms': percentiles.get(100, total_times.get('max')),
            'seconds': step['finished_at'] - step['started_at'],
        })
    result = {'node': serving['parameters']['node'], 'generator': serving['parameters']['generator'],
              'requests': serving['parameters']['requests'], 'variants': {}}
    for variant, steps in variants.items():
        clean = None
        for step in steps:
            if step['failures']:
                break
            clean = step['concurrency']
        first_failed = next((step for step in steps if step['failures']), None)
        result['variants'][variant] = {'steps': steps, 'max_clean_concurrency': clean, 'first_failed': first_failed}
    return result


def footprint_stats(footprint, nodes):
    """The footprint table: per node, per daemon, the largest resident memory sampled (MB), against
    the budget for the node's role.

    Over budget, ``trim`` names the fewest daemons, largest first, whose memory together is at
    least the excess: the ones whose settings can bring the node within budget.
    """
    budgets = footprint['parameters']['budget_mb']
    table = {}
    for sample in footprint['samples']:
        daemons = table.setdefault(sample['node'], {})
        daemons[sample['daemon']] = max(daemons.get(sample['daemon'], 0.0), mb(sample['rss_kib']))
    rows = []
    for node in sorted(table):
        daemons = table[node]
        role = nodes[node]['role']
        budget = budgets.get(role)
        total = sum(daemons.values())
        trim = []
        if budget is not None and total > budget:
            covered = 0.0
            for name, size in sorted(daemons.items(), key=lambda item: (-item[1], item[0])):
                trim.append(name)
                covered += size
                if covered >= total - budget:
                    break
        rows.append({'node': node, 'role': role, 'daemons': daemons, 'total_mb': total, 'budget_mb': budget,
                     'over_mb': (total - budget) if budget is not None and total > budget else None, 'trim': trim})
    return {'rows': rows, 'daemons': sorted(set(d for row in rows for d in row['daemons']))}


def run_stats(doc):
    """Every statistic of a validated run document, by experiment (absent experiments are absent)."""
    experiments = doc['experiments']
    stats = {}
    if 'storm' in experiments:
        stats['storm'] = storm_stats(experiments['storm'])
    if 'density' in experiments:
        stats['density'] = density_stats(experiments['density'])
    if 'start_latency' in experiments:
        stats['start_latency'] = start_latency_stats(experiments['start_latency'])
    if 'serving' in experiments:
        stats['serving'] = serving_stats(experiments['serving'])
    if 'footprint' in experiments:
        stats['footprint'] = footprint_stats(experiments['footprint'], doc['nodes'])
    return stats
