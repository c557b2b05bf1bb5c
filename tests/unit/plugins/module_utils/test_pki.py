# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pki role's decisions: entries, the signing policy, wanted-vs-current, trust files and the CA checks.

Certificates and CSRs are made here with cryptography and described by community.crypto's own filters, so the
functions see exactly the dictionaries the role hands them. The last tests prove the anchor design with OpenSSL
(Python's ssl) on loopback: a trust file of self-signed anchors verifies a server that sends leaf + root-signed
intermediate, while a trust file holding only the intermediate does not (no partial-chain verification in 3.11).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.community.crypto.plugins.filter.openssl_csr_info import openssl_csr_info_filter
from ansible_collections.community.crypto.plugins.filter.x509_certificate_info import x509_certificate_info_filter
from ansible_collections.picocloud.edge.plugins.module_utils import pki

NOW = datetime.datetime(2026, 12, 4, 12, 0, 0)
PURPOSES = ['consul', 'docker', 'operator', 'registry']
SERVERS = ['node-01', 'node-02', 'node-03']
DOMAIN = 'lab.consul'


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def new_key():
    return ec.generate_private_key(ec.SECP256R1())


def ca_cert(subject_key, cn, issuer_key=None, issuer_cn=None, pathlen=0, days=1825, start=NOW):
    builder = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(issuer_cn or cn))
               .public_key(subject_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start - datetime.timedelta(days=1)).not_valid_after(start + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=True, path_length=pathlen), critical=True)
               .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False))
    signer = issuer_key or subject_key
    builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
    return builder.sign(signer, hashes.SHA256())


def leaf_cert(key, cn, sans, ekus, issuer_key, issuer_cn, days=365, start=NOW, ca=False):
    general = [x509.DNSName(san[4:]) if san.startswith('DNS:') else x509.IPAddress(__import__('ipaddress').ip_address(san[3:]))
               for san in sans]
    return (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(issuer_cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start - datetime.timedelta(hours=1)).not_valid_after(start + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
            .add_extension(x509.SubjectAlternativeName(general), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256()))


def csr(key, cn, sans, ekus, ku_critical=True, bc_ca=False, extra=None, subject=None):
    general = [x509.DNSName(san[4:]) if san.startswith('DNS:') else x509.IPAddress(__import__('ipaddress').ip_address(san[3:]))
               for san in sans]
    builder = (x509.CertificateSigningRequestBuilder().subject_name(subject or name(cn))
               .add_extension(x509.BasicConstraints(ca=bc_ca, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=ku_critical)
               .add_extension(x509.ExtendedKeyUsage(ekus), critical=False))
    if general:
        builder = builder.add_extension(x509.SubjectAlternativeName(general), critical=False)
    if extra is not None:
        builder = builder.add_extension(extra, critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def info(cert):
    return x509_certificate_info_filter(pem(cert))


class Site(object):
    """A root, one intermediate and one anchor per purpose, as the role makes them."""

    def __init__(self, start=NOW):
        self.root_key = new_key()
        self.root = ca_cert(self.root_key, 'picocloud lab root CA', pathlen=1, days=3650, start=start)
        self.keys, self.cas, self.anchors = {}, {}, {}
        for purpose in PURPOSES:
            cn = 'picocloud lab %s CA' % purpose
            self.keys[purpose] = new_key()
            self.cas[purpose] = ca_cert(self.keys[purpose], cn, self.root_key, 'picocloud lab root CA', start=start)
            self.anchors[purpose] = ca_cert(self.keys[purpose], cn, start=start)

    def cn(self, purpose):
        return 'picocloud lab %s CA' % purpose

    def leaf(self, purpose, key, cn, sans, ekus, **kwargs):
        return leaf_cert(key, cn, sans, ekus, self.keys[purpose], self.cn(purpose), **kwargs)

    def issuers(self):
        return dict((purpose, info(cert)) for purpose, cert in self.cas.items())

    def anchor_pems(self):
        return dict((purpose, pem(cert)) for purpose, cert in self.anchors.items())

    def chains(self):
        return dict((purpose, pem(cert)) for purpose, cert in self.cas.items())


@pytest.fixture(scope='module')
def site():
    return Site()


def docker_entry(**changes):
    entry = {'name': 'docker', 'ca': 'docker', 'trust': ['operator'], 'common_name': 'node-01',
             'sans': ['DNS:node-01', 'IP:10.0.0.11'], 'usage': 'server', 'dest': '/etc/docker/tls'}
    entry.update(changes)
    return entry


def consul_entry(host, role='client', **changes):
    entry = {'name': 'consul', 'ca': 'consul', 'trust': ['consul'], 'common_name': '%s.%s.%s' % (host, role, DOMAIN),
             'sans': ['DNS:%s.%s.%s' % (host, role, DOMAIN), 'DNS:%s.%s' % (role, DOMAIN), 'DNS:localhost',
                      'IP:127.0.0.1'],
             'usage': 'both', 'dest': '/etc/consul.d/tls', 'owner': 'consul', 'group': 'consul'}
    entry.update(changes)
    return entry


# --- entries ---------------------------------------------------------------------------------------------------------

def test_a_good_entry_has_no_problems_and_gets_default_file_names_and_trust():
    assert pki.entries_problems([docker_entry()], PURPOSES, 365, 30) == []
    want = pki.wanted(docker_entry(trust=None))
    assert (want['cert_file'], want['key_file'], want['ca_file']) == (
        '/etc/docker/tls/docker.pem', '/etc/docker/tls/docker-key.pem', '/etc/docker/tls/ca.pem')
    assert want['trust'] == ['docker']
    assert want['extended_key_usage'] == ['serverAuth'] and want['key_usage'] == ['digitalSignature']
    assert want['dirs'] == ['/etc/docker/tls']


def test_file_overrides_replace_the_default_names_as_docker_certs_d_needs_them():
    entry = {'name': 'registry-client', 'ca': 'registry', 'common_name': 'node-01', 'usage': 'client',
             'cert_file': '/etc/docker/certs.d/registry.lab:5000/client.cert',
             'key_file': '/etc/docker/certs.d/registry.lab:5000/client.key',
             'ca_file': '/etc/docker/certs.d/registry.lab:5000/ca.crt'}
    assert pki.entries_problems([entry], PURPOSES, 365, 30) == []
    want = pki.wanted(entry, 'rsa', 3072)
    assert want['ca_file'].endswith('/ca.crt') and want['dirs'] == ['/etc/docker/certs.d/registry.lab:5000']
    assert want['key_usage'] == ['digitalSignature', 'keyEncipherment']
    assert want['public_key'] == {'type': 'RSA', 'curve': None, 'size': 3072}


@pytest.mark.parametrize('changes, field', [
    ({'ca': None}, 'ca'),
    ({'ca': 'root'}, 'ca'),
    ({'trust': ['docker', 'nobody']}, 'trust'),
    ({'trust': []}, 'trust'),
    ({'usage': 'client'}, 'usage'),
    ({'usage': 'both'}, 'usage'),
    ({'name': '../escape'}, 'name'),
    ({'name': 'a\nb'}, 'name'),
    ({'common_name': 'node\n-01'}, 'common_name'),
    ({'common_name': ''}, 'common_name'),
    ({'sans': 'DNS:node-01'}, 'sans'),
    ({'sans': ['node-01']}, 'sans'),
    ({'sans': ['DNS:node_01.example']}, 'sans'),
    ({'sans': ['IP:10.0.0.300']}, 'sans'),
    ({'dest': 'etc/docker'}, 'dest'),
    ({'dest': None}, 'cert_file'),
    ({'cert_file': '/etc/docker/tls/'}, 'cert_file'),
    ({'key_file': '/etc/x/a key.pem'}, 'key_file'),
    ({'owner': 'root;rm'}, 'owner'),
    ({'days': 30}, 'days'),
    ({'days': 'soon'}, 'days'),
], ids=str)
def test_a_bad_entry_is_refused_naming_the_certificate_the_field_and_the_value(changes, field):
    problems = pki.entries_problems([docker_entry(**changes)], PURPOSES, 365, 30)
    assert problems, changes
    assert any(('%s=' % field) in problem for problem in problems), problems
    assert problems[0].startswith('pki_certs entry ')


def test_each_ca_issues_only_the_usages_its_job_needs():
    for purpose, usages in pki.PURPOSE_USAGES.items():
        for usage in ('server', 'client', 'both'):
            problems = pki.entry_problems(docker_entry(ca=purpose, trust=[purpose], usage=usage), PURPOSES, 365, 30)
            assert (problems == []) == (usage in usages), (purpose, usage, problems)
    assert pki.PURPOSE_USAGES['docker'] == ('server',) and pki.PURPOSE_USAGES['operator'] == ('client',)


def test_two_entries_with_one_name_or_one_file_or_one_ca_file_with_two_trusts_are_refused():
    assert 'two entries named docker' in ' '.join(pki.entries_problems([docker_entry(), docker_entry()], PURPOSES, 365, 30))
    clash = pki.entries_problems([docker_entry(), docker_entry(name='other', cert_file='/etc/docker/tls/docker.pem')],
                                 PURPOSES, 365, 30)
    assert any('both write /etc/docker/tls/docker.pem' in problem for problem in clash)
    trusts = pki.entries_problems([docker_entry(), docker_entry(name='reg', ca='registry', usage='client', trust=['registry'])],
                                  PURPOSES, 365, 30)
    assert any('share the CA file /etc/docker/tls/ca.pem' in problem for problem in trusts)
    assert pki.entries_problems('docker', PURPOSES, 365, 30) == ["pki_certs must be a list of dicts, got 'docker'"]


def test_sans_are_normalised_as_community_crypto_reports_them():
    assert pki.normalize_san('DNS:Node-01.Example') == 'DNS:node-01.example'
    assert pki.normalize_san('IP:0:0::1') == 'IP:::1'
    assert pki.normalize_san('URI:spiffe://lab/x') == 'URI:spiffe://lab/x'
    for bad in ('IP:1.2.3', 'DNS:a..b', 'DNS:', 'email:', 'X:y', 'DNS:a\rb', 5):
        with pytest.raises(pki.PkiError):
            pki.normalize_san(bad)


# --- naming rules and the signing policy ------------------------------------------------------------------------------

def test_consul_server_names_are_only_for_consul_servers():
    assert pki.is_consul_server_name('server.lab.consul', DOMAIN)
    assert pki.is_consul_server_name('Node-01.SERVER.lab.consul.', DOMAIN)
    assert not pki.is_consul_server_name('server.client.lab.consul', DOMAIN), 'a client node named "server"'
    assert not pki.is_consul_server_name('server.other.consul', DOMAIN)
    assert pki.naming_problems('node-01', 'consul', 'consul', 'x', ['DNS:server.lab.consul'], SERVERS, DOMAIN) == []
    problems = pki.naming_problems('node-04', 'consul', 'consul', 'node-04.client.lab.consul', ['DNS:server.lab.consul'],
                                   SERVERS, DOMAIN)
    assert len(problems) == 1
    assert problems[0].startswith("node-04: certificate consul (consul CA): name: it asks 'server.lab.consul'")
    assert 'only to hosts in consul_servers' in problems[0]
    assert pki.naming_problems('node-04', 'docker', 'docker', 'server.lab.consul', [], SERVERS, DOMAIN) == []


def test_a_csr_that_asks_exactly_what_the_entry_asks_is_signed():
    key = new_key()
    want = pki.wanted(consul_entry('node-04'))
    request = csr(key, want['common_name'], want['sans'], [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    assert pki.csr_problems('node-04', want, openssl_csr_info_filter(request), SERVERS, DOMAIN) == []


def test_a_client_node_forging_the_consul_server_name_is_refused_naming_node_certificate_field_asked_and_allowed():
    key = new_key()
    want = pki.wanted(consul_entry('node-04'))
    forged = csr(key, want['common_name'], want['sans'] + ['DNS:server.lab.consul'],
                 [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    problems = pki.csr_problems('node-04', want, openssl_csr_info_filter(forged), SERVERS, DOMAIN)
    assert problems[0].startswith('node-04: certificate consul (consul CA): subject_alt_name: the CSR asks [')
    assert "'DNS:server.lab.consul'" in problems[0] and 'allowed is [' in problems[0]
    assert "node-04: certificate consul (consul CA): name: it asks 'server.lab.consul'" in ' '.join(problems)


def test_an_entry_that_itself_asks_the_server_name_for_a_client_is_refused_by_the_naming_rule():
    key = new_key()
    want = pki.wanted(consul_entry('node-04', role='server'))
    request = csr(key, want['common_name'], want['sans'], [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    problems = pki.csr_problems('node-04', want, openssl_csr_info_filter(request), SERVERS, DOMAIN)
    assert problems and all(': certificate consul (consul CA): name: it asks' in problem for problem in problems)
    assert pki.csr_problems('node-01', pki.wanted(consul_entry('node-01', role='server')),
                            openssl_csr_info_filter(csr(key, 'node-01.server.lab.consul',
                                                        pki.wanted(consul_entry('node-01', role='server'))['sans'],
                                                        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])),
                            SERVERS, DOMAIN) == []


@pytest.mark.parametrize('forge, field', [
    (dict(ekus=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), 'extended_key_usage'),
    (dict(ekus=[ExtendedKeyUsageOID.CODE_SIGNING]), 'extended_key_usage'),
    (dict(ku_critical=False), 'key_usage'),
    (dict(bc_ca=True), 'basic_constraints'),
    (dict(cn='node-02'), 'subject'),
    (dict(subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'node-01'),
                             x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'x')])), 'subject'),
    (dict(sans=['DNS:node-01']), 'subject_alt_name'),
    (dict(extra=x509.NameConstraints(permitted_subtrees=[x509.DNSName('lab')], excluded_subtrees=None)), 'extensions'),
], ids=['client-auth-on-a-daemon', 'code-signing', 'key-usage-not-critical', 'a-ca', 'other-subject',
        'extra-subject-attribute', 'other-sans', 'extra-extension'])
def test_a_docker_csr_asking_more_or_other_than_the_entry_is_refused(forge, field):
    want = pki.wanted(docker_entry())
    args = dict(cn=want['common_name'], sans=want['sans'], ekus=[ExtendedKeyUsageOID.SERVER_AUTH])
    args.update(forge)
    problems = pki.csr_problems('node-01', want, openssl_csr_info_filter(csr(new_key(), **args)), SERVERS, DOMAIN)
    assert any(problem.startswith('node-01: certificate docker (docker CA): %s: the CSR asks ' % field) for problem in problems), problems


def test_a_csr_with_another_key_type_or_a_bad_signature_is_refused():
    want = pki.wanted(docker_entry(), 'rsa', 2048)
    info_ = openssl_csr_info_filter(csr(new_key(), want['common_name'], want['sans'], [ExtendedKeyUsageOID.SERVER_AUTH]))
    assert any(': public_key: ' in problem for problem in pki.csr_problems('node-01', want, info_, SERVERS, DOMAIN))
    info_ = dict(info_, signature_valid=False)
    assert any(': signature: ' in problem for problem in pki.csr_problems('node-01', want, info_, SERVERS, DOMAIN))


def test_one_refusal_in_a_batch_is_reported_with_every_request_checked():
    good_want = pki.wanted(docker_entry())
    good = csr(new_key(), good_want['common_name'], good_want['sans'], [ExtendedKeyUsageOID.SERVER_AUTH])
    bad_want = pki.wanted(consul_entry('node-04'))
    bad = csr(new_key(), bad_want['common_name'], bad_want['sans'] + ['DNS:server.lab.consul'],
              [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    requests = [{'host': 'node-01', 'want': good_want, 'csr': good}, {'host': 'node-04', 'want': bad_want, 'csr': bad}]
    problems = pki.batch_problems(requests, [openssl_csr_info_filter(good), openssl_csr_info_filter(bad)], SERVERS, DOMAIN)
    assert problems and all(problem.startswith('node-04: ') for problem in problems)
    with pytest.raises(pki.PkiError):
        pki.batch_problems(requests, [], SERVERS, DOMAIN)


# --- wanted vs current ---------------------------------------------------------------------------------------------------

def test_a_current_certificate_from_the_right_intermediate_is_kept(site):
    want = pki.wanted(docker_entry())
    cert = site.leaf('docker', new_key(), 'node-01', want['sans'], [ExtendedKeyUsageOID.SERVER_AUTH])
    assert pki.cert_reasons(want, info(cert), site.issuers()['docker'], NOW, 30) == []


@pytest.mark.parametrize('purpose, changes, reason', [
    ('operator', {}, 'not issued by the current docker CA'),
    ('docker', {'cn': 'node-02'}, 'its subject is'),
    ('docker', {'sans': ['DNS:node-01']}, 'its names are'),
    ('docker', {'ekus': [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]}, 'its extended key usage is'),
    ('docker', {'days': 20}, 'within pki_renew_days (30)'),
    ('docker', {'ca': True}, 'its basic constraints are'),
], ids=['wrong-intermediate', 'subject', 'names', 'usage', 'expiring', 'basic-constraints'])
def test_a_certificate_is_reissued_for_each_difference_with_a_reason(site, purpose, changes, reason):
    want = pki.wanted(docker_entry())
    args = dict(cn='node-01', sans=want['sans'], ekus=[ExtendedKeyUsageOID.SERVER_AUTH])
    args.update(changes)
    cert = site.leaf(purpose, new_key(), args.pop('cn'), args.pop('sans'), args.pop('ekus'), **args)
    reasons = pki.cert_reasons(want, info(cert), site.issuers()['docker'], NOW, 30)
    assert any(reason in text for text in reasons), reasons


def test_a_legacy_certificate_is_reissued_but_a_client_bundle_may_keep_it_while_the_legacy_ca_retires(site):
    legacy_key = new_key()
    legacy = ca_cert(legacy_key, 'picocloud lab site CA')
    want = pki.wanted({'name': 'operator', 'ca': 'operator', 'trust': ['docker'], 'common_name': 'operator',
                       'usage': 'client', 'dest': '/tmp/b'})
    cert = leaf_cert(new_key(), 'operator', [], [ExtendedKeyUsageOID.CLIENT_AUTH], legacy_key, 'picocloud lab site CA')
    assert pki.cert_reasons(want, info(cert), site.issuers()['operator'], NOW, 30)[0].startswith(
        'it was not issued by the current operator CA (issuer picocloud lab site CA)')
    assert pki.cert_reasons(want, info(cert), site.issuers()['operator'], NOW, 30, [info(legacy)]) == []


def test_an_intermediate_with_the_same_name_but_another_key_does_not_count_as_the_issuer(site):
    other = Site()
    want = pki.wanted(docker_entry())
    cert = other.leaf('docker', new_key(), 'node-01', want['sans'], [ExtendedKeyUsageOID.SERVER_AUTH])
    assert pki.cert_reasons(want, info(cert), site.issuers()['docker'], NOW, 30)[0].startswith('it was not issued by')
    assert pki.cert_reasons(want, None, site.issuers()['docker'], NOW, 30) == ['there is no certificate yet']


def test_parse_time_reads_asn1_iso_and_datetimes():
    assert pki.parse_time('20261204120000Z') == NOW
    assert pki.parse_time('2026-12-04T12:00:00+00:00') == NOW
    assert pki.parse_time(NOW.replace(tzinfo=datetime.timezone.utc)) == NOW
    with pytest.raises(pki.PkiError):
        pki.parse_time('tomorrow')


# --- trust files ------------------------------------------------------------------------------------------------------

def test_a_trust_file_holds_only_the_anchors_of_its_trust_purposes_and_never_the_root(site):
    text = pki.trust_bundle(site.anchor_pems(), ['operator'])
    assert text == pem(site.anchors['operator'])
    assert pem(site.root) not in text and pem(site.cas['operator']) not in text
    both = pki.trust_bundle(site.anchor_pems(), ['registry', 'operator'])
    assert both == pem(site.anchors['registry']) + pem(site.anchors['operator'])


def test_a_trust_file_carries_the_cas_being_replaced_once_each_after_the_anchors(site):
    legacy = pem(ca_cert(new_key(), 'picocloud lab site CA'))
    retiring = {'docker': [legacy], 'operator': [legacy, legacy + '\n']}
    text = pki.trust_bundle(site.anchor_pems(), ['operator', 'docker'], retiring)
    assert text == pem(site.anchors['operator']) + pem(site.anchors['docker']) + legacy
    with pytest.raises(pki.PkiError, match='no trust anchor for the consul CA'):
        pki.trust_bundle({}, ['consul'])


def test_split_pems_keeps_every_block_with_one_newline():
    assert pki.split_pems('junk\n-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n\n'
                          '-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----') == [
        '-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n',
        '-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n']
    assert pki.sha1('x') == hashlib.sha1(b'x').hexdigest()


# --- one node's plan --------------------------------------------------------------------------------------------------

def node_files(want, trust_text, cert_text, **attributes):
    files = {}
    for field, text, mode in (('key_file', 'key', '0600'), ('cert_file', cert_text, '0644'), ('ca_file', trust_text, '0644')):
        files[want[field]] = {'path': want[field], 'checksum': pki.sha1(text), 'mode': mode, 'pw_name': 'root', 'gr_name': 'root'}
        files[want[field]].update(attributes.get(field, {}))
    return files


def plan(site, want, files, cert_text, retiring=None):
    infos = {want['cert_file']: x509_certificate_info_filter(pki.split_pems(cert_text)[0])} if cert_text else {}
    return pki.host_plan([want], files, {want['cert_file']: cert_text} if cert_text else {}, infos, site.issuers(),
                         site.anchor_pems(), retiring or {}, site.chains(), NOW, 30)[0]


def test_a_converged_node_needs_nothing(site):
    want = pki.wanted(docker_entry())
    leaf = pem(site.leaf('docker', new_key(), 'node-01', want['sans'], [ExtendedKeyUsageOID.SERVER_AUTH]))
    text = leaf + pem(site.cas['docker'])
    trust = pki.trust_bundle(site.anchor_pems(), ['operator'])
    result = plan(site, want, node_files(want, trust, text), text)
    assert (result['issue'], result['key_fix'], result['cert_fix'], result['trust_text'], result['stale']) == (
        [], False, False, None, False)
    assert result['leaf'] == leaf


def test_a_fresh_node_needs_a_key_a_certificate_and_its_trust_file(site):
    want = pki.wanted(docker_entry())
    result = plan(site, want, {}, '')
    assert result['issue'] == ['its key does not exist yet', 'there is no certificate yet']
    assert result['trust_text'] == pki.trust_bundle(site.anchor_pems(), ['operator'])


def test_loose_modes_wrong_owners_and_an_old_chain_are_fixed_without_reissuing(site):
    want = pki.wanted(docker_entry())
    leaf = pem(site.leaf('docker', new_key(), 'node-01', want['sans'], [ExtendedKeyUsageOID.SERVER_AUTH]))
    text = leaf + pem(site.cas['docker'])
    trust = pki.trust_bundle(site.anchor_pems(), ['operator'])
    result = plan(site, want, node_files(want, trust, text, key_file={'mode': '0644'}, ca_file={'gr_name': 'staff'}), text)
    assert result['issue'] == [] and result['key_fix'] and not result['cert_fix']
    assert result['trust_text'] == trust
    leaf_only = plan(site, want, node_files(want, trust, leaf), leaf)
    assert leaf_only['issue'] == [] and leaf_only['cert_fix']
    junk = text.rstrip('\n') + '\\n'
    assert plan(site, want, node_files(want, trust, junk), junk)['cert_fix'], 'text after the last block is rewritten'
    assert not plan(site, want, node_files(want, trust, text), text)['cert_fix']


def test_a_legacy_leaf_is_stale_and_reissued_and_the_trust_file_carries_the_legacy_ca_meanwhile(site):
    legacy_key = new_key()
    legacy = pem(ca_cert(legacy_key, 'picocloud lab site CA'))
    want = pki.wanted(docker_entry())
    text = pem(leaf_cert(new_key(), 'node-01', want['sans'], [ExtendedKeyUsageOID.SERVER_AUTH], legacy_key,
                         'picocloud lab site CA'))
    retiring = dict((purpose, [legacy]) for purpose in PURPOSES)
    result = plan(site, want, node_files(want, legacy, text), text, retiring)
    assert result['stale'] and result['issue'][0].startswith('it was not issued by the current docker CA')
    assert result['trust_text'] == pem(site.anchors['operator']) + legacy
    with pytest.raises(pki.PkiError, match='the consul CA does not exist yet'):
        pki.host_plan([pki.wanted(consul_entry('node-01'))], {}, {}, {}, {}, {}, {}, {}, NOW, 30)


# --- the intermediate CAs ------------------------------------------------------------------------------------------------

def test_a_sound_intermediate_and_anchor_need_nothing(site):
    assert pki.ca_reasons('docker', site.cn('docker'), info(site.cas['docker']), info(site.anchors['docker']),
                          public_pem(site.keys['docker']), info(site.root), NOW, 395) == {'intermediate': [], 'anchor': []}


def test_a_missing_intermediate_gets_a_key_certificate_and_anchor(site):
    reasons = pki.ca_reasons('consul', site.cn('consul'), None, None, None, info(site.root), NOW, 395)
    assert reasons['intermediate'] == ['the consul CA has no key yet', 'the consul CA has no certificate yet']
    assert reasons['anchor'] == ['the consul CA gets a new key', 'the consul CA has no trust anchor yet']


def test_an_expiring_intermediate_is_renewed_with_its_key_and_its_anchor_stays(site):
    old = ca_cert(site.keys['docker'], site.cn('docker'), site.root_key, 'picocloud lab root CA', days=300)
    reasons = pki.ca_reasons('docker', site.cn('docker'), info(old), info(site.anchors['docker']),
                             public_pem(site.keys['docker']), info(site.root), NOW, 395)
    assert reasons['intermediate'] == ['the docker CA certificate expires %s' % info(old)['not_after']]
    assert reasons['anchor'] == []


def test_an_intermediate_from_another_root_or_key_and_a_wrong_anchor_are_remade(site):
    other = Site()
    reasons = pki.ca_reasons('docker', site.cn('docker'), info(other.cas['docker']), info(other.anchors['docker']),
                             public_pem(site.keys['docker']), info(site.root), NOW, 395)
    assert 'the docker CA certificate does not match its key' in reasons['intermediate']
    assert 'the docker CA certificate was not issued by the current root CA' in reasons['intermediate']
    assert reasons['anchor'] == ['the docker trust anchor does not have the subject and key of its CA']
    not_self = pki.ca_reasons('docker', site.cn('docker'), info(site.cas['docker']), info(site.cas['docker']),
                              public_pem(site.keys['docker']), info(site.root), NOW, 395)
    assert not_self['anchor'] == ['the docker trust anchor is not self-signed']


# --- the anchor design, with OpenSSL (Python's ssl) on loopback -----------------------------------------------------------

def _handshake(tmp_path, site, server_chain, server_key, trust_pems, client=None):
    """One TLS handshake on 127.0.0.1: the server sends server_chain and requires a client certificate verified against
    the operator anchor; the client trusts trust_pems. Returns None on success, else the client's error text."""
    (tmp_path / 'server.pem').write_text(server_chain)
    (tmp_path / 'server-key.pem').write_text(key_pem(server_key))
    (tmp_path / 'server-ca.pem').write_text(pem(site.anchors['operator']))
    (tmp_path / 'trust.pem').write_text(''.join(trust_pems))
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(str(tmp_path / 'server.pem'), str(tmp_path / 'server-key.pem'))
    server_ctx.load_verify_locations(str(tmp_path / 'server-ca.pem'))
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.create_default_context(cafile=str(tmp_path / 'trust.pem'))
    client_ctx.check_hostname = False
    if client:
        (tmp_path / 'client.pem').write_text(client[0])
        (tmp_path / 'client-key.pem').write_text(key_pem(client[1]))
        client_ctx.load_cert_chain(str(tmp_path / 'client.pem'), str(tmp_path / 'client-key.pem'))
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    listener.settimeout(10)
    server_error = []

    def serve():
        try:
            conn, _address = listener.accept()
            conn.settimeout(10)
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except (OSError, ssl.SSLError) as exc:
            server_error.append(str(exc))

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with socket.create_connection(listener.getsockname(), timeout=10) as raw:
            with client_ctx.wrap_socket(raw) as tls:
                tls.sendall(b'x')
                tls.recv(1)
        return None
    except (OSError, ssl.SSLError) as exc:
        return str(exc)
    finally:
        thread.join(15)
        listener.close()


def test_openssl_verifies_leaf_plus_intermediate_against_the_self_signed_anchor(tmp_path, site):
    server_key, client_key = new_key(), new_key()
    server = site.leaf('docker', server_key, 'node-01', ['IP:127.0.0.1'], [ExtendedKeyUsageOID.SERVER_AUTH])
    client = site.leaf('operator', client_key, 'operator', [], [ExtendedKeyUsageOID.CLIENT_AUTH])
    chain = pem(server) + pem(site.cas['docker'])
    assert _handshake(tmp_path, site, chain, server_key, [pem(site.anchors['docker'])],
                      (pem(client) + pem(site.cas['operator']), client_key)) is None


def test_openssl_refuses_a_trust_file_of_the_intermediate_itself_without_partial_chain(tmp_path, site):
    server_key = new_key()
    server = site.leaf('docker', server_key, 'node-01', ['IP:127.0.0.1'], [ExtendedKeyUsageOID.SERVER_AUTH])
    error = _handshake(tmp_path, site, pem(server) + pem(site.cas['docker']), server_key, [pem(site.cas['docker'])])
    assert error and 'certificate verify failed' in error


def test_openssl_refuses_a_server_of_another_purpose_and_a_server_refuses_a_client_of_another_purpose(tmp_path, site):
    server_key, consul_key = new_key(), new_key()
    consul = site.leaf('consul', consul_key, 'node-01', ['IP:127.0.0.1'],
                       [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    error = _handshake(tmp_path, site, pem(consul) + pem(site.cas['consul']), consul_key, [pem(site.anchors['docker'])])
    assert error and 'certificate verify failed' in error
    server = site.leaf('docker', server_key, 'node-01', ['IP:127.0.0.1'], [ExtendedKeyUsageOID.SERVER_AUTH])
    error = _handshake(tmp_path, site, pem(server) + pem(site.cas['docker']), server_key, [pem(site.anchors['docker'])],
                       (pem(consul) + pem(site.cas['consul']), consul_key))
    assert error is not None, 'the operator-only server accepted a consul client certificate'


# --- the site's CA files, read once ---------------------------------------------------------------------------------------

def site_files(site, legacy=None, retiring=None, missing=()):
    cas = dict((purpose, {'cert': '/p/%s/ca.pem' % purpose, 'key': '/p/%s/ca-key.pem' % purpose,
                          'anchor': '/p/%s/anchor.pem' % purpose, 'retiring': '/p/%s/retiring.pem' % purpose})
               for purpose in PURPOSES)
    texts = {'/p/root/ca.pem': pem(site.root)}
    for purpose in PURPOSES:
        texts[cas[purpose]['cert']] = pem(site.cas[purpose])
        texts[cas[purpose]['anchor']] = pem(site.anchors[purpose])
    if legacy:
        texts['/p/ca.pem'] = legacy
    for purpose, text in (retiring or {}).items():
        texts[cas[purpose]['retiring']] = text
    for path in missing:
        texts.pop(path)
    blocks = [block for text in texts.values() for block in pki.split_pems(text)]
    infos = dict((block.strip(), x509_certificate_info_filter(block)) for block in blocks)
    return cas, texts, infos


def test_ca_plan_judges_every_purpose_from_the_files_read_once(site):
    cas, texts, infos = site_files(site, missing=['/p/registry/anchor.pem'])
    names = dict((purpose, site.cn(purpose)) for purpose in PURPOSES)
    keys = dict((cas[purpose]['key'], public_pem(site.keys[purpose])) for purpose in PURPOSES)
    plan = pki.ca_plan(cas, names, texts, infos, keys, '/p/root/ca.pem', NOW, 395)
    assert plan['docker'] == {'intermediate': [], 'anchor': []}
    assert plan['registry'] == {'intermediate': [], 'anchor': ['the registry CA has no trust anchor yet']}
    fresh = pki.ca_plan(cas, names, {}, {}, {}, '/p/root/ca.pem', NOW, 395)
    assert all(reasons['intermediate'] and reasons['anchor'] for reasons in fresh.values())


def test_site_state_gives_anchors_chains_issuers_and_the_cas_being_replaced(site):
    legacy = pem(ca_cert(new_key(), 'picocloud lab site CA'))
    old_docker = pem(ca_cert(new_key(), site.cn('docker')))
    cas, texts, infos = site_files(site, legacy=legacy, retiring={'docker': old_docker})
    state = pki.site_state(cas, texts, infos, '/p/ca.pem')
    assert state['ready']
    assert state['anchors']['operator'] == pem(site.anchors['operator'])
    assert state['chains']['consul'] == pem(site.cas['consul'])
    assert state['issuers']['docker']['subject'] == {'commonName': site.cn('docker')}
    assert state['retiring']['docker'] == [legacy, old_docker] and state['retiring']['consul'] == [legacy]
    assert [issuer['subject']['commonName'] for issuer in state['retiring_issuers']['docker']] == [
        'picocloud lab site CA', site.cn('docker')]
    plain = pki.site_state(*site_files(site), legacy_cert='/p/ca.pem')
    assert plain['retiring'] == dict((purpose, []) for purpose in PURPOSES)
    missing = pki.site_state(*site_files(site, missing=['/p/consul/ca.pem']), legacy_cert='/p/ca.pem')
    assert missing == {'ready': False, 'todo': {}, 'anchors': {}, 'chains': {}, 'issuers': {}, 'retiring': {},
                       'retiring_issuers': {}}
    names = dict((purpose, site.cn(purpose)) for purpose in PURPOSES)
    cas, texts, infos = site_files(site, missing=['/p/consul/anchor.pem'])
    keys = dict((cas[purpose]['key'], public_pem(site.keys[purpose])) for purpose in PURPOSES)
    judged = pki.site_state(cas, texts, infos, '/p/ca.pem', names, keys, '/p/root/ca.pem', NOW, 395)
    assert judged['todo'] == {'consul': {'intermediate': [], 'anchor': ['the consul CA has no trust anchor yet']}}
    assert not judged['ready']


def test_node_plan_says_whether_anything_must_be_written_and_which_directories_are_missing(site):
    want = pki.wanted(docker_entry())
    leaf = pem(site.leaf('docker', new_key(), 'node-01', want['sans'], [ExtendedKeyUsageOID.SERVER_AUTH]))
    text = leaf + pem(site.cas['docker'])
    state = {'ready': True, 'issuers': site.issuers(), 'anchors': site.anchor_pems(), 'retiring': {}, 'chains': site.chains()}
    files = node_files(want, pki.trust_bundle(site.anchor_pems(), ['operator']), text)
    files['/etc/docker/tls'] = {'path': '/etc/docker/tls', 'isdir': True}
    infos = {want['cert_file']: x509_certificate_info_filter(leaf)}
    converged = pki.node_plan([want], files, {want['cert_file']: text}, infos, state, NOW, 30)
    assert (converged['write'], converged['issue'], converged['missing_dirs']) == (False, [], [])
    fresh = pki.node_plan([want], {}, {}, {}, state, NOW, 30)
    assert fresh['write'] and fresh['missing_dirs'] == ['/etc/docker/tls'] and [e['name'] for e in fresh['issue']] == ['docker']
    trust_only = pki.node_plan([want], {}, {}, {}, state, NOW, 30, issue_leaves=False)
    assert trust_only['write'] and trust_only['issue'] == []
    waiting = pki.node_plan([want], {}, {}, {}, {'ready': False}, NOW, 30)
    assert waiting == {'entries': [], 'missing_dirs': ['/etc/docker/tls'], 'issue': [], 'write': True}
    assert pki.node_plan([], {}, {}, {}, {'ready': False}, NOW, 30)['write'] is False


def test_the_key_report_gives_each_ca_keys_mode_and_says_when_one_is_missing_or_kept_offline():
    cas = {'docker': {'key': '/s/pki/docker/ca-key.pem'}, 'consul': {'key': '/s/pki/consul/ca-key.pem'}}
    modes = {'/s/pki/consul/ca-key.pem': '0600', '/s/pki/root/ca-key.pem': '0644'}
    assert pki.key_report('/s/pki/root/ca-key.pem', cas, modes) == [
        'root CA key: present, mode 0644', 'consul CA key: present, mode 0600',
        'docker CA key: absent (no certificate issued yet)']
    assert pki.key_report('/r/ca-key.pem', {}, {}, legacy_present=True) == [
        'root CA key: not on this controller (kept offline, see docs/trust.md)',
        '0.1.0 site CA: still trusted; the next picocloud.edge.site run on every node retires it']
