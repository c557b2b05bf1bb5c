# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark for pi_image (issue 4): prints the three ratios the issue asks for.

1. t(in-place customisation of an 8 GiB sparse image) / t(same on a 1 GiB image)   goal <= 1.5
2. t(cp of the same 8 GiB image) / t(in-place customisation of it)                 goal >= 50
   cp is measured as a full copy (``cp --sparse=never`` then ``sync``: what copying a card image
   that is not sparse costs); the sparse-aware default ``cp`` is printed too, for reference.
3. throughput of pi_image's .xz -> dest streaming / throughput of ``xz -dc in > file``  goal >= 0.9

Run from the collection root (or anywhere) with PYTHONPATH pointing at the directory that holds
ansible_collections/, and PICOCLOUD_RASPI_FIRMWARE at the raspi-firmware files:
    PYTHONPATH=/path/to/collections python benchmarks/bench_pi_image.py [--workdir DIR]
It needs about 10 GiB of free disk space in the work directory for the cp measurement.
"""

from __future__ import absolute_import, division, print_function

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'unit', 'plugins', 'module_utils', 'image'))

import fixtures  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.picocloud.edge.plugins.module_utils.image import customize  # noqa: E402
from ansible_collections.picocloud.edge.plugins.module_utils.image import source  # noqa: E402

GIB = 1024 ** 3
RUNS = 5


def options(src, hostname):
    return {
        'src': src, 'dest': None, 'checksum': None, 'force': False, 'flavor': 'auto', 'hostname': hostname,
        'user': {'name': 'admin', 'password': None, 'password_hash': '$6$rounds=5000$abcdefgh$' + 'A' * 86,
                 'ssh_authorized_keys': ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0wmN admin@ops'], 'sudo': True,
                 'groups': None},
        'ssh': {'enabled': True, 'password_authentication': False},
        'wifi': {'ssid': 'lab', 'password': 'wifi-passphrase', 'country': 'DE', 'hidden': False},
        'network': {'interface': 'eth0', 'address': '192.168.10.11/24', 'gateway': '192.168.10.1', 'dns': []},
        'timezone': 'Europe/Berlin', 'keymap': 'de', 'locale': 'en_GB.UTF-8', 'cmdline': None, 'cgroups': True,
        'config_txt': {'all': {'arm_64bit': 1}}, 'user_data': None, 'files': None,
    }


def time_customise(path):
    """Median time of RUNS real in-place customisations (each changes the hostname, so each writes)."""
    times = []
    for run in range(RUNS):
        start = time.perf_counter()
        result = customize.run(options(path, 'node%d' % run), check_mode=False)
        times.append(time.perf_counter() - start)
        assert result['changed']
    return statistics.median(times)


def timed(argv, **kwargs):
    start = time.perf_counter()
    subprocess.run(argv, check=True, **kwargs)
    return time.perf_counter() - start


def make_xz_input(workdir):
    """A 1 GiB Pi OS-like image whose root partition holds ~400 MiB of real, compressible data, as .xz."""
    raw = fixtures.build_image(os.path.join(workdir, 'xz-source.img'), 'rpios-firstrun')
    corpus = b''.join(open(os.path.join(d, f), 'rb').read()
                      for d in ('/usr/bin', '/usr/lib/x86_64-linux-gnu') if os.path.isdir(d)
                      for f in sorted(os.listdir(d))[:400] if os.path.isfile(os.path.join(d, f)))[:64 * 1024 * 1024]
    with open(raw, 'r+b') as handle:
        handle.seek(fixtures.BOOT_START + fixtures.BOOT_SIZE + 64 * 1024 * 1024)
        for dummy in range(6):
            handle.write(corpus)
    subprocess.run(['xz', '-T0', '-3', '-k', '-f', raw], check=True)
    return raw + '.xz'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--workdir', help='where the images go (default: a temporary directory)')
    args = parser.parse_args()
    if fixtures.missing_tools() or fixtures.firmware_dir() is None:
        sys.exit('needs %s and PICOCLOUD_RASPI_FIRMWARE' % ', '.join(fixtures.TOOLS))
    workdir = tempfile.mkdtemp(prefix='bench-pi-image-', dir=args.workdir)
    try:
        small = fixtures.build_image(os.path.join(workdir, 'one.img'), 'rpios-firstrun', size=GIB)
        big = fixtures.build_image(os.path.join(workdir, 'eight.img'), 'rpios-firstrun', size=8 * GIB)
        t_small, t_big = time_customise(small), time_customise(big)
        print('in-place customisation: 1 GiB %.3f s, 8 GiB %.3f s (median of %d)' % (t_small, t_big, RUNS))

        copy = os.path.join(workdir, 'copy.img')
        t_cp_sparse = timed(['cp', big, copy])
        os.unlink(copy)
        t_cp = timed(['cp', '--sparse=never', big, copy]) + timed(['sync', copy])
        os.unlink(copy)
        print('cp of the 8 GiB image: %.2f s full copy (--sparse=never + sync), %.3f s sparse-aware default'
              % (t_cp, t_cp_sparse))

        xz_src = make_xz_input(workdir)
        out = os.path.join(workdir, 'xz-out.img')
        t_xz_runs, t_ours_runs = [], []
        for dummy in range(3):  # alternate the two, median of 3: the machine may be shared
            with open(out, 'wb') as handle:
                t_xz_runs.append(timed(['xz', '-dc', xz_src], stdout=handle))
            os.unlink(out)
            start = time.perf_counter()
            size = source.decompress_to(xz_src, out)
            t_ours_runs.append(time.perf_counter() - start)
            os.unlink(out)
        t_xz, t_ours = statistics.median(t_xz_runs), statistics.median(t_ours_runs)
        start = time.perf_counter()
        with source.open_image(xz_src, prefer_subprocess=True) as reader:
            source.copy_sparse(reader, out)
        t_pipe = time.perf_counter() - start
        os.unlink(out)
        print('xz -> file (median of 3): xz -dc %.2f s, pi_image (lzma) %.2f s; xz -dc pipe alternative %.2f s; '
              '%d bytes' % (t_xz, t_ours, t_pipe, size))

        print('RATIO 1  t(8 GiB)/t(1 GiB) in-place customisation = %.2f  (goal <= 1.5)' % (t_big / t_small))
        print('RATIO 2  t(cp 8 GiB)/t(customise 8 GiB)            = %.0f  (goal >= 50; sparse-aware cp: %.1f)'
              % (t_cp / t_big, t_cp_sparse / t_big))
        print('RATIO 3  xz throughput pi_image / xz -dc > file   = %.2f  (goal >= 0.9)' % (t_xz / t_ours))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
