# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The portal in a real browser (Debian's headless Chromium through selenium) against a real Consul 1.8.7.

Consul (Debian bullseye's build, zipped by scripts/consul-artifacts.sh) runs on 127.0.0.1 as a one-server
cluster with TLS (verify_incoming, certificates from a CA made here) and ACLs denying by default,
bootstrapped here. The portal reads it with a token that may only read services and nodes. The apps are
small HTTP servers of this test, registered with HTTP checks (one with a TCP check, as the MQTT broker is).
The tests run in order, as one story: listed, escaped, node health, stopped (critical), unpublished (gone).
Screenshots go to tests/output/catalog/. PICOCLOUD_CONSUL_ARTIFACTS names a directory that keeps the Consul zip between runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ROOT, Process, ScratchCA, free_port, wait_for

CONSUL_VERSION = '1.8.7'
NODE = 'pico-test'
# The portal's whole ACL policy (docs/workloads.md).
PORTAL_RULES = 'service_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }\n'
HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
TIMELINE = {}


class Consul:
    """One Consul server on loopback, driven through its HTTPS API with a client certificate."""

    def __init__(self, binary, directory):
        self.dir = directory
        self.ca = ScratchCA(directory)
        self.cert, self.key = self.ca.issue('server', dns=['server.dc1.consul', 'localhost'], ips=['127.0.0.1'],
                                            server=True, client=True)
        self.portal_cert, self.portal_key = self.ca.issue('portal', client=True)
        self.port = free_port()
        config = {
            'datacenter': 'dc1', 'node_name': NODE, 'server': True, 'bootstrap_expect': 1,
            'data_dir': os.path.join(directory, 'data'), 'bind_addr': '127.0.0.1', 'client_addr': '127.0.0.1',
            'advertise_addr': '127.0.0.1',
            'ports': {'http': -1, 'dns': -1, 'grpc': -1, 'https': self.port, 'serf_lan': free_port(),
                      'serf_wan': free_port(), 'server': free_port()},
            'ca_file': self.ca.ca_file, 'cert_file': self.cert, 'key_file': self.key,
            'verify_incoming': True, 'verify_outgoing': True, 'verify_server_hostname': True,
            'acl': {'enabled': True, 'default_policy': 'deny', 'down_policy': 'extend-cache', 'enable_token_persistence': True},
            'disable_update_check': True, 'log_level': 'INFO', 'performance': {'raft_multiplier': 1},
        }
        config_file = os.path.join(directory, 'consul.json')
        with open(config_file, 'w', encoding='utf-8') as handle:
            json.dump(config, handle)
        self.process = Process([binary, 'agent', '-config-file', config_file], os.path.join(directory, 'consul.log'))
        self.addr = 'https://127.0.0.1:%d' % self.port
        self.management = None

    def api(self, method, path, body=None, token=None, cert=None):
        """(status, parsed JSON or text) of one API call."""
        context = ssl.create_default_context(cafile=self.ca.ca_file)
        context.load_cert_chain(*(cert or (self.cert, self.key)))
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.addr + path, data=data, method=method)
        if token or self.management:
            request.add_header('X-Consul-Token', token or self.management)
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as answer:
                text = answer.read().decode()
                status = answer.status
        except urllib.error.HTTPError as exc:
            text = exc.read().decode()
            status = exc.code
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def bootstrap(self):
        wait_for('a Consul leader', lambda: self.api('GET', '/v1/status/leader')[1], 60)

        # Right after the election a 1.8 leader may still answer "legacy mode" for a moment.
        def bootstrapped():
            status, answer = self.api('PUT', '/v1/acl/bootstrap')
            return answer if status == 200 else None
        self.management = wait_for('the ACL bootstrap', bootstrapped, 60, interval=1)['SecretID']
        assert self.api('PUT', '/v1/agent/token/agent', {'Token': self.management})[0] == 200

    def read_only_token(self):
        policy = {'Name': 'portal-read', 'Rules': PORTAL_RULES, 'Description': 'picocloud portal: read services and nodes'}
        assert self.api('PUT', '/v1/acl/policy', policy)[0] == 200
        status, token = self.api('PUT', '/v1/acl/token', {'Description': 'portal', 'Policies': [{'Name': 'portal-read'}]})
        assert status == 200
        return token['SecretID']

    def register(self, name, port, tags=('published',), meta=None, tcp=False):
        check = {'TCP': '127.0.0.1:%d' % port} if tcp else {'HTTP': 'http://127.0.0.1:%d/health' % port}
        body = {'Name': name, 'ID': name, 'Address': '127.0.0.1', 'Port': port, 'Tags': list(tags), 'Meta': meta or {},
                'Check': dict(check, Interval='1s', Timeout='1s')}
        status, answer = self.api('PUT', '/v1/agent/service/register', body)
        assert status == 200, answer


class App:
    """A small HTTP server standing for an app, with /health."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # pylint: disable=invalid-name
                self.send_response(200)
                self.send_header('Content-Length', '2')
                self.end_headers()
                self.wfile.write(b'ok')

            def log_message(self, *args):
                pass
        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture(scope='module')
def consul_binary(tmp_path_factory):
    artifacts = os.environ.get('PICOCLOUD_CONSUL_ARTIFACTS') or str(tmp_path_factory.mktemp('consul-artifacts'))
    subprocess.run([os.path.join(ROOT, 'scripts', 'consul-artifacts.sh'), artifacts, 'amd64'], check=True, timeout=600,
                   stdout=subprocess.DEVNULL)
    target = tmp_path_factory.mktemp('consul-bin')
    with zipfile.ZipFile(os.path.join(artifacts, 'consul_%s_linux_amd64.zip' % CONSUL_VERSION)) as archive:
        archive.extract('consul', str(target))
    binary = str(target / 'consul')
    os.chmod(binary, 0o755)
    return binary


@pytest.fixture(scope='module')
def site(consul_binary, tmp_path_factory, output_dir):
    """Consul with ACLs bootstrapped, three published apps and one internal one, node checks, and the portal."""
    directory = str(tmp_path_factory.mktemp('consul'))
    consul = Consul(consul_binary, directory)
    apps, portal = {}, None
    try:
        consul.bootstrap()
        token = consul.read_only_token()
        token_file = os.path.join(directory, 'portal.token')
        with open(os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600), 'w', encoding='utf-8') as handle:
            handle.write(token + '\n')
        for name in ('wiki', 'sensors', 'blog', 'broker', 'internal'):
            apps[name] = App()
        consul.register('wiki', apps['wiki'].port,
                        meta={'description': 'Team wiki', 'url': 'http://wiki.site.example/', 'owner': 'ops team'})
        consul.register('sensors', apps['sensors'].port, meta={'description': HOSTILE, 'owner': HOSTILE, 'url': 'javascript:alert(1)'})
        consul.register('blog', apps['blog'].port, meta={'description': 'Village blog', 'owner': 'anna'})
        consul.register('internal', apps['internal'].port, tags=('internal',))
        # An app checked over TCP, as the catalogue's MQTT broker is: no web page, so no link.
        consul.register('broker', apps['broker'].port, meta={'description': 'MQTT broker'}, tcp=True)
        # The node checks the consul role registers, here as TTL checks set by hand.
        for check_id, name, verb in (('picocloud-undervoltage', 'Undervoltage', 'pass'), ('picocloud-throttling', 'Throttling', 'pass'),
                                     ('picocloud-disk-root', 'Disk space /', 'warn')):
            assert consul.api('PUT', '/v1/agent/check/register', {'ID': check_id, 'Name': name, 'TTL': '10m'})[0] == 200
            assert consul.api('PUT', '/v1/agent/check/%s/%s?note=%s' % (verb, check_id, 'set+by+the+test'))[0] == 200
        # A second node, known to the catalog only, whose Pi reports under-voltage right now.
        status = consul.api('PUT', '/v1/catalog/register', {
            'Node': 'pi-02', 'Address': '127.0.0.2',
            'Check': {'CheckID': 'picocloud-undervoltage', 'Name': 'Undervoltage', 'Status': 'critical',
                      'Output': 'under-voltage detected now'}})[0]
        assert status == 200
        port = free_port()
        env = dict(os.environ, CONSUL_HTTP_ADDR=consul.addr, CONSUL_CACERT=consul.ca.ca_file, CONSUL_CLIENT_CERT=consul.portal_cert,
                   CONSUL_CLIENT_KEY=consul.portal_key, CONSUL_HTTP_TOKEN_FILE=token_file, PORTAL_PORT=str(port),
                   PORTAL_BIND='127.0.0.1', PORTAL_REFRESH='1', PORTAL_TITLE='Pico-Cloud portal (test)')
        portal = Process([sys.executable, os.path.join(ROOT, 'catalog', 'portal', 'portal.py')],
                         os.path.join(output_dir, 'portal.log'), env=env)
        url = 'http://127.0.0.1:%d/' % port
        wait_for('the portal', lambda: urllib.request.urlopen(url + 'health', timeout=5).status == 200, 30)
        yield {'consul': consul, 'apps': apps, 'url': url, 'token': token, 'portal': portal}
    finally:
        if portal:
            portal.stop()
        for app in apps.values():
            app.stop()
        consul.process.stop()


@pytest.fixture(scope='module')
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = '/usr/bin/chromium'
    profile = tempfile.mkdtemp(prefix='catalogtest-chromium-')
    for arg in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                '--no-first-run', '--window-size=1400,900', '--user-data-dir=' + profile):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path='/usr/bin/chromedriver'))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(10)
    try:
        yield driver
    finally:
        driver.quit()
        subprocess.run(['rm', '-rf', profile], check=False)


ROWS_JS = "return [...document.querySelectorAll('#apps tbody tr')].map(r => [r.dataset.app, r.dataset.status]);"


def app_rows(driver):
    return dict(driver.execute_script(ROWS_JS))


def until(driver, what, condition, timeout=30):
    """Wait, at most `timeout` seconds, for condition(driver) to be true; return the seconds it took."""
    start = time.monotonic()
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.25).until(condition)
    except Exception:
        raise AssertionError('timed out after %ss waiting for %s; rows: %r' % (timeout, what, app_rows(driver)))
    return round(time.monotonic() - start, 1)


@pytest.fixture(scope='module')
def page(site, browser):
    browser.get(site['url'])
    until(browser, 'the published apps to pass',
          lambda d: app_rows(d) == {'blog': 'passing', 'broker': 'passing', 'sensors': 'passing', 'wiki': 'passing'})
    return browser


def test_the_portal_token_may_read_the_catalog_and_nothing_else(site):
    consul, token, cert = site['consul'], site['token'], (site['consul'].portal_cert, site['consul'].portal_key)
    assert consul.api('GET', '/v1/catalog/services', token=token, cert=cert)[0] == 200
    assert consul.api('GET', '/v1/health/state/any', token=token, cert=cert)[0] == 200
    assert consul.api('PUT', '/v1/agent/service/register', {'Name': 'x', 'Port': 1}, token=token, cert=cert)[0] == 403
    assert consul.api('GET', '/v1/kv/anything', token=token, cert=cert)[0] == 403
    assert consul.api('GET', '/v1/acl/tokens', token=token, cert=cert)[0] == 403


def test_the_published_apps_are_listed_with_meta_and_where_they_run(site, page):
    rows = app_rows(page)
    assert sorted(rows) == ['blog', 'broker', 'sensors', 'wiki']  # 'internal' is not tagged published
    wiki = page.find_element('css selector', 'tr[data-app="wiki"]')
    assert wiki.find_element('css selector', '.app-description').text == 'Team wiki'
    assert wiki.find_element('css selector', '.app-owner').text == 'ops team'
    assert wiki.find_element('css selector', '.app-open a').get_attribute('href') == 'http://wiki.site.example/'
    where = wiki.find_element('css selector', '.app-where li')
    assert where.get_attribute('data-node') == NODE
    assert '127.0.0.1:%d on %s' % (site['apps']['wiki'].port, NODE) in where.text
    # Without a meta URL the link opens the instance itself.
    blog_link = page.find_element('css selector', 'tr[data-app="blog"] .app-open a').get_attribute('href')
    assert blog_link == 'http://127.0.0.1:%d/' % site['apps']['blog'].port
    # An app checked over TCP (Consul reports the check's type) is shown where it runs, with no link.
    broker = page.find_element('css selector', 'tr[data-app="broker"]')
    assert broker.find_elements('css selector', 'a') == []
    assert '127.0.0.1:%d on %s' % (site['apps']['broker'].port, NODE) in broker.find_element('css selector', '.app-where li').text
    assert site['token'] not in page.page_source


def test_markup_in_service_meta_is_shown_as_text_and_never_runs(site, page):
    sensors = page.find_element('css selector', 'tr[data-app="sensors"]')
    assert sensors.find_element('css selector', '.app-description').text == HOSTILE
    # The owner is cut to 64 characters (the ellipsis is the 64th).
    assert sensors.find_element('css selector', '.app-owner').text == HOSTILE[:63] + '\u2026'
    assert page.find_elements('css selector', '#apps img, #apps script') == []
    assert page.execute_script('return window.__pwned === undefined;')
    # The javascript: URL is not linked; the instance's own address is.
    assert sensors.find_element('css selector', '.app-open a').get_attribute('href') == \
        'http://127.0.0.1:%d/' % site['apps']['sensors'].port


def test_node_health_shows_the_pi_checks_and_a_failing_pi_at_a_glance(page):
    nodes = dict(page.execute_script(
        "return [...document.querySelectorAll('#nodes tbody tr')].map(r => [r.dataset.node, "
        "[r.dataset.status, [...r.querySelectorAll('li')].map(l => [l.dataset.check, l.querySelector('.badge').dataset.status])]]);"))
    assert nodes[NODE][0] == 'warning'
    assert nodes[NODE][1] == [['serfHealth', 'passing'], ['picocloud-undervoltage', 'passing'],
                              ['picocloud-throttling', 'passing'], ['picocloud-disk-root', 'warning']]
    assert nodes['pi-02'] == ['critical', [['picocloud-undervoltage', 'critical']]]


def test_a_stopped_app_turns_critical_on_the_page_within_30_seconds(site, page, output_dir):
    site['apps']['wiki'].stop()
    TIMELINE['critical_after_s'] = until(page, 'wiki to turn critical', lambda d: app_rows(d).get('wiki') == 'critical', 30)
    assert app_rows(page)['blog'] == 'passing'
    page.save_screenshot(os.path.join(output_dir, 'portal-critical.png'))


def test_an_unpublished_app_disappears_from_the_page(site, page, output_dir):
    site['consul'].register('blog', site['apps']['blog'].port, tags=(), meta={'description': 'Village blog'})
    TIMELINE['gone_after_s'] = until(page, 'blog to disappear', lambda d: 'blog' not in app_rows(d), 30)
    assert sorted(app_rows(page)) == ['broker', 'sensors', 'wiki']
    shot = os.path.join(output_dir, 'portal.png')
    page.save_screenshot(shot)
    assert os.path.getsize(shot) > 10000
    with open(os.path.join(output_dir, 'portal-timeline.json'), 'w', encoding='utf-8') as handle:
        json.dump(TIMELINE, handle, indent=2, sort_keys=True)
