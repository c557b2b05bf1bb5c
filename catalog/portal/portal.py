# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge portal: the apps published in Consul and the health of the nodes, on one page.

Configuration (environment; the names of Consul's own CLI):
  CONSUL_HTTP_ADDR        https://HOST:PORT of a Consul agent (HTTPS only)
  CONSUL_CACERT           the CA that signed the agent's certificate
  CONSUL_CLIENT_CERT      the client certificate the agent asks for (verify_incoming) ...
  CONSUL_CLIENT_KEY       ... and its key
  CONSUL_HTTP_TOKEN_FILE  a file holding a read-only ACL token (read on every refresh, never logged)
  PORTAL_PORT (8080), PORTAL_BIND (0.0.0.0), PORTAL_REFRESH (5 s), PORTAL_TAG (published), PORTAL_TITLE

  GET /           the page (it refreshes its tables from /api/apps every PORTAL_REFRESH seconds)
  GET /api/apps   {"apps": [...], "nodes": [...], "updated": ..., "error": ...}
  GET /health     {"status": "ok"}
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import portal_model

HERE = os.path.dirname(os.path.abspath(__file__))
STATIC = {
    '/static/portal.js': ('portal.js', 'text/javascript; charset=utf-8'),
    '/static/portal.css': ('portal.css', 'text/css; charset=utf-8'),
}
ADDR_RE = re.compile(r'https://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?/?')
TAG_RE = re.compile(r'[A-Za-z0-9_.-]{1,64}')
# No inline script or style, nothing from another origin: a string that slipped through escaping still
# could not run.
SECURITY_HEADERS = (
    ('Content-Security-Policy', "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                                "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    ('X-Content-Type-Options', 'nosniff'),
    ('Referrer-Policy', 'no-referrer'),
    ('Cache-Control', 'no-store'),
)


class PortalError(Exception):
    """A configuration or Consul error, with a message fit for the log and the page (never a token)."""


def load_config(environ):
    """The portal's settings from an environment mapping; a bad or missing value names its variable."""
    def required(name):
        value = environ.get(name, '')
        if not value:
            raise PortalError('%s is not set' % name)
        return value

    addr = required('CONSUL_HTTP_ADDR')
    if not ADDR_RE.fullmatch(addr):
        raise PortalError('CONSUL_HTTP_ADDR must be https://HOST[:PORT], got %r' % addr)
    config = {'addr': addr.rstrip('/')}
    for key, name in (('ca', 'CONSUL_CACERT'), ('cert', 'CONSUL_CLIENT_CERT'), ('key', 'CONSUL_CLIENT_KEY'),
                      ('token_file', 'CONSUL_HTTP_TOKEN_FILE')):
        path = required(name)
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise PortalError('%s: cannot read the file %r' % (name, path))
        config[key] = path
    for key, name, default, low, high in (('port', 'PORTAL_PORT', '8080', 1, 65535),
                                          ('refresh', 'PORTAL_REFRESH', '5', 1, 3600)):
        value = environ.get(name) or default
        if not re.fullmatch(r'[0-9]{1,5}', value) or not low <= int(value) <= high:
            raise PortalError('%s must be a number from %d to %d, got %r' % (name, low, high, value))
        config[key] = int(value)
    config['bind'] = environ.get('PORTAL_BIND') or '0.0.0.0'
    config['tag'] = environ.get('PORTAL_TAG') or portal_model.PUBLISHED_TAG
    if not TAG_RE.fullmatch(config['tag']):
        raise PortalError('PORTAL_TAG must be a Consul tag of letters, digits, "_", "." or "-", got %r' % config['tag'])
    config['title'] = portal_model.clean_text(environ.get('PORTAL_TITLE') or 'Pico-Cloud portal', 80)
    return config


def read_token(path):
    """The ACL token from its file (first line), or a PortalError that does not show it."""
    try:
        with open(path, encoding='utf-8') as handle:
            token = handle.readline().strip()
    except OSError as exc:
        raise PortalError('cannot read the token file %r: %s' % (path, exc.strerror))
    if not token or not re.fullmatch(r'[A-Za-z0-9-]{1,128}', token):
        raise PortalError('the token file %r does not hold a Consul ACL token' % path)
    return token


def tls_context(config):
    """A client TLS context that trusts only the given CA and presents the client certificate."""
    context = ssl.create_default_context(cafile=config['ca'])
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config['cert'], config['key'])
    return context


class Consul:
    """The few read-only calls of Consul's HTTP API the portal makes."""

    def __init__(self, addr, context, token_reader, opener=None, timeout=5):
        self.addr = addr
        self.context = context
        self.token_reader = token_reader
        self.opener = opener or urllib.request.urlopen
        self.timeout = timeout

    def get(self, path):
        request = urllib.request.Request(self.addr + path, headers={'X-Consul-Token': self.token_reader(),
                                                                    'Accept': 'application/json'})
        try:
            with self.opener(request, context=self.context, timeout=self.timeout) as answer:
                return json.loads(answer.read().decode('utf-8'))
        except urllib.error.HTTPError as exc:
            hint = ' (the token lacks a read permission)' if exc.code == 403 else ''
            raise PortalError('Consul answered %d to GET %s%s' % (exc.code, path.split('?')[0], hint))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, 'reason', exc)
            raise PortalError('Consul at %s did not answer GET %s: %s' % (self.addr, path.split('?')[0], reason))

    def model(self, tag):
        """Published apps and nodes, as portal_model shapes them."""
        services = self.get('/v1/catalog/services')
        health = {}
        for name in portal_model.published_names(services, tag):
            query = (urllib.parse.quote(name, safe=''), urllib.parse.quote(tag, safe=''))
            health[name] = self.get('/v1/health/service/%s?tag=%s' % query)
        nodes = self.get('/v1/catalog/nodes')
        checks = self.get('/v1/health/state/any')
        return {'apps': portal_model.shape_apps(services, health, tag), 'nodes': portal_model.shape_nodes(nodes, checks)}


class ModelCache:
    """The last model, fetched at most once per `max_age` seconds however many browsers ask."""

    def __init__(self, fetch, max_age, clock=time.monotonic):
        self.fetch = fetch
        self.max_age = max_age
        self.clock = clock
        self.lock = threading.Lock()
        self.model = {'apps': [], 'nodes': [], 'updated': '', 'error': 'not read yet'}
        self.fetched_at = None

    def get(self):
        with self.lock:
            now = self.clock()
            if self.fetched_at is None or now - self.fetched_at >= self.max_age:
                self.fetched_at = now
                stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')
                try:
                    self.model = dict(self.fetch(), updated=stamp, error=None)
                except PortalError as exc:
                    # Keep the last good lists, and say why they are old.
                    self.model = dict(self.model, error=str(exc))
                    print('portal: %s' % exc, file=sys.stderr)
            return self.model


def make_handler(cache, config):
    """A request handler class bound to one model cache."""

    class Handler(BaseHTTPRequestHandler):
        server_version = 'picocloud-portal/1.0'

        def _send(self, status, body, content_type):
            data = body if isinstance(body, bytes) else body.encode('utf-8')
            self.send_response(status)
            self.send_header('Content-Type', content_type)
            self.send_header('Content-Length', str(len(data)))
            for name, value in SECURITY_HEADERS:
                self.send_header(name, value)
            self.end_headers()
            if self.command != 'HEAD':
                self.wfile.write(data)

        def do_GET(self):  # pylint: disable=invalid-name
            path = urllib.parse.urlsplit(self.path).path
            if path == '/':
                self._send(200, portal_model.render_page(cache.get(), config['title'], config['refresh']),
                           'text/html; charset=utf-8')
            elif path == '/api/apps':
                self._send(200, portal_model.api_json(cache.get()), 'application/json')
            elif path == '/health':
                self._send(200, '{"status": "ok"}\n', 'application/json')
            elif path in STATIC:
                name, content_type = STATIC[path]
                with open(os.path.join(HERE, 'static', name), 'rb') as handle:
                    self._send(200, handle.read(), content_type)
            else:
                self._send(404, '{"error": "not found"}\n', 'application/json')

        do_HEAD = do_GET

    return Handler


def make_server(config):
    """The portal's HTTP server for a loaded configuration (not started)."""
    consul = Consul(config['addr'], tls_context(config), lambda: read_token(config['token_file']))
    cache = ModelCache(lambda: consul.model(config['tag']), max_age=min(2, config['refresh']))
    return ThreadingHTTPServer((config['bind'], config['port']), make_handler(cache, config))


def main(environ=None):
    try:
        config = load_config(os.environ if environ is None else environ)
        server = make_server(config)
    except (PortalError, ssl.SSLError, OSError) as exc:
        print('portal: %s' % exc, file=sys.stderr)
        return 2
    print('portal: listening on %s:%d, Consul %s, tag %r' % (config['bind'], config['port'], config['addr'], config['tag']),
          file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
