# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bench run document: its schema as code, versioned, and its validation.

Private to the picocloud.edge collection: no compatibility promise to other collections.

One JSON document per run holds the site, the nodes' facts, the versions, every experiment's
parameters and every raw sample with its node and timestamps. Nothing derived is stored: the
statistics, plots and report are computed from the samples. :data:`RUN` is the structure;
:func:`validate` checks a decoded document against it and then checks what a structure cannot say
(sample counts, known node names, time order). It reports every problem with its path, for
example ``experiments.storm.samples[3].running_at: must be a number, got 'abc'``.

Timestamps are seconds since the Unix epoch (floats). Memory is in KiB as Linux reports it
(/proc/meminfo, VmRSS); the statistics convert to MiB, which the report calls MB.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import re

from ansible_collections.picocloud.edge.plugins.module_utils.bench import ab

SCHEMA_NAME = 'picocloud.edge.bench.run'
SCHEMA_VERSION = 1
MAX_REPORTED_PROBLEMS = 20

NAME_RE = r'[A-Za-z0-9][A-Za-z0-9._-]{0,62}'
CONTROL_RE = re.compile(r'[\x00-\x1f\x7f]')
TEXT_CONTROL_RE = re.compile(r'[\x00-\x08\x0b-\x1f\x7f]')


class RunDocumentError(ValueError):
    """The run document is not valid; ``problems`` lists every problem found, each with its path."""

    def __init__(self, problems):
        self.problems = list(problems)
        shown = self.problems[:MAX_REPORTED_PROBLEMS]
        more = len(self.problems) - len(shown)
        text = 'the bench run document is not valid (%s version %d): %s' % (
            SCHEMA_NAME, SCHEMA_VERSION, '; '.join(shown))
        if more:
            text += '; and %d more' % more
        super(RunDocumentError, self).__init__(text)


def _show(value):
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + '...'


class Spec:
    """One node of the schema: ``check`` appends problems; ``describe`` is its one-line summary."""

    description = ''

    def check(self, value, path, problems):
        raise NotImplementedError

    def describe(self):
        return self.description


class Text(Spec):
    """A string matching ``pattern`` as a whole; no control characters (``multiline``: LF and TAB pass)."""

    def __init__(self, pattern=None, multiline=False, max_length=None, what=None, short=None):
        self.pattern = re.compile(pattern) if pattern else None
        self.multiline = multiline
        self.max_length = max_length
        self.what = what
        self.description = short or what or ('text (LF and TAB allowed)' if multiline else 'string')

    def check(self, value, path, problems):
        if not isinstance(value, str):
            problems.append('%s: must be a string, got %s' % (path, _show(value)))
            return
        bad = (TEXT_CONTROL_RE if self.multiline else CONTROL_RE).search(value)
        if bad:
            problems.append('%s: must not contain control characters, got %r at offset %d' % (
                path, bad.group(0), bad.start()))
        elif self.pattern and not self.pattern.fullmatch(value):
            expected = self.what or 'a string matching %s' % self.pattern.pattern
            problems.append('%s: must be %s, got %s' % (path, expected, _show(value)))
        elif self.max_length is not None and len(value) > self.max_length:
            problems.append('%s: must be at most %d characters, got %d' % (path, self.max_length, len(value)))


class Number(Spec):
    """A finite JSON number (not a boolean); ``integer`` refuses fractions; bounds are inclusive unless ``above``."""

    def __init__(self, minimum=None, above=None, maximum=None, integer=False, what=None, short=None):
        self.minimum = minimum
        self.above = above
        self.maximum = maximum
        self.integer = integer
        self.what = what
        bounds = []
        if minimum is not None:
            bounds.append('>= %s' % minimum)
        if above is not None:
            bounds.append('> %s' % above)
        if maximum is not None:
            bounds.append('<= %s' % maximum)
        self.description = short or ((what or ('integer' if integer else 'number')) + (' ' + ', '.join(bounds) if bounds else ''))

    def check(self, value, path, problems):
        kind = 'an integer' if self.integer else 'a number'
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append('%s: must be %s%s, got %s' % (path, kind, ' (%s)' % self.what if self.what else '', _show(value)))
            return
        if isinstance(value, float) and not math.isfinite(value):
            problems.append('%s: must be a finite number, got %s' % (path, value))
            return
        if self.integer and not isinstance(value, int):
            problems.append('%s: must be an integer, got %s' % (path, _show(value)))
        elif self.minimum is not None and value < self.minimum:
            problems.append('%s: must be at least %s, got %s' % (path, self.minimum, _show(value)))
        elif self.above is not None and value <= self.above:
            problems.append('%s: must be greater than %s, got %s' % (path, self.above, _show(value)))
        elif self.maximum is not None and value > self.maximum:
            problems.append('%s: must be at most %s, got %s' % (path, self.maximum, _show(value)))


class Boolean(Spec):
    description = 'boolean'

    def check(self, value, path, problems):
        if not isinstance(value, bool):
            problems.append('%s: must be true or false, got %s' % (path, _show(value)))


class Choice(Spec):
    """One of a fixed set of values (strings or integers)."""

    def __init__(self, *values):
        self.values = values
        self.description = 'one of ' + ', '.join(_show(v) for v in values)

    def check(self, value, path, problems):
        if isinstance(value, bool) or value not in self.values:
            problems.append('%s: must be %s, got %s' % (path, self.description, _show(value)))


class Nullable(Spec):
    def __init__(self, inner):
        self.inner = inner
        self.description = '%s or null' % inner.describe()

    def check(self, value, path, problems):
        if value is not None:
            self.inner.check(value, path, problems)


class Array(Spec):
    def __init__(self, item, min_items=0, max_items=None):
        self.item = item
        self.min_items = min_items
        self.max_items = max_items
        self.description = 'list of %s%s' % (
            item.describe() if not isinstance(item, Record) else 'objects',
            ' (at least %d)' % min_items if min_items else '')

    def check(self, value, path, problems):
        if not isinstance(value, list):
            problems.append('%s: must be a list, got %s' % (path, _show(value)))
            return
        if len(value) < self.min_items:
            problems.append('%s: must have at least %d item(s), got %d' % (path, self.min_items, len(value)))
        if self.max_items is not None and len(value) > self.max_items:
            problems.append('%s: must have at most %d items, got %d' % (path, self.max_items, len(value)))
        for index, item in enumerate(value):
            self.item.check(item, '%s[%d]' % (path, index), problems)


class Mapping(Spec):
    """An object whose keys match ``key`` (a pattern) and whose values all follow ``value``."""

    def __init__(self, key, value, min_items=0, required=(), what='name'):
        self.key = re.compile(key)
        self.value = value
        self.min_items = min_items
        self.required = required
        self.what = what
        self.description = 'object: %s -> %s' % (what, value.describe() if not isinstance(value, Record) else 'object')

    def check(self, value, path, problems):
        if not isinstance(value, dict):
            problems.append('%s: must be an object, got %s' % (path, _show(value)))
            return
        if len(value) < self.min_items:
            problems.append('%s: must have at least %d entr%s' % (path, self.min_items, 'y' if self.min_items == 1 else 'ies'))
        for name in self.required:
            if name not in value:
                problems.append('%s: %r is required' % (path, name))
        for name in sorted(value):
            if not isinstance(name, str) or CONTROL_RE.search(name) or not self.key.fullmatch(name):
                problems.append('%s: %s must match %s, got %s' % (path, self.what, self.key.pattern, _show(name)))
                continue
            self.value.check(value[name], '%s.%s' % (path, name), problems)


class Record(Spec):
    """An object with named fields. ``open_`` records accept unknown keys (facts from pi_facts grow)."""

    def __init__(self, required=None, optional=None, open_=False, what='object'):
        self.required = required or {}
        self.optional = optional or {}
        self.open = open_
        self.description = what

    def check(self, value, path, problems):
        if not isinstance(value, dict):
            problems.append('%s: must be an object, got %s' % (path or 'the document', _show(value)))
            return
        prefix = path + '.' if path else ''
        for name, spec in self.required.items():
            if name not in value:
                problems.append('%s%s: is required (%s)' % (prefix, name, spec.describe()))
            else:
                spec.check(value[name], prefix + name, problems)
        for name, spec in self.optional.items():
            if name in value:
                spec.check(value[name], prefix + name, problems)
        if not self.open:
            unknown = sorted(set(value) - set(self.required) - set(self.optional), key=str)
            if unknown:
                problems.append('%s: unknown key(s) %s; allowed: %s' % (
                    path or 'the document', ', '.join(_show(k) for k in unknown),
                    ', '.join(sorted(list(self.required) + list(self.optional)))))


NAME = Text(NAME_RE, what='a name (letters, digits, ".", "_", "-"; up to 63; starting with a letter or digit)',
            short='name')
EPOCH = Number(minimum=0, what='seconds since the epoch', short='epoch seconds')
SECONDS = Number(above=0, what='seconds', short='seconds > 0')
KIB = Number(minimum=0, integer=True, what='KiB', short='KiB (integer)')
COUNT = Number(minimum=1, integer=True)
LABEL = Text(r'[^\x00-\x1f\x7f]{1,200}', what='one line of text, up to 200 characters', short='line (1-200 chars)')

BOARD = Record(required={
    'is_raspberry_pi': Boolean(),
    'model': Nullable(LABEL),
    'type': Nullable(LABEL),
    'memory_mb': Nullable(Number(minimum=1, integer=True)),
}, open_=True, what='pi_facts board (open: further pi_facts keys pass)')

ARCH = Record(required={
    'machine': LABEL,
    'debian_arch': Nullable(NAME),
    'arm_version': Nullable(Choice(6, 7, 8)),
}, open_=True, what='pi_facts arch (open: further pi_facts keys pass)')

NODE = Record(required={
    'role': Choice('manager', 'worker', 'other'),
    'board': BOARD,
    'arch': ARCH,
    'memtotal_mb': Nullable(Number(minimum=1, integer=True)),
}, optional={
    'versions': Mapping(r'[A-Za-z0-9][A-Za-z0-9._/-]{0,62}', LABEL, what='component'),
})

STORM_SAMPLE = Record(required={
    'index': Number(minimum=0, integer=True),
    'worker': Number(minimum=0, integer=True),
    'node': Nullable(NAME),
    'requested_at': EPOCH,
    'running_at': Nullable(EPOCH),
    'observed_at': Nullable(EPOCH),
    'ok': Boolean(),
    'error': Nullable(Text(multiline=True, max_length=2000)),
}, optional={
    'accepted_at': Nullable(EPOCH),
})

STORM = Record(required={
    'parameters': Record(required={
        'count': COUNT, 'concurrency': COUNT, 'image': LABEL,
    }, optional={'timeout_s': SECONDS}),
    'runner': Record(required={
        'host': NAME,
        'clock_offset_s': Number(),
        'clock_offset_uncertainty_s': Number(minimum=0),
    }),
    'started_at': EPOCH,
    'finished_at': EPOCH,
    'samples': Array(STORM_SAMPLE, min_items=1),
})

MEMINFO = Record(required={'at': EPOCH, 'mem_total_kib': KIB, 'mem_available_kib': KIB})

DENSITY_SAMPLE = Record(required={
    'count': COUNT, 'at': EPOCH, 'mem_total_kib': KIB, 'mem_available_kib': KIB,
})

DENSITY_APP = Record(required={
    'app': NAME,
    'image': LABEL,
    'stop_reason': Choice('threshold', 'count', 'time', 'error'),
    'baseline': MEMINFO,
    'samples': Array(DENSITY_SAMPLE, min_items=1),
}, optional={'error': Nullable(Text(multiline=True, max_length=2000))})

DENSITY = Record(required={
    'parameters': Record(required={
        'node': NAME, 'threshold_mb': Number(above=0), 'max_count': COUNT, 'max_seconds': SECONDS,
    }),
    'apps': Array(DENSITY_APP, min_items=1),
})

START_SAMPLE = Record(required={
    'mode': Choice('cold', 'warm'), 'node': NAME, 'requested_at': EPOCH, 'running_at': EPOCH,
})

BOOT_SAMPLE = Record(required={
    'node': NAME, 'method': Choice('reboot', 'node-restart'),
    'requested_at': EPOCH, 'ssh_ready_at': EPOCH, 'engine_ready_at': EPOCH,
})

START_LATENCY = Record(required={
    'parameters': Record(required={'image': LABEL, 'repeats': COUNT}),
    'containers': Array(START_SAMPLE, min_items=1),
    'boots': Array(BOOT_SAMPLE),
})

AB_RUN = Record(required={
    'argv': Array(Text(r'[^\x00-\x1f\x7f]{1,2000}', what='an argument without control characters'), min_items=1),
    'rc': Number(integer=True),
    'stdout': Text(multiline=True, max_length=200000),
    'stderr': Text(multiline=True, max_length=200000),
})

SERVING_STEP = Record(required={
    'variant': Choice('native', 'container'),
    'concurrency': COUNT,
    'requests': COUNT,
    'path': Text(r'/[A-Za-z0-9._~/-]{0,200}', what='a URL path such as /index.html'),
    'started_at': EPOCH,
    'finished_at': EPOCH,
    'ab': AB_RUN,
})

SERVING = Record(required={
    'parameters': Record(required={
        'node': NAME, 'generator': NAME, 'tool': Choice('ab'), 'requests': COUNT,
        'concurrency': Array(COUNT, min_items=1),
    }),
    'steps': Array(SERVING_STEP, min_items=1),
})

FOOTPRINT_SAMPLE = Record(required={
    'node': NAME, 'daemon': NAME, 'rss_kib': KIB, 'pids': Array(Number(minimum=1, integer=True), min_items=1),
    'at': EPOCH,
})

FOOTPRINT = Record(required={
    'parameters': Record(required={
        'budget_mb': Mapping(r'manager|worker|other', Number(above=0), what='node role'),
    }),
    'samples': Array(FOOTPRINT_SAMPLE, min_items=1),
})

EXPERIMENTS = Record(optional={
    'storm': STORM, 'density': DENSITY, 'start_latency': START_LATENCY, 'serving': SERVING, 'footprint': FOOTPRINT,
})

RUN = Record(required={
    'schema': Choice(SCHEMA_NAME),
    'schema_version': Choice(SCHEMA_VERSION),
    'run_id': Text(r'[A-Za-z0-9][A-Za-z0-9._-]{0,99}', what='a run id (letters, digits, ".", "_", "-")'),
    'site': Record(required={
        'name': NAME, 'kind': Choice('hardware', 'lab'), 'orchestrator': Choice('swarm', 'k3s'),
    }),
    'started_at': EPOCH,
    'finished_at': EPOCH,
    'versions': Mapping(r'[A-Za-z0-9][A-Za-z0-9._/-]{0,62}', LABEL, required=('picocloud.edge',), what='component'),
    'nodes': Mapping(NAME_RE, NODE, min_items=1, what='node name'),
    'experiments': EXPERIMENTS,
})


def summary(spec=RUN, path=''):
    """One line per field, ``path: type`` ([] marks list items), for the documentation."""
    lines = []
    if isinstance(spec, Record):
        for optional, fields in ((False, spec.required), (True, spec.optional)):
            for name, child in fields.items():
                child_path = (path + '.' if path else '') + name
                lines.append('%s: %s%s' % (child_path, _type_name(child), ' (optional)' if optional else ''))
                lines.extend(summary(_inner(child), child_path))
    elif isinstance(spec, Mapping) and isinstance(spec.value, Record):
        lines.extend(summary(spec.value, '%s.<%s>' % (path, spec.what.replace(' ', '_'))))
    elif isinstance(spec, Array) and isinstance(spec.item, Record):
        lines.extend(summary(spec.item, path + '[]'))
    return lines


def _inner(spec):
    return spec.inner if isinstance(spec, Nullable) else spec


def _type_name(spec):
    if isinstance(spec, Record):
        return spec.describe()
    if isinstance(spec, Mapping) and isinstance(spec.value, Record):
        return 'object: %s -> object' % spec.what
    if isinstance(spec, Array) and isinstance(spec.item, Record):
        return spec.describe()
    return spec.describe()


def _cross_checks(doc, problems):
    """What the structure cannot say: counts, known nodes, time order, parsable ab output."""
    nodes = set(doc['nodes'])
    if doc['finished_at'] < doc['started_at']:
        problems.append('finished_at: %s is before started_at %s' % (doc['finished_at'], doc['started_at']))
    experiments = doc['experiments']
    if not experiments:
        problems.append('experiments: no experiment in the run; expected at least one of storm, density, '
                        'start_latency, serving, footprint')
    checks = (('storm', _check_storm), ('density', _check_density), ('start_latency', _check_start),
              ('serving', _check_serving), ('footprint', _check_footprint))
    for name, check in checks:
        if name in experiments:
            check(experiments[name], 'experiments.' + name, nodes, doc, problems)


def _known(node, path, nodes, problems):
    if node is not None and node not in nodes:
        problems.append('%s: node %r is not in nodes (%s)' % (path, node, ', '.join(sorted(nodes))))


def _check_storm(storm, path, nodes, doc, problems):
    params = storm['parameters']
    samples = storm['samples']
    runner = storm['runner']
    if runner['host'] != 'controller':
        _known(runner['host'], path + '.runner.host', nodes, problems)
    if storm['finished_at'] < storm['started_at']:
        problems.append('%s.finished_at: %s is before started_at %s' % (path, storm['finished_at'], storm['started_at']))
    if len(samples) != params['count']:
        problems.append('%s.samples: has %d samples but parameters.count is %d; every launch request, failed or not, '
                        'needs its sample' % (path, len(samples), params['count']))
    seen = set()
    offset = runner['clock_offset_s']
    for index, sample in enumerate(samples):
        where = '%s.samples[%d]' % (path, index)
        if sample['index'] in seen:
            problems.append('%s.index: %d appears twice' % (where, sample['index']))
        seen.add(sample['index'])
        if sample['index'] >= params['count']:
            problems.append('%s.index: %d is not below parameters.count %d' % (where, sample['index'], params['count']))
        if sample['worker'] >= params['concurrency']:
            problems.append('%s.worker: %d is not below parameters.concurrency %d' % (
                where, sample['worker'], params['concurrency']))
        _known(sample['node'], where + '.node', nodes, problems)
        if sample['ok']:
            for key in ('node', 'running_at', 'observed_at'):
                if sample[key] is None:
                    problems.append('%s.%s: is null but ok is true; a running container has a node, '
                                    'running_at and observed_at' % (where, key))
            if sample['running_at'] is not None:
                launch = sample['running_at'] - offset - sample['requested_at']
                if launch <= 0:
                    problems.append('%s.running_at: the container ran %.3f s before it was requested (running_at %s, '
                                    'requested_at %s, runner.clock_offset_s %s): the clocks of the runner and the '
                                    'orchestrator disagree more than the measured offset' % (
                                        where, -launch, sample['running_at'], sample['requested_at'], offset))
        elif not sample['error']:
            problems.append('%s.error: a failed launch (ok false) needs the error message' % where)
        if sample['observed_at'] is not None and sample['observed_at'] < sample['requested_at']:
            problems.append('%s.observed_at: %s is before requested_at %s' % (
                where, sample['observed_at'], sample['requested_at']))


def _check_density(density, path, nodes, doc, problems):
    params = density['parameters']
    _known(params['node'], path + '.parameters.node', nodes, problems)
    names = set()
    for app_index, app in enumerate(density['apps']):
        where = '%s.apps[%d]' % (path, app_index)
        if app['app'] in names:
            problems.append('%s.app: %r appears twice' % (where, app['app']))
        names.add(app['app'])
        counts = [sample['count'] for sample in app['samples']]
        if counts != list(range(1, len(counts) + 1)):
            problems.append('%s.samples: counts must run 1, 2, 3, ... one sample per container deployed, got %s' % (
                where, _show(counts)))
        if len(counts) > params['max_count']:
            problems.append('%s.samples: %d samples exceed parameters.max_count %d' % (where, len(counts), params['max_count']))
        for sample_index, sample in enumerate([app['baseline']] + app['samples']):
            if sample['mem_available_kib'] > sample['mem_total_kib']:
                problems.append('%s.%s: mem_available_kib %d exceeds mem_total_kib %d' % (
                    where, 'baseline' if sample_index == 0 else 'samples[%d]' % (sample_index - 1),
                    sample['mem_available_kib'], sample['mem_total_kib']))
        last = app['samples'][-1]
        if app['stop_reason'] == 'threshold' and last['mem_available_kib'] / 1024.0 >= params['threshold_mb']:
            problems.append('%s.stop_reason: is threshold but the last sample still had %.1f MB available '
                            '(threshold_mb %s)' % (where, last['mem_available_kib'] / 1024.0, params['threshold_mb']))
        if app['stop_reason'] == 'count' and last['count'] != params['max_count']:
            problems.append('%s.stop_reason: is count but the last count is %d, not parameters.max_count %d' % (
                where, last['count'], params['max_count']))
        if app['stop_reason'] == 'error' and not app.get('error'):
            problems.append('%s.error: stop_reason error needs the error message' % where)


def _check_start(start, path, nodes, doc, problems):
    for index, sample in enumerate(start['containers']):
        where = '%s.containers[%d]' % (path, index)
        _known(sample['node'], where + '.node', nodes, problems)
        if sample['running_at'] <= sample['requested_at']:
            problems.append('%s.running_at: %s is not after requested_at %s' % (where, sample['running_at'], sample['requested_at']))
    expected = 'node-restart' if doc['site']['kind'] == 'lab' else 'reboot'
    for index, sample in enumerate(start['boots']):
        where = '%s.boots[%d]' % (path, index)
        _known(sample['node'], where + '.node', nodes, problems)
        if sample['method'] != expected:
            problems.append('%s.method: a %s site times a %s, got %r' % (where, doc['site']['kind'], expected, sample['method']))
        for key in ('ssh_ready_at', 'engine_ready_at'):
            if sample[key] <= sample['requested_at']:
                problems.append('%s.%s: %s is not after requested_at %s' % (where, key, sample[key], sample['requested_at']))


def _check_serving(serving, path, nodes, doc, problems):
    params = serving['parameters']
    _known(params['node'], path + '.parameters.node', nodes, problems)
    if params['generator'] != 'controller':
        _known(params['generator'], path + '.parameters.generator', nodes, problems)
    steps = params['concurrency']
    if steps != sorted(set(steps)):
        problems.append('%s.parameters.concurrency: must be ascending without repeats, got %s' % (path, _show(steps)))
    seen = set()
    for index, step in enumerate(serving['steps']):
        where = '%s.steps[%d]' % (path, index)
        key = (step['variant'], step['concurrency'])
        if key in seen:
            problems.append('%s: a second %s step at concurrency %d' % (where, step['variant'], step['concurrency']))
        seen.add(key)
        if step['concurrency'] not in steps:
            problems.append('%s.concurrency: %d is not in parameters.concurrency %s' % (where, step['concurrency'], _show(steps)))
        if step['requests'] != params['requests']:
            problems.append('%s.requests: %d differs from parameters.requests %d' % (where, step['requests'], params['requests']))
        if step['concurrency'] > step['requests']:
            problems.append('%s.concurrency: %d exceeds requests %d (ab refuses that)' % (where, step['concurrency'], step['requests']))
        if step['finished_at'] < step['started_at']:
            problems.append('%s.finished_at: %s is before started_at %s' % (where, step['finished_at'], step['started_at']))
        try:
            parsed = ab.parse(step['ab']['stdout'], step['ab']['stderr'], step['ab']['rc'])
        except ab.AbParseError as exc:
            problems.append('%s.ab: %s' % (where, exc))
            continue
        if parsed['finished'] and parsed['concurrency'] != step['concurrency']:
            problems.append('%s.ab.stdout: ab reports concurrency %d but the step says %d' % (
                where, parsed['concurrency'], step['concurrency']))


def _check_footprint(footprint, path, nodes, doc, problems):
    for index, sample in enumerate(footprint['samples']):
        _known(sample['node'], '%s.samples[%d].node' % (path, index), nodes, problems)


def validate(doc):
    """Check a decoded run document; returns it unchanged, or raises :class:`RunDocumentError`."""
    problems = []
    if isinstance(doc, dict) and doc.get('schema') == SCHEMA_NAME and doc.get('schema_version') != SCHEMA_VERSION:
        raise RunDocumentError(['schema_version: this collection reads version %d, got %s; produce the run with '
                                'the same picocloud.edge version that reports it' % (SCHEMA_VERSION, _show(doc.get('schema_version')))])
    RUN.check(doc, '', problems)
    if problems:
        raise RunDocumentError(problems)
    _cross_checks(doc, problems)
    if problems:
        raise RunDocumentError(problems)
    return doc


def loads(text):
    """Decode and validate a run document from JSON text."""
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise RunDocumentError(['not JSON: %s' % exc])
    return validate(doc)


def _refuse_constant(name):
    raise ValueError('%s is not a JSON number' % name)
