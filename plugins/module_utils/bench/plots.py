# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PNG plots of a bench run that mirror the seed papers' figures, each able to prove its point count.

Private to the picocloud.edge collection: no compatibility promise to other collections.

The plots are drawn with matplotlib's object API on the Agg canvas: no pyplot, no global backend
switch, no display. Each PNG carries a tEXt chunk ``picocloud.bench`` holding JSON::

    {"plot": "storm_launch_times", "run_id": "...", "schema_version": 1,
     "series": {"node1": 84, "node2": 83}, "references": ["paper mean: VM cluster"]}

``series`` is the number of points drawn per data series, so a test (or the lab bench) can read a
PNG back with :func:`read_metadata` and check that it plots exactly the samples of the run.
``references`` name the lines drawn from the papers' figures, which are not data series.
The rendering is deterministic: the same run gives the same bytes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import struct
import zlib

try:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    HAS_MATPLOTLIB = True
    MATPLOTLIB_IMPORT_ERROR = None
except ImportError as _exc:
    HAS_MATPLOTLIB = False
    MATPLOTLIB_IMPORT_ERROR = str(_exc)

from ansible_collections.picocloud.edge.plugins.module_utils.bench import papers
from ansible_collections.picocloud.edge.plugins.module_utils.bench import schema
from ansible_collections.picocloud.edge.plugins.module_utils.bench import stats as bench_stats

METADATA_KEY = 'picocloud.bench'
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
SIZE = (8.0, 4.5)
WIDE = (12.0, 4.5)
DPI = 100
VARIANT_COLORS = {'native': 'C0', 'container': 'C1'}
BOOT_METHODS = {'reboot': 'reboot', 'node-restart': 'node restart (lab)'}


class PlotError(RuntimeError):
    """matplotlib is missing, or a PNG cannot be read back."""


class Plot:
    """One rendered plot: its file name, title, points per series, reference lines and PNG bytes."""

    def __init__(self, name, title, series, references, png):
        self.name = name
        self.filename = name + '.png'
        self.title = title
        self.series = series
        self.references = references
        self.png = png


class _Canvas:
    """A figure being drawn; records the points of each series and the reference lines."""

    def __init__(self, name, doc, size=SIZE, panels=1):
        self.name = name
        self.doc = doc
        self.figure = Figure(figsize=size, dpi=DPI)
        FigureCanvasAgg(self.figure)
        self.axes = [self.figure.add_subplot(1, panels, index + 1) for index in range(panels)]
        self.series = {}
        self.references = []

    def points(self, label, count):
        self.series[label] = self.series.get(label, 0) + count

    def reference(self, label):
        self.references.append(label)

    def finish(self, title):
        self.figure.suptitle('%s\n%s, run %s' % (title, self.doc['site']['name'], self.doc['run_id']), fontsize=10)
        for axis in self.axes:
            axis.grid(True, alpha=0.3)
            if axis.get_legend_handles_labels()[0]:
                axis.legend(fontsize=7, loc='best')
        self.figure.tight_layout()
        meta = json.dumps({'plot': self.name, 'run_id': self.doc['run_id'], 'schema_version': schema.SCHEMA_VERSION,
                           'series': self.series, 'references': self.references}, sort_keys=True)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format='png', dpi=DPI, metadata={METADATA_KEY: meta})
        return Plot(self.name, title, dict(self.series), list(self.references), buffer.getvalue())


def _storm_references(axis, canvas, vertical):
    for row in papers.STORM['rows']:
        label = 'paper mean, %s (%s ms)' % (row['label'], '{:,}'.format(row['mean_ms']))
        if vertical:
            axis.axvline(row['mean_ms'], linestyle=':', linewidth=1, color='grey', label=label)
        else:
            axis.axhline(row['mean_ms'], linestyle=':', linewidth=1, color='grey', label=label)
        canvas.reference(label)


def storm_launch_times(doc, stats):
    """Launch time of every container against its request order, one series per node."""
    storm = doc['experiments']['storm']
    canvas = _Canvas('storm_launch_times', doc)
    axis = canvas.axes[0]
    by_node = {}
    for sample, launch in bench_stats.storm_launch_ms(storm):
        by_node.setdefault(sample['node'], ([], []))
        by_node[sample['node']][0].append(sample['index'] + 1)
        by_node[sample['node']][1].append(launch)
    for node in sorted(by_node):
        xs, ys = by_node[node]
        axis.scatter(xs, ys, s=10, label='%s (%d)' % (node, len(xs)))
        canvas.points(node, len(xs))
    _storm_references(axis, canvas, vertical=False)
    axis.set_xlabel('container, in request order')
    axis.set_ylabel('launch time, request to running (ms)')
    params = storm['parameters']
    return canvas.finish('Launch storm: %d containers, %d at a time (%d reached running)' % (
        params['count'], params['concurrency'], stats['ok']))


def storm_cdf(doc, stats):
    """Cumulative distribution of the launch times."""
    storm = doc['experiments']['storm']
    canvas = _Canvas('storm_cdf', doc)
    axis = canvas.axes[0]
    launches = sorted(launch for dummy, launch in bench_stats.storm_launch_ms(storm))
    fractions = [(index + 1) / float(len(launches)) for index in range(len(launches))]
    axis.step(launches, fractions, where='post', marker='.', markersize=3, label='your site (%d)' % len(launches))
    canvas.points('your site', len(launches))
    _storm_references(axis, canvas, vertical=True)
    axis.set_xlabel('launch time, request to running (ms)')
    axis.set_ylabel('fraction of containers launched')
    axis.set_ylim(0, 1.02)
    return canvas.finish('Launch storm: distribution of launch times')


def density(doc, stats):
    """Memory used against the number of containers, one series per app."""
    canvas = _Canvas('density', doc)
    axis = canvas.axes[0]
    for app in stats['apps']:
        xs = [count for count, dummy in app['curve']]
        ys = [used for dummy, used in app['curve']]
        axis.plot(xs, ys, marker='o', markersize=3, label='%s (%d)' % (app['app'], len(xs)))
        canvas.points(app['app'], len(xs))
    if stats['apps']:
        limit = stats['apps'][0]['mem_total_mb'] - stats['threshold_mb']
        label = 'used at the %s MB available threshold' % _num(stats['threshold_mb'])
        axis.axhline(limit, linestyle='--', linewidth=1, color='red', label=label)
        canvas.reference(label)
    axis.set_xlabel('containers deployed')
    axis.set_ylabel('memory used, MemTotal - MemAvailable (MB)')
    return canvas.finish('Density on %s: memory used against containers, per app' % stats['node'])


def start_latency(doc, stats):
    """Container start, cold and warm (ms), and boot to SSH-ready and engine-ready (s)."""
    start = doc['experiments']['start_latency']
    panels = 2 if start['boots'] else 1
    canvas = _Canvas('start_latency', doc, size=WIDE if panels == 2 else SIZE, panels=panels)
    axis = canvas.axes[0]
    modes = ('cold', 'warm')
    for position, mode in enumerate(modes):
        values = [(s['running_at'] - s['requested_at']) * 1000.0 for s in start['containers'] if s['mode'] == mode]
        if not values:
            continue
        xs = [position + ((index % 7) - 3) * 0.04 for index in range(len(values))]
        axis.scatter(xs, values, s=14, label='%s (%d)' % (mode, len(values)))
        canvas.points(mode, len(values))
    axis.set_xticks(range(len(modes)))
    axis.set_xticklabels(modes)
    axis.set_xlim(-0.5, len(modes) - 0.5)
    axis.set_ylabel('container start, request to running (ms)')
    axis.set_title('container start (%s)' % stats['image'], fontsize=9)
    if panels == 2:
        axis = canvas.axes[1]
        methods = sorted(set(BOOT_METHODS[b['method']] for b in stats['boots']))
        for position, (key, label) in enumerate((('ssh_s', 'SSH ready'), ('engine_s', 'engine ready'))):
            values = [b[key] for b in stats['boots']]
            xs = [position + ((index % 7) - 3) * 0.04 for index in range(len(values))]
            axis.scatter(xs, values, s=14, label='%s (%d)' % (label, len(values)))
            canvas.points(label, len(values))
        axis.set_xticks([0, 1])
        axis.set_xticklabels(['SSH ready', 'engine ready'])
        axis.set_xlim(-0.5, 1.5)
        axis.set_ylabel('seconds after the %s was requested' % ' / '.join(methods))
        axis.set_title('boot: %s' % ', '.join(methods), fontsize=9)
    return canvas.finish('Start latency')


def serving(doc, stats):
    """Latency (median, p99), requests per second and failures against concurrency, native and container."""
    canvas = _Canvas('serving', doc, size=(14.0, 4.5), panels=3)
    latency, rate, failed = canvas.axes
    for variant in ('native', 'container'):
        data = stats['variants'].get(variant)
        if not data:
            continue
        steps = data['steps']
        color = VARIANT_COLORS[variant]
        for key, style in (('median_ms', '-'), ('p99_ms', '--')):
            points = [(s['concurrency'], s[key]) for s in steps if s[key] is not None]
            label = '%s %s' % (variant, key[:-3])
            latency.plot([p[0] for p in points], [p[1] for p in points], style, color=color, marker='o', markersize=3,
                         label='%s (%d)' % (label, len(points)))
            canvas.points(label, len(points))
        points = [(s['concurrency'], s['requests_per_second']) for s in steps if s['requests_per_second'] is not None]
        label = '%s requests/s' % variant
        rate.plot([p[0] for p in points], [p[1] for p in points], color=color, marker='o', markersize=3,
                  label='%s (%d)' % (label, len(points)))
        canvas.points(label, len(points))
        label = '%s failures' % variant
        failed.plot([s['concurrency'] for s in steps], [s['failures'] for s in steps], color=color, marker='x',
                    label='%s (%d)' % (label, len(steps)))
        canvas.points(label, len(steps))
    for variant, value, label in (
            ('native', papers.SERVING['native_concurrency'], 'paper: Pi 1B served %d natively'),
            ('container', papers.SERVING['container_concurrency_at_most'], 'paper: Pi 1B, at most %d from Docker')):
        label = label % value
        failed.axvline(value, linestyle=':', color=VARIANT_COLORS[variant], label=label)
        canvas.reference(label)
    latency.set_ylabel('latency (ms, ab percentiles)')
    rate.set_ylabel('requests per second')
    failed.set_ylabel('failed requests (of %d)' % stats['requests'])
    for axis in canvas.axes:
        axis.set_xlabel('concurrent clients')
    return canvas.finish('Serving latency on %s (load from %s)' % (stats['node'], stats['generator']))


def footprint(doc, stats):
    """Resident memory of each platform daemon, stacked per node, with each node's budget."""
    canvas = _Canvas('footprint', doc)
    axis = canvas.axes[0]
    rows = stats['rows']
    names = [row['node'] for row in rows]
    left = [0.0] * len(rows)
    for daemon in stats['daemons']:
        widths = [row['daemons'].get(daemon, 0.0) for row in rows]
        axis.barh(names, widths, left=left, label='%s (%d)' % (daemon, sum(1 for row in rows if daemon in row['daemons'])))
        canvas.points(daemon, sum(1 for row in rows if daemon in row['daemons']))
        left = [a + b for a, b in zip(left, widths)]
    budgets = [(row['node'], row['budget_mb']) for row in rows if row['budget_mb'] is not None]
    if budgets:
        axis.scatter([b for dummy, b in budgets], [n for n, dummy in budgets], marker='|', s=900, linewidths=3,
                     color='red', zorder=3, label='budget')
        canvas.reference('budget')
    axis.set_xlabel('resident memory (MB)')
    axis.invert_yaxis()
    return canvas.finish('Footprint: platform daemons per node')


def _num(value):
    return ('%d' % value) if float(value).is_integer() else ('%.1f' % value)


RENDERERS = (
    ('storm', (storm_launch_times, storm_cdf)),
    ('density', (density,)),
    ('start_latency', (start_latency,)),
    ('serving', (serving,)),
    ('footprint', (footprint,)),
)


def render_all(doc, run_stats):
    """Every plot the run has data for, in report order."""
    if not HAS_MATPLOTLIB:
        raise PlotError('the bench plots need matplotlib on the controller (pip install -r requirements.txt): %s'
                        % MATPLOTLIB_IMPORT_ERROR)
    plots = []
    for experiment, renderers in RENDERERS:
        if experiment in run_stats:
            plots.extend(render(doc, run_stats[experiment]) for render in renderers)
    return plots


def read_metadata(png):
    """The ``picocloud.bench`` JSON of a PNG (bytes), read from its tEXt, zTXt or iTXt chunk."""
    if not png.startswith(PNG_SIGNATURE):
        raise PlotError('not a PNG file')
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(png):
        length, kind = struct.unpack('>I4s', png[offset:offset + 8])
        data = png[offset + 8:offset + 8 + length]
        offset += 12 + length
        if kind not in (b'tEXt', b'zTXt', b'iTXt'):
            if kind == b'IEND':
                break
            continue
        keyword, dummy, rest = data.partition(b'\x00')
        if keyword.decode('latin-1') != METADATA_KEY:
            continue
        if kind == b'tEXt':
            text = rest.decode('latin-1')
        elif kind == b'zTXt':
            text = zlib.decompress(rest[1:]).decode('latin-1')
        else:
            compressed = rest[0:1] == b'\x01'
            dummy, dummy2, rest = rest[2:].partition(b'\x00')
            dummy, dummy2, rest = rest.partition(b'\x00')
            text = (zlib.decompress(rest) if compressed else rest).decode('utf-8')
        return json.loads(text)
    raise PlotError('the PNG has no %s metadata chunk' % METADATA_KEY)
