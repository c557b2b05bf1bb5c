# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ab parser against real ApacheBench 2.3 output captured on 127.0.0.1 (fixtures/ab), and live."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shutil
import subprocess
import threading

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import runs

from ansible_collections.picocloud.edge.plugins.module_utils.bench import ab


def parse_capture(name):
    record = runs.ab_capture(name)
    return ab.parse(record['stdout'], record['stderr'], record['rc'])


def test_clean_run_at_250_gives_every_figure_ab_printed():
    result = parse_capture('image_c250_n1000')
    assert result['finished'] is True and result['error'] is None
    assert result['ab_version'] == '2.3'
    assert result['concurrency'] == 250
    assert result['complete_requests'] == 1000 and result['failed_requests'] == 0 and result['non_2xx'] == 0
    assert result['document_path'] == '/image.bin' and result['document_length'] == 100000
    assert result['server_software'] == 'BaseHTTP/0.6'
    assert result['html_transferred_bytes'] == 100000000
    assert sorted(result['percentiles_ms']) == [50, 66, 75, 80, 90, 95, 98, 99, 100]
    assert result['percentiles_ms'][50] <= result['percentiles_ms'][95] <= result['percentiles_ms'][99] \
        <= result['percentiles_ms'][100] == result['connection_times_ms']['total']['max']
    assert result['requests_per_second'] > 0
    assert set(result['connection_times_ms']) == {'connect', 'processing', 'waiting', 'total'}
    assert ab.failures(result, 1000) == 0


def test_values_are_read_from_the_text_not_assumed():
    record = runs.ab_capture('image_c50_n1000')
    result = ab.parse(record['stdout'], record['stderr'], record['rc'])
    for line, value in (('Requests per second:', result['requests_per_second']),
                        ('Time taken for tests:', result['time_taken_s'])):
        printed = [text for text in record['stdout'].splitlines() if text.startswith(line)][0]
        assert ('%.2f' % value if line.startswith('Requests') else '%.3f' % value) in printed
    p99 = [text for text in record['stdout'].splitlines() if text.startswith('  99%')][0]
    assert int(p99.split()[1]) == result['percentiles_ms'][99]


def test_length_and_non_2xx_failures_are_counted_and_capped_at_requests():
    result = parse_capture('flaky_length_non2xx')
    assert result['finished'] is True
    assert result['failed_requests'] == 140
    assert result['failed_breakdown'] == {'connect': 0, 'receive': 0, 'length': 140, 'exceptions': 0}
    assert result['non_2xx'] == 20
    assert ab.failures(result, 200) == 160


def test_resets_with_r_continue_and_report_receive_and_exception_failures():
    result = parse_capture('reset_continue_r')
    assert result['finished'] is True and result['complete_requests'] == 200
    assert result['failed_breakdown'] == {'connect': 0, 'receive': 40, 'length': 40, 'exceptions': 40}
    assert ab.failures(result, 200) == 120


def test_reset_without_r_is_an_abort_with_the_completed_count():
    result = parse_capture('reset_abort')
    assert result['finished'] is False
    assert result['error'] == 'apr_socket_recv: Connection reset by peer (104)'
    assert result['rc'] == 104
    assert result['completed_before_abort'] == int(
        [line for line in runs.ab_capture('reset_abort')['stdout'].splitlines() if line.startswith('Total of')][0].split()[2])
    assert ab.failures(result, 200) == 200 - result['completed_before_abort']


@pytest.mark.parametrize('name,message', [
    ('refused', 'apr_socket_recv: Connection refused (111)'),
    ('timeout', 'apr_pollset_poll: The timeout specified has expired (70007)'),
])
def test_refused_and_timed_out_runs_fail_every_request(name, message):
    result = parse_capture(name)
    assert result['finished'] is False and result['error'] == message
    assert result['completed_before_abort'] == 0
    assert ab.failures(result, 50) == 50


def test_keep_alive_run_reports_keep_alive_requests():
    result = parse_capture('page_c10_n200_keepalive')
    assert result['keep_alive_requests'] == 200 and result['concurrency'] == 10


def test_no_percentile_table_and_short_times_table_with_S_and_d():
    result = parse_capture('page_c5_n100_no_table')
    assert result['finished'] is True
    assert result['percentiles_ms'] == {}
    assert result['connection_times_ms']['total']['median'] is None
    assert result['connection_times_ms']['total']['max'] >= result['connection_times_ms']['total']['min']


def test_text_that_is_not_ab_output_is_refused():
    with pytest.raises(ab.AbParseError, match='not ApacheBench output'):
        ab.parse('HTTP/1.1 200 OK\n', '', 0)


def test_a_changed_result_line_is_refused_naming_the_line():
    stdout = runs.ab_capture('image_c50_n1000')['stdout'].replace(' [#/sec] (mean)', ' per second')
    with pytest.raises(ab.AbParseError, match='Requests per second line has an unexpected format'):
        ab.parse(stdout, '', 0)


def test_output_cut_before_the_results_without_an_error_is_refused():
    stdout = runs.ab_capture('image_c50_n1000')['stdout'].split('Server Software')[0]
    with pytest.raises(ab.AbParseError, match='no results and no error'):
        ab.parse(stdout, '', 0)


class _Page(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    body = b'<html><body>bench</body></html>\n'

    def log_message(self, *args):  # pylint: disable=arguments-differ
        return

    def do_GET(self):  # pylint: disable=invalid-name
        self.send_response(200)
        self.send_header('Content-Length', str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.mark.skipif(shutil.which('ab') is None, reason='ab (apache2-utils) is not installed')
def test_live_ab_against_a_loopback_server_parses():
    server = ThreadingHTTPServer(('127.0.0.1', 0), _Page)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        proc = subprocess.run(['ab', '-n', '200', '-c', '20', '-s', '10',
                               'http://127.0.0.1:%d/' % server.server_address[1]],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, check=False)
    finally:
        server.shutdown()
        server.server_close()
    result = ab.parse(proc.stdout.decode(), proc.stderr.decode(), proc.returncode)
    assert result['finished'] is True
    assert result['complete_requests'] == 200 and result['concurrency'] == 20
    assert ab.failures(result, 200) == 0
    assert result['percentiles_ms'][100] >= result['percentiles_ms'][50] >= 0
