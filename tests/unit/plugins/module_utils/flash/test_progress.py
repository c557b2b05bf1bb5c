# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress lines of pi_flash: format, throttling, and the no-file case."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.picocloud.edge.plugins.module_utils.flash import progress


def test_format_eta():
    assert [progress.format_eta(s) for s in (None, 12, 75, 3725)] == ['?', '12s', '1m15s', '1h02m05s']


def test_format_line_with_and_without_total():
    assert progress.format_line('write', 25 * 10 ** 6, 100 * 10 ** 6, 2.0, 0) == \
        '1970-01-01T00:00:00Z write 25000000/100000000 bytes 25.0% 12.5 MB/s ETA 6s'
    assert progress.format_line('scan', 5, None, 0, 0) == '1970-01-01T00:00:00Z scan 5 bytes ?% 0.0 MB/s ETA ?'


def test_progress_throttles_to_one_line_per_interval_plus_final(tmp_path):
    now = [0.0]
    path = str(tmp_path / 'p.log')
    meter = progress.Progress(path, interval=1.0, clock=lambda: now[0], wall_clock=lambda: 0)
    meter.start('write', 100)
    for done in range(1, 101):
        now[0] = done / 10.0
        meter.update(done)
    meter.finish(100)
    lines = open(path).read().splitlines()
    assert len(lines) == 11
    assert lines[-1].endswith('write 100/100 bytes 100.0% 0.0 MB/s ETA 0s')


def test_progress_without_file_writes_nothing(tmp_path):
    meter = progress.Progress(None)
    meter.start('write', 10)
    meter.update(5)
    meter.finish(10)
    meter.note('x')
    assert list(tmp_path.iterdir()) == []
