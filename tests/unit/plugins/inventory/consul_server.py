# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real Consul 1.8.7 server on 127.0.0.1 for the consul inventory tests.

Server mode with bootstrap_expect 1, HTTPS only with verify_incoming (CA, server and client
certificates made here with the cryptography library), ACLs default deny, bootstrapped through the
API. The binary comes from the zip scripts/consul-artifacts.sh builds (Debian bullseye's 1.8.7);
every wait is bounded.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import zipfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DATACENTER = 'pico'
NODE = 'pico-01'
START_TIMEOUT = 60
ZIP_NAME = 'consul_1.8.7_linux_amd64.zip'


def find_artifacts():
    """The directory with the consul zip: $PICOCLOUD_CONSUL_ARTIFACTS, else .cache/consul-artifacts of the
    checkout this collection was installed from (built there with scripts/consul-artifacts.sh when missing)."""
    configured = os.environ.get('PICOCLOUD_CONSUL_ARTIFACTS')
    if configured:
        return configured
    here = os.path.dirname(os.path.abspath(__file__))
    for _level in range(10):
        # the checkout has galaxy.yml; the installed copy (MANIFEST.json) does not
        if os.path.isfile(os.path.join(here, 'scripts', 'consul-artifacts.sh')) and \
                os.path.isfile(os.path.join(here, 'galaxy.yml')):
            dest = os.path.join(here, '.cache', 'consul-artifacts')
            if not os.path.isfile(os.path.join(dest, ZIP_NAME)):
                subprocess.run([os.path.join(here, 'scripts', 'consul-artifacts.sh'), dest, 'amd64'], check=True,
                               timeout=600)
            return dest
        here = os.path.dirname(here)
    raise RuntimeError('no consul artifacts: set PICOCLOUD_CONSUL_ARTIFACTS to a directory made by '
                       'scripts/consul-artifacts.sh')


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path, key):
    with open(path, 'wb') as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(path, 0o600)


def _write_cert(path, cert):
    with open(path, 'wb') as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))


def make_pki(directory):
    """CA, server certificate (server.<dc>.consul, localhost, 127.0.0.1) and client certificate."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name('test consul CA')).issuer_name(_name('test consul CA'))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    paths = {'ca': os.path.join(directory, 'ca.pem')}
    _write_cert(paths['ca'], ca)

    def leaf(label, common_name, sans, usages):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(ca.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
                .sign(ca_key, hashes.SHA256()))
        paths[label] = os.path.join(directory, label + '.pem')
        paths[label + '_key'] = os.path.join(directory, label + '-key.pem')
        _write_cert(paths[label], cert)
        _write_key(paths[label + '_key'], key)

    leaf('server', 'server.%s.consul' % DATACENTER,
         [x509.DNSName('server.%s.consul' % DATACENTER), x509.DNSName('localhost'),
          x509.IPAddress(ipaddress.ip_address('127.0.0.1'))],
         [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    leaf('client', 'operator', [x509.DNSName('operator')], [ExtendedKeyUsageOID.CLIENT_AUTH])
    return paths


class ConsulServer(object):
    """Start, talk to (as the management token) and stop one Consul server."""

    def __init__(self, workdir, artifacts):
        self.workdir = workdir
        with zipfile.ZipFile(os.path.join(artifacts, ZIP_NAME)) as archive:
            archive.extract('consul', workdir)
        self.binary = os.path.join(workdir, 'consul')
        os.chmod(self.binary, 0o755)
        self.pki = make_pki(workdir)
        self.https_port = free_port()
        self.url = 'https://127.0.0.1:%d' % self.https_port
        self.management_token = None
        self.process = None
        self._context = ssl.create_default_context(cafile=self.pki['ca'])
        self._context.load_cert_chain(self.pki['client'], self.pki['client_key'])

    def config(self):
        return {
            'datacenter': DATACENTER, 'primary_datacenter': DATACENTER, 'node_name': NODE,
            'data_dir': os.path.join(self.workdir, 'data'), 'server': True, 'bootstrap_expect': 1,
            'bind_addr': '127.0.0.1', 'advertise_addr': '127.0.0.1', 'client_addr': '127.0.0.1',
            'ports': {'http': -1, 'https': self.https_port, 'dns': -1, 'grpc': -1, 'serf_lan': free_port(),
                      'serf_wan': free_port(), 'server': free_port()},
            'ca_file': self.pki['ca'], 'cert_file': self.pki['server'], 'key_file': self.pki['server_key'],
            'verify_incoming': True, 'verify_outgoing': True, 'verify_server_hostname': True,
            'node_meta': {'rack': 'r1', 'board': '4B'},
            'acl': {'enabled': True, 'default_policy': 'deny', 'down_policy': 'extend-cache'},
            'disable_update_check': True, 'log_level': 'WARN', 'enable_script_checks': False,
        }

    def start(self):
        config_path = os.path.join(self.workdir, 'consul.json')
        with open(config_path, 'w') as handle:
            json.dump(self.config(), handle)
        log = open(os.path.join(self.workdir, 'consul.log'), 'wb')
        self.process = subprocess.Popen([self.binary, 'agent', '-config-file', config_path], stdout=log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError('consul exited: %s' % self.log())
            try:
                if self.request('GET', '/v1/status/leader'):
                    break
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError('consul elected no leader within %d s: %s' % (START_TIMEOUT, self.log()))
        self.management_token = self._bootstrap(deadline)['SecretID']
        agent = self.token(['node_prefix "" { policy = "write" }', 'service_prefix "" { policy = "read" }'], 'agent')
        self.request('PUT', '/v1/agent/token/agent', {'Token': agent})

    def _bootstrap(self, deadline):
        while True:
            try:
                return self.request('PUT', '/v1/acl/bootstrap', token=None)
            except urllib.error.HTTPError as exc:
                # "ACL system must be bootstrapped" races the leader's ACL initialisation: retry, bounded.
                if time.monotonic() > deadline:
                    raise RuntimeError('ACL bootstrap failed: %s' % exc.read())
                time.sleep(0.2)

    def log(self):
        with open(os.path.join(self.workdir, 'consul.log'), 'rb') as handle:
            return handle.read()[-3000:].decode('utf-8', 'replace')

    def request(self, method, path, body=None, token=''):
        token = self.management_token if token == '' else token
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if token:
            request.add_header('X-Consul-Token', token)
        with urllib.request.urlopen(request, context=self._context, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text.strip() else None

    def token(self, rules, name):
        """A new token whose one policy has these rules; returns its SecretID."""
        policy = self.request('PUT', '/v1/acl/policy', {'Name': name, 'Rules': '\n'.join(rules)})
        return self.request('PUT', '/v1/acl/token', {'Description': name, 'Policies': [{'ID': policy['ID']}]})['SecretID']

    def wait_for(self, predicate, what, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise RuntimeError('consul: %s did not happen within %d s' % (what, timeout))

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
