# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.verify on the converged site passes, and its tables say what the site is."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from picocloud_test import VERIFY


def test_verify_passes_and_shows_every_node_the_swarm_the_tls_apis_consul_the_published_apps_and_the_portal(site):
    run = site.playbook(VERIFY).ok()
    nodes = run.results('Show the nodes')['localhost']['msg']
    assert nodes[0].split()[:2] == ['NODE', 'ADDRESS']
    rows = dict((line.split()[0], line) for line in nodes[1:])
    assert sorted(rows) == sorted(site.hosts())
    for host in site.hosts():
        assert site.address(host) in rows[host]
        assert 'memcg+flags ssh:key-only' in rows[host] and rows[host].rstrip().endswith('reachable')
    swarm = list(run.results('Show the swarm').values())[0]['msg']
    assert any(line.startswith('leader: ') and line != 'leader: NONE' for line in swarm)
    tls = list(run.results('Show the TLS checks').values())[0]['msg']
    assert len([line for line in tls if ': TLS API ok (docker ' in line]) == len(site.hosts())
    consul = list(run.results('Show the Consul checks').values())[0]['msg']
    assert len([line for line in consul if 'mTLS enforced, ACL deny' in line and 'members alive' in line]) == len(site.hosts())
    apps = list(run.results('Show the published apps').values())[0]['msg']
    assert apps[0].split() == ['APP', 'HEALTH', 'WHERE', 'OPEN', 'OWNER']
    published = dict((line.split()[0], line.split()[1]) for line in apps[1:])
    assert published == dict((app, 'passing') for app in site.hostvars(site.hosts()[0])['picocloud_apps']), apps
    portal = list(run.results("Show the portal's URL").values())[0]['msg']
    addresses = '|'.join(re.escape(site.address(host)) for host in site.hosts())
    assert re.fullmatch(r'Portal: http://(%s):8090/' % addresses, portal), portal
