# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The published figures the bench report compares a site with, each with its source.

Private to the picocloud.edge collection: no compatibility promise to other collections.

These are the only measured figures the bench code holds as constants. Everything the report says
about the user's site comes from the run document. The sources are the seed papers of this
collection, named by their seed files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SEED_001 = 'seed 001 (001_abd74b631cbbc597.txt)'
SEED_002 = 'seed 002 (002_8123a1b3aee9a7b4.txt)'

# Launch storm: 250 containers, 5 launch requests at a time.
STORM = {
    'source': SEED_001 + ', Table 3',
    'containers': 250,
    'concurrency': 5,
    'rows': (
        {'key': 'pi_cluster', 'label': 'Raspberry Pi cluster', 'total_s': 228, 'mean_ms': 2137, 'max_ms': 9256},
        {'key': 'single_pi', 'label': 'single Raspberry Pi', 'total_s': 510, 'mean_ms': 5025, 'max_ms': 14115},
        {'key': 'vm_cluster', 'label': 'VM cluster', 'total_s': 49, 'mean_ms': 472, 'max_ms': 1553},
        {'key': 'single_vm', 'label': 'single VM', 'total_s': 125, 'mean_ms': 1238, 'max_ms': 3568},
    ),
}

# Density: containers of one app deployed one by one on a 512 MB Raspberry Pi 1 Model B.
DENSITY = {
    'source': SEED_002 + ', Fig. 4',
    'board': 'Raspberry Pi 1 Model B',
    'board_memory_mb': 512,
    'free_mb_about': 380,
    'apps': (
        {'app': 'ZooKeeper', 'containers': 8},
        {'app': 'Ruby', 'containers': 78},
    ),
}

# Serving: concurrent users a Raspberry Pi 1 Model B served, natively and from Docker.
SERVING = {
    'source': SEED_002 + ', Fig. 3',
    'board': 'Raspberry Pi 1 Model B',
    'native_concurrency': 250,
    'container_concurrency_at_most': 30,
}

# Start latency (seed 002, Fig. 6) and footprint (seed 000) carry no figures here: the report shows
# the site's own figures for them and says so.
START_LATENCY = {'source': SEED_002 + ', Fig. 6'}


def storm_row(key):
    """The Table 3 row with this key ('pi_cluster', 'single_pi', 'vm_cluster', 'single_vm')."""
    for row in STORM['rows']:
        if row['key'] == key:
            return row
    raise KeyError('no storm row %r in %s; rows: %s' % (key, STORM['source'], ', '.join(r['key'] for r in STORM['rows'])))


def figures():
    """Every published number held here, for tests that check no other figure reaches the report."""
    numbers = [STORM['containers'], STORM['concurrency'], DENSITY['board_memory_mb'], DENSITY['free_mb_about'],
               SERVING['native_concurrency'], SERVING['container_concurrency_at_most']]
    for row in STORM['rows']:
        numbers.extend((row['total_s'], row['mean_ms'], row['max_ms']))
    numbers.extend(app['containers'] for app in DENSITY['apps'])
    return numbers
