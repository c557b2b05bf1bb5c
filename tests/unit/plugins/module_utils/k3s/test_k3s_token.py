# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k3s tokens: the controller's secret, the secure K10 format and the cluster CA hash."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import token

SECRET = 'Zq3x9VbT2mK7pLr4Wn8sYc5Hd1Fg6Jk0AaBbCcDdEeFfGgHhIiJjKkLlMmNnOoPp'
CACERTS = ('-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2VydmVy\n'
           '-----END CERTIFICATE-----\n')
CA_HASH = hashlib.sha256(CACERTS.encode()).hexdigest()


def test_ca_hash_is_the_sha256_of_the_pem_bundle_as_served():
    assert token.ca_hash(CACERTS) == CA_HASH
    assert token.ca_hash(CACERTS.encode()) == CA_HASH


def test_full_token_is_k10_hash_server_secret():
    assert token.full_token(CACERTS, SECRET) == 'K10%s::server:%s' % (CA_HASH, SECRET)
    assert token.full_token(CA_HASH.upper(), SECRET, user='node') == 'K10%s::node:%s' % (CA_HASH, SECRET)


def test_a_secure_token_parses_into_its_parts():
    assert token.parse('K10%s::server:%s\n' % (CA_HASH, SECRET)) == {
        'secure': True, 'ca_hash': CA_HASH, 'user': 'server', 'secret': SECRET}


def test_a_short_token_is_only_the_secret():
    assert token.parse(SECRET) == {'secure': False, 'ca_hash': None, 'user': None, 'secret': SECRET}


@pytest.mark.parametrize('text', [
    'K10%s::server:%s' % (CA_HASH[:-2], SECRET),
    'K10%s:server:%s' % (CA_HASH, SECRET),
    'K10%s::admin:%s' % (CA_HASH, SECRET),
    'K10%s::server:' % CA_HASH,
])
def test_malformed_secure_tokens_are_refused_without_echoing_the_secret(text):
    with pytest.raises(K3sError) as info:
        token.parse(text)
    assert SECRET not in str(info.value)
    assert 'is not K10<sha256 of the cluster CA>::server:<secret>' in str(info.value) or 'token secret' in str(
        info.value)


@pytest.mark.parametrize('secret', ['short', 'has:colon' + 'x' * 40, 'has space' + 'x' * 40, '', None, 'é' * 40])
def test_secrets_that_are_not_32_letters_and_digits_are_refused(secret):
    with pytest.raises(K3sError, match='is not 32 to 256 letters and digits'):
        token.check_secret(secret)


def test_the_first_servers_token_is_accepted_when_it_carries_the_controllers_secret_and_its_ca():
    written = token.full_token(CACERTS, SECRET)
    assert token.check_written(written, SECRET, cacerts=CACERTS)['ca_hash'] == CA_HASH


def test_a_first_server_token_from_another_secret_is_refused():
    written = token.full_token(CACERTS, 'X' * 40)
    with pytest.raises(K3sError, match='carries another secret than the one in the secrets dir') as info:
        token.check_written(written, SECRET)
    assert 'X' * 40 not in str(info.value)


def test_a_first_server_token_with_another_ca_is_refused():
    with pytest.raises(K3sError, match='its CA hash .* is not the sha256 of the server'):
        token.check_written(token.full_token('a' * 64, SECRET), SECRET, cacerts=CACERTS)


def test_a_short_token_where_the_secure_one_is_expected_is_refused():
    with pytest.raises(K3sError, match='is a short token'):
        token.check_written(SECRET, SECRET)


def test_text_that_is_no_pem_bundle_is_refused():
    with pytest.raises(K3sError, match='expected the PEM certificate bundle'):
        token.ca_hash('hello')
