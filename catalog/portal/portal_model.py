# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The portal's data: Consul's catalog and health answers shaped into apps and nodes, and the page.

Pure functions without I/O, so every rule here has a unit test. Everything that comes from Consul
(names, meta, check output, addresses) is operator or app data: the page escapes all of it, and a link
is only ever an http(s) URL.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import html
import json
import re

PUBLISHED_TAG = 'published'
# Worst last: an app's or node's health is the worst of its checks.
STATUSES = ('passing', 'warning', 'critical')
# The node checks the base role registers (docs/workloads.md), shown first and with these labels.
NODE_CHECKS = (
    ('serfHealth', 'Agent alive'),
    ('picocloud-undervoltage', 'Undervoltage'),
    ('picocloud-throttling', 'Throttling'),
    ('picocloud-disk-root', 'Disk space /'),
)
META_TEXT_MAX = 200
OUTPUT_MAX = 300
URL_RE = re.compile(r'https?://[A-Za-z0-9\[\]._~:-]+(?::[0-9]{1,5})?(?:[/?#][^\s<>"\'`\\\x00-\x1f\x7f]*)?')
CONTROL_RE = re.compile(r'[\x00-\x1f\x7f-\x9f]')


def status_of(value):
    """A Consul check status as one of STATUSES; anything unknown counts as critical."""
    return value if value in STATUSES else 'critical'


def worst(statuses):
    """The worst of some statuses; passing when there are none."""
    ranks = [STATUSES.index(status_of(s)) for s in statuses]
    return STATUSES[max(ranks)] if ranks else 'passing'


def clean_text(value, limit=META_TEXT_MAX):
    """Text from Consul as a plain one-line string: no control characters, at most `limit` characters."""
    if value is None:
        return ''
    text = CONTROL_RE.sub(' ', str(value)).strip()
    return text if len(text) <= limit else text[:limit - 1] + '\u2026'


def safe_url(value):
    """The URL when it is a plain http(s) URL, else None (no javascript:, data: or spaces)."""
    if not isinstance(value, str) or len(value) > 2048:
        return None
    return value if URL_RE.fullmatch(value) else None


def published_names(services, tag=PUBLISHED_TAG):
    """The sorted service names whose tags (from /v1/catalog/services) include `tag`."""
    return sorted(name for name, tags in (services or {}).items() if tag in (tags or []))


def _instance_url(address, port):
    if not address or not port:
        return None
    host = '[%s]' % address if ':' in address else address
    return safe_url('http://%s:%d/' % (host, int(port)))


def serves_http(checks):
    """Whether an instance is a web page worth a link, from its own service checks as Consul reports them: not when
    they report a type and none is `http` (an MQTT broker checked over TCP has no page); a Consul that reports no
    type (older than 1.7) keeps the link."""
    types = set(check.get('Type') for check in checks if check.get('Type'))
    return not types or 'http' in types


def shape_app(name, entries, tag=PUBLISHED_TAG):
    """One published app from /v1/health/service/<name>: only the instances that carry `tag` count.

    An instance's health is the worst of its own checks and its node's agent check (serfHealth): an app
    on a node that is gone is not passing. Other node checks (undervoltage, disk) belong to the node.
    The description, URL and owner come from the service meta of the first tagged instance. The link is
    the meta `url` when it is an http(s) URL, else the first passing instance's address and port, for an
    instance that serves HTTP (serves_http).
    """
    instances = []
    meta = None
    for entry in entries or []:
        service = entry.get('Service') or {}
        if tag not in (service.get('Tags') or []):
            continue
        node = entry.get('Node') or {}
        if meta is None:
            meta = service.get('Meta') or {}
        service_id = service.get('ID') or ''
        checks = []
        for check in entry.get('Checks') or []:
            if check.get('ServiceID') == service_id or check.get('CheckID') == 'serfHealth':
                checks.append({
                    'name': clean_text(check.get('Name') or check.get('CheckID')),
                    'status': status_of(check.get('Status')),
                    'output': clean_text(check.get('Output'), OUTPUT_MAX),
                })
        address = clean_text(service.get('Address') or node.get('Address'), 64)
        port = service.get('Port') if isinstance(service.get('Port'), int) else 0
        instances.append({
            'node': clean_text(node.get('Node'), 64),
            'address': address,
            'port': port,
            'status': worst(c['status'] for c in checks),
            'checks': checks,
            'url': _instance_url(address, port) if serves_http(
                [c for c in entry.get('Checks') or [] if c.get('ServiceID') == service_id]) else None,
        })
    if not instances:
        return None
    instances.sort(key=lambda i: (i['node'], i['port']))
    meta = meta or {}
    url = safe_url(meta.get('url'))
    if url is None:
        url = next((i['url'] for i in instances if i['status'] == 'passing' and i['url']), None)
    return {
        'name': clean_text(name, 64),
        'description': clean_text(meta.get('description')),
        'owner': clean_text(meta.get('owner'), 64),
        'url': url,
        'status': worst(i['status'] for i in instances),
        'instances': instances,
    }


def shape_apps(services, health_by_name, tag=PUBLISHED_TAG):
    """Every published app, sorted by name, from the catalog services and each one's health entries."""
    apps = []
    for name in published_names(services, tag):
        app = shape_app(name, health_by_name.get(name), tag)
        if app is not None:
            apps.append(app)
    return apps


def _node_check_order(check_id):
    ids = [known for known, _label in NODE_CHECKS]
    return (ids.index(check_id), '') if check_id in ids else (len(ids), check_id)


def shape_nodes(nodes, checks):
    """Every node (from /v1/catalog/nodes) with its node checks (from /v1/health/state/any), by name.

    Service checks (a ServiceID) are left out: they belong to the apps.
    """
    labels = dict(NODE_CHECKS)
    by_node = {}
    for check in checks or []:
        if check.get('ServiceID'):
            continue
        check_id = check.get('CheckID') or ''
        by_node.setdefault(check.get('Node'), []).append({
            'id': clean_text(check_id, 64),
            'name': clean_text(labels.get(check_id) or check.get('Name') or check_id),
            'status': status_of(check.get('Status')),
            'output': clean_text(check.get('Output'), OUTPUT_MAX),
        })
    shaped = []
    for node in nodes or []:
        name = node.get('Node')
        node_checks = sorted(by_node.get(name, []), key=lambda c: _node_check_order(c['id']))
        shaped.append({
            'name': clean_text(name, 64),
            'address': clean_text(node.get('Address'), 64),
            'status': worst(c['status'] for c in node_checks),
            'checks': node_checks,
        })
    shaped.sort(key=lambda n: n['name'])
    return shaped


def _e(value):
    return html.escape('' if value is None else str(value), quote=True)


def _link(url, text):
    if not url:
        return _e(text)
    return '<a href="%s" rel="noopener noreferrer" target="_blank">%s</a>' % (_e(url), _e(text))


def _badge(status):
    return '<span class="badge status-%s" data-status="%s">%s</span>' % (_e(status), _e(status), _e(status))


def render_app_row(app):
    """One <tr> of the apps table; the same markup portal.js builds on refresh."""
    where = ''.join(
        '<li data-node="%s">%s %s on %s (%s)</li>' % (
            _e(i['node']), _badge(i['status']), _link(i['url'], '%s:%s' % (i['address'], i['port'])), _e(i['node']),
            _e('; '.join('%s: %s' % (c['name'], c['status']) for c in i['checks'])))
        for i in app['instances'])
    return ('<tr data-app="%s" data-status="%s"><td class="app-name">%s</td><td class="app-description">%s</td>'
            '<td class="app-owner">%s</td><td class="app-status">%s</td><td class="app-where"><ul>%s</ul></td>'
            '<td class="app-open">%s</td></tr>') % (
        _e(app['name']), _e(app['status']), _e(app['name']), _e(app['description']), _e(app['owner']),
        _badge(app['status']), where, _link(app['url'], 'open') if app['url'] else '')


def render_node_row(node):
    """One <tr> of the nodes table; the same markup portal.js builds on refresh."""
    checks = ''.join(
        '<li data-check="%s" title="%s">%s %s</li>' % (_e(c['id']), _e(c['output']), _badge(c['status']), _e(c['name']))
        for c in node['checks'])
    return ('<tr data-node="%s" data-status="%s"><td class="node-name">%s</td><td class="node-address">%s</td>'
            '<td class="node-status">%s</td><td class="node-checks"><ul>%s</ul></td></tr>') % (
        _e(node['name']), _e(node['status']), _e(node['name']), _e(node['address']), _badge(node['status']), checks)


def render_page(model, title, refresh_seconds):
    """The whole page, rendered on the server; portal.js then refreshes its tables from /api/apps."""
    apps = ''.join(render_app_row(a) for a in model.get('apps', []))
    nodes = ''.join(render_node_row(n) for n in model.get('nodes', []))
    error = model.get('error') or ''
    return """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/static/portal.css">
<script src="/static/portal.js" defer></script>
</head>
<body data-refresh="{refresh}">
<header><h1>{title}</h1><p>Updated <span id="updated">{updated}</span>. <span id="error" class="error">{error}</span></p></header>
<main>
<h2>Apps</h2>
<table id="apps"><thead><tr><th>App</th><th>Description</th><th>Owner</th><th>Health</th><th>Where it runs</th><th></th></tr></thead>
<tbody>{apps}</tbody></table>
<p id="no-apps" class="empty"{hide_empty}>No app is published.</p>
<h2>Nodes</h2>
<table id="nodes"><thead><tr><th>Node</th><th>Address</th><th>Health</th><th>Checks</th></tr></thead>
<tbody>{nodes}</tbody></table>
</main>
</body>
</html>
""".format(title=_e(title), refresh=int(refresh_seconds), updated=_e(model.get('updated', '')), error=_e(error),
           apps=apps, nodes=nodes, hide_empty=' hidden' if model.get('apps') else '')


def api_json(model):
    """The /api/apps answer."""
    return json.dumps({k: model.get(k) for k in ('apps', 'nodes', 'updated', 'error')}, sort_keys=True)
