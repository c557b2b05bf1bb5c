# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The markdown bench report: the papers' rows beside the site's, row by row, one sentence per comparison.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Every figure in a sentence is either a statistic of the run (stats.py, from the run document's
samples and parameters), a published figure (papers.py), or a ratio of the two. Nothing else is
ever written: where the papers have no figure, the report says so instead of inventing one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.picocloud.edge.plugins.module_utils.bench import papers

MD_SPECIAL = re.compile(r'([\\`*_\[\]<>|#])')
STOP_REASONS = {
    'threshold': 'available memory fell below {threshold} MB',
    'count': 'it reached the count bound of {max_count}',
    'time': 'it reached the time bound of {max_seconds} s',
    'error': 'a deployment failed',
}
TITLES = {'storm': 'Launch storm', 'density': 'Density', 'start_latency': 'Start latency',
          'serving': 'Serving latency', 'footprint': 'Footprint'}
BOOT_METHODS = {'reboot': 'a reboot', 'node-restart': 'a node restart (lab: the container restarts, the kernel does not)'}


def md(text):
    """Free text (a board model, an image, an error) escaped for markdown."""
    return MD_SPECIAL.sub(r'\\\1', str(text))


def code(name):
    """A name from the run (node, app, site): schema-restricted to letters, digits and . _ -."""
    return '`%s`' % name


def num(value):
    """A measured value: ',' thousands from 100 up, one decimal from 10, two below; trailing zeros dropped."""
    if value is None:
        return '-'
    if abs(value) >= 100:
        return '{:,.0f}'.format(value)
    text = ('%.1f' % value) if abs(value) >= 10 else ('%.2f' % value)
    text = text.rstrip('0').rstrip('.') if '.' in text else text
    return '0' if text in ('-0', '') else text


def count(value):
    """A count: thousands separated."""
    return '-' if value is None else '{:,}'.format(int(value))


def ratio(mine, theirs):
    """mine / theirs with two significant digits (three from 10 up), e.g. '1.2x', '0.52x', '12x'."""
    value = float(mine) / float(theirs)
    text = ('%.0f' % value) if value >= 10 else ('%.2g' % value)
    return text + 'x'


def utc(epoch):
    return time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(epoch))


def _table(header, rows):
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join(' --- ' for dummy in header) + '|']
    lines.extend('| ' + ' | '.join(row) + ' |' for row in rows)
    return lines


# --- sentences -------------------------------------------------------------------------------------

def storm_sentences(storm):
    """One sentence per row of the paper's Table 3, plus one on failures when there were any."""
    paper = papers.STORM
    launch = storm['launch_ms']
    sentences = []
    same_size = storm['count'] == paper['containers'] and storm['concurrency'] == paper['concurrency']
    for row in paper['rows']:
        if not storm['ok']:
            sentences.append('None of your %s containers reached running, so nothing compares with the %s.' % (
                count(storm['count']), row['label']))
        elif same_size:
            sentences.append(
                'Your storm took %s s for %s containers, %s the %s\'s %s s; your mean launch time of %s ms is %s its %s ms.' % (
                    num(storm['total_s']), count(storm['count']), ratio(storm['total_s'], row['total_s']), row['label'],
                    count(row['total_s']), num(launch['mean']), ratio(launch['mean'], row['mean_ms']), count(row['mean_ms'])))
        else:
            sentences.append(
                'Your storm launched %s containers %s at a time, the %s %s at %s, so its %s s total does not compare; '
                'your mean launch time of %s ms is %s its %s ms, and your max of %s ms is %s its %s ms.' % (
                    count(storm['count']), count(storm['concurrency']), row['label'], count(paper['containers']),
                    count(paper['concurrency']), count(row['total_s']), num(launch['mean']),
                    ratio(launch['mean'], row['mean_ms']), count(row['mean_ms']), num(launch['max']),
                    ratio(launch['max'], row['max_ms']), count(row['max_ms'])))
    if storm['failed']:
        sentences.append('%s of your %s launch requests did not reach running; the figures above cover the %s that did.' % (
            count(storm['failed']), count(storm['count']), count(storm['ok'])))
    return sentences


def spread_sentence(storm):
    nodes = storm['per_node']
    if not nodes:
        return None
    ordered = sorted(nodes.items(), key=lambda item: (item[1]['count'], item[0]))
    (low, low_stats), (high, high_stats) = ordered[0], ordered[-1]
    if len(nodes) == 1:
        return 'All %s containers ran on %s, with a mean launch time of %s ms.' % (
            count(low_stats['count']), code(low), num(low_stats['mean_ms']))
    return ('The containers ran on %s nodes, from %s on %s (mean %s ms) to %s on %s (mean %s ms).' % (
        count(len(nodes)), count(low_stats['count']), code(low), num(low_stats['mean_ms']),
        count(high_stats['count']), code(high), num(high_stats['mean_ms'])))


def density_sentences(density):
    paper = papers.DENSITY
    low, high = paper['apps'][0], paper['apps'][-1]
    sentences = []
    for app in density['apps']:
        reason = STOP_REASONS[app['stop_reason']].format(
            threshold=num(density['threshold_mb']), max_count=count(density['max_count']),
            max_seconds=num(density['max_seconds']))
        sentences.append(
            'Your node %s held %s %s containers, from %s MB available at the start, until %s, about %s MB each; '
            'the paper\'s %s MB Pi 1B held %s (%s) to %s (%s) from about %s MB free.' % (
                code(density['node']), count(app['containers']), code(app['app']), num(app['baseline_available_mb']),
                reason, num(app['mb_per_container']), count(paper['board_memory_mb']), count(low['containers']),
                low['app'], count(high['containers']), high['app'], count(paper['free_mb_about'])))
    return sentences


def start_sentences(start):
    sentences = []
    modes = start['modes']
    if 'cold' in modes and 'warm' in modes:
        sentences.append('Warm starts took a median of %s ms, %s the cold median of %s ms.' % (
            num(modes['warm']['p50']), ratio(modes['warm']['p50'], modes['cold']['p50']), num(modes['cold']['p50'])))
    else:
        for mode, values in sorted(modes.items()):
            sentences.append('%s starts took a median of %s ms over %s starts.' % (
                mode.capitalize(), num(values['p50']), count(values['count'])))
    for boot in start['boots']:
        sentences.append('After %s, %s answered SSH in %s s and its container engine in %s s.' % (
            BOOT_METHODS[boot['method']], code(boot['node']), num(boot['ssh_s']), num(boot['engine_s'])))
    return sentences


def serving_sentences(serving):
    paper = papers.SERVING
    theirs = {
        'native': 'the paper\'s Pi 1B served %s natively' % count(paper['native_concurrency']),
        'container': 'the paper\'s Pi 1B served no more than %s from Docker' % count(paper['container_concurrency_at_most']),
    }
    where = {'native': 'Natively', 'container': 'In a container'}
    sentences = []
    for variant in ('native', 'container'):
        data = serving['variants'].get(variant)
        if not data:
            continue
        failed = data['first_failed']
        if data['max_clean_concurrency'] is None:
            text = '%s your node failed from the first step, %s concurrent clients (%s failures of %s requests)' % (
                where[variant], count(failed['concurrency']), count(failed['failures']), count(failed['requests']))
        else:
            text = '%s your node served every step up to %s concurrent clients without a failure' % (
                where[variant], count(data['max_clean_concurrency']))
            if failed:
                text += ', then had %s failures of %s requests at %s' % (
                    count(failed['failures']), count(failed['requests']), count(failed['concurrency']))
        sentences.append('%s; %s.' % (text, theirs[variant]))
    native, container = serving['variants'].get('native'), serving['variants'].get('container')
    if native and container:
        native_steps = dict((s['concurrency'], s) for s in native['steps'] if not s['failures'] and s['median_ms'])
        shared = [s for s in container['steps'] if s['concurrency'] in native_steps and not s['failures'] and s['median_ms']]
        if shared:
            step = shared[-1]
            base = native_steps[step['concurrency']]
            sentences.append('At %s concurrent clients the container\'s median latency of %s ms was %s the native %s ms.' % (
                count(step['concurrency']), num(step['median_ms']), ratio(step['median_ms'], base['median_ms']),
                num(base['median_ms'])))
    return sentences


def footprint_sentences(footprint):
    sentences = []
    for row in footprint['rows']:
        if row['budget_mb'] is None:
            sentences.append('%s (%s) runs its platform daemons in %s MB; no budget is set for a %s.' % (
                code(row['node']), row['role'], num(row['total_mb']), row['role']))
        elif row['over_mb'] is None:
            sentences.append('%s (%s) runs its platform daemons in %s MB, within its %s MB budget.' % (
                code(row['node']), row['role'], num(row['total_mb']), num(row['budget_mb'])))
        else:
            named = ' and '.join('%s (%s MB)' % (code(d), num(row['daemons'][d])) for d in row['trim'])
            sentences.append('%s (%s) uses %s MB, %s MB over its %s MB budget; %s %s more than the excess.' % (
                code(row['node']), row['role'], num(row['total_mb']), num(row['over_mb']), num(row['budget_mb']),
                named, 'alone holds' if len(row['trim']) == 1 else 'together hold'))
    return sentences


def comparisons(stats):
    """Every generated sentence, by experiment (the report's prose, and what the tests check)."""
    builders = (('storm', storm_sentences), ('density', density_sentences), ('start_latency', start_sentences),
                ('serving', serving_sentences), ('footprint', footprint_sentences))
    result = dict((name, build(stats[name])) for name, build in builders if name in stats)
    if 'storm' in stats:
        spread = spread_sentence(stats['storm'])
        if spread:
            result['storm'].append(spread)
    return result


# --- sections --------------------------------------------------------------------------------------

def _header(doc):
    site = doc['site']
    lines = ['# Bench report: site %s, run %s' % (code(site['name']), code(doc['run_id'])), '']
    lines.append('Measured from %s to %s on a %s site orchestrated by %s.' % (
        utc(doc['started_at']), utc(doc['finished_at']), site['kind'], site['orchestrator']))
    if site['kind'] == 'lab':
        lines.extend(['', 'A lab\'s nodes are containers on one machine: its figures describe that machine, not '
                      'Raspberry Pi boards.'])
    lines.append('')
    lines.append('Versions: %s.' % ', '.join('%s %s' % (md(k), md(v)) for k, v in sorted(doc['versions'].items())))
    lines.extend(['', '## Nodes', ''])
    rows = []
    for name in sorted(doc['nodes']):
        node = doc['nodes'][name]
        board = node['board']
        label = board.get('type') or board.get('model') or ('Raspberry Pi' if board['is_raspberry_pi'] else 'not a Raspberry Pi')
        rows.append([code(name), node['role'], md(label), count(board.get('memory_mb')), count(node.get('memtotal_mb')),
                     md(node['arch']['machine'])])
    lines.extend(_table(['node', 'role', 'board', 'board memory (MB)', 'MemTotal (MB)', 'arch'], rows))
    return lines


def _bullets(sentences):
    return ['- ' + sentence for sentence in sentences]


def _images(plots, names):
    lines = []
    for name in names:
        plot = plots.get(name)
        if plot is not None:
            lines.extend(['', '![%s](%s)' % (md(plot.title), plot.filename)])
    return lines


def _storm_section(stats, sentences, plots):
    paper = papers.STORM
    lines = ['## ' + TITLES['storm'], '',
             'Containers launched on the swarm, a fixed number at a time; each launch runs from the request to the '
             'running state the orchestrator reports. Paper: %s.' % paper['source'], '']
    rows = []
    for row in paper['rows']:
        rows.append(['%s (paper)' % row['label'], count(paper['containers']), count(paper['concurrency']),
                     count(row['total_s']), count(row['mean_ms']), '-', '-', '-', count(row['max_ms']), '-'])
    launch = stats['launch_ms']
    rows.append(['your site', count(stats['count']), count(stats['concurrency']), num(stats['total_s']),
                 num(launch['mean']), num(launch['p50']), num(launch['p95']), num(launch['p99']), num(launch['max']),
                 count(stats['failed'])])
    lines.extend(_table(['', 'containers', 'at a time', 'total (s)', 'mean (ms)', 'p50 (ms)', 'p95 (ms)', 'p99 (ms)',
                         'max (ms)', 'failed'], rows))
    lines.extend([''] + _bullets(sentences) + ['', 'Per node:', ''])
    lines.extend(_table(['node', 'containers', 'mean (ms)', 'max (ms)'],
                        [[code(node), count(s['count']), num(s['mean_ms']), num(s['max_ms'])]
                         for node, s in sorted(stats['per_node'].items())]))
    if stats['observe_lag_ms']['count']:
        lag, gap = stats['observe_lag_ms'], stats['refill_gap_ms']
        lines.extend(['', 'Runner overhead: the runner saw a container running a median of %s ms after the '
                      'orchestrator reported it (p95 %s ms); a worker slot waited a median of %s ms between seeing one '
                      'container run and requesting the next. Together that is %s%% of the worker slots\' time. The '
                      'runner\'s clock and the orchestrator\'s agree to within %s ms.' % (
                          num(lag['p50']), num(lag['p95']), num(gap['p50']), num(100.0 * stats['runner_overhead_fraction']),
                          num(stats['clock_offset_uncertainty_ms']))])
    lines.extend(_images(plots, ('storm_launch_times', 'storm_cdf')))
    return lines


def _density_section(stats, sentences, plots):
    paper = papers.DENSITY
    lines = ['## ' + TITLES['density'], '',
             'Containers of one app deployed one at a time on %s until available memory fell below %s MB, or a '
             'count (%s) or time (%s s) bound. Paper: %s.' % (
                 code(stats['node']), num(stats['threshold_mb']), count(stats['max_count']), num(stats['max_seconds']),
                 paper['source']), '']
    rows = [['%s (paper, %s MB Pi 1B)' % (app['app'], count(paper['board_memory_mb'])), count(app['containers']),
             'about %s' % count(paper['free_mb_about']), '-', '-'] for app in paper['apps']]
    rows.extend([code(app['app']), count(app['containers']), num(app['baseline_available_mb']),
                 num(app['mb_per_container']), app['stop_reason']] for app in stats['apps'])
    lines.extend(_table(['app', 'containers', 'available at start (MB)', 'MB per container', 'stopped by'], rows))
    lines.extend([''] + _bullets(sentences))
    lines.extend(_images(plots, ('density',)))
    return lines


def _start_section(stats, sentences, plots):
    lines = ['## ' + TITLES['start_latency'], '',
             'Container start for a pre-pulled image (%s), cold and warm, and boot to SSH-ready and engine-ready. '
             'The paper\'s figure (%s) is not tabulated here: this section shows your figures only.' % (
                 md(stats['image']), papers.START_LATENCY['source']), '']
    lines.extend(_table(['start', 'count', 'median (ms)', 'p95 (ms)', 'max (ms)'],
                        [[mode, count(s['count']), num(s['p50']), num(s['p95']), num(s['max'])]
                         for mode, s in sorted(stats['modes'].items())]))
    if stats['boots']:
        lines.append('')
        lines.extend(_table(['node', 'timed through', 'SSH ready (s)', 'engine ready (s)'],
                            [[code(b['node']), b['method'], num(b['ssh_s']), num(b['engine_s'])] for b in stats['boots']]))
    lines.extend([''] + _bullets(sentences))
    lines.extend(_images(plots, ('start_latency',)))
    return lines


def _serving_section(stats, sentences, plots):
    paper = papers.SERVING
    lines = ['## ' + TITLES['serving'], '',
             'ab load from %s against %s, natively and in a container, %s requests a step. Latency percentiles are '
             'ab\'s own. Paper: %s.' % (code(stats['generator']), code(stats['node']), count(stats['requests']),
                                        paper['source']), '']
    rows = [['Pi 1B native (paper)', count(paper['native_concurrency']), '-', '-', '-', '-', '-', '-'],
            ['Pi 1B Docker (paper)', 'at most %s' % count(paper['container_concurrency_at_most']), '-', '-', '-', '-',
             '-', '-']]
    for variant in ('native', 'container'):
        for step in stats['variants'].get(variant, {}).get('steps', []):
            rows.append([variant, count(step['concurrency']), count(step['complete']), count(step['failures']),
                         num(step['requests_per_second']), num(step['median_ms']), num(step['p95_ms']),
                         num(step['p99_ms'])])
    lines.extend(_table(['', 'concurrent clients', 'completed', 'failures', 'requests/s', 'median (ms)', 'p95 (ms)',
                         'p99 (ms)'], rows))
    errors = [(variant, step) for variant in ('native', 'container')
              for step in stats['variants'].get(variant, {}).get('steps', []) if step['error']]
    if errors:
        lines.extend(['', 'ab stopped early:', ''])
        lines.extend('- %s at %s: %s' % (variant, count(step['concurrency']), md(step['error'])) for variant, step in errors)
    lines.extend([''] + _bullets(sentences))
    lines.extend(_images(plots, ('serving',)))
    return lines


def _footprint_section(stats, sentences, plots):
    lines = ['## ' + TITLES['footprint'], '',
             'Resident memory (the largest sample) of each platform daemon on each node, against the budget for the '
             'node\'s role. Over budget, the daemons named are the fewest, largest first, that together hold at least '
             'the excess.', '']
    daemons = stats['daemons']
    rows = []
    for row in stats['rows']:
        verdict = 'no budget' if row['budget_mb'] is None else (
            'within' if row['over_mb'] is None else 'over by %s: %s' % (num(row['over_mb']), ', '.join(row['trim'])))
        rows.append([code(row['node']), row['role']] + [num(row['daemons'].get(d)) for d in daemons]
                    + [num(row['total_mb']), num(row['budget_mb']), verdict])
    lines.extend(_table(['node', 'role'] + [code(d) for d in daemons] + ['total (MB)', 'budget (MB)', 'verdict'], rows))
    lines.extend([''] + _bullets(sentences))
    lines.extend(_images(plots, ('footprint',)))
    return lines


SECTIONS = (('storm', _storm_section), ('density', _density_section), ('start_latency', _start_section),
            ('serving', _serving_section), ('footprint', _footprint_section))


def build(doc, stats, plots):
    """The report as markdown text; ``plots`` are plots.Plot objects (linked by file name)."""
    by_name = dict((plot.name, plot) for plot in plots)
    sentences = comparisons(stats)
    lines = _header(doc)
    for name, section in SECTIONS:
        lines.append('')
        if name in stats:
            lines.extend(section(stats[name], sentences[name], by_name))
        else:
            lines.extend(['## %s' % TITLES[name], '', 'Not run.'])
    lines.extend(['', '## Sources', ''])
    sources = (papers.STORM['source'], papers.DENSITY['source'], papers.SERVING['source'], papers.START_LATENCY['source'])
    lines.extend('- %s' % source for source in sources)
    lines.append('')
    return '\n'.join(lines)
