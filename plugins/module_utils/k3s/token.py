# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k3s join tokens: the controller's secret, the secure K10 token and the CA hash, private to picocloud.edge.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Format, from docs.k3s.io "k3s token": a secure token is ``K10<cluster CA hash>::<credentials>``; for
the self-signed cluster CA the hash is the SHA256 of the PEM certificate bundle as k3s stores it (what
``GET /cacerts`` returns). Server tokens carry ``server:<password>``; a separate agent token carries
``node:<password>``. A short token is only the password. The first server starts from the short token
(the CA does not exist yet) and writes the secure one to /var/lib/rancher/k3s/server/token.

The controller generates the password once (``ansible.builtin.password`` into the secrets dir, 0600);
it must be letters and digits only, so it can never be mistaken for ``user:password`` or ``::``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError

PREFIX = 'K10'
MIN_SECRET = 32
USERS = ('server', 'node')
_SECRET_RE = re.compile(r'[A-Za-z0-9]{%d,256}' % MIN_SECRET)
_HASH_RE = re.compile(r'[0-9a-f]{64}')
_TOKEN_RE = re.compile(r'K10([0-9a-f]{64})::([a-z]+):(.+)')


def _redact(value):
    """Enough of a token to recognise it in a message, never the secret."""
    if not isinstance(value, str):
        return type(value).__name__
    if value.startswith(PREFIX) and '::' in value:
        return value.split('::', 1)[0] + '::<redacted>'
    return '<%d characters>' % len(value)


def check_secret(secret):
    """The controller's token secret, if it is 32-256 letters and digits; refused otherwise (not echoed)."""
    if not isinstance(secret, str) or not _SECRET_RE.fullmatch(secret.strip()):
        raise K3sError('token secret: %s is not 32 to 256 letters and digits; generate it with '
                       "lookup('ansible.builtin.password', path, chars=['ascii_letters', 'digits'], length=64)"
                       % _redact(secret))
    return secret.strip()


def ca_hash(cacerts):
    """The cluster CA hash k3s puts in secure tokens: sha256 of the /cacerts PEM bundle, as served."""
    if isinstance(cacerts, str):
        cacerts = cacerts.encode('ascii', 'strict')
    if not isinstance(cacerts, bytes) or b'-----BEGIN CERTIFICATE-----' not in cacerts:
        raise K3sError('cacerts: expected the PEM certificate bundle from /cacerts or server-ca.crt')
    return hashlib.sha256(cacerts).hexdigest()


def full_token(cacerts_or_hash, secret, user='server'):
    """``K10<CA hash>::<user>:<secret>`` from the CA bundle (or its hash) and the controller's secret."""
    if user not in USERS:
        raise K3sError('user: %r must be server or node' % (user,))
    if isinstance(cacerts_or_hash, str) and _HASH_RE.fullmatch(cacerts_or_hash.strip().lower()):
        digest = cacerts_or_hash.strip().lower()
    else:
        digest = ca_hash(cacerts_or_hash)
    return '%s%s::%s:%s' % (PREFIX, digest, user, check_secret(secret))


def parse(token):
    """A token's parts: ``{'secure': bool, 'ca_hash': str or None, 'user': str or None, 'secret': str}``.

    A secure token must be ``K10<64 hex>::server:<secret>`` or ``::node:<secret>``; anything else that
    starts with K10 is refused (a truncated or hand-edited token), and a short token must be a secret.
    """
    if not isinstance(token, str) or not token.strip():
        raise K3sError('token: expected the token text, got %s' % _redact(token))
    token = token.strip()
    if token.startswith(PREFIX):
        match = _TOKEN_RE.fullmatch(token)
        if not match or match.group(2) not in USERS:
            raise K3sError('token: %s is not K10<sha256 of the cluster CA>::server:<secret> (or ::node:<secret>)'
                           % _redact(token))
        return {'secure': True, 'ca_hash': match.group(1), 'user': match.group(2),
                'secret': check_secret(match.group(3))}
    return {'secure': False, 'ca_hash': None, 'user': None, 'secret': check_secret(token)}


def check_written(token, secret, cacerts=None):
    """Check the token a first server wrote against the controller's secret (and its CA, when given).

    Returns the parsed token. A token whose secret differs means the server was started from another
    secret (an older cluster): joining with the controller's secret would fail, so it is refused here.
    """
    parsed = parse(token)
    if not parsed['secure']:
        raise K3sError('server token: %s is a short token; k3s writes the secure K10 form to '
                       '/var/lib/rancher/k3s/server/token' % _redact(token))
    if parsed['secret'] != check_secret(secret):
        raise K3sError('server token: the first server\'s token carries another secret than the one in the secrets '
                       'dir, so this cluster was made from another secret; restore that secret or reset the cluster')
    if cacerts is not None and parsed['ca_hash'] != ca_hash(cacerts):
        raise K3sError('server token: its CA hash %s is not the sha256 of the server\'s CA (%s)'
                       % (parsed['ca_hash'], ca_hash(cacerts)))
    return parsed
