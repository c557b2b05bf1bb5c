# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run document schema: a valid run passes untouched; every refusal names the path and the bad value."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os

import pytest

import runs

from ansible_collections.picocloud.edge.plugins.module_utils.bench import schema


def refused(doc):
    """The problems of an invalid document (fails the test when it is accepted)."""
    with pytest.raises(schema.RunDocumentError) as info:
        schema.validate(doc)
    assert str(info.value).startswith('the bench run document is not valid (picocloud.edge.bench.run version 1): ')
    return info.value.problems


def test_a_valid_run_passes_unchanged(run_doc):
    before = copy.deepcopy(run_doc)
    assert schema.validate(run_doc) is run_doc
    assert run_doc == before


def test_a_run_with_one_experiment_passes():
    doc = runs.run(experiments={'footprint': runs.footprint()})
    schema.validate(doc)


def test_loads_refuses_non_json_and_nan():
    with pytest.raises(schema.RunDocumentError, match='not JSON'):
        schema.loads('{"schema": ')
    text = json.dumps(runs.run()).replace('"clock_offset_s": 0.0', '"clock_offset_s": NaN')
    with pytest.raises(schema.RunDocumentError, match='NaN is not a JSON number'):
        schema.loads(text)


def test_a_newer_schema_version_is_refused_alone_with_advice(run_doc):
    run_doc['schema_version'] = 2
    assert refused(run_doc) == ['schema_version: this collection reads version 1, got 2; produce the run with the '
                                'same picocloud.edge version that reports it']


def test_type_errors_name_the_path_and_the_value(run_doc):
    run_doc['experiments']['storm']['samples'][3]['running_at'] = 'abc'
    run_doc['experiments']['storm']['parameters']['count'] = 20.5
    run_doc['nodes']['node2']['board']['is_raspberry_pi'] = 'yes'
    problems = refused(run_doc)
    assert "experiments.storm.samples[3].running_at: must be a number (seconds since the epoch), got 'abc'" in problems
    assert 'experiments.storm.parameters.count: must be an integer, got 20.5' in problems
    assert "nodes.node2.board.is_raspberry_pi: must be true or false, got 'yes'" in problems


def test_booleans_are_not_numbers(run_doc):
    run_doc['experiments']['footprint']['samples'][0]['rss_kib'] = True
    assert 'experiments.footprint.samples[0].rss_kib: must be an integer (KiB), got true' in refused(run_doc)


def test_missing_and_unknown_keys_are_named(run_doc):
    del run_doc['site']['orchestrator']
    run_doc['experiments']['storm']['samples'][0]['runing_at'] = 1.0
    run_doc['experiments']['storms'] = {}
    problems = refused(run_doc)
    assert "site.orchestrator: is required (one of 'swarm', 'k3s')" in problems
    assert any(p.startswith("experiments.storm.samples[0]: unknown key(s) 'runing_at'; allowed: ") for p in problems)
    assert any(p.startswith("experiments: unknown key(s) 'storms'; allowed: density, footprint, serving, "
                            "start_latency, storm") for p in problems)


def test_pi_facts_board_may_carry_more_keys(run_doc):
    run_doc['nodes']['node1']['board']['warranty_voided'] = False
    schema.validate(run_doc)


@pytest.mark.parametrize('path,value,message', [
    (('site', 'name'), 'pi\nco', "site.name: must not contain control characters, got '\\n' at offset 2"),
    (('site', 'name'), 'pico; rm -rf /', 'site.name: must be a name (letters, digits'),
    (('experiments', 'storm', 'parameters', 'image'), 'idle\x1b[31m',
     'experiments.storm.parameters.image: must not contain control characters'),
    (('run_id',), '../../etc', "run_id: must be a run id (letters, digits, \".\", \"_\", \"-\"), got '../../etc'"),
])
def test_control_characters_and_unsafe_names_are_refused(run_doc, path, value, message):
    target = run_doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert any(p.startswith(message) for p in refused(run_doc)), refused(run_doc)


def test_ab_output_may_hold_newlines_and_tabs_but_no_other_control_characters(run_doc):
    step = run_doc['experiments']['serving']['steps'][0]
    step['ab']['stderr'] += '\tnote\n'
    schema.validate(run_doc)
    step['ab']['stdout'] += '\x07'
    assert any(p.startswith('experiments.serving.steps[0].ab.stdout: must not contain control characters')
               for p in refused(run_doc))


def test_storm_sample_count_must_match_the_requests(run_doc):
    run_doc['experiments']['storm']['samples'].pop()
    assert refused(run_doc) == ['experiments.storm.samples: has 19 samples but parameters.count is 20; every launch '
                                'request, failed or not, needs its sample']


def test_storm_samples_must_name_known_nodes_and_unique_indexes(run_doc):
    samples = run_doc['experiments']['storm']['samples']
    samples[2]['node'] = 'node9'
    samples[4]['index'] = 3
    problems = refused(run_doc)
    assert "experiments.storm.samples[2].node: node 'node9' is not in nodes (node1, node2, node3)" in problems
    assert 'experiments.storm.samples[4].index: 3 appears twice' in problems


def test_a_container_running_before_its_request_is_a_clock_problem(run_doc):
    sample = run_doc['experiments']['storm']['samples'][0]
    sample['running_at'] = sample['requested_at'] - 0.5
    problems = refused(run_doc)
    assert len(problems) == 1
    assert problems[0].startswith('experiments.storm.samples[0].running_at: the container ran 0.500 s before it was '
                                  'requested')
    assert 'clocks of the runner and the orchestrator disagree' in problems[0]


def test_ok_launch_needs_its_times_and_failed_launch_its_error(run_doc):
    samples = run_doc['experiments']['storm']['samples']
    samples[0]['running_at'] = None
    samples[1]['ok'] = False
    problems = refused(run_doc)
    assert any(p.startswith('experiments.storm.samples[0].running_at: is null but ok is true') for p in problems)
    assert 'experiments.storm.samples[1].error: a failed launch (ok false) needs the error message' in problems


def test_density_counts_must_run_from_one_without_gaps(run_doc):
    del run_doc['experiments']['density']['apps'][0]['samples'][1]
    problems = refused(run_doc)
    assert len(problems) == 1
    assert problems[0].startswith('experiments.density.apps[0].samples: counts must run 1, 2, 3, ... one sample per '
                                  'container deployed, got [1, 3, 4')


def test_density_threshold_stop_must_be_below_the_threshold(run_doc):
    app = run_doc['experiments']['density']['apps'][0]
    app['samples'] = app['samples'][:3]
    assert refused(run_doc)[0].startswith('experiments.density.apps[0].stop_reason: is threshold but the last sample '
                                          'still had')


def test_a_lab_site_cannot_claim_a_reboot():
    doc = runs.run(kind='lab')
    doc['experiments']['start_latency']['boots'][0]['method'] = 'reboot'
    assert refused(doc) == ["experiments.start_latency.boots[0].method: a lab site times a node-restart, got 'reboot'"]


def test_serving_step_with_output_that_is_not_ab_is_refused(run_doc):
    run_doc['experiments']['serving']['steps'][1]['ab']['stdout'] = 'Welcome to nginx!\n'
    assert refused(run_doc) == ['experiments.serving.steps[1].ab: not ApacheBench output: no "This is ApacheBench, '
                                'Version" line in stdout']


def test_serving_step_concurrency_must_match_what_ab_ran(run_doc):
    step = run_doc['experiments']['serving']['steps'][0]
    step['ab'] = runs.ab_capture('image_c250_n1000')
    problems = refused(run_doc)
    assert any('ab reports concurrency 250 but the step says 50' in p for p in problems)


def test_an_empty_run_is_refused():
    doc = runs.run(experiments={})
    assert refused(doc)[0].startswith('experiments: no experiment in the run')


def test_long_problem_lists_are_cut_in_the_message_but_kept_whole():
    doc = runs.run(count=30)
    for sample in doc['experiments']['storm']['samples']:
        sample['requested_at'] = 'x'
    with pytest.raises(schema.RunDocumentError) as info:
        schema.validate(doc)
    assert len(info.value.problems) == 30
    assert str(info.value).count('requested_at: must be a number') == 20
    assert str(info.value).endswith('; and 10 more')


def test_the_documented_schema_is_the_schema_in_code():
    docs = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', '..', 'docs', 'bench.md')
    with open(docs) as handle:
        text = handle.read()
    block = text.split('<!-- schema summary: generated by schema.summary() -->\n```text\n', 1)[1].split('```', 1)[0]
    assert block.splitlines() == schema.summary()
