# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark pi_flash against dd on a loop-backed target (the three ratios of issue #5).

Run as root (it needs losetup and /proc/sys/vm/drop_caches), from anywhere:

    sudo python3 benchmarks/bench_pi_flash.py [--size-mib 512] [--runs 5] [--dir /var/tmp] [--sweep]

How it measures:
- The image is SIZE MiB of random bytes (incompressible, a worst case for nothing) behind a valid MBR,
  written into --dir; the target is a loop device over a file in the same directory, attached with
  ``losetup --direct-io=on`` so that neither side is served from the backing file's page cache.
- Before every timed run: ``sync`` and ``echo 3 > /proc/sys/vm/drop_caches``; then, by default, the image
  is read once into the page cache ("image warm"), for dd and pi_flash alike. That models the real case,
  where the image sits on the laptop's fast disk (or was just written by pi_image) and the card is the
  slow side; on this one-disk machine a cold image would otherwise compete with the target for the same
  disk. ``--cold`` skips the warm-up, so every run also reads the image from disk. The target never
  comes from a cache (direct-io loop, O_DIRECT reads).
- dd:            ``dd if=raw of=LOOP bs=4M conv=fsync``
- full read:     ``dd if=LOOP of=/dev/null bs=4M iflag=direct count=SIZE/4M``
- pi_flash runs call the collection's module_utils in-process (``flow.flash``), the same code path as the
  module minus Ansible's ~0.3 s process start-up: write only (verify=false, skip_identical=false),
  write+verify (skip_identical=false), and skip_identical on an identical card (verify=false).
- Each figure is the median of --runs runs; the kinds of runs are interleaved.

Printed ratios (issue #5 goals): write throughput vs dd (>= 0.9), write+verify time / dd time (<= 2.2),
skip_identical time / one full read (<= 1.2). --sweep also times write+verify for several block sizes.
"""

from __future__ import absolute_import, division, print_function

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def collection_on_path():
    """Make ansible_collections.picocloud.edge importable from this checkout."""
    root = os.path.dirname(HERE)
    parts = root.split(os.sep)
    if len(parts) >= 3 and parts[-3] == 'ansible_collections':
        sys.path.insert(0, os.sep.join(parts[:-3]))
        return None
    tmp = tempfile.mkdtemp(prefix='bench-pi-flash-')
    os.makedirs(os.path.join(tmp, 'ansible_collections', 'picocloud'))
    os.symlink(root, os.path.join(tmp, 'ansible_collections', 'picocloud', 'edge'))
    sys.path.insert(0, tmp)
    return tmp


def drop_caches():
    subprocess.run(['sync'], check=True)
    with open('/proc/sys/vm/drop_caches', 'w') as handle:
        handle.write('3\n')


def timed(func, warm=None):
    drop_caches()
    if warm:
        with open(warm, 'rb') as handle:
            while handle.read(4 * 1024 * 1024):
                pass
    started = time.monotonic()
    func()
    return time.monotonic() - started


def make_image(path, size):
    with open(path, 'wb') as handle:
        block = 4 * 1024 * 1024
        for offset in range(0, size, block):
            handle.write(os.urandom(min(block, size - offset)))
    mbr = bytearray(512)
    mbr[446:462] = bytes([0, 0, 0, 0, 0x0c, 0, 0, 0]) + (2048).to_bytes(4, 'little') + \
        (size // 512 - 2048).to_bytes(4, 'little')
    mbr[510:512] = b'\x55\xaa'
    with open(path, 'r+b') as handle:
        handle.write(mbr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--size-mib', type=int, default=512)
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--dir', default='/var/tmp')
    parser.add_argument('--sweep', action='store_true', help='also time write+verify per block size')
    parser.add_argument('--cold', action='store_true', help='do not warm the image into the page cache')
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit('run as root: needs losetup and drop_caches')
    collection_on_path()
    from ansible_collections.picocloud.edge.plugins.module_utils.flash import flow

    size = args.size_mib * 1024 * 1024
    work = tempfile.mkdtemp(prefix='bench-pi-flash-', dir=args.dir)
    raw = os.path.join(work, 'image.raw')
    backing = os.path.join(work, 'target.img')
    make_image(raw, size)
    with open(backing, 'wb') as handle:
        handle.truncate(size + 64 * 1024 * 1024)
    loop = subprocess.run(['losetup', '--find', '--show', '--direct-io=on', backing], check=True,
                          stdout=subprocess.PIPE).stdout.decode().strip()
    try:
        def dd_write():
            subprocess.run(['dd', 'if=' + raw, 'of=' + loop, 'bs=4M', 'conv=fsync', 'status=none'], check=True)

        def full_read():
            subprocess.run(['dd', 'if=' + loop, 'of=/dev/null', 'bs=4M', 'iflag=direct', 'status=none',
                            'count=%d' % (size // (4 * 1024 * 1024))], check=True)

        def scramble():
            subprocess.run(['dd', 'if=/dev/zero', 'of=' + loop, 'bs=1M', 'count=1', 'conv=fsync', 'status=none'],
                           check=True)

        def pi_flash(**options):
            params = dict(src=raw, device=loop, force=True, verify=True, skip_identical=True, block_size=None)
            params.update(options)
            return lambda: flow.flash(params)

        warm = None if args.cold else raw
        dd_times, write_times, verify_times, skip_times, read_times = [], [], [], [], []
        for dummy in range(args.runs):
            dd_times.append(timed(dd_write, warm))
            scramble()
            write_times.append(timed(pi_flash(verify=False, skip_identical=False), warm))
            scramble()
            verify_times.append(timed(pi_flash(skip_identical=False), warm))
            skip_times.append(timed(pi_flash(verify=False), warm))
            read_times.append(timed(full_read))
        med = statistics.median
        print('image %d MiB (%s), loop %s (direct-io), %d runs, medians:'
              % (args.size_mib, 'cold' if args.cold else 'warm', loop, args.runs))
        print('  dd bs=4M conv=fsync        %.3f s  (%.1f MB/s)' % (med(dd_times), size / med(dd_times) / 1e6))
        print('  pi_flash write             %.3f s  (%.1f MB/s)' % (med(write_times), size / med(write_times) / 1e6))
        print('  pi_flash write+verify      %.3f s' % med(verify_times))
        print('  full read (dd iflag=direct) %.3f s' % med(read_times))
        print('  pi_flash skip_identical    %.3f s' % med(skip_times))
        print('ratio write throughput / dd             = %.2f  (goal >= 0.9)' % (med(dd_times) / med(write_times)))
        print('ratio write+verify time / dd time       = %.2f  (goal <= 2.2)' % (med(verify_times) / med(dd_times)))
        print('ratio skip_identical time / full read   = %.2f  (goal <= 1.2)' % (med(skip_times) / med(read_times)))
        if args.sweep:
            for mib in (1, 2, 4, 8, 16):
                times = []
                for dummy in range(args.runs):
                    scramble()
                    times.append(timed(pi_flash(skip_identical=False, block_size=mib * 1024 * 1024), warm))
                print('  block_size %2d MiB: write+verify %.3f s' % (mib, med(times)))
    finally:
        subprocess.run(['losetup', '-d', loop], check=False)
        for path in (raw, backing):
            if os.path.exists(path):
                os.unlink(path)
        os.rmdir(work)


if __name__ == '__main__':
    main()
