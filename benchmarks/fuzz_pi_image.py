# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Long fuzz run of pi_image over malformed card images (issue 14): the unit test's mutations, at random.

Builds the two small fixture images of tests/unit/plugins/module_utils/image/fuzzing.py (MBR and
GPT, FAT32 boot partition), then, for --seconds, lets hypothesis draw 1-3 mutations of the MBR, the
GPT, the FAT boot sector and FSInfo, FAT entries and directory entries, and customises each mutated
copy in place. Every case must end in success or in a clear error with the image byte-identical,
within --case-seconds. Prints the cases run, the outcomes, the errors by kind (message with numbers
and names folded), the slowest case, and every failure; exits 1 when there was a failure.

    PYTHONPATH=/path/to/collections python benchmarks/fuzz_pi_image.py --seconds 600 [--workdir DIR]

It needs sfdisk, mkfs.vfat and mtools, and about 100 MiB in the work directory.
"""

from __future__ import absolute_import, division, print_function

import argparse
import collections
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'unit', 'plugins', 'module_utils', 'image'))

from bench_pi_flash import collection_on_path  # noqa: E402  (this script's directory is on the path first)


CHUNK = 25  # cases per hypothesis run; the time budget is checked between runs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, required=True, help='how long to fuzz (both schemes together)')
    parser.add_argument('--case-seconds', type=float, default=10.0, help='time limit of one case')
    parser.add_argument('--workdir', help='where the images go (default: a temporary directory)')
    parser.add_argument('--show', type=int, default=3, help='failures to print in full')
    args = parser.parse_args()

    link_dir = collection_on_path()
    from hypothesis import HealthCheck, Phase, given, settings
    import fuzzing

    missing = fuzzing.missing_tools()
    if missing:
        sys.exit('missing tools: %s' % ', '.join(missing))
    workdir = args.workdir or tempfile.mkdtemp(prefix='fuzz-pi-image-')
    os.makedirs(workdir, exist_ok=True)
    bases = {}
    for scheme in ('mbr', 'gpt'):
        path = fuzzing.build_fixture(os.path.join(workdir, 'base-%s.img' % scheme), scheme)
        bases[scheme] = (path, fuzzing.targets(path, scheme))

    outcomes = collections.Counter()
    kinds = collections.Counter()
    failures = []
    slowest = [0.0, None]
    started = time.monotonic()

    def run_chunk(scheme):
        base, info = bases[scheme]
        work = os.path.join(workdir, 'case-%s.img' % scheme)

        @settings(max_examples=CHUNK, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(fuzzing.mutations(info))
        def case(mutation_list):
            outcome, detail, elapsed = fuzzing.run_case(base, work, mutation_list, args.case_seconds)
            outcomes[(scheme, outcome)] += 1
            if outcome == 'error':
                kinds[fuzzing.error_kind(detail)] += 1
            elif outcome == 'failure':
                failures.append((scheme, mutation_list, detail))
            if elapsed > slowest[0]:
                slowest[:] = [elapsed, (scheme, mutation_list)]
        case()

    turn = 0
    for dummy in range(10 ** 7):  # bound: one turn per chunk; the time budget ends the run
        if time.monotonic() - started >= args.seconds:
            break
        run_chunk(('mbr', 'gpt')[turn % 2])
        turn += 1

    total = sum(outcomes.values())
    elapsed = max(time.monotonic() - started, 1e-9)
    print('fuzz_pi_image: %d cases in %.0f s (%.1f cases/s)' % (total, elapsed, total / elapsed))
    for (scheme, outcome), count in sorted(outcomes.items()):
        print('  %-4s %-8s %d' % (scheme, outcome, count))
    print('errors by kind:')
    for kind, count in kinds.most_common():
        print('  %6d  %s' % (count, kind))
    where = '' if slowest[1] is None else ': %s %r' % slowest[1]
    print('max case time %.3f s (limit %.1f s)%s' % (slowest[0], args.case_seconds, where))
    print('failures: %d' % len(failures))
    for scheme, mutation_list, detail in failures[:args.show]:
        print('--- %s %r\n%s' % (scheme, mutation_list, detail))
    if not args.workdir:
        shutil.rmtree(workdir)
    if link_dir:
        shutil.rmtree(link_dir)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
