# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal Docker Engine API client over the local UNIX socket, for the bench's node-side runs.

Private to the picocloud.edge collection: no compatibility promise to other collections.

The bench times the engine, so the client must cost as little as possible: one HTTP/1.1 request per
call on a fresh UNIX-socket connection, JSON in and out, no process per call (the docker CLI costs a
fork and a Go start-up per call, which would be counted in the measured times). Every call is
bounded by a socket timeout. Errors carry the method, path, HTTP status and the engine's message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re
import socket

try:
    from http.client import HTTPConnection
except ImportError:  # pragma: no cover - Python 2 is not supported by the bench
    HTTPConnection = object

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote

DEFAULT_SOCKET = '/var/run/docker.sock'
TIMESTAMP_RE = re.compile(r'(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)')
ZERO_TIME = '0001-01-01T00:00:00Z'


class EngineError(Exception):
    """An engine call failed: ``status`` is the HTTP status (None when the socket failed)."""

    def __init__(self, method, path, status, message):
        self.status = status
        super(EngineError, self).__init__('%s %s: %s%s' % (
            method, path, 'HTTP %d: ' % status if status is not None else '', message))


class _UnixConnection(HTTPConnection):
    def __init__(self, path, timeout):
        HTTPConnection.__init__(self, 'localhost', timeout=timeout)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


def parse_timestamp(text):
    """Seconds since the epoch of an engine timestamp (RFC 3339, nanoseconds kept to the microsecond).

    Returns None for the engine's zero time; raises ValueError naming the value otherwise.
    """
    if text == ZERO_TIME:
        return None
    match = TIMESTAMP_RE.fullmatch(text or '')
    if not match:
        raise ValueError('not an RFC 3339 engine timestamp: %r' % (text,))
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = (match.group(7) or '0').ljust(9, '0')
    zone = match.group(8)
    offset = 0 if zone == 'Z' else (1 if zone[0] == '+' else -1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    moment = datetime.datetime(year, month, day, hour, minute, second)
    epoch = datetime.datetime(1970, 1, 1)
    delta = moment - epoch
    return delta.days * 86400 + delta.seconds - offset + int(fraction) / 1e9


def filters(**values):
    """The ``filters`` query value of the engine API: ``{"label": ["a=b"]}`` as JSON, URL-quoted."""
    return quote(json.dumps(dict((key, list(value)) for key, value in values.items()), sort_keys=True))


class Engine:
    """Calls to one engine; ``connect`` makes the connection (tests pass a fake)."""

    def __init__(self, path=DEFAULT_SOCKET, timeout=30.0, connect=None):
        self.path = path
        self.timeout = timeout
        self.connect = connect or (lambda: _UnixConnection(self.path, self.timeout))

    def call(self, method, path, body=None, expect=(200, 201, 204, 304)):
        payload = json.dumps(body).encode('utf-8') if body is not None else None
        headers = {'Content-Type': 'application/json'} if payload is not None else {}
        conn = self.connect()
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
            status = response.status
        except (OSError, socket.error) as exc:
            raise EngineError(method, path, None, str(exc))
        finally:
            conn.close()
        if status not in expect:
            message = data.decode('utf-8', 'replace').strip()
            try:
                message = json.loads(message).get('message', message)
            except (ValueError, AttributeError):
                pass
            raise EngineError(method, path, status, message)
        if not data:
            return None
        try:
            return json.loads(data.decode('utf-8'))
        except ValueError:
            return data.decode('utf-8', 'replace')

    def version(self):
        return self.call('GET', '/version')

    def info(self):
        return self.call('GET', '/info')

    def image(self, ref):
        return self.call('GET', '/images/%s/json' % quote(ref, safe='/:@'))

    def create_service(self, spec):
        return self.call('POST', '/services/create', spec)

    def services(self, **query):
        return self.call('GET', '/services?filters=%s' % filters(**query))

    def remove_service(self, ident):
        return self.call('DELETE', '/services/%s' % quote(ident), expect=(200, 204, 404))

    def tasks(self, **query):
        return self.call('GET', '/tasks?filters=%s' % filters(**query))

    def nodes(self):
        return self.call('GET', '/nodes')

    def create_container(self, name, spec):
        return self.call('POST', '/containers/create?name=%s' % quote(name), spec)

    def start_container(self, ident):
        return self.call('POST', '/containers/%s/start' % quote(ident))

    def stop_container(self, ident, timeout=1):
        return self.call('POST', '/containers/%s/stop?t=%d' % (quote(ident), timeout), expect=(204, 304, 404))

    def inspect_container(self, ident):
        return self.call('GET', '/containers/%s/json' % quote(ident))

    def containers(self, **query):
        return self.call('GET', '/containers/json?all=1&filters=%s' % filters(**query))

    def remove_container(self, ident):
        return self.call('DELETE', '/containers/%s?force=1&v=1' % quote(ident), expect=(200, 204, 404))
