# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parser for ApacheBench (``ab``, Debian's apache2-utils) output, for the bench's serving steps.

Private to the picocloud.edge collection: no compatibility promise to other collections.

ab writes its results to stdout and its progress (``Completed 100 requests``) and fatal errors
(``apr_socket_recv: Connection reset by peer (104)``) to stderr, and exits non-zero when it gives
up before the last request. :func:`parse` takes the three, as a bench step records them, and
returns one flat dict. Every result line is matched whole; a line that looks like a result but
does not match raises :class:`AbParseError` naming the line, so a changed ab format cannot slip
wrong figures into a report.

The latency percentiles are ab's own: ab sorts the total times and prints, for p < 100, the time
at index ``floor(n * p / 100)`` (0-based) rounded to whole milliseconds, and for 100 the longest
request. They are reported as ab printed them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

FIELDS = (
    ('server_software', r'Server Software:\s*(.*)', str),
    ('server_hostname', r'Server Hostname:\s+(\S+)', str),
    ('server_port', r'Server Port:\s+(\d+)', int),
    ('document_path', r'Document Path:\s+(\S+)', str),
    ('document_length', r'Document Length:\s+(\d+|Variable)(?: bytes)?', None),
    ('concurrency', r'Concurrency Level:\s+(\d+)', int),
    ('time_taken_s', r'Time taken for tests:\s+(\d+\.\d+) seconds', float),
    ('complete_requests', r'Complete requests:\s+(\d+)', int),
    ('failed_requests', r'Failed requests:\s+(\d+)', int),
    ('write_errors', r'Write errors:\s+(\d+)', int),
    ('non_2xx', r'Non-2xx responses:\s+(\d+)', int),
    ('keep_alive_requests', r'Keep-Alive requests:\s+(\d+)', int),
    ('total_transferred_bytes', r'Total transferred:\s+(\d+) bytes', int),
    ('total_body_sent_bytes', r'Total body sent:\s+(\d+)', int),
    ('html_transferred_bytes', r'HTML transferred:\s+(\d+) bytes', int),
    ('requests_per_second', r'Requests per second:\s+(\d+\.\d+) \[#/sec\] \(mean\)', float),
    ('time_per_request_ms', r'Time per request:\s+(\d+\.\d+) \[ms\] \(mean\)', float),
    ('time_per_request_all_ms', r'Time per request:\s+(\d+\.\d+) \[ms\] \(mean, across all concurrent requests\)', float),
    ('transfer_rate_kib_s', r'Transfer rate:\s+(\d+\.\d+) \[Kbytes/sec\] received', float),
)
# A result line is "Label:   value"; a known label whose line matches none of its patterns is an error.


def _labels():
    labels = {}
    for key, pattern, cast in FIELDS:
        labels.setdefault(pattern.split(':', 1)[0], []).append((key, re.compile(pattern), cast))
    return labels


LABELS = _labels()
LABEL_RE = re.compile(r'([A-Z][A-Za-z0-9 /-]+):.*')
BREAKDOWN_RE = re.compile(r'\s+\(Connect: (\d+), Receive: (\d+), Length: (\d+), Exceptions: (\d+)\)')
TIMES_HEADER_RE = re.compile(r'Connection Times \(ms\)')
TIMES_COLUMNS_FULL = re.compile(r'\s+min\s+mean\[\+/-sd\]\s+median\s+max')
TIMES_COLUMNS_SHORT = re.compile(r'\s+min\s+avg\s+max')
TIMES_ROW_FULL = re.compile(r'(Connect|Processing|Waiting|Total):\s+(\d+)\s+(\d+)\s+(\d+\.\d+|-?nan|inf)\s+(\d+)\s+(\d+)')
TIMES_ROW_SHORT = re.compile(r'(Connect|Processing|Waiting|Total):\s+(\d+)\s+(\d+)\s*(\d+)')
PERCENT_HEADER_RE = re.compile(r'Percentage of the requests served within a certain time \(ms\)')
PERCENT_ROW_RE = re.compile(r'\s*(\d+)%\s+(\d+)(?: \(longest request\))?')
TOTAL_OF_RE = re.compile(r'Total of (\d+) requests completed')
PROGRESS_RE = re.compile(r'(?:Completed|Finished) (\d+) requests')
ERROR_RE = re.compile(r'(apr_\w+(?:\(\))?: .+|Send request failed!|SSL .+|Cannot use concurrency level greater than total number of requests)')
VERSION_RE = re.compile(r'This is ApacheBench, Version (\S+) .*')
RELIABILITY_RE = re.compile(r'(WARNING|ERROR): The median and mean for .+')


class AbParseError(ValueError):
    """The text is not ApacheBench output, or a result line does not have ab's format."""


def _times(lines, start):
    """The Connection Times table from ``lines[start]`` (its header); returns (table, next index)."""
    table = {}
    index = start + 1
    if index >= len(lines):
        raise AbParseError('ab output ends after "Connection Times (ms)"')
    if TIMES_COLUMNS_FULL.fullmatch(lines[index]):
        row_re, full = TIMES_ROW_FULL, True
    elif TIMES_COLUMNS_SHORT.fullmatch(lines[index]):
        row_re, full = TIMES_ROW_SHORT, False
    else:
        raise AbParseError('ab output: unexpected Connection Times columns %r' % lines[index])
    index += 1
    while index < len(lines) and lines[index].strip():
        match = row_re.fullmatch(lines[index])
        if not match:
            if RELIABILITY_RE.fullmatch(lines[index]) or lines[index].startswith(' '):
                break
            raise AbParseError('ab output: unexpected Connection Times row %r' % lines[index])
        if full:
            sd = match.group(4)
            table[match.group(1).lower()] = {
                'min': int(match.group(2)), 'mean': int(match.group(3)),
                'sd': float(sd) if re.fullmatch(r'\d+\.\d+', sd) else None,
                'median': int(match.group(5)), 'max': int(match.group(6))}
        else:
            table[match.group(1).lower()] = {
                'min': int(match.group(2)), 'mean': int(match.group(3)), 'sd': None, 'median': None,
                'max': int(match.group(4))}
        index += 1
    return table, index


def _percentiles(lines, start):
    """The percentile table from ``lines[start]`` (its header); returns ({percent: ms}, next index)."""
    table = {}
    index = start + 1
    while index < len(lines) and lines[index].strip():
        match = PERCENT_ROW_RE.fullmatch(lines[index])
        if not match:
            raise AbParseError('ab output: unexpected percentile row %r' % lines[index])
        table[int(match.group(1))] = int(match.group(2))
        index += 1
    return table, index


def _field(result, line):
    """Fill one "Label: value" result line into result; False when the line is not a result line."""
    label = LABEL_RE.fullmatch(line)
    if not label or label.group(1) not in LABELS:
        return False
    for key, pattern, cast in LABELS[label.group(1)]:
        match = pattern.fullmatch(line)
        if match:
            value = match.group(1)
            if key == 'document_length':
                result[key] = None if value == 'Variable' else int(value)
            else:
                result[key] = cast(value)
            return True
    raise AbParseError('ab output: the %s line has an unexpected format: %r' % (label.group(1), line))


def empty_result():
    """Every key :func:`parse` returns, with nothing measured."""
    result = dict((key, None) for key, dummy, dummy2 in FIELDS)
    result.update({
        'ab_version': None, 'finished': False, 'error': None, 'rc': 0, 'completed_before_abort': None,
        'failed_breakdown': {'connect': 0, 'receive': 0, 'length': 0, 'exceptions': 0},
        'connection_times_ms': {}, 'percentiles_ms': {}, 'reliability_warnings': [],
    })
    result['write_errors'] = 0
    result['non_2xx'] = 0
    return result


def parse(stdout, stderr='', rc=0):
    """Parse one ab run (its stdout, stderr and exit code) into a dict.

    ``finished`` is true when ab printed its results (it ran every request, or was interrupted and
    printed what it had). Otherwise ``error`` holds ab's fatal message and ``completed_before_abort``
    the number of requests it completed first (from ``Total of N requests completed``, or the last
    progress line; 0 when it printed neither).
    """
    lines = (stdout or '').splitlines()
    err_lines = (stderr or '').splitlines()
    result = empty_result()
    result['rc'] = rc
    if not any(VERSION_RE.fullmatch(line) for line in lines):
        raise AbParseError('not ApacheBench output: no "This is ApacheBench, Version" line in stdout')
    index = 0
    while index < len(lines):
        line = lines[index]
        version = VERSION_RE.fullmatch(line)
        if version:
            result['ab_version'] = version.group(1)
        elif TIMES_HEADER_RE.fullmatch(line):
            result['connection_times_ms'], index = _times(lines, index)
            continue
        elif PERCENT_HEADER_RE.fullmatch(line):
            result['percentiles_ms'], index = _percentiles(lines, index)
            continue
        elif BREAKDOWN_RE.fullmatch(line):
            match = BREAKDOWN_RE.fullmatch(line)
            result['failed_breakdown'] = dict(zip(('connect', 'receive', 'length', 'exceptions'),
                                                  (int(g) for g in match.groups())))
        elif RELIABILITY_RE.fullmatch(line):
            result['reliability_warnings'].append(line)
        elif TOTAL_OF_RE.fullmatch(line):
            result['completed_before_abort'] = int(TOTAL_OF_RE.fullmatch(line).group(1))
        else:
            _field(result, line)
        index += 1
    result['finished'] = result['complete_requests'] is not None
    errors = [line for line in err_lines + lines if ERROR_RE.fullmatch(line)]
    if errors:
        result['error'] = errors[0]
    if not result['finished']:
        if rc == 0 and not errors:
            raise AbParseError('ab output has no results and no error: %r' % (stdout or '')[-200:])
        if result['completed_before_abort'] is None:
            progress = [int(m.group(1)) for m in (PROGRESS_RE.fullmatch(line) for line in err_lines) if m]
            result['completed_before_abort'] = progress[-1] if progress else 0
        if result['error'] is None:
            result['error'] = 'ab exited with code %d' % rc
    return result


def failures(parsed, requests):
    """Requests of a step that did not succeed: ab's failed requests, non-2xx responses, and
    requests never completed (ab gave up early). Capped at ``requests`` because ab can count one
    request twice (a non-2xx answer whose length differs from the first is also a Length failure).
    """
    if parsed['finished']:
        missing = max(0, requests - parsed['complete_requests'])
        count = parsed['failed_requests'] + parsed['non_2xx'] + missing
    else:
        count = requests - min(requests, parsed['completed_before_abort'] or 0)
        count = max(count, 1)
    return min(requests, count)
