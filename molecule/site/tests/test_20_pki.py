# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.pki on the converged site: what test_trust.py does not prove.

- The controller's secrets: the secrets dir and the pki dir 0700, every private key under it 0600 and a CA's or a
  client bundle's; no node key (also of a pki_key_location=controller host) is anywhere in the controller's lab dir.
- The site's own node certificates: the Docker server certificate of every node names the node and only the node
  (SANs), is for server auth only, passes `openssl verify` on the node against its purpose's anchor, and its key is
  0600 root and matches it; the Consul key is 0600 and matches its certificate.
- The issue entry point, driven by small playbooks this module writes (test certificates of the registry CA in a
  directory of their own on two native nodes, removed afterwards): a short client certificate's usage and validity,
  renewal of a certificate expiring within pki_renew_days (same key), a SAN change that reissues one node's
  certificate only (pki_certs_changed on that node only), controller-side keys (0600 on the node, none on the
  controller, idempotent), check mode on a fresh secrets dir (reports, writes nothing).
- The client entry point on a copy of the site's CAs (removed afterwards): check mode writes nothing, the bundle,
  idempotence, CA rotation with the bundle still working, and the refusal of a CA key others could read.
- Bad settings fail before anything is written, with a message that names the field and the value.

Hosts come from the inventory's groups; the playbooks run on the native nodes (the emulated one is slow and runs the
same code). Every test leaves the site as it found it and asserts it did: the controller's pki dir unchanged, the test
directory gone from every node.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import shutil
import stat

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from picocloud_test import node_exec

# The test certificates' directory on the nodes, under a directory of the tests' own (removed by every test that
# writes it).
TEST_ROOT = '/etc/picocloud-test'
DEST = TEST_ROOT + '/pki'
PURPOSES = ('consul', 'docker', 'operator', 'registry')
DOCKER_CERT, DOCKER_KEY = '/etc/docker/tls/docker.pem', '/etc/docker/tls/docker-key.pem'
CONSUL_CERT, CONSUL_KEY = '/etc/consul.d/tls/consul.pem', '/etc/consul.d/tls/consul-key.pem'


def issue_play(tasks_from='issue'):
    """The play that issues the test certificates: the issue entry point by its argument spec's name (`issue`; with
    `issue.yml` ansible-core 2.19 looks for a spec named "issue.yml" and validates nothing)."""
    return [{
        'name': 'Issue the test certificates through picocloud.edge.pki',
        'hosts': '{{ pki_test_hosts }}',
        'become': True,
        'gather_facts': False,
        'tasks': [
            {'name': 'Issue them (the issue entry point)',
             'ansible.builtin.import_role': {'name': 'picocloud.edge.pki', 'tasks_from': tasks_from},
             'vars': {'pki_certs': '{{ pki_test_certs[inventory_hostname] | default([]) }}'}},
            {'name': 'Report pki_certs_changed', 'ansible.builtin.debug': {'var': 'pki_certs_changed'}},
        ],
    }]


CLIENT_PLAY = [{
    'name': 'Write an operator client bundle through picocloud.edge.pki',
    'hosts': 'localhost',
    'gather_facts': False,
    'tasks': [
        {'name': 'Write the bundle (the client entry point)',
         'ansible.builtin.import_role': {'name': 'picocloud.edge.pki', 'tasks_from': 'client'}},
    ],
}]


# --- helpers --------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def native(site):
    """The inventory's native nodes (not in lab_emulated), where this module's playbooks run."""
    hosts = [host for host in site.hosts('picocloud') if host not in site.hosts('lab_emulated')]
    assert hosts, 'the site has no native node'
    return hosts


@pytest.fixture(scope='module')
def pair(native):
    """Two native nodes (one when the site has one): enough to show that a change reaches one node and not another,
    and the issue path costs controller CPU per node."""
    return native[:2]


def pki_dir(site):
    return os.path.join(site.secrets_dir, 'pki')


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def snapshot(path):
    """Every file and directory under `path` with its mode, size and mtime (to prove nothing was written)."""
    found = {}
    for item in glob.glob(os.path.join(path, '**'), recursive=True):
        info = os.lstat(item)
        found[item] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


def write_playbook(tmp_path, name, plays):
    path = tmp_path / name
    path.write_text('---\n' + yaml.safe_dump(plays, sort_keys=False))
    return str(path)


def public_der(key_or_cert):
    return key_or_cert.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


def read_node(host, path):
    return node_exec(host, 'cat', path, check=True).stdout


def node_cert(host, path):
    return x509.load_pem_x509_certificate(read_node(host, path).encode())


def node_mode(host, path):
    """(octal mode, owner, group) of a file on a node."""
    out = node_exec(host, 'stat', '-c', '%a %U %G', path, check=True).stdout.split()
    return int(out[0], 8), out[1], out[2]


def node_public_key(host, key_file):
    """The public half of a node's private key, computed on the node (the key never leaves it)."""
    pem = node_exec(host, 'openssl', 'pkey', '-in', key_file, '-pubout', check=True).stdout
    return serialization.load_pem_public_key(pem.encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def controller_private_keys(site):
    """{public half (DER): path} of every private key in the controller's lab dir (the secrets dir's parent: secrets,
    SSH key, inventory, caches; files over 1 MiB are skipped)."""
    found = {}
    for root, _dirs, files in os.walk(os.path.dirname(site.secrets_dir.rstrip('/'))):
        for name in files:
            path = os.path.join(root, name)
            if not os.path.isfile(path) or os.path.getsize(path) > 1 << 20:
                continue
            with open(path, 'rb') as handle:
                data = handle.read()
            for block in re.findall(rb'-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----\n?', data, re.S):
                loader = serialization.load_ssh_private_key if b'OPENSSH' in block else serialization.load_pem_private_key
                found[public_der(loader(block, password=None))] = path
    return found


def sans(cert):
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {'DNS:' + n for n in ext.get_values_for_type(x509.DNSName)} | {
        'IP:' + str(n) for n in ext.get_values_for_type(x509.IPAddress)}


def eku(cert):
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def ca_cert(site, purpose, name='ca.pem'):
    with open(os.path.join(pki_dir(site), purpose, name), 'rb') as handle:
        return x509.load_pem_x509_certificate(handle.read())


def server_entry(site, host, extra_sans=()):
    return {'name': 'server', 'ca': 'registry', 'trust': ['registry'], 'common_name': host, 'usage': 'server',
            'sans': ['DNS:' + host, 'DNS:localhost', 'IP:127.0.0.1', 'IP:' + site.address(host)] + list(extra_sans),
            'dest': DEST, 'owner': 'root', 'group': 'root'}


def short_entry(host, days):
    return {'name': 'short', 'ca': 'registry', 'common_name': 'client.' + host, 'sans': ['DNS:client.' + host],
            'usage': 'client', 'dest': DEST, 'days': days}


class Issuer(object):
    """Runs the issue entry point on some native nodes with the test's pki_certs, and puts the site back afterwards."""

    def __init__(self, site, hosts, tmp_path, tasks_from='issue'):
        self.site = site
        self.hosts = hosts
        self.book = write_playbook(tmp_path, 'issue.yml', issue_play(tasks_from))

    def run(self, certs, check=False, **extra):
        extra_vars = dict(extra, pki_test_hosts=','.join(self.hosts), pki_test_certs=certs)
        return self.site.playbook(self.book, check=check, extra_vars=extra_vars)

    def fingerprints(self, name='server'):
        return dict((host, node_cert(host, '%s/%s.pem' % (DEST, name)).fingerprint(hashes.SHA256()).hex())
                    for host in self.hosts)

    def present(self):
        return [host for host in self.hosts if node_exec(host, 'test', '-e', TEST_ROOT).returncode == 0]

    def remove(self):
        for host in self.hosts:
            node_exec(host, 'rm', '-rf', TEST_ROOT, check=True)


@pytest.fixture
def issuer(site, pair, tmp_path):
    """An Issuer on `pair`; afterwards the test directory is gone from those nodes and the controller's pki dir is
    untouched."""
    before = snapshot(pki_dir(site))
    found = Issuer(site, pair, tmp_path)
    assert found.present() == [], 'a test directory was left'
    yield found
    found.remove()
    assert found.present() == []
    assert snapshot(pki_dir(site)) == before, 'issuing node certificates wrote on the controller'


def changed_hosts(run):
    return sorted(host for host, stats in run.stats.items() if stats.get('changed'))


def certs_changed(run):
    return dict((host, result.get('pki_certs_changed')) for host, result in run.results('Report pki_certs_changed').items())


# --- the controller's secrets -----------------------------------------------------------------------------------------------

def test_secrets_and_pki_dirs_are_0700_and_every_private_key_in_them_is_a_0600_ca_or_bundle_key(site):
    pki = pki_dir(site)
    assert mode(site.secrets_dir) == 0o700 and mode(pki) == 0o700
    for purpose in ('root',) + PURPOSES:
        assert mode(os.path.join(pki, purpose, 'ca-key.pem')) == 0o600, purpose
    keys = []
    for path in glob.glob(os.path.join(pki, '**'), recursive=True):
        if os.path.isfile(path):
            with open(path, 'rb') as handle:
                if b'PRIVATE KEY-----' in handle.read():
                    keys.append(os.path.relpath(path, pki))
    allowed = re.compile(r'(root|%s)/ca-key\.pem|clients/[^/]+/key\.pem|archive/[^/]+/[a-z]+-ca-key\.pem' % '|'.join(PURPOSES))
    assert [key for key in keys if not allowed.fullmatch(key)] == []
    assert [key for key in keys if mode(os.path.join(pki, key)) != 0o600] == []


def test_no_node_private_key_is_on_the_controller_including_pki_key_location_controller_hosts(site):
    """Every node's keys (public halves computed on the node) against every private key in the controller's lab dir
    (secrets, SSH key, inventory). Hosts with pki_key_location=controller get keys made in the controller's memory."""
    node_keys = {}
    for host in site.hosts('picocloud'):
        # every private key under /etc but the SSH host keys (OpenSSH's own format, not the pki role's)
        listing = node_exec(host, 'grep', '-rl', '--exclude-dir=ssh', '-e', 'PRIVATE KEY-----', '/etc',
                            check=True).stdout.split()
        assert DOCKER_KEY in listing and CONSUL_KEY in listing, (host, listing)
        for key_file in listing:
            node_keys[node_public_key(host, key_file)] = '%s:%s' % (host, key_file)
    found = controller_private_keys(site)
    assert len(found) >= len(PURPOSES) + 1, 'no CA key found on the controller'
    on_controller = [(node_keys[key], path) for key, path in found.items() if key in node_keys]
    assert on_controller == [], 'node keys on the controller'
    print('controller-location hosts: %s; node keys: %d; controller keys: %d' % (
        [h for h in site.hosts('picocloud') if site.hostvars(h).get('pki_key_location') == 'controller'],
        len(node_keys), len(found)))


# --- the site's own node certificates ---------------------------------------------------------------------------------------

def test_docker_server_certificates_name_only_their_node_and_are_for_server_auth_only(site):
    issuer_ca = ca_cert(site, 'docker')
    for host in site.hosts('picocloud'):
        chain = x509.load_pem_x509_certificates(read_node(host, DOCKER_CERT).encode())
        assert len(chain) == 2 and chain[1] == issuer_ca, 'leaf, then the docker intermediate'
        cert = chain[0]
        cert.verify_directly_issued_by(issuer_ca)
        assert eku(cert) == {ExtendedKeyUsageOID.SERVER_AUTH}
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        names = sans(cert)
        hostname = node_exec(host, 'hostname', '-s', check=True).stdout.strip()
        addresses = set(node_exec(host, 'hostname', '-I', check=True).stdout.split()) | {'127.0.0.1'}
        assert {'DNS:' + host, 'DNS:localhost', 'IP:127.0.0.1', 'IP:' + site.address(host)} <= names
        assert {n for n in names if n.startswith('DNS:')} <= {'DNS:' + host, 'DNS:' + hostname, 'DNS:localhost'}
        assert {n for n in names if n.startswith('IP:')} <= {'IP:' + a for a in addresses}, (host, names, addresses)


def test_openssl_on_every_node_verifies_its_docker_and_consul_certificates(site):
    with open(os.path.join(pki_dir(site), 'docker', 'anchor.pem')) as handle:
        docker_anchor = handle.read()
    for host in site.hosts('picocloud'):
        # the docker anchor is not on the node (dockerd trusts only operator clients): it comes in on stdin
        result = node_exec(host, 'openssl', 'verify', '-CAfile', '/dev/stdin', '-untrusted', DOCKER_CERT, DOCKER_CERT,
                           input=docker_anchor)
        assert result.returncode == 0 and result.stdout.strip().endswith(': OK'), (host, result.stdout, result.stderr)
        result = node_exec(host, 'openssl', 'verify', '-CAfile', '/etc/consul.d/tls/ca.pem', '-untrusted', CONSUL_CERT,
                           CONSUL_CERT)
        assert result.returncode == 0 and result.stdout.strip().endswith(': OK'), (host, result.stdout, result.stderr)


def test_node_keys_are_0600_with_their_owner_and_match_their_certificates(site):
    for host in site.hosts('picocloud'):
        assert node_mode(host, DOCKER_KEY) == (0o600, 'root', 'root')
        key_mode, owner, _group = node_mode(host, CONSUL_KEY)
        assert key_mode == 0o600 and owner in ('consul', 'root'), (host, key_mode, owner)
        for cert_file, key_file in ((DOCKER_CERT, DOCKER_KEY), (CONSUL_CERT, CONSUL_KEY)):
            assert node_public_key(host, key_file) == public_der(node_cert(host, cert_file)), (host, cert_file)


# --- the issue entry point (test certificates in DEST on the pair nodes) --------------------------------------------------

def test_a_certificate_expiring_within_pki_renew_days_is_reissued_with_the_same_key(site, pair, issuer):
    """A 10-day client certificate on one node beside 365-day server certificates; widening pki_renew_days to 15
    reissues only the 10-day one (now for 20 days, same key)."""
    short_host = pair[-1]

    def certs(days):
        return dict((host, [server_entry(site, host)] + ([short_entry(host, days)] if host == short_host else []))
                    for host in pair)
    first = issuer.run(certs(10), pki_renew_days=5).ok()
    assert changed_hosts(first) == sorted(pair)
    short = node_cert(short_host, DEST + '/short.pem')
    assert eku(short) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    assert sans(short) == {'DNS:client.' + short_host}
    lifetime = (short.not_valid_after_utc - short.not_valid_before_utc).total_seconds()
    assert 10 * 86400 <= lifetime <= 10 * 86400 + 7200, lifetime
    assert node_mode(short_host, DEST + '/short-key.pem') == (0o600, 'root', 'root')
    servers = issuer.fingerprints()

    renew = issuer.run(certs(20), pki_renew_days=15).ok()
    assert changed_hosts(renew) == [short_host], renew.changed_tasks()
    assert certs_changed(renew) == dict((host, host == short_host) for host in pair)
    assert issuer.fingerprints() == servers, 'the server certificates are not due'
    renewed = node_cert(short_host, DEST + '/short.pem')
    assert renewed.serial_number != short.serial_number
    assert renewed.not_valid_after_utc > short.not_valid_after_utc
    assert public_der(renewed) == public_der(short), 'renewal keeps the node key'


def test_changing_one_nodes_sans_reissues_only_that_nodes_certificate(site, pair, issuer):
    target = pair[0]
    issuer.run(dict((host, [server_entry(site, host)]) for host in pair)).ok()
    before = issuer.fingerprints()
    check = node_exec(target, 'openssl', 'verify', '-CAfile', DEST + '/ca.pem', '-untrusted', DEST + '/server.pem',
                      DEST + '/server.pem')
    assert check.returncode == 0, check.stdout + check.stderr

    run = issuer.run(dict((host, [server_entry(site, host, ['DNS:extra.' + host] if host == target else [])])
                          for host in pair)).ok()
    assert changed_hosts(run) == [target], run.changed_tasks()
    assert certs_changed(run) == dict((host, host == target) for host in pair)
    after = issuer.fingerprints()
    assert [host for host in pair if after[host] != before[host]] == [target]
    assert 'DNS:extra.' + target in sans(node_cert(target, DEST + '/server.pem'))


def test_controller_side_key_generation_installs_a_0600_key_writes_none_on_the_controller_and_is_idempotent(
        site, pair, issuer):
    target = pair[0]
    certs = {target: [server_entry(site, target)]}
    before = snapshot(site.secrets_dir)
    run = issuer.run(certs, pki_key_location='controller').ok()
    assert changed_hosts(run) == [target]
    assert node_mode(target, DEST + '/server-key.pem') == (0o600, 'root', 'root')
    assert node_public_key(target, DEST + '/server-key.pem') == public_der(node_cert(target, DEST + '/server.pem'))
    verify = node_exec(target, 'openssl', 'verify', '-CAfile', DEST + '/ca.pem', '-untrusted', DEST + '/server.pem',
                       DEST + '/server.pem')
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert snapshot(site.secrets_dir) == before, 'a controller-side key left a file in the secrets dir'
    assert node_public_key(target, DEST + '/server-key.pem') not in controller_private_keys(site)
    again = issuer.run(certs, pki_key_location='controller').ok()
    assert again.changed == 0, again.changed_tasks()


def test_check_mode_on_a_fresh_secrets_dir_reports_changes_and_writes_nothing(site, pair, issuer, tmp_path):
    fresh = tmp_path / 'fresh'
    run = issuer.run(dict((host, [server_entry(site, host)]) for host in pair), check=True,
                     picocloud_secrets_dir=str(fresh / 'secrets')).ok()
    assert changed_hosts(run) == sorted(pair), run.stats
    assert not fresh.exists()
    assert issuer.present() == []


# --- the client entry point (localhost, on a fresh secrets dir of the test's own) -------------------------------------------

def client(site, tmp_path, secrets, check=False, **extra):
    book = write_playbook(tmp_path, 'client.yml', CLIENT_PLAY)
    return site.playbook(book, check=check, extra_vars=dict(extra, picocloud_secrets_dir=str(secrets)))


def copy_of_the_site_cas(site, tmp_path):
    """A secrets dir of the test's own holding a copy of the site's root and intermediate CAs (modes kept), so the
    bundle's runs do not make five CAs first; the caller removes it."""
    secrets = tmp_path / 'site' / 'secrets'
    (secrets / 'pki').mkdir(parents=True)
    for directory in (secrets.parent, secrets, secrets / 'pki'):
        directory.chmod(0o700)
    for purpose in ('root',) + PURPOSES:
        shutil.copytree(os.path.join(pki_dir(site), purpose), str(secrets / 'pki' / purpose))
    return secrets


def test_client_bundle_is_idempotent_survives_rotation_and_a_loose_ca_key_is_refused(site, tmp_path):
    """On a copy of the site's CAs: check mode reports the bundle and writes nothing -> the bundle -> re-run unchanged
    -> rotation (the bundle keeps its certificate; its ca.pem trusts the old and the new docker CA until
    picocloud.edge.site retires the old ones) -> a CA key others could read is refused and left as it is."""
    site_pki = snapshot(pki_dir(site))
    secrets = copy_of_the_site_cas(site, tmp_path)
    try:
        bundle_sequence(site, tmp_path, secrets)
    finally:
        shutil.rmtree(str(secrets.parent))
    assert snapshot(pki_dir(site)) == site_pki, 'the site pki dir changed'


def bundle_sequence(site, tmp_path, secrets):
    pki = secrets / 'pki'
    bundle = pki / 'clients' / 'operator'
    seeded = snapshot(str(secrets))
    check = client(site, tmp_path, secrets, check=True).ok()
    assert check.changed > 0
    assert snapshot(str(secrets)) == seeded, 'check mode wrote in the secrets dir'

    client(site, tmp_path, secrets).ok()
    assert mode(pki / 'clients') == 0o700 and mode(bundle) == 0o700 and mode(bundle / 'key.pem') == 0o600
    cert = x509.load_pem_x509_certificate((bundle / 'cert.pem').read_bytes())
    assert eku(cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    cert.verify_directly_issued_by(ca_cert(site, 'operator'))
    assert (bundle / 'ca.pem').read_bytes() == (pki / 'docker' / 'anchor.pem').read_bytes()

    rerun = client(site, tmp_path, secrets).ok()
    assert rerun.changed == 0, rerun.changed_tasks()

    old_root = (pki / 'root' / 'ca.pem').read_bytes()
    old_docker_anchor = (pki / 'docker' / 'anchor.pem').read_bytes()
    old_cert = (bundle / 'cert.pem').read_bytes()
    client(site, tmp_path, secrets, pki_ca_rotate=True).ok()
    assert (pki / 'root' / 'ca.pem').read_bytes() != old_root
    archived = list((pki / 'archive').iterdir())
    assert len(archived) == 1 and mode(archived[0]) == 0o700
    assert (archived[0] / 'root-ca.pem').read_bytes() == old_root
    for name in ('root',) + PURPOSES:
        assert mode(archived[0] / ('%s-ca-key.pem' % name)) == 0o600
    assert (bundle / 'cert.pem').read_bytes() == old_cert, 'the daemons trust only the old operator CA until they move'
    assert (bundle / 'ca.pem').read_bytes() == (pki / 'docker' / 'anchor.pem').read_bytes() + old_docker_anchor
    assert (pki / 'docker' / 'retiring.pem').read_bytes() == old_docker_anchor

    key = pki / 'root' / 'ca-key.pem'
    key.chmod(0o644)
    loose = client(site, tmp_path, secrets)
    assert loose.rc != 0
    assert 'may have leaked' in loose.failure_text() and str(key) in loose.failure_text()
    assert mode(key) == 0o644, 'the role must not silently re-chmod a key that may have leaked'


# --- bad settings ---------------------------------------------------------------------------------------------------------

BAD = [
    ('client', {'pki_cert_days': 20, 'pki_renew_days': 30}, ['pki_renew_days (30)', 'pki_cert_days (20)']),
    ('client', {'pki_client_name': '../escape'}, ['pki_client_name="../escape" is refused']),
    ('issue', {'pki_rotate': ['nope']}, ['pki_rotate=["nope"] is refused']),
    ('issue', {'pki_key_type': 'dsa'}, ['value of pki_key_type must be one of: ecdsa, rsa, got: dsa']),
    ('issue', {'pki_test_usage': 'client'}, ["pki_certs entry server: usage='client' is refused",
                                             'the docker CA issues only server certificates']),
    ('issue', {'pki_test_days': 7, 'pki_renew_days': 10}, ["pki_certs entry server: days=7 is refused",
                                                           'pki_renew_days (10)']),
]


@pytest.mark.parametrize('entry, settings, message', BAD, ids=[
    'client-renew-window-longer-than-validity', 'client-name-with-a-path', 'issue-rotate-unknown-purpose',
    'issue-unknown-key-type', 'issue-usage-its-ca-does-not-issue',
    'issue-days-within-the-renew-window'])
def test_bad_settings_fail_early_naming_the_field_and_value_and_nothing_is_written(site, pair, tmp_path, entry,
                                                                                   settings, message):
    """The client entry point runs on a fresh secrets dir (it must not be created), the issue entry point on the site's
    (its pki dir must not change) and two native nodes (the test directory must not be created)."""
    secrets = tmp_path / 'secrets'
    site_pki = snapshot(pki_dir(site))
    if entry == 'client':
        run = client(site, tmp_path, secrets, **settings)
    else:
        settings = dict(settings)
        usage, days = settings.pop('pki_test_usage', None), settings.pop('pki_test_days', None)
        certs = {}
        for host in pair:
            wanted = server_entry(site, host)
            if usage:
                wanted.update(ca='docker', trust=['operator'], usage=usage)
            if days:
                wanted['days'] = days
            certs[host] = [wanted]
        run = Issuer(site, pair, tmp_path, entry).run(certs, **settings)
    written = [host for host in pair if node_exec(host, 'test', '-e', TEST_ROOT).returncode == 0]
    for host in written:
        node_exec(host, 'rm', '-rf', TEST_ROOT, check=True)
    assert run.rc != 0
    text = run.failure_text() + run.stderr
    for part in message:
        assert part in text, (part, text[-2000:])
    assert run.changed == 0, run.changed_tasks()
    assert not secrets.exists(), 'bad input must fail before anything is written'
    assert snapshot(pki_dir(site)) == site_pki
    assert written == [], 'bad input created the test directory on these nodes'
