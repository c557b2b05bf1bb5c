# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Trust on a converged site: every service trusts only the CA of the parties that may talk to it.

- The Docker API (dockerd, Go) accepts only operator certificates: a node's Consul key, its Docker server key and a
  registry client key are refused, from Python (OpenSSL) and from the docker CLI (Go).
- Consul's HTTPS API (Go) accepts only consul certificates: the operator's Docker bundle, a Docker server key and a
  registry key are refused; the bundle's ca.pem does not trust a Consul server either.
- The controller signs a CSR only when it asks exactly what pki_certs asks for its node: a client node asking for
  server.<dc>.<domain> is refused with a message, and nothing is signed.
- A site of 0.1.0's layout (one CA for everything) migrates in one run of picocloud.edge.site while a poller asks every
  Docker API for /version with whatever bundle is in the bundle dir: no poll is refused, and the engines are
  unreachable only while they restart. Check mode before changes nothing; a re-run and check mode after report no
  change.

Hosts come from the inventory's groups. Every test leaves the site converged as it found it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import shlex
import socket
import ssl
import subprocess
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from picocloud_test import NATIVE, SITE, VERIFY, Site, docker, node_exec

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIO = os.path.dirname(HERE)
LEGACY = os.path.join(SCENARIO, 'legacy_trust.yml')
SIGN = os.path.join(SCENARIO, 'sign_csr.yml')
DOCKER_PORT = 2376
CONSUL_PORT = 8501
NODE_FILES = {
    'consul': ('/etc/consul.d/tls/consul.pem', '/etc/consul.d/tls/consul-key.pem'),
    'docker': ('/etc/docker/tls/docker.pem', '/etc/docker/tls/docker-key.pem'),
}


@pytest.fixture(scope='module')
def site():
    return Site.current()


@pytest.fixture(scope='module')
def hosts(site):
    return site.hosts('picocloud')


def pki_dir(site):
    return os.path.join(site.secrets_dir, 'pki')


def bundle_dir(site):
    return os.path.join(pki_dir(site), 'clients', 'operator')


def bundle(site):
    directory = bundle_dir(site)
    return tuple(os.path.join(directory, name) for name in ('ca.pem', 'cert.pem', 'key.pem'))


def site_vars(site):
    return site.hostvars(site.hosts('picocloud')[0])


def https_get(address, port, path, ca_file, cert_file=None, key_file=None, timeout=10):
    """GET over TLS with Python's ssl (OpenSSL), verifying the server's certificate and its IP; returns the status."""
    context = ssl.create_default_context(cafile=ca_file)
    if cert_file:
        context.load_cert_chain(cert_file, key_file)
    with socket.create_connection((address, port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=address) as tls:
            tls.sendall(('GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' % (path, address)).encode())
            data = b''
            deadline = time.time() + timeout
            while b'\r\n' not in data and time.time() < deadline:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                data += chunk
    if not data.startswith(b'HTTP/1.'):
        raise ConnectionResetError('no HTTP answer: %r' % data[:80])
    return int(data.split(b' ', 2)[1])


def refused(call):
    """The TLS error a refused client (or an untrusted server) gets; fails when the call succeeded."""
    try:
        status = call()
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as exc:
        return str(exc)
    raise AssertionError('the request was answered (HTTP %s) instead of refused' % status)


def docker_cli(address, ca_file, cert_file, key_file):
    """`docker version` with the docker CLI (Go's TLS) against one node's API."""
    return subprocess.run(['docker', '-H', 'tcp://%s:%d' % (address, DOCKER_PORT), '--tlsverify', '--tlscacert', ca_file,
                           '--tlscert', cert_file, '--tlskey', key_file, 'version', '--format', '{{.Server.Version}}'],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60, check=False,
                          env=dict(os.environ, DOCKER_CONFIG='/nonexistent', DOCKER_CONTEXT='default'))


def node_leaf(tmp_path, host, purpose):
    """A node's certificate and key for `purpose` (read as root inside the node), as files on the controller."""
    cert, key = NODE_FILES[purpose]
    paths = []
    for path in (cert, key):
        local = tmp_path / ('%s-%s-%s' % (host, purpose, os.path.basename(path)))
        local.write_text(node_exec(host, 'cat', path, check=True).stdout)
        local.chmod(0o600)
        paths.append(str(local))
    return tuple(paths)


def new_csr(key, common_name, sans, ekus):
    general = [x509.DNSName(san[4:]) for san in sans if san.startswith('DNS:')]
    general += [x509.IPAddress(__import__('ipaddress').ip_address(san[3:])) for san in sans if san.startswith('IP:')]
    builder = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
               .add_extension(x509.ExtendedKeyUsage(ekus), critical=False))
    if general:
        builder = builder.add_extension(x509.SubjectAlternativeName(general), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def pki_snapshot(site):
    """Every file under the controller's pki dir with its size and mtime (to prove nothing was written)."""
    found = {}
    for path in glob.glob(os.path.join(pki_dir(site), '**'), recursive=True):
        if os.path.isfile(path):
            stat = os.stat(path)
            found[path] = (stat.st_size, stat.st_mtime_ns)
    return found


def sign(site, tmp_path, host, certs, name, csr):
    """Run the pki role's sign entry point for `host` (added to a throwaway inventory when it is not a real node)."""
    args = []
    if host not in site.hosts('picocloud'):
        extra = tmp_path / 'extra-host.yml'
        extra.write_text(json.dumps({'picocloud': {'hosts': {host: {'ansible_connection': 'local'}}}}))
        args = ['-i', str(extra)]
    return site.playbook(SIGN, *args, extra_vars={'trust_test_host': host, 'trust_test_certs': certs,
                                                  'trust_test_name': name, 'trust_test_csr': csr})


def consul_client_entry(site, host, role='client'):
    """The consul certificate the consul role asks for a node (names of tls.yml)."""
    dc_domain = '%s.consul' % site_vars(site).get('consul_datacenter', site_vars(site).get('picocloud_site', 'picocloud'))
    name = '%s.%s.%s' % (host, role, dc_domain)
    return dc_domain, {'name': 'consul', 'ca': 'consul', 'trust': ['consul'], 'common_name': name,
                       'sans': ['DNS:' + name, 'DNS:%s.%s' % (role, dc_domain), 'DNS:localhost', 'IP:127.0.0.1'],
                       'usage': 'both', 'dest': '/etc/consul.d/tls'}


def registry_leaf(site, tmp_path, host):
    """A registry client certificate for `host`, issued through the sign entry point, as key and cert files."""
    key = ec.generate_private_key(ec.SECP256R1())
    entry = {'name': 'registry-client', 'ca': 'registry', 'trust': ['registry'], 'common_name': host, 'usage': 'client',
             'dest': '/etc/picocloud-test/registry'}
    run = sign(site, tmp_path, host, [entry], 'registry-client',
               new_csr(key, host, [], [ExtendedKeyUsageOID.CLIENT_AUTH])).ok()
    cert = run.results('Show the signed certificate')[host]['pki_signed_certificate']
    cert_file, key_file = tmp_path / 'registry.pem', tmp_path / 'registry-key.pem'
    cert_file.write_text(cert)
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    return str(cert_file), str(key_file)


def issuer_cn(path):
    with open(path, 'rb') as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    return cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def subjects(pem_text):
    return [cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
            for cert in x509.load_pem_x509_certificates(pem_text.encode())]


# --- every service trusts only its own parties --------------------------------------------------------------------------

def test_the_operator_bundle_opens_every_docker_api_from_openssl_and_the_go_cli(site, hosts):
    ca_file, cert_file, key_file = bundle(site)
    for host in hosts:
        assert https_get(site.address(host), DOCKER_PORT, '/version', ca_file, cert_file, key_file) == 200
        result = docker_cli(site.address(host), ca_file, cert_file, key_file)
        assert result.returncode == 0 and result.stdout.strip(), result.stderr


def test_a_nodes_consul_key_and_cert_are_refused_by_every_docker_api(site, hosts, tmp_path):
    ca_file = bundle(site)[0]
    for owner in hosts:
        cert_file, key_file = node_leaf(tmp_path, owner, 'consul')
        for host in hosts:
            error = refused(lambda: https_get(site.address(host), DOCKER_PORT, '/version', ca_file, cert_file, key_file))
            assert 'certificate' in error.lower() or 'eof' in error.lower(), error
            cli = docker_cli(site.address(host), ca_file, cert_file, key_file)
            assert cli.returncode != 0 and 'tls' in cli.stderr.lower(), (host, cli.stdout, cli.stderr)


def test_the_operator_docker_bundle_is_refused_by_every_consul_https_api(site, hosts, tmp_path):
    """Every agent serves HTTPS (servers and clients alike): each refuses the bundle, and answers the node's own
    consul certificate (so the refusal is not a down agent)."""
    ca_file, cert_file, key_file = bundle(site)
    for host in hosts:
        consul_ca = tmp_path / ('%s-consul-ca.pem' % host)
        consul_ca.write_text(node_exec(host, 'cat', '/etc/consul.d/tls/ca.pem', check=True).stdout)
        refused(lambda: https_get(site.address(host), CONSUL_PORT, '/v1/status/leader', str(consul_ca), cert_file, key_file))
        # the bundle's own CA file does not trust a Consul server either
        error = refused(lambda: https_get(site.address(host), CONSUL_PORT, '/v1/status/leader', ca_file))
        assert 'certificate verify failed' in error, error
        # control: the node's own consul certificate is answered
        consul_cert, consul_key = node_leaf(tmp_path, host, 'consul')
        assert https_get(site.address(host), CONSUL_PORT, '/v1/status/leader', str(consul_ca), consul_cert, consul_key) == 200


@pytest.mark.parametrize('service, leaf, accepted', [
    ('docker', 'operator', True),
    ('docker', 'consul', False),
    ('docker', 'docker', False),
    ('docker', 'registry', False),
    ('consul', 'consul', True),
    ('consul', 'operator', False),
    ('consul', 'docker', False),
    ('consul', 'registry', False),
])
def test_each_service_accepts_only_leaves_of_the_parties_that_may_talk_to_it(site, hosts, tmp_path, service, leaf, accepted):
    host = (site.hosts('consul_servers') or hosts)[0]
    if leaf == 'operator':
        cert_file, key_file = bundle(site)[1:]
    elif leaf == 'registry':
        cert_file, key_file = registry_leaf(site, tmp_path, host)
    else:
        cert_file, key_file = node_leaf(tmp_path, host, leaf)
    if service == 'docker':
        ca_file, port, path = bundle(site)[0], DOCKER_PORT, '/version'
    else:
        server_ca = tmp_path / 'consul-ca.pem'
        server_ca.write_text(node_exec(host, 'cat', '/etc/consul.d/tls/ca.pem', check=True).stdout)
        ca_file, port, path = str(server_ca), CONSUL_PORT, '/v1/status/leader'

    def call():
        return https_get(site.address(host), port, path, ca_file, cert_file, key_file)

    if accepted:
        assert call() == 200
    else:
        refused(call)


def test_trust_files_carry_only_the_anchors_of_their_parties(site, hosts):
    assert_trust_files_carry_only_the_anchors_of_their_parties(site, hosts)


def assert_trust_files_carry_only_the_anchors_of_their_parties(site, hosts):
    def ca(purpose):
        return ['picocloud %s %s CA' % (site_vars(site).get('picocloud_site', 'picocloud'), purpose)]

    def anchors(host, path):
        return subjects(node_exec(host, 'cat', path, check=True).stdout)

    for host in hosts:
        assert anchors(host, '/etc/docker/tls/ca.pem') == ca('operator')
        assert anchors(host, '/etc/consul.d/tls/ca.pem') == ca('consul')
    # the registry's endpoints: node clients (registry CA) on the pull one, operators (operator CA) on the push one
    for endpoint, purpose in (('pull', 'registry'), ('push', 'operator')):
        for host in site.hosts('registry'):
            assert anchors(host, '/etc/docker/registry/tls/%s/ca.pem' % endpoint) == ca(purpose), (host, endpoint)
    with open(bundle(site)[0]) as handle:
        assert subjects(handle.read()) == ca('docker')
    assert issuer_cn(bundle(site)[1]).endswith(' operator CA')
    assert os.stat(bundle(site)[2]).st_mode & 0o777 == 0o600
    for key in glob.glob(os.path.join(pki_dir(site), '*', 'ca-key.pem')):
        assert os.stat(key).st_mode & 0o777 == 0o600, key


# --- root cannot log in over SSH, not even with a key (base_ssh_permit_root_login defaults to "no") -----------------------

def ssh(site, host, user):
    hostvars = site.hostvars(host)
    return subprocess.run(['ssh', '-i', hostvars['ansible_ssh_private_key_file'], '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20']
                          + shlex.split(hostvars.get('ansible_ssh_common_args', ''))
                          + ['%s@%s' % (user, site.address(host)), 'true'],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60, check=False)


def test_root_cannot_log_in_over_ssh_even_with_an_authorized_key(site, hosts):
    for host in hosts:
        effective = node_exec(host, '/usr/sbin/sshd', '-T', '-C', 'user=root,host=localhost,addr=127.0.0.1', check=True).stdout
        assert 'permitrootlogin no' in effective.splitlines()
    host = hosts[0]
    with open(site.hostvars(host)['ansible_ssh_private_key_file'] + '.pub') as handle:
        public = handle.read()
    before = node_exec(host, 'cat', '/root/.ssh/authorized_keys')
    docker('exec', '-i', host, 'sh', '-c', 'mkdir -p -m 0700 /root/.ssh && cat >> /root/.ssh/authorized_keys', input=public, check=True)
    try:
        as_root = ssh(site, host, 'root')
        assert as_root.returncode == 255 and 'Permission denied' in as_root.stderr, as_root.stderr
        as_admin = ssh(site, host, site.hostvars(host)['ansible_user'])
        assert as_admin.returncode == 0, as_admin.stderr
    finally:
        if before.returncode == 0:
            docker('exec', '-i', host, 'sh', '-c', 'cat > /root/.ssh/authorized_keys', input=before.stdout, check=True)
        else:
            node_exec(host, 'rm', '-f', '/root/.ssh/authorized_keys', check=True)
    after = node_exec(host, 'cat', '/root/.ssh/authorized_keys')
    assert (after.returncode, after.stdout) == (before.returncode, before.stdout)


# --- the controller signs only what pki_certs asks ---------------------------------------------------------------------

def test_a_forged_csr_for_the_consul_server_name_is_refused_with_the_message_and_nothing_is_signed(site, tmp_path):
    clients = [host for host in site.hosts('picocloud') if host not in site.hosts('consul_servers')]
    host = clients[0] if clients else 'forged-client'
    dc_domain, entry = consul_client_entry(site, host)
    key = ec.generate_private_key(ec.SECP256R1())
    both = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    before = pki_snapshot(site)

    forged = new_csr(key, entry['common_name'], entry['sans'] + ['DNS:server.' + dc_domain], both)
    run = sign(site, tmp_path, host, [entry], 'consul', forged)
    assert run.rc != 0
    text = run.failure_text()
    assert 'The controller refuses to sign, and signed nothing' in text
    assert '%s: certificate consul (consul CA): subject_alt_name: the CSR asks' % host in text
    assert "'DNS:server.%s'" % dc_domain in text and 'allowed is' in text
    assert "%s: certificate consul (consul CA): name: it asks 'server.%s'" % (host, dc_domain) in text
    assert run.results('Show the signed certificate') == {}

    _dc, server_entry = consul_client_entry(site, host, role='server')
    honest = new_csr(key, server_entry['common_name'], server_entry['sans'], both)
    run = sign(site, tmp_path, host, [server_entry], 'consul', honest)
    assert run.rc != 0
    assert "%s: certificate consul (consul CA): name: it asks 'server.%s'" % (host, dc_domain) in run.failure_text()
    assert 'only to hosts in consul_servers' in run.failure_text()
    assert run.results('Show the signed certificate') == {}
    assert pki_snapshot(site) == before, 'a refused request changed the controller pki dir'

    # control: the request pki_certs asks for is signed by the consul CA, and still nothing is written
    run = sign(site, tmp_path, host, [entry], 'consul', new_csr(key, entry['common_name'], entry['sans'], both)).ok()
    signed = x509.load_pem_x509_certificates(run.results('Show the signed certificate')[host]['pki_signed_certificate'].encode())
    assert signed[0].issuer == signed[1].subject and signed[1].subject.rfc4514_string().endswith(' consul CA')
    assert pki_snapshot(site) == before


# --- a 0.1.0 site migrates with no lock-out ------------------------------------------------------------------------------

class Poller(threading.Thread):
    """Asks every node's Docker API for /version with whatever bundle is in the bundle dir, every `period` seconds,
    until stopped or `limit` seconds passed. Each result: (time, host, kind, detail); kind is ok, refused (a TLS
    verification failure on either side or an HTTP error: a lock-out) or down (no TLS answer: the engine restarts)."""

    def __init__(self, targets, bundle_files, period=0.5, limit=3600):
        super(Poller, self).__init__(daemon=True)
        self.targets = targets
        self.bundle_files = bundle_files
        self.period = period
        self.deadline = time.time() + limit
        self.results = []
        self.stopped = threading.Event()

    def probe(self, address):
        ca_file, cert_file, key_file = self.bundle_files
        try:
            status = https_get(address, DOCKER_PORT, '/version', ca_file, cert_file, key_file, timeout=5)
        except ssl.SSLCertVerificationError as exc:
            return 'refused', 'the bundle does not trust the engine: %s' % exc
        except ssl.SSLError as exc:
            text = str(exc).upper()
            if 'ALERT' in text or 'CERTIFICATE' in text or 'UNKNOWN_CA' in text:
                return 'refused', 'the engine refused the bundle: %s' % exc
            return 'down', str(exc)
        except (OSError, ValueError) as exc:
            return 'down', '%s: %s' % (type(exc).__name__, exc)
        return ('ok', '') if status == 200 else ('refused', 'HTTP %s' % status)

    def run(self):
        while not self.stopped.is_set() and time.time() < self.deadline:
            for host, address in self.targets:
                kind, detail = self.probe(address)
                self.results.append((time.time(), host, kind, detail))
            self.stopped.wait(self.period)


def restart_windows(host, since, margin=3.0):
    """[start, end] of every restart of the node's docker.service since `since` (from its journal, to the microsecond)."""
    lines = node_exec(host, 'journalctl', '-u', 'docker.service', '-o', 'short-unix', '--no-pager',
                      '--since', '@%d' % int(since), check=True).stdout.splitlines()
    windows, start = [], None
    for line in lines:
        stamp = float(line.split(' ', 1)[0])
        if 'Stopping docker.service' in line or 'Stopping Docker Application' in line:
            start = stamp
        elif ('Started docker.service' in line or 'Started Docker Application' in line) and start is not None:
            windows.append((start - margin, stamp + margin))
            start = None
    if start is not None:
        windows.append((start - margin, time.time()))
    return windows


@pytest.mark.lifecycle
def test_a_legacy_site_migrates_in_one_run_without_locking_out_the_operator(site, tmp_path):
    """A site upgrading from 0.1.0 (one CA behind every service) migrates in one run of site.yml, every node with it,
    while the operator's bundle keeps opening every Docker API, and the next run changes nothing. A lifecycle test
    (`make test-all`, `make lifecycle-tests`): its three whole-site runs on every node took 32 minutes here, more than
    CI's budget leaves (docs/testing.md, "What CI runs"). The Docker API poll covers the native nodes (the emulated node's
    engine answers too slowly under qemu-user to tell a lockout from load); every node's trust files are checked."""
    hosts = site.hosts()
    polled = site.native()

    site.playbook(LEGACY).ok()
    legacy_ca = os.path.join(pki_dir(site), 'ca.pem')
    assert os.path.isfile(legacy_ca) and not os.path.isdir(os.path.join(pki_dir(site), 'root'))
    # the finding this layout had: a node's Consul key opens the Docker API
    consul_cert, consul_key = node_leaf(tmp_path, hosts[-1], 'consul')
    assert https_get(site.address(hosts[0]), DOCKER_PORT, '/version', bundle(site)[0], consul_cert, consul_key) == 200

    # check mode reports the migration and writes nothing
    before = pki_snapshot(site)
    node_trust = dict((host, node_exec(host, 'cat', '/etc/docker/tls/ca.pem', check=True).stdout) for host in hosts)
    check = site.playbook(SITE, check=True).ok()
    assert check.changed > 0
    assert pki_snapshot(site) == before
    assert node_trust == dict((host, node_exec(host, 'cat', '/etc/docker/tls/ca.pem', check=True).stdout) for host in hosts)

    poller = Poller([(host, site.address(host)) for host in polled], bundle(site))
    started = time.time()
    poller.start()
    try:
        run = site.playbook(SITE)
    finally:
        time.sleep(3)
        poller.stopped.set()
        poller.join(30)
    run.ok()
    windows = dict((host, restart_windows(host, started)) for host in polled)
    lockouts = [result for result in poller.results if result[2] == 'refused']
    outside = [result for result in poller.results if result[2] == 'down'
               and not any(start <= result[0] <= end for start, end in windows[result[1]])]
    assert lockouts == [], lockouts[:10]
    assert outside == [], (outside[:10], windows)
    for host in polled:
        polls = [result for result in poller.results if result[1] == host]
        assert len(polls) >= 20 and polls[-1][2] == 'ok', polls[-5:]
        assert 1 <= len(windows[host]) <= 3, windows[host]
    print('polls: %d ok, %d while an engine restarted; restarts per node: %s' % (
        sum(1 for result in poller.results if result[2] == 'ok'), sum(1 for result in poller.results if result[2] == 'down'),
        dict((host, len(found)) for host, found in windows.items())))

    # the legacy CA was retired: archived 0600, gone from every trust file (the registry's endpoints and the apps'
    # Consul files too: the retirement issues them again in the same run); the bundle is the operator CA's
    assert not os.path.exists(legacy_ca)
    archived = glob.glob(os.path.join(pki_dir(site), 'archive', '*-retired', 'legacy-ca-key.pem'))
    assert len(archived) == 1 and os.stat(archived[0]).st_mode & 0o777 == 0o600
    assert_trust_files_carry_only_the_anchors_of_their_parties(site, hosts)
    consul_cert, consul_key = node_leaf(tmp_path, hosts[-1], 'consul')
    refused(lambda: https_get(site.address(hosts[0]), DOCKER_PORT, '/version', bundle(site)[0], consul_cert, consul_key))

    # the next run changes nothing, on any node
    again = site.playbook(SITE).ok()
    assert again.changed == 0, again.changed_tasks()


@pytest.mark.site_order('last')
def test_check_mode_on_the_converged_site_after_every_test_changes_nothing_and_shows_no_secret(site):
    """The scenario's last check mode, on the native nodes: the converged site (every earlier test restored what it
    changed) would not change, nothing fails, and no secret shows in the output, diff included. (The scenario's
    `check` step ran check mode on the fresh lab; test_02's run is the idempotence run on every node.)"""
    check = site.playbook(SITE, check=True, diff=True, limit=NATIVE).ok()
    assert check.changed == 0, check.changed_tasks()
    assert all(s['failures'] == 0 and s['unreachable'] == 0 for s in check.stats.values()), check.stats
    for secret in site_secrets(site):
        assert secret and secret not in check.stdout and secret not in check.stderr
    site.playbook(VERIFY).ok()


def site_secrets(site):
    """The swarm's join tokens, the gossip key and every Consul token's SecretID."""
    manager = site.hosts('swarm_managers')[0]
    secrets = [node_exec(manager, 'docker', 'swarm', 'join-token', '-q', kind).stdout.strip() for kind in ('worker', 'manager')]
    consul = os.path.join(site.secrets_dir, 'consul')
    with open(os.path.join(consul, 'gossip.key')) as handle:
        secrets.append(handle.read().strip())
    with open(os.path.join(consul, 'management.token')) as handle:
        secrets.append(handle.read().strip())
    for token in os.listdir(os.path.join(consul, 'tokens')):
        with open(os.path.join(consul, 'tokens', token)) as handle:
            secrets.append(json.load(handle)['SecretID'])
    return secrets
