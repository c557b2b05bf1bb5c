# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress lines for pi_flash, appended to a file that a user can ``tail -f``.

Private to the picocloud.edge collection: no compatibility promise to other collections.

One line per update, at most one per ``interval`` seconds plus a final line per phase::

    2026-11-22T10:00:01Z write 134217728/536870912 bytes 25.0% 95.3 MB/s ETA 4s

MB is 10^6 bytes, as in the module's ``mb_per_s`` return value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time


def format_eta(seconds):
    """12 -> '12s', 75 -> '1m15s', 3725 -> '1h02m05s', None -> '?'."""
    if seconds is None:
        return '?'
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return '%dh%02dm%02ds' % (hours, minutes, secs)
    if minutes:
        return '%dm%02ds' % (minutes, secs)
    return '%ds' % secs


def mb_per_s(done, elapsed):
    """Throughput in MB/s (10^6 bytes), rounded to 0.1; 0.0 for an instant."""
    if elapsed <= 0:
        return 0.0
    return round(done / elapsed / 1e6, 1)


def format_line(phase, done, total, elapsed, wall_time):
    """One progress line (see the module docstring); total may be None when unknown."""
    stamp = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(wall_time))
    rate = mb_per_s(done, elapsed)
    if total:
        percent = '%.1f%%' % (100.0 * done / total)
        eta = format_eta((total - done) / (done / elapsed)) if done and elapsed > 0 else '?'
        amount = '%d/%d bytes' % (done, total)
    else:
        percent, eta, amount = '?%', '?', '%d bytes' % done
    return '%s %s %s %s %.1f MB/s ETA %s' % (stamp, phase, amount, percent, rate, eta)


class Progress(object):
    """Appends progress lines to ``path``; with path None every call does nothing."""

    def __init__(self, path, interval=1.0, clock=time.monotonic, wall_clock=time.time):
        self.path = path
        self.interval = interval
        self.clock = clock
        self.wall_clock = wall_clock
        self.phase = None
        self.total = None
        self.started = None
        self.last = None

    def _append(self, line):
        if self.path:
            with open(self.path, 'a') as handle:
                handle.write(line + '\n')

    def note(self, text):
        """A free-form line (a step starting, a refusal, the result)."""
        stamp = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(self.wall_clock()))
        self._append('%s %s' % (stamp, text))

    def start(self, phase, total):
        self.phase, self.total = phase, total
        self.started = self.last = self.clock()

    def update(self, done, final=False):
        if not self.path or self.started is None:
            return
        now = self.clock()
        if final or now - self.last >= self.interval:
            self.last = now
            self._append(format_line(self.phase, done, self.total, now - self.started, self.wall_clock()))

    def finish(self, done):
        self.update(done, final=True)
