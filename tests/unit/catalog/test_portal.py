# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The portal app (catalog/portal): shaping Consul's answers, escaping, configuration and the Consul client."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import io
import json
import os
import sys
import urllib.error

import pytest

PORTAL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'catalog', 'portal')


@pytest.fixture(scope='module')
def modules():
    """The portal's modules, imported the way the image runs them (its directory on sys.path)."""
    sys.path.insert(0, PORTAL_DIR)
    try:
        yield {'model': importlib.import_module('portal_model'), 'app': importlib.import_module('portal')}
    finally:
        sys.path.remove(PORTAL_DIR)


@pytest.fixture
def model(modules):
    """portal_model: shaping and rendering."""
    return modules['model']


@pytest.fixture
def app(modules):
    """portal: settings, the Consul client, the cache."""
    return modules['app']


def check(node, status, check_id='service:web', service_id='web', name='HTTP', output=''):
    return {'Node': node, 'CheckID': check_id, 'Name': name, 'Status': status, 'ServiceID': service_id, 'Output': output}


def entry(node, status='passing', tags=('published',), meta=None, service_id='web', address='', port=8080,
          node_address='10.0.0.1', serf='passing'):
    return {
        'Node': {'Node': node, 'Address': node_address},
        'Service': {'ID': service_id, 'Service': 'web', 'Tags': list(tags), 'Meta': meta or {}, 'Address': address, 'Port': port},
        'Checks': [check(node, serf, 'serfHealth', '', 'Serf Health Status'),
                   check(node, 'critical', 'picocloud-undervoltage', '', 'Undervoltage'),
                   check(node, status, 'service:' + service_id, service_id)],
    }


def test_only_services_tagged_published_are_listed(model):
    services = {'consul': [], 'web': ['published', 'v1'], 'mqtt': ['internal'], 'blog': ['published']}
    assert model.published_names(services) == ['blog', 'web']
    assert model.published_names(services, tag='internal') == ['mqtt']


def test_an_app_shows_its_meta_and_where_each_instance_runs(model):
    meta = {'description': 'Team wiki', 'url': 'https://wiki.site.example/', 'owner': 'ops'}
    app = model.shape_app('web', [entry('pi-02', meta=meta, node_address='10.0.0.2'), entry('pi-01', address='10.0.0.9', port=80)])
    assert (app['name'], app['description'], app['owner'], app['url'], app['status']) == (
        'web', 'Team wiki', 'ops', 'https://wiki.site.example/', 'passing')
    assert [(i['node'], i['address'], i['port'], i['url']) for i in app['instances']] == [
        ('pi-01', '10.0.0.9', 80, 'http://10.0.0.9:80/'), ('pi-02', '10.0.0.2', 8080, 'http://10.0.0.2:8080/')]


def test_an_app_is_as_healthy_as_its_worst_instance_and_node_checks_other_than_serf_do_not_count(model):
    # Every entry carries a critical undervoltage node check: it belongs to the node table, not the app.
    assert model.shape_app('web', [entry('a'), entry('b')])['status'] == 'passing'
    assert model.shape_app('web', [entry('a'), entry('b', status='warning')])['status'] == 'warning'
    assert model.shape_app('web', [entry('a', status='warning'), entry('b', status='critical')])['status'] == 'critical'
    gone = model.shape_app('web', [entry('a', serf='critical')])
    assert gone['status'] == 'critical'
    assert [c['name'] for c in gone['instances'][0]['checks']] == ['Serf Health Status', 'HTTP']


def test_an_unknown_or_maintenance_status_counts_as_critical(model):
    assert model.status_of('maintenance') == 'critical'
    assert model.status_of(None) == 'critical'
    assert model.worst([]) == 'passing'


def test_instances_without_the_tag_are_left_out_and_an_app_with_none_disappears(model):
    app = model.shape_app('web', [entry('a'), entry('b', tags=('internal',))])
    assert [i['node'] for i in app['instances']] == ['a']
    assert model.shape_app('web', [entry('b', tags=())]) is None
    assert model.shape_apps({'web': ['published']}, {'web': [entry('b', tags=())]}) == []


@pytest.mark.parametrize('url', ['javascript:alert(1)', 'JAVASCRIPT:alert(1)', 'data:text/html,<script>x</script>',
                                 'http://x/"><script>', 'http://user@evil.example/', 'http://a b/', 'ftp://x/', 42])
def test_a_meta_url_that_is_not_plain_http_is_not_linked(model, url):
    assert model.safe_url(url) is None
    app = model.shape_app('web', [entry('pi-01', meta={'url': url}, node_address='10.0.0.5')])
    assert app['url'] == 'http://10.0.0.5:8080/'


def test_without_a_url_the_link_goes_to_the_first_passing_instance_or_nowhere(model):
    app = model.shape_app('web', [entry('a', status='critical', node_address='10.0.0.1'), entry('b', node_address='10.0.0.2')])
    assert app['url'] == 'http://10.0.0.2:8080/'
    assert model.shape_app('web', [entry('a', status='critical')])['url'] is None


def test_meta_text_loses_control_characters_and_is_cut_to_length(model):
    app = model.shape_app('web', [entry('a', meta={'description': 'line1\nline2\x1b[31m' + 'x' * 500, 'owner': '\x00ops'})])
    assert '\n' not in app['description'] and '\x1b' not in app['description']
    assert len(app['description']) == model.META_TEXT_MAX
    assert app['owner'] == 'ops'


def test_nodes_get_their_node_checks_known_ones_first_and_no_service_checks(model):
    nodes = [{'Node': 'pi-02', 'Address': '10.0.0.2'}, {'Node': 'pi-01', 'Address': '10.0.0.1'}]
    checks = [check('pi-01', 'passing', 'zz-custom', '', 'Custom'),
              check('pi-01', 'warning', 'picocloud-disk-root', '', 'disk', '85% used'),
              check('pi-01', 'passing', 'picocloud-throttling', '', 'thr'),
              check('pi-01', 'passing', 'serfHealth', '', 'Serf Health Status'),
              check('pi-01', 'critical', 'service:web', 'web'),
              check('pi-02', 'critical', 'picocloud-undervoltage', '', 'uv', 'under-voltage now')]
    shaped = model.shape_nodes(nodes, checks)
    assert [(n['name'], n['status']) for n in shaped] == [('pi-01', 'warning'), ('pi-02', 'critical')]
    assert [(c['id'], c['name']) for c in shaped[0]['checks']] == [
        ('serfHealth', 'Agent alive'), ('picocloud-throttling', 'Throttling'), ('picocloud-disk-root', 'Disk space /'),
        ('zz-custom', 'Custom')]
    assert shaped[1]['checks'][0]['output'] == 'under-voltage now'


HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def test_the_page_escapes_everything_that_comes_from_consul(model):
    app = model.shape_app('web', [entry('node<b>', meta={'description': HOSTILE, 'owner': HOSTILE, 'url': HOSTILE})])
    app['name'] = HOSTILE
    nodes = model.shape_nodes([{'Node': HOSTILE, 'Address': '<i>'}], [check(HOSTILE, 'passing', HOSTILE, '', HOSTILE, HOSTILE)])
    page = model.render_page({'apps': [app], 'nodes': nodes, 'updated': HOSTILE, 'error': HOSTILE}, HOSTILE, 5)
    assert '<script>' not in page and '<img' not in page and '<b>' not in page and '<i>' not in page
    assert '&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;' in page
    # The only script is the portal's own file.
    assert page.count('<script') == 1 and '<script src="/static/portal.js" defer></script>' in page


def test_the_api_answer_is_the_shaped_model_as_json(model):
    app = model.shape_app('web', [entry('a')])
    answer = json.loads(model.api_json({'apps': [app], 'nodes': [], 'updated': 't', 'error': None, 'other': 1}))
    assert answer == {'apps': [app], 'nodes': [], 'updated': 't', 'error': None}


@pytest.fixture
def tls_files(tmp_path):
    paths = {}
    for name in ('ca.pem', 'cert.pem', 'key.pem'):
        (tmp_path / name).write_text('x')
        paths[name] = str(tmp_path / name)
    token = tmp_path / 'token'
    token.write_text('0f1e2d3c-aaaa-bbbb-cccc-0123456789ab\n')
    return {'CONSUL_HTTP_ADDR': 'https://127.0.0.1:8501', 'CONSUL_CACERT': paths['ca.pem'],
            'CONSUL_CLIENT_CERT': paths['cert.pem'], 'CONSUL_CLIENT_KEY': paths['key.pem'], 'CONSUL_HTTP_TOKEN_FILE': str(token)}


def test_the_configuration_comes_from_consuls_own_variable_names_with_defaults(app, tls_files):
    config = app.load_config(tls_files)
    assert (config['addr'], config['port'], config['refresh'], config['tag'], config['bind']) == (
        'https://127.0.0.1:8501', 8080, 5, 'published', '0.0.0.0')


@pytest.mark.parametrize('change, message', [
    ({'CONSUL_HTTP_ADDR': 'http://127.0.0.1:8500'}, "CONSUL_HTTP_ADDR must be https://HOST[:PORT], got 'http://127.0.0.1:8500'"),
    ({'CONSUL_HTTP_ADDR': 'https://x:1/v1;rm'}, "CONSUL_HTTP_ADDR must be https://HOST[:PORT], got 'https://x:1/v1;rm'"),
    ({'CONSUL_HTTP_ADDR': ''}, 'CONSUL_HTTP_ADDR is not set'),
    ({'CONSUL_CACERT': '/nonexistent/ca.pem'}, "CONSUL_CACERT: cannot read the file '/nonexistent/ca.pem'"),
    ({'CONSUL_HTTP_TOKEN_FILE': ''}, 'CONSUL_HTTP_TOKEN_FILE is not set'),
    ({'PORTAL_PORT': '70000'}, "PORTAL_PORT must be a number from 1 to 65535, got '70000'"),
    ({'PORTAL_REFRESH': '0'}, "PORTAL_REFRESH must be a number from 1 to 3600, got '0'"),
    ({'PORTAL_TAG': 'pub lished'}, "PORTAL_TAG must be a Consul tag of letters, digits, \"_\", \".\" or \"-\", got 'pub lished'"),
])
def test_a_bad_setting_is_refused_naming_the_variable_and_value(app, tls_files, change, message):
    with pytest.raises(app.PortalError) as caught:
        app.load_config(dict(tls_files, **change))
    assert str(caught.value) == message


def test_main_exits_2_with_the_message_on_bad_settings(app, tls_files, capsys):
    assert app.main(dict(tls_files, CONSUL_HTTP_ADDR='http://x')) == 2
    assert "CONSUL_HTTP_ADDR must be https://HOST[:PORT], got 'http://x'" in capsys.readouterr().err


def test_a_token_file_without_a_token_is_refused_without_showing_its_content(app, tmp_path):
    bad = tmp_path / 'token'
    bad.write_text('not a token; secret-ish words\n')
    with pytest.raises(app.PortalError) as caught:
        app.read_token(str(bad))
    assert 'does not hold a Consul ACL token' in str(caught.value) and 'secret' not in str(caught.value)
    with pytest.raises(app.PortalError, match='cannot read the token file'):
        app.read_token(str(tmp_path / 'missing'))


class FakeAnswer(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def fake_consul(answers, seen):
    def opener(request, context=None, timeout=None):
        seen.append((request.full_url, request.get_header('X-consul-token'), context, timeout))
        path = request.full_url.split('8501', 1)[1]
        value = answers[path.split('?')[0]]
        if isinstance(value, Exception):
            raise value
        return FakeAnswer(json.dumps(value).encode())
    return opener


def test_the_consul_client_reads_with_the_token_and_builds_the_model(app):
    token = 'aaaaaaaa-1111-2222-3333-444444444444'
    answers = {'/v1/catalog/services': {'consul': [], 'web app': ['published']},
               '/v1/health/service/web%20app': [entry('pi-01')],
               '/v1/catalog/nodes': [{'Node': 'pi-01', 'Address': '10.0.0.1'}],
               '/v1/health/state/any': [check('pi-01', 'passing', 'serfHealth', '', 'Serf')]}
    seen = []
    consul = app.Consul('https://127.0.0.1:8501', 'CTX', lambda: token, opener=fake_consul(answers, seen))
    result = consul.model('published')
    assert [a['name'] for a in result['apps']] == ['web app'] and result['nodes'][0]['status'] == 'passing'
    assert [call[0] for call in seen] == [
        'https://127.0.0.1:8501/v1/catalog/services', 'https://127.0.0.1:8501/v1/health/service/web%20app?tag=published',
        'https://127.0.0.1:8501/v1/catalog/nodes', 'https://127.0.0.1:8501/v1/health/state/any']
    assert {call[1:] for call in seen} == {(token, 'CTX', 5)}


def test_a_consul_refusal_is_reported_without_the_token(app):
    token = 'aaaaaaaa-1111-2222-3333-444444444444'
    refused = urllib.error.HTTPError('https://127.0.0.1:8501/v1/catalog/services', 403, 'Permission denied', {}, None)
    consul = app.Consul('https://127.0.0.1:8501', None, lambda: token,
                        opener=fake_consul({'/v1/catalog/services': refused}, []))
    with pytest.raises(app.PortalError) as caught:
        consul.model('published')
    assert str(caught.value) == 'Consul answered 403 to GET /v1/catalog/services (the token lacks a read permission)'


def test_the_cache_keeps_the_last_good_lists_and_says_why_they_are_old(app):
    now = [0.0]
    answers = [{'apps': ['A'], 'nodes': ['N']}, app.PortalError('Consul at x did not answer')]

    def fetch():
        value = answers.pop(0)
        if isinstance(value, Exception):
            raise value
        return value
    cache = app.ModelCache(fetch, max_age=2, clock=lambda: now[0])
    first = cache.get()
    assert (first['apps'], first['error']) == (['A'], None)
    assert cache.get() is first  # within max_age: no second fetch
    now[0] = 5.0
    stale = cache.get()
    assert (stale['apps'], stale['nodes'], stale['error']) == (['A'], ['N'], 'Consul at x did not answer')
    assert stale['updated'] == first['updated']


def typed(app_entry, check_type):
    """The entry with Consul's check type on its own service check (Consul 1.7 and later report it)."""
    for item in app_entry['Checks']:
        if item['ServiceID']:
            item['Type'] = check_type
    return app_entry


def test_an_instance_checked_over_tcp_is_shown_without_a_link_and_one_checked_over_http_keeps_it(model):
    """An MQTT broker (a TCP check) has no web page: its instances are not linked and the app has no link unless its
    meta names a URL; an instance with an HTTP check, or from a Consul that reports no type, is linked."""
    broker = model.shape_app('mqtt', [typed(entry('pi-01', port=1883, node_address='10.0.0.1'), 'tcp')])
    assert broker['url'] is None and [i['url'] for i in broker['instances']] == [None]
    assert broker['status'] == 'passing'
    row = model.render_app_row(broker)
    assert '<a ' not in row and '10.0.0.1:1883' in row
    named = model.shape_app('mqtt', [typed(entry('pi-01', port=1883, meta={'url': 'https://mqtt.site.example/'}), 'tcp')])
    assert named['url'] == 'https://mqtt.site.example/'
    web = model.shape_app('web', [typed(entry('pi-01', node_address='10.0.0.1'), 'http'),
                                  typed(entry('pi-02', node_address='10.0.0.2'), 'tcp')])
    assert [i['url'] for i in web['instances']] == ['http://10.0.0.1:8080/', None] and web['url'] == 'http://10.0.0.1:8080/'
    assert model.shape_app('web', [entry('pi-01', node_address='10.0.0.1')])['url'] == 'http://10.0.0.1:8080/'
