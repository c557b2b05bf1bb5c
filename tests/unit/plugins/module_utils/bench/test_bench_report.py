# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bench report: papers beside the run, and sentences made only of the run's and the papers' figures."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import runs

from ansible_collections.picocloud.edge.plugins.module_utils.bench import papers
from ansible_collections.picocloud.edge.plugins.module_utils.bench import report
from ansible_collections.picocloud.edge.plugins.module_utils.bench import stats

NUMBER_RE = re.compile(r'(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?x?(?!\w)')


def numbers_in(text):
    return set(NUMBER_RE.findall(text))


def leaves(value):
    """Every number anywhere in a nested structure (stats, papers, the run document)."""
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield value
    elif isinstance(value, (dict, list, tuple)):
        for item in (value.values() if isinstance(value, dict) else value):
            yield from leaves(item)


def allowed_figures(doc, run_stats):
    """Every way the report may write a figure of this run or of the papers, and the ratios it states:
    the storm's figures against Table 3's, warm against cold starts, container against native latency."""
    mine = list(leaves(run_stats)) + [v for v in leaves(doc['experiments']) if isinstance(v, int)]
    mine.append(len(run_stats.get('storm', {}).get('per_node', {})))
    theirs = list(papers.figures())
    texts = set()
    for value in mine + theirs:
        texts.update((report.num(value), report.count(value) if float(value).is_integer() else report.num(value)))
    storm = run_stats.get('storm')
    if storm and storm['ok']:
        for a in (storm['total_s'], storm['launch_ms']['mean'], storm['launch_ms']['max']):
            for row in papers.STORM['rows']:
                texts.update(report.ratio(a, row[key]) for key in ('total_s', 'mean_ms', 'max_ms'))
    modes = run_stats.get('start_latency', {}).get('modes', {})
    if 'cold' in modes and 'warm' in modes:
        texts.add(report.ratio(modes['warm']['p50'], modes['cold']['p50']))
    variants = run_stats.get('serving', {}).get('variants', {})
    medians = [s['median_ms'] for v in variants.values() for s in v['steps'] if s['median_ms']]
    texts.update(report.ratio(a, b) for a in medians for b in medians)
    return texts


def sentences_of(doc):
    return report.comparisons(stats.run_stats(doc))


def test_every_number_in_every_sentence_comes_from_the_run_or_the_papers():
    for doc in (runs.run(seed=1), runs.run(seed=7, count=250, concurrency=5), runs.run(seed=9, count=31, concurrency=3)):
        run_stats = stats.run_stats(doc)
        allowed = allowed_figures(doc, run_stats)
        for section, sentences in report.comparisons(run_stats).items():
            for sentence in sentences:
                stray = numbers_in(sentence) - allowed
                assert not stray, (section, sentence, stray)


def test_a_figure_that_is_in_neither_is_caught_by_the_check():
    doc = runs.run()
    allowed = allowed_figures(doc, stats.run_stats(doc))
    assert numbers_in('Your storm took 123,457 s, 9.9x the VM cluster.') - allowed == {'123,457', '9.9x'}


def test_two_runs_give_different_sentences_with_their_own_totals():
    first, second = runs.run(seed=1), runs.run(seed=2)
    first_stats, second_stats = stats.run_stats(first), stats.run_stats(second)
    first_sentences, second_sentences = report.comparisons(first_stats), report.comparisons(second_stats)
    assert first_sentences['storm'] != second_sentences['storm']
    assert report.num(first_stats['storm']['launch_ms']['mean']) in first_sentences['storm'][0]
    assert report.num(second_stats['storm']['launch_ms']['mean']) in second_sentences['storm'][0]
    assert first_sentences['density'] != second_sentences['density']


def test_same_size_storm_compares_totals_with_each_row_of_table_3():
    doc = runs.run(seed=4, count=250, concurrency=5)
    storm = stats.run_stats(doc)['storm']
    sentences = report.storm_sentences(storm)
    vm = [s for s in sentences if 'VM cluster' in s][0]
    figures = (report.num(storm['total_s']), report.ratio(storm['total_s'], 49), report.num(storm['launch_ms']['mean']),
               report.ratio(storm['launch_ms']['mean'], 472))
    assert vm == ("Your storm took %s s for 250 containers, %s the VM cluster's 49 s; your mean launch time of %s ms "
                  "is %s its 472 ms." % figures)
    assert len(sentences) == 4


def test_other_size_storm_says_the_total_does_not_compare():
    storm = stats.run_stats(runs.run(count=20, concurrency=5))['storm']
    sentences = report.storm_sentences(storm)
    assert all('so its' in s and 'total does not compare' in s for s in sentences)
    assert 'Your storm launched 20 containers 5 at a time, the Raspberry Pi cluster 250 at 5, so its 228 s total' \
        in sentences[0]


def test_failed_launches_get_their_own_sentence():
    doc = runs.run()
    doc['experiments']['storm']['samples'][0].update(ok=False, running_at=None, observed_at=None, node=None, error='x')
    sentences = report.storm_sentences(stats.run_stats(doc)['storm'])
    assert sentences[-1] == '1 of your 20 launch requests did not reach running; the figures above cover the 19 that did.'


def test_serving_sentences_follow_the_steps():
    sentences = report.serving_sentences(stats.run_stats(runs.run())['serving'])
    assert sentences[0] == ("Natively your node served every step up to 250 concurrent clients without a failure; "
                            "the paper's Pi 1B served 250 natively.")
    assert sentences[1] == ("In a container your node served every step up to 50 concurrent clients without a failure, "
                            "then had 1,000 failures of 1,000 requests at 250; the paper's Pi 1B served no more than 30 "
                            "from Docker.")
    serving = runs.serving(captures={('container', 10): 'reset_continue_r', ('native', 10): 'page_c10_n200_keepalive'},
                           requests=200, concurrency=(10,))
    sentences = report.serving_sentences(stats.serving_stats(serving))
    assert sentences[1].startswith('In a container your node failed from the first step, 10 concurrent clients '
                                   '(120 failures of 200 requests)')


def test_footprint_sentences_name_the_daemons_over_budget():
    sentences = report.footprint_sentences(stats.run_stats(runs.run())['footprint'])
    assert sentences == [
        '`node1` (manager) runs its platform daemons in 170 MB; no budget is set for a manager.',
        '`node2` (worker) runs its platform daemons in 145 MB, within its 150 MB budget.',
        '`node3` (worker) uses 185 MB, 35 MB over its 150 MB budget; `dockerd` (80 MB) alone holds more than the excess.',
    ]


def test_report_puts_paper_rows_beside_the_site_and_links_the_plots(run_doc):
    from ansible_collections.picocloud.edge.plugins.module_utils.bench import plots
    run_stats = stats.run_stats(run_doc)
    text = report.build(run_doc, run_stats, plots.render_all(run_doc, run_stats))
    storm_table = text.split('## Launch storm')[1].split('\n- ')[0]
    assert '| VM cluster (paper) | 250 | 5 | 49 | 472 | - | - | - | 1,553 | - |' in storm_table
    assert '| your site | 20 | 5 | %s |' % report.num(run_stats['storm']['total_s']) in storm_table
    for name in ('storm_launch_times', 'storm_cdf', 'density', 'start_latency', 'serving', 'footprint'):
        assert '](%s.png)' % name in text
    for sentence in sum(report.comparisons(run_stats).values(), []):
        assert '- ' + sentence in text
    assert papers.STORM['source'] in text and papers.DENSITY['source'] in text
    assert 'A lab\'s nodes are containers on one machine' in text


def test_absent_experiments_say_not_run():
    doc = runs.run(experiments={'footprint': runs.footprint()})
    text = report.build(doc, stats.run_stats(doc), [])
    assert '## Launch storm\n\nNot run.' in text and '## Serving latency\n\nNot run.' in text
    assert 'Your storm' not in text


def test_free_text_is_escaped_for_markdown():
    assert report.md('a|b *c* [d](e) <f>') == 'a\\|b \\*c\\* \\[d\\](e) \\<f\\>'


def test_number_formats():
    assert [report.num(v) for v in (0, 0.523, 1.0, 9.999, 61.04, 61.0, 472, 2137.4, None)] == [
        '0', '0.52', '1', '10', '61', '61', '472', '2,137', '-']
    assert [report.ratio(a, b) for a, b in ((61, 49), (21.4, 228), (4900, 49), (472, 472))] == [
        '1.2x', '0.094x', '100x', '1x']


def test_a_storm_where_nothing_ran_is_reported_without_times():
    from ansible_collections.picocloud.edge.plugins.module_utils.bench import plots
    doc = runs.run(experiments={'storm': runs.storm(1, count=3, concurrency=1)})
    for sample in doc['experiments']['storm']['samples']:
        sample.update(ok=False, running_at=None, observed_at=None, node=None, error='no suitable node (1/3 available)')
    run_stats = stats.run_stats(doc)
    rendered = plots.render_all(doc, run_stats)
    assert [(p.name, p.series) for p in rendered] == [('storm_launch_times', {}), ('storm_cdf', {'your site': 0})]
    text = report.build(doc, run_stats, rendered)
    assert 'None of your 3 containers reached running, so nothing compares with the VM cluster.' in text
    assert '3 of your 3 launch requests did not reach running' in text
    assert 'Runner overhead' not in text
