# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark for the picocloud.edge.site inventory plugin (issue 15): prints the three figures the issue asks for.

1. build of 300 declared nodes (pinned addresses, no discovery), median of 5 parses      goal <= 1 s
2. a cached run: the same 300 nodes found by discovery, discovery results from the cache  goal <= 0.2 s
3. discovery over 300 neighbour entries and 300 mDNS answers                              goal <= 3 s

Each figure is the time of the plugin's parse() (the work ansible-inventory adds to its own start-up).
The inputs are generated: a controller network namespace with a bridge, 300 neighbour entries (150 of
declared nodes, 150 of undeclared Pis, all Raspberry Pi MACs), and a second namespace whose
python-zeroconf responder answers for 300 _workstation._tcp services (150 declared nodes that the
neighbour table lacks, 150 undeclared Pis). The measurements run inside the controller namespace, so
nothing reaches the machine's own network. Needs root (ip netns) and the collection on sys.path:
    sudo .venv/bin/python benchmarks/bench_inventory.py
"""

from __future__ import absolute_import, division, print_function

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
RESPONDER = os.path.join(HERE, '..', 'tests', 'unit', 'plugins', 'inventory', 'mdns_responder.py')
NODES = 300
RUNS = 5
TIMEOUT = 60
SUBNET = '198.18.20'        # RFC 2544 benchmarking range; one /22 inside the test namespaces only


def mac(block, number):
    return '%s:%02x:%02x:%02x' % (block, (number >> 16) & 0xff, (number >> 8) & 0xff, number & 0xff)


def address(number):
    return '198.18.%d.%d' % (20 + number // 250, 2 + number % 250)


def declared(number):
    return {'name': 'node-%03d' % number, 'mac': mac('dc:a6:32', number),
            'roles': ['swarm_manager', 'consul_server'] if number < 1 else (['consul_server'] if number < 3 else [])}


def site(nodes, discovery, cache_dir=None):
    config = {'plugin': 'picocloud.edge.site', 'site': 'bench', 'orchestrator': 'swarm',
              'defaults': {'ansible_user': 'pico'}, 'discovery': discovery, 'nodes': nodes}
    if cache_dir:
        config.update({'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile', 'cache_connection': cache_dir,
                       'cache_timeout': 3600})
    return config


# --- inside the controller namespace -------------------------------------------------------------------


def parse(path, cache=True):
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader
    plugin = inventory_loader.get('picocloud.edge.site')
    inventory = InventoryData()
    start = time.perf_counter()
    plugin.parse(inventory, DataLoader(), path, cache=cache)
    if getattr(plugin, '_cache', None) is not None:
        plugin.update_cache_if_changed()
    seconds = time.perf_counter() - start
    return inventory, seconds


def inside(workdir):
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader()
    pinned = os.path.join(workdir, 'pinned.picocloud.yml')
    found = os.path.join(workdir, 'found.picocloud.yml')
    build = statistics.median(parse(pinned)[1] for _run in range(RUNS))
    inventory, discovery = parse(found, cache=False)
    hosts = inventory.groups['picocloud'].get_hosts()
    located = sum(1 for host in hosts if host.get_vars().get('ansible_host'))
    unclaimed = len(inventory.groups['unclaimed'].get_hosts())
    cached = statistics.median(parse(found)[1] for _run in range(RUNS))
    print(json.dumps({'build': build, 'cached': cached, 'discovery': discovery, 'located': located,
                      'unclaimed': unclaimed}))


# --- outside: the namespaces and the inputs --------------------------------------------------------------


def ip(*args, **kwargs):
    subprocess.run(['ip'] + list(args), check=True, timeout=TIMEOUT, capture_output=True, **kwargs)


def outside():
    if os.geteuid() != 0:
        sys.exit('bench_inventory: needs root for its network namespaces')
    tag = uuid.uuid4().hex[:6]
    controller, pis = 'pb%s-ctl' % tag, 'pb%s-pis' % tag
    workdir = tempfile.mkdtemp(prefix='bench-inventory-')
    responder = None
    try:
        for namespace in (controller, pis):
            ip('netns', 'add', namespace)
            ip('-n', namespace, 'link', 'set', 'lo', 'up')
        ip('-n', controller, 'link', 'add', 'br0', 'type', 'bridge')
        ip('-n', controller, 'addr', 'add', SUBNET + '.1/22', 'dev', 'br0')
        ip('-n', controller, 'link', 'set', 'br0', 'up')
        ip('link', 'add', 'vb' + tag, 'netns', controller, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pis)
        ip('-n', controller, 'link', 'set', 'vb' + tag, 'master', 'br0')
        ip('-n', controller, 'link', 'set', 'vb' + tag, 'up')
        ip('-n', pis, 'link', 'set', 'eth0', 'address', '02:00:00:00:00:fe')
        ip('-n', pis, 'addr', 'add', SUBNET + '.254/22', 'dev', 'eth0')
        ip('-n', pis, 'link', 'set', 'eth0', 'up')
        half = NODES // 2
        # 300 neighbour entries: declared nodes 0..149 and undeclared Pis 1000..1149
        batch = ['neigh add %s lladdr %s dev br0 nud stale' % (address(number), mac('dc:a6:32', number))
                 for number in range(half)]
        batch += ['neigh add %s lladdr %s dev br0 nud stale' % (address(number), mac('d8:3a:dd', number))
                  for number in range(1000, 1000 + half)]
        ip('-n', controller, '-batch', '-', input='\n'.join(batch) + '\n', text=True)
        # 300 mDNS answers: declared nodes 150..299 and the same undeclared Pis
        services = [{'type': '_workstation._tcp.local.', 'name': 'node-%03d [%s]' % (number, mac('dc:a6:32', number)),
                     'host': 'node-%03d' % number, 'address': address(number)} for number in range(half, NODES)]
        services += [{'type': '_workstation._tcp.local.', 'name': 'raspberrypi-%d [%s]' % (number, mac('d8:3a:dd', number)),
                      'host': 'raspberrypi-%d' % number, 'address': address(number)} for number in range(1000, 1000 + half)]
        responder = subprocess.Popen(['ip', 'netns', 'exec', pis, sys.executable, RESPONDER, '300'], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        responder.stdin.write(json.dumps(services) + '\n')
        responder.stdin.flush()
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and responder.poll() is None:
            if responder.stdout.readline().strip() == 'ready':
                break
        else:
            sys.exit('bench_inventory: the mDNS responder did not get ready')

        pinned_nodes = [dict(declared(number), address=address(number)) for number in range(NODES)]
        with open(os.path.join(workdir, 'pinned.picocloud.yml'), 'w') as handle:
            json.dump(site(pinned_nodes, {'sources': []}), handle)
        with open(os.path.join(workdir, 'found.picocloud.yml'), 'w') as handle:
            json.dump(site([declared(number) for number in range(NODES)], {'sources': ['neighbours', 'mdns'],
                                                                           'mdns_timeout': 2},
                           os.path.join(workdir, 'cache')), handle)
        result = subprocess.run(['ip', 'netns', 'exec', controller, sys.executable, os.path.abspath(__file__), '--inside',
                                 workdir], capture_output=True, text=True, timeout=TIMEOUT * 3, check=False)
        if result.returncode != 0:
            sys.exit('bench_inventory: the measurement failed:\n' + result.stderr)
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        print('picocloud.edge.site, %d nodes (parse() time; median of %d where repeated)' % (NODES, RUNS))
        print('1. build of %d declared nodes (pinned, no discovery): %.3f s   goal <= 1 s' % (NODES, figures['build']))
        print('2. cached run (%d nodes found by discovery, from the cache): %.3f s   goal <= 0.2 s'
              % (NODES, figures['cached']))
        print('3. discovery over %d neighbour entries and %d mDNS answers: %.3f s   goal <= 3 s '
              '(located %d/%d declared nodes, %d unclaimed Pis)'
              % (NODES, NODES, figures['discovery'], figures['located'], NODES, figures['unclaimed']))
    finally:
        if responder is not None and responder.poll() is None:
            responder.stdin.close()
            try:
                responder.wait(timeout=15)
            except subprocess.TimeoutExpired:
                responder.kill()
        for namespace in (pis, controller):
            subprocess.run(['ip', 'netns', 'del', namespace], capture_output=True, timeout=TIMEOUT, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    if sys.argv[1:2] == ['--inside']:
        inside(sys.argv[2])
    else:
        outside()
