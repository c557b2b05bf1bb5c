# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.verify on the converged site passes, and its tables say what the site is."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import yaml

from picocloud_test import VERIFY

APPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'catalog', 'apps')


def checked_over_http(app):
    """Whether the catalogue app's health check is HTTP (its definition in catalog/apps)."""
    with open(os.path.join(APPS, app + '.yml')) as handle:
        return 'http' in yaml.safe_load(handle)['health']


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
    rows = dict((row[0], row) for row in (re.split(r'\s{2,}', line.strip()) for line in apps[1:]))
    assert sorted(rows) == sorted(site.hostvars(site.hosts()[0])['picocloud_apps']), apps
    for app, health, where, link, owner in rows.values():
        assert health == 'passing' and owner == 'picocloud catalogue', apps
        # an HTTP app links its first passing instance; an app checked over TCP (the MQTT broker) has no page to open
        expected = r'http://(%s)/' % '|'.join(re.escape(place.split(' on ')[0]) for place in where.split(', '))
        assert re.fullmatch(expected, link) if checked_over_http(app) else link == '-', (app, apps)
    portal = list(run.results("Show the portal's URL").values())[0]['msg']
    addresses = '|'.join(re.escape(site.address(host)) for host in site.hosts())
    assert re.fullmatch(r'Portal: http://(%s):8090/' % addresses, portal), portal
