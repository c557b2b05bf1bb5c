# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A short, bounded fuzz run of pi_image's customisation over mutated card images (see fuzzing.py).

Every case must end in success or in a CustomizeError that leaves the image byte-identical, within
fuzzing.CASE_SECONDS: never a hang, never a traceback of another type. hypothesis runs a fixed
(derandomised) set of EXAMPLES cases per partition scheme, so the run is the same on every machine;
benchmarks/fuzz_pi_image.py runs the same mutations at random for as long as it is asked to.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import time

import pytest
from hypothesis import HealthCheck, given, settings

import fuzzing

EXAMPLES = 200  # per scheme; about 0.1 s each on the quiet 2-core development VM (the file: about 45 s)


@pytest.fixture(scope='module')
def fuzz_bases(tmp_path_factory):
    if fuzzing.missing_tools():
        pytest.skip('image tools missing: %s' % ', '.join(fuzzing.missing_tools()))
    directory = tmp_path_factory.mktemp('fuzz')
    result = {}
    for scheme in ('mbr', 'gpt'):
        path = fuzzing.build_fixture(str(directory / ('%s.img' % scheme)), scheme)
        result[scheme] = (path, fuzzing.targets(path, scheme))
    return result


@pytest.mark.parametrize('scheme', ['mbr', 'gpt'])
def test_mutated_images_end_in_success_or_a_clear_error_that_changed_nothing(fuzz_bases, tmp_path, scheme):
    base, info = fuzz_bases[scheme]
    work = str(tmp_path / 'case.img')
    outcomes = collections.Counter()
    slowest = [0.0]

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(fuzzing.mutations(info))
    def case(mutation_list):
        outcome, detail, elapsed = fuzzing.run_case(base, work, mutation_list)
        outcomes[outcome] += 1
        slowest[0] = max(slowest[0], elapsed)
        assert outcome != 'failure', '%s\nmutations: %r' % (detail, mutation_list)

    case()
    # The mutations reach both ends: some cases are refused, some get past every check and are written.
    assert outcomes['error'] >= EXAMPLES // 10 and outcomes['ok'] >= EXAMPLES // 10, dict(outcomes)
    assert slowest[0] < fuzzing.CASE_SECONDS


def test_the_unmutated_fixture_is_customised(fuzz_bases, tmp_path):
    for scheme, (base, dummy_info) in sorted(fuzz_bases.items()):
        outcome, detail, dummy_elapsed = fuzzing.run_case(base, str(tmp_path / 'case.img'), [])
        assert (scheme, outcome, detail) == (scheme, 'ok', '')


def test_the_case_time_limit_turns_a_hang_into_a_failure(fuzz_bases, tmp_path, monkeypatch):
    """The harness itself: a customisation that never returns is reported, not waited for."""
    def spin(params, check_mode):
        for dummy in range(1000):  # 10 s, far past the 0.5 s limit
            time.sleep(0.01)
    monkeypatch.setattr(fuzzing.customize, 'run', spin)
    base, dummy_info = fuzz_bases['mbr']
    started = time.monotonic()
    outcome, detail, dummy_elapsed = fuzzing.run_case(base, str(tmp_path / 'case.img'), [], seconds=0.5)
    assert (outcome, detail) == ('failure', 'timeout: no answer within 0.5 s (a hang)')
    assert time.monotonic() - started < 5


def test_a_refused_run_that_changed_bytes_is_a_failure(fuzz_bases, tmp_path, monkeypatch):
    """The harness itself: an error after a write is caught by the before/after hash."""
    def write_then_fail(params, check_mode):
        with open(params['src'], 'r+b') as handle:
            handle.write(b'X')
        raise fuzzing.customize.CustomizeError('refused after writing')
    monkeypatch.setattr(fuzzing.customize, 'run', write_then_fail)
    base, dummy_info = fuzz_bases['mbr']
    outcome, detail, dummy_elapsed = fuzzing.run_case(base, str(tmp_path / 'case.img'), [])
    assert (outcome, detail) == ('failure', 'the image changed although the run failed with: refused after writing')
