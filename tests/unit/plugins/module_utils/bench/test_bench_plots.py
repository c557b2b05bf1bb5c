# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bench plots read back (with Pillow, and with our own chunk reader) carry exactly the run's points."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json

import pytest

import runs

from PIL import Image

from ansible_collections.picocloud.edge.plugins.module_utils.bench import plots
from ansible_collections.picocloud.edge.plugins.module_utils.bench import stats


def rendered(doc):
    return dict((plot.name, plot) for plot in plots.render_all(doc, stats.run_stats(doc)))


@pytest.fixture(scope='module')
def default_plots():
    """The plots of the default run, rendered once for the tests that only read them."""
    return rendered(runs.run())


def pillow_series(plot):
    """The series counts as Pillow reads them from the PNG file's text chunk."""
    image = Image.open(io.BytesIO(plot.png))
    image.load()
    return json.loads(image.text[plots.METADATA_KEY])


def test_every_experiment_gets_its_plots_in_report_order(default_plots):
    assert list(default_plots) == [
        'storm_launch_times', 'storm_cdf', 'density', 'start_latency', 'serving', 'footprint']


def test_storm_plots_have_one_point_per_container_that_ran_per_node():
    doc = runs.run(seed=3, count=23, concurrency=4)
    doc['experiments']['storm']['samples'][5].update(ok=False, running_at=None, observed_at=None, node=None,
                                                     error='no suitable node')
    by_name = rendered(doc)
    samples = doc['experiments']['storm']['samples']
    expected = {}
    for sample in samples:
        if sample['ok']:
            expected[sample['node']] = expected.get(sample['node'], 0) + 1
    meta = pillow_series(by_name['storm_launch_times'])
    assert meta['series'] == expected and sum(meta['series'].values()) == 22
    assert meta['plot'] == 'storm_launch_times' and meta['run_id'] == doc['run_id'] and meta['schema_version'] == 1
    assert pillow_series(by_name['storm_cdf'])['series'] == {'your site': 22}
    assert 'paper mean, VM cluster (472 ms)' in meta['references']


def test_density_start_serving_and_footprint_counts_match_the_samples(run_doc, default_plots):
    by_name = default_plots
    experiments = run_doc['experiments']
    assert pillow_series(by_name['density'])['series'] == dict(
        (app['app'], len(app['samples'])) for app in experiments['density']['apps'])
    start = experiments['start_latency']
    assert pillow_series(by_name['start_latency'])['series'] == {
        'cold': sum(1 for c in start['containers'] if c['mode'] == 'cold'),
        'warm': sum(1 for c in start['containers'] if c['mode'] == 'warm'),
        'SSH ready': len(start['boots']), 'engine ready': len(start['boots'])}
    serving = pillow_series(by_name['serving'])['series']
    steps = experiments['serving']['steps']
    for variant in ('native', 'container'):
        assert serving['%s failures' % variant] == sum(1 for s in steps if s['variant'] == variant)
    # the container's 250 step timed out: it has a failure count but no latency or rate
    assert serving['container median'] == serving['container requests/s'] == 1
    assert serving['native median'] == serving['native p99'] == 2
    footprint = pillow_series(by_name['footprint'])['series']
    assert footprint == {'consul': 3, 'containerd': 3, 'dockerd': 3}


def test_our_chunk_reader_agrees_with_pillow(default_plots):
    for plot in default_plots.values():
        assert plots.read_metadata(plot.png) == pillow_series(plot)
        assert plots.read_metadata(plot.png)['series'] == plot.series


def test_plots_are_real_pngs_of_the_expected_size(default_plots):
    by_name = default_plots
    image = Image.open(io.BytesIO(by_name['storm_cdf'].png))
    assert image.format == 'PNG' and image.size == (800, 450)
    assert Image.open(io.BytesIO(by_name['serving'].png)).size == (1400, 450)


def test_rendering_is_deterministic(default_plots):
    first = dict((name, plot.png) for name, plot in default_plots.items())
    second = dict((name, plot.png) for name, plot in rendered(runs.run()).items())
    assert first == second


def test_a_different_run_draws_different_plots(default_plots):
    other = runs.run(seed=2, experiments={'storm': runs.storm(2)})
    assert default_plots['storm_cdf'].png != rendered(other)['storm_cdf'].png


def test_start_latency_without_boots_is_one_panel_of_container_starts():
    doc = runs.run(experiments={'start_latency': runs.start_latency(1)})
    doc['experiments']['start_latency']['boots'] = []
    plot = rendered(doc)['start_latency']
    assert plot.series == {'cold': 5, 'warm': 5}
    assert Image.open(io.BytesIO(plot.png)).size == (800, 450)


def test_read_metadata_refuses_other_files():
    with pytest.raises(plots.PlotError, match='not a PNG file'):
        plots.read_metadata(b'GIF89a')
    buffer = io.BytesIO()
    Image.new('RGB', (2, 2)).save(buffer, format='PNG')
    with pytest.raises(plots.PlotError, match='has no picocloud.bench metadata chunk'):
        plots.read_metadata(buffer.getvalue())


def test_without_matplotlib_the_plots_fail_with_the_install_hint(monkeypatch, run_doc):
    monkeypatch.setattr(plots, 'HAS_MATPLOTLIB', False)
    monkeypatch.setattr(plots, 'MATPLOTLIB_IMPORT_ERROR', "No module named 'matplotlib'")
    with pytest.raises(plots.PlotError, match=r"need matplotlib on the controller \(pip install -r requirements.txt\): "
                                              r"No module named 'matplotlib'"):
        plots.render_all(run_doc, stats.run_stats(run_doc))
