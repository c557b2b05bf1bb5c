# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bench statistics on known samples: nearest-rank percentiles, storm, density, start, serving, footprint."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

import runs

from ansible_collections.picocloud.edge.plugins.module_utils.bench import stats

T0 = runs.T0


def test_nearest_rank_percentiles_are_measured_samples():
    values = [40, 10, 30, 20]
    assert stats.percentile(values, 50) == 20
    assert stats.percentile(values, 25) == 10
    assert stats.percentile(values, 75) == 30
    assert stats.percentile(values, 100) == 40
    assert stats.percentile(values, 0.1) == 10
    hundred = list(range(1, 101))
    assert [stats.percentile(hundred, p) for p in (50, 95, 99, 100)] == [50, 95, 99, 100]
    twenty = list(range(1, 21))
    assert stats.percentile(twenty, 95) == 19
    assert stats.percentile(twenty, 99) == 20
    assert stats.percentile([7], 50) == 7
    assert stats.percentile([], 50) is None


@pytest.mark.parametrize('p', [0, -1, 101])
def test_percentile_outside_0_to_100_is_refused(p):
    with pytest.raises(ValueError, match='percentile p must be in'):
        stats.percentile([1, 2], p)


def test_summary_of_known_values_and_of_none():
    result = stats.summary([100.0, 300.0, 200.0, 400.0])
    assert result == {'count': 4, 'total': 1000.0, 'mean': 250.0, 'min': 100.0, 'p50': 200.0, 'p95': 400.0,
                      'p99': 400.0, 'max': 400.0}
    assert stats.summary([])['count'] == 0 and stats.summary([])['mean'] is None


def storm_of(samples, offset=0.0, concurrency=2):
    return {'parameters': {'count': len(samples), 'concurrency': concurrency, 'image': 'idle'},
            'runner': {'host': 'controller', 'clock_offset_s': offset, 'clock_offset_uncertainty_s': 0.001},
            'started_at': T0, 'finished_at': T0 + 10, 'samples': samples}


def sample(index, worker, node, requested, running, observed, ok=True):
    return {'index': index, 'worker': worker, 'node': node, 'requested_at': T0 + requested,
            'running_at': None if running is None else T0 + running,
            'observed_at': None if observed is None else T0 + observed, 'ok': ok, 'error': None if ok else 'no'}


def test_storm_stats_on_known_samples():
    storm = storm_of([
        sample(0, 0, 'a', 0.0, 1.0, 1.1),
        sample(1, 1, 'b', 0.0, 2.0, 2.05),
        sample(2, 0, 'a', 1.2, 4.2, 4.3),
        sample(3, 1, 'b', 2.1, 2.6, 2.7),
    ])
    result = stats.storm_stats(storm)
    assert result['ok'] == 4 and result['failed'] == 0
    assert result['total_s'] == pytest.approx(4.2)
    assert result['runner_total_s'] == pytest.approx(4.3)
    launch = result['launch_ms']
    assert launch['mean'] == pytest.approx((1000 + 2000 + 3000 + 500) / 4.0)
    assert launch['p50'] == pytest.approx(1000)
    assert launch['p95'] == pytest.approx(3000) and launch['max'] == pytest.approx(3000)
    assert result['per_node']['a'] == {'count': 2, 'mean_ms': pytest.approx(2000), 'max_ms': pytest.approx(3000)}
    assert result['per_node']['b'] == {'count': 2, 'mean_ms': pytest.approx(1250), 'max_ms': pytest.approx(2000)}
    assert result['observe_lag_ms']['max'] == pytest.approx(100, abs=0.001)
    assert result['observe_lag_ms']['min'] == pytest.approx(50, abs=0.001)
    # worker 0: seen running at 1.1, next request at 1.2; worker 1: seen at 2.05, next at 2.1
    assert result['refill_gap_ms']['count'] == 2
    assert result['refill_gap_ms']['min'] == pytest.approx(50, abs=0.001)
    assert result['refill_gap_ms']['max'] == pytest.approx(100, abs=0.001)
    # lags 100 + 50 + 100 + 100 ms and gaps 100 + 50 ms over 2 slots x 4.3 s
    assert result['runner_overhead_fraction'] == pytest.approx(0.5 / 8.6, abs=1e-6)


def test_storm_clock_offset_moves_orchestrator_times_onto_the_runner_clock():
    plain = stats.storm_stats(storm_of([sample(0, 0, 'a', 0.0, 1.0, 1.1)]))
    shifted = stats.storm_stats(storm_of([sample(0, 0, 'a', 0.0, 3.0, 1.1)], offset=2.0))
    assert shifted['launch_ms']['mean'] == pytest.approx(plain['launch_ms']['mean']) == pytest.approx(1000)
    assert shifted['total_s'] == pytest.approx(1.0)


def test_failed_launches_are_counted_and_left_out_of_the_times():
    result = stats.storm_stats(storm_of([sample(0, 0, 'a', 0.0, 1.0, 1.1),
                                         sample(1, 1, None, 0.0, None, None, ok=False)]))
    assert (result['ok'], result['failed']) == (1, 1)
    assert result['launch_ms']['count'] == 1 and result['per_node'] == {'a': {'count': 1, 'mean_ms': pytest.approx(1000),
                                                                              'max_ms': pytest.approx(1000)}}


def test_storm_with_no_launch_reaching_running_has_no_times():
    result = stats.storm_stats(storm_of([sample(0, 0, None, 0.0, None, None, ok=False)]))
    assert result['total_s'] is None and result['launch_ms']['mean'] is None and result['per_node'] == {}


def test_density_curve_and_memory_per_container():
    density = {'parameters': {'node': 'n', 'threshold_mb': 50, 'max_count': 10, 'max_seconds': 60},
               'apps': [{'app': 'web', 'image': 'web', 'stop_reason': 'threshold',
                         'baseline': {'at': T0, 'mem_total_kib': 1000 * 1024, 'mem_available_kib': 400 * 1024},
                         'samples': [{'count': 1, 'at': T0 + 1, 'mem_total_kib': 1000 * 1024, 'mem_available_kib': 250 * 1024},
                                     {'count': 2, 'at': T0 + 2, 'mem_total_kib': 1000 * 1024, 'mem_available_kib': 40 * 1024}]}]}
    app = stats.density_stats(density)['apps'][0]
    assert app['curve'] == [(1, 750.0), (2, 960.0)]
    assert app['containers'] == 2 and app['baseline_used_mb'] == 600.0 and app['baseline_available_mb'] == 400.0
    assert app['mb_per_container'] == 180.0 and app['final_available_mb'] == 40.0 and app['seconds'] == 2


def test_start_latency_by_mode_and_boots():
    start = {'parameters': {'image': 'idle', 'repeats': 2},
             'containers': [{'mode': 'cold', 'node': 'n', 'requested_at': T0, 'running_at': T0 + 1.5},
                            {'mode': 'cold', 'node': 'n', 'requested_at': T0, 'running_at': T0 + 0.5},
                            {'mode': 'warm', 'node': 'n', 'requested_at': T0, 'running_at': T0 + 0.25}],
             'boots': [{'node': 'n', 'method': 'reboot', 'requested_at': T0, 'ssh_ready_at': T0 + 30,
                        'engine_ready_at': T0 + 42}]}
    result = stats.start_latency_stats(start)
    assert result['modes']['cold']['p50'] == pytest.approx(500) and result['modes']['cold']['max'] == pytest.approx(1500)
    assert result['modes']['warm']['count'] == 1
    assert result['boots'] == [{'node': 'n', 'method': 'reboot', 'ssh_s': 30, 'engine_s': 42}]


def test_serving_steps_from_real_ab_output_and_the_highest_clean_step():
    result = stats.serving_stats(runs.serving())
    native = result['variants']['native']
    container = result['variants']['container']
    assert [s['concurrency'] for s in native['steps']] == [50, 250]
    assert native['max_clean_concurrency'] == 250 and native['first_failed'] is None
    parsed_250 = [s for s in native['steps'] if s['concurrency'] == 250][0]
    stdout = runs.ab_capture('image_c250_n1000')['stdout']
    assert ('%.2f' % parsed_250['requests_per_second']) in stdout
    assert container['max_clean_concurrency'] == 50
    assert container['first_failed']['concurrency'] == 250 and container['first_failed']['failures'] == 1000
    assert container['first_failed']['error'].startswith('apr_pollset_poll')


def test_serving_lowest_step_failing_has_no_clean_step():
    serving = runs.serving(captures={('container', 10): 'reset_continue_r'}, requests=200, concurrency=(10,))
    container = stats.serving_stats(serving)['variants']['container']
    assert container['max_clean_concurrency'] is None and container['first_failed']['failures'] == 120


def test_footprint_names_the_fewest_largest_daemons_covering_the_excess():
    nodes = runs.nodes()
    footprint = runs.footprint({'node1': {'dockerd': 90, 'containerd': 40},
                                'node2': {'dockerd': 60, 'containerd': 35, 'consul': 50},
                                'node3': {'dockerd': 70, 'containerd': 60, 'consul': 65}})
    rows = dict((row['node'], row) for row in stats.footprint_stats(footprint, nodes)['rows'])
    assert rows['node1']['budget_mb'] is None and rows['node1']['trim'] == []
    assert rows['node2']['over_mb'] is None and rows['node2']['total_mb'] == 145
    assert rows['node3']['total_mb'] == 195 and rows['node3']['over_mb'] == 45
    assert rows['node3']['trim'] == ['dockerd']
    footprint = runs.footprint({'node3': {'dockerd': 70, 'containerd': 60, 'consul': 65, 'k3s': 100}})
    row = stats.footprint_stats(footprint, nodes)['rows'][0]
    assert row['over_mb'] == 145 and row['trim'] == ['k3s', 'dockerd']


def test_footprint_keeps_the_largest_sample_of_a_daemon():
    footprint = runs.footprint({'node2': {'dockerd': 60}})
    footprint['samples'].append(dict(footprint['samples'][0], rss_kib=90 * 1024, at=T0 + 950))
    footprint['samples'].append(dict(footprint['samples'][0], rss_kib=10 * 1024, at=T0 + 960))
    row = stats.footprint_stats(footprint, runs.nodes())['rows'][0]
    assert row['daemons'] == {'dockerd': 90.0}
