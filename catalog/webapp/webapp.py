# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge catalogue web app: a hit counter and echo service on the Python standard library.

  GET  /          a page with the hit count and the container's host name
  GET  /health    {"status": "ok"} (the health check)
  GET  /echo      the request as JSON: method, path, query and headers
  POST /echo      the same, plus the body (at most 64 KiB)

WEBAPP_PORT (default 8080) is the port. The count is kept in WEBAPP_DATA/hits (default /data) when that
directory is writable, so a volume keeps it across restarts; otherwise it lives in memory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import html
import json
import os
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 64 * 1024


class Counter:
    """A thread-safe hit count, persisted to a file when one can be written."""

    def __init__(self, path):
        self._lock = threading.Lock()
        self._path = path
        self.value = 0
        try:
            with open(path, encoding='ascii') as handle:
                self.value = int(handle.read().strip() or '0')
        except (OSError, ValueError):
            self.value = 0

    def hit(self):
        with self._lock:
            self.value += 1
            value = self.value
            try:
                tmp = self._path + '.tmp'
                with open(tmp, 'w', encoding='ascii') as handle:
                    handle.write('%d\n' % value)
                os.replace(tmp, self._path)
            except OSError:
                pass
        return value


def make_handler(counter):
    """A request handler class bound to one counter."""

    class Handler(BaseHTTPRequestHandler):
        server_version = 'picocloud-webapp/1.0'

        def _send(self, status, body, content_type):
            data = body.encode('utf-8')
            self.send_response(status)
            self.send_header('Content-Type', content_type)
            self.send_header('Content-Length', str(len(data)))
            self.send_header('Cache-Control', 'no-store')
            self.end_headers()
            if self.command != 'HEAD':
                self.wfile.write(data)

        def _echo(self, body=None):
            parsed = urllib.parse.urlsplit(self.path)
            answer = {
                'method': self.command,
                'path': parsed.path,
                'query': urllib.parse.parse_qs(parsed.query),
                'headers': dict(self.headers.items()),
            }
            if body is not None:
                answer['body'] = body.decode('utf-8', 'replace')
            self._send(200, json.dumps(answer, indent=2, sort_keys=True) + '\n', 'application/json')

        def do_GET(self):  # pylint: disable=invalid-name
            path = urllib.parse.urlsplit(self.path).path
            if path == '/health':
                self._send(200, '{"status": "ok"}\n', 'application/json')
            elif path == '/echo':
                self._echo()
            elif path == '/':
                hits = counter.hit()
                page = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Pico-Cloud web app</title></head>'
                        '<body><h1>Pico-Cloud web app</h1><p>Hits: <span id="hits">%d</span></p>'
                        '<p>Served by <code>%s</code>.</p></body></html>\n' % (hits, html.escape(socket.gethostname())))
                self._send(200, page, 'text/html; charset=utf-8')
            else:
                self._send(404, '{"error": "not found"}\n', 'application/json')

        do_HEAD = do_GET

        def do_POST(self):  # pylint: disable=invalid-name
            if urllib.parse.urlsplit(self.path).path != '/echo':
                self._send(404, '{"error": "not found"}\n', 'application/json')
                return
            try:
                length = int(self.headers.get('Content-Length', '0'))
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                self._send(413, '{"error": "body must be 0 to %d bytes"}\n' % MAX_BODY, 'application/json')
                return
            self._echo(self.rfile.read(length))

    return Handler


def main():
    port = int(os.environ.get('WEBAPP_PORT', '8080'))
    data_dir = os.environ.get('WEBAPP_DATA', '/data')
    counter = Counter(os.path.join(data_dir, 'hits'))
    server = ThreadingHTTPServer(('', port), make_handler(counter))
    print('webapp: listening on port %d, count file %s' % (port, os.path.join(data_dir, 'hits')), file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
