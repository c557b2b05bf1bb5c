# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pki role on three lab nodes: the site CA, per-node certificates, idempotence, renewal.

Runs after converge and the idempotence step. Tests that need more runs call ansible-playbook
themselves (json callback) and use their own certificate directory or secrets dir, so they do
not disturb each other. Test order matters where a docstring says so.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import subprocess

import pytest
import testinfra.utils.ansible_runner
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

INVENTORY = os.environ['MOLECULE_INVENTORY_FILE']
EPHEMERAL = os.environ['MOLECULE_EPHEMERAL_DIRECTORY']
SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOSTS = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts('picocloud')
SECRETS = os.path.join(EPHEMERAL, 'secrets')
CA_DIR = os.path.join(SECRETS, 'pki')
DEST = '/etc/picocloud-test/tls'


def playbook(name, *args, check=False):
    """Run a scenario playbook with the json callback; return (rc, parsed output, stderr)."""
    env = dict(os.environ)
    env.pop('ANSIBLE_CALLBACKS_ENABLED', None)  # keep stdout pure json
    env.update({
        'ANSIBLE_STDOUT_CALLBACK': 'ansible.posix.json',
        'ANSIBLE_CONFIG': os.path.join(EPHEMERAL, 'ansible.cfg'),
        'ANSIBLE_PIPELINING': 'true',
        'ANSIBLE_NOCOLOR': '1',
    })
    cmd = ['ansible-playbook', '-i', INVENTORY, os.path.join(SCENARIO, name)] + list(args)
    if check:
        cmd.append('--check')
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        out = {'stats': {}, 'raw': proc.stdout}
    return proc.returncode, out, proc.stderr


def changed(out):
    return {host: s['changed'] for host, s in out['stats'].items()}


def node(name):
    return testinfra.get_host('ansible://%s?ansible_inventory=%s' % (name, INVENTORY))


def node_cert(name, path=DEST + '/server.pem'):
    return x509.load_pem_x509_certificate(node(name).file(path).content)


def ca_cert(ca_dir=CA_DIR):
    with open(os.path.join(ca_dir, 'ca.pem'), 'rb') as f:
        return x509.load_pem_x509_certificate(f.read())


def fingerprint(cert):
    return cert.fingerprint(cert.signature_hash_algorithm).hex()


def public_der(key_or_cert):
    return key_or_cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def sans(cert):
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {'DNS:' + n for n in ext.get_values_for_type(x509.DNSName)} | {
        'IP:' + str(n) for n in ext.get_values_for_type(x509.IPAddress)}


def eku(cert):
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# --- the converged site ----------------------------------------------------------------------

def test_missing_secrets_dir_was_created_0700_with_a_0600_ca_key():
    """prepare removed the secrets dir; converge created it, its pki dir 0700 and the key 0600."""
    assert mode(SECRETS) == 0o700
    assert mode(CA_DIR) == 0o700
    assert mode(os.path.join(CA_DIR, 'ca-key.pem')) == 0o600


def test_site_ca_is_an_ecdsa_p256_ca():
    ca = ca_cert()
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert ca.public_key().curve.name == 'secp256r1'
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    ca.verify_directly_issued_by(ca)


def test_server_certificate_has_the_nodes_sans_and_server_usage_only(host):
    name = host.backend.get_hostname()
    address = host.ansible('setup', 'gather_subset=!all,network')['ansible_facts']['ansible_default_ipv4']['address']
    cert = node_cert(name)
    assert sans(cert) == {'DNS:' + name, 'DNS:localhost', 'IP:127.0.0.1', 'IP:' + address}
    assert eku(cert) == {ExtendedKeyUsageOID.SERVER_AUTH}
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    cert.verify_directly_issued_by(ca_cert())


def test_openssl_verify_on_the_node_accepts_the_certificate(host):
    result = host.run('openssl verify -CAfile %s/ca.pem %s/server.pem', DEST, DEST)
    assert result.rc == 0, result.stderr
    assert result.stdout.strip().endswith(': OK')
    with open(os.path.join(CA_DIR, 'ca.pem'), 'rb') as f:
        assert host.file(DEST + '/ca.pem').content == f.read()


def test_node_key_is_0600_root_and_matches_its_certificate(host):
    key = host.file(DEST + '/server-key.pem')
    assert key.mode == 0o600
    assert key.user == 'root' and key.group == 'root'
    from_key = host.check_output('openssl pkey -in %s/server-key.pem -pubout', DEST)
    from_cert = host.check_output('openssl x509 -in %s/server.pem -noout -pubkey', DEST)
    assert from_key == from_cert


def test_node_private_keys_never_appear_on_the_controller(host):
    """Every PEM private key under the scenario's controller dirs is the CA's (or a client's), never a node's."""
    node_public = public_der(node_cert(host.backend.get_hostname()))
    private_keys = []
    for root, _dirs, files in os.walk(EPHEMERAL):
        for name in files:
            path = os.path.join(root, name)
            with open(path, 'rb') as f:
                data = f.read()
            if b'PRIVATE KEY-----' not in data:
                continue
            private_keys.append(os.path.relpath(path, EPHEMERAL))
            key = serialization.load_pem_private_key(data, password=None)
            assert public_der(key) != node_public, path
    assert private_keys == ['secrets/pki/ca-key.pem']


def test_handler_ran_once_per_node_converge_and_not_on_the_idempotent_rerun(host):
    """converge changed the files (handler notified); the idempotence run did not."""
    lines = host.file('/var/tmp/pki-restarts').content_string.split()
    assert len(lines) == 1


def test_second_check_mode_run_reports_no_change():
    rc, out, err = playbook('converge.yml', check=True)
    assert rc == 0, err
    assert changed(out) == {name: 0 for name in HOSTS}


def test_short_client_certificate_has_client_usage_and_its_own_validity():
    """The per-certificate days option: molecule-pki-03's "short" certificate lives 10 days."""
    cert = node_cert('molecule-pki-03', DEST + '/short.pem')
    assert eku(cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    assert sans(cert) == {'DNS:client.molecule-pki-03'}
    lifetime = (cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds()
    assert 10 * 86400 <= lifetime <= 10 * 86400 + 7200
    assert node('molecule-pki-03').file(DEST + '/short-key.pem').mode == 0o600


# --- runs that change things (order matters from here on) ------------------------------------

def test_certificate_expiring_within_renew_days_is_reissued():
    """Widen the renew window to 15 days: only the 10-day certificate is reissued (now for 20 days), same key."""
    before = {name: fingerprint(node_cert(name)) for name in HOSTS}
    short = node_cert('molecule-pki-03', DEST + '/short.pem')
    rc, out, err = playbook('converge.yml', '-e', 'pki_renew_days=15', '-e', 'pki_test_short_days=20')
    assert rc == 0, err
    counts = changed(out)
    assert counts['molecule-pki-03'] > 0
    assert counts['molecule-pki-01'] == 0 and counts['molecule-pki-02'] == 0
    assert {name: fingerprint(node_cert(name)) for name in HOSTS} == before, 'server certificates are not due'
    renewed = node_cert('molecule-pki-03', DEST + '/short.pem')
    assert renewed.serial_number != short.serial_number
    assert renewed.not_valid_after_utc > short.not_valid_after_utc
    assert public_der(renewed) == public_der(short), 'renewal keeps the node key'


def test_changing_one_nodes_sans_reissues_only_that_nodes_certificate():
    """Also proves the renewed certificate is stable: molecule-pki-03 reports no change."""
    before = {name: fingerprint(node_cert(name)) for name in HOSTS}
    short = fingerprint(node_cert('molecule-pki-03', DEST + '/short.pem'))
    rc, out, err = playbook('converge.yml', '-e', 'pki_test_extra_sans_host=molecule-pki-02')
    assert rc == 0, err
    counts = changed(out)
    assert counts['molecule-pki-02'] > 0
    assert counts['molecule-pki-01'] == 0 and counts['molecule-pki-03'] == 0
    after = {name: fingerprint(node_cert(name)) for name in HOSTS}
    assert after['molecule-pki-01'] == before['molecule-pki-01']
    assert after['molecule-pki-03'] == before['molecule-pki-03']
    assert after['molecule-pki-02'] != before['molecule-pki-02']
    assert fingerprint(node_cert('molecule-pki-03', DEST + '/short.pem')) == short
    assert 'DNS:extra.molecule-pki-02' in sans(node_cert('molecule-pki-02'))
    restarts = {name: len(node(name).file('/var/tmp/pki-restarts').content_string.split()) for name in HOSTS}
    assert restarts == {'molecule-pki-01': 1, 'molecule-pki-02': 2, 'molecule-pki-03': 2}


def test_controller_side_key_generation_installs_a_0600_key_and_stays_idempotent():
    target = 'molecule-pki-01'
    dest = '/etc/pki-ctl'
    args = ['--limit', target, '-e', 'pki_key_location=controller', '-e', 'pki_test_dest=' + dest]
    try:
        rc, out, err = playbook('converge.yml', *args)
        assert rc == 0, err
        host = node(target)
        assert host.file(dest + '/server-key.pem').mode == 0o600
        assert host.run('openssl verify -CAfile %s/ca.pem %s/server.pem', dest, dest).rc == 0
        cert_public = public_der(node_cert(target, dest + '/server.pem'))
        for root, _dirs, files in os.walk(EPHEMERAL):
            for name in files:
                with open(os.path.join(root, name), 'rb') as f:
                    data = f.read()
                if b'PRIVATE KEY-----' in data:
                    assert public_der(serialization.load_pem_private_key(data, None)) != cert_public
        rc, out, err = playbook('converge.yml', *args)
        assert rc == 0, err
        assert changed(out)[target] == 0
    finally:
        node(target).run('rm -rf %s', dest)


def test_check_mode_on_a_fresh_site_reports_changes_and_writes_nothing(tmp_path):
    """A fresh secrets dir and a fresh certificate directory (the molecule check step covers fresh nodes)."""
    secrets = tmp_path / 'fresh' / 'secrets'
    rc, out, err = playbook('converge.yml', '-e', 'picocloud_secrets_dir=%s' % secrets,
                            '-e', 'pki_test_dest=/etc/pki-fresh', check=True)
    assert rc == 0, err
    assert all(count > 0 for count in changed(out).values()), changed(out)
    assert not (tmp_path / 'fresh').exists()
    for name in HOSTS:
        assert not node(name).file('/etc/pki-fresh').exists


# --- the operator client bundle and the CA on the controller (localhost only) ---------------

def test_client_bundle_idempotence_rotation_and_loose_ca_key_refusal(tmp_path):
    """One controller-only sequence on a fresh secrets dir (localhost; the scenario's CA is not touched):
    bundle in a missing secrets dir -> re-run unchanged -> explicit rotation -> loose CA key refused."""
    secrets = tmp_path / 'site' / 'secrets'
    pki = secrets / 'pki'
    bundle = pki / 'clients' / 'operator'
    # check mode on the fresh site: reports the bundle, writes nothing
    rc, out, err = playbook('client.yml', '-e', 'pki_test_secrets_dir=%s' % secrets, '--check')
    assert rc == 0, err
    assert changed(out)['localhost'] > 0
    assert not secrets.exists()

    rc, out, err = playbook('client.yml', '-e', 'pki_test_secrets_dir=%s' % secrets)
    assert rc == 0, err
    assert mode(secrets) == 0o700 and mode(pki) == 0o700 and mode(bundle) == 0o700
    assert mode(pki / 'ca-key.pem') == 0o600 and mode(bundle / 'key.pem') == 0o600
    cert = x509.load_pem_x509_certificate((bundle / 'cert.pem').read_bytes())
    assert eku(cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    cert.verify_directly_issued_by(ca_cert(str(pki)))
    assert (bundle / 'ca.pem').read_bytes() == (pki / 'ca.pem').read_bytes()

    rc, out, err = playbook('client.yml', '-e', 'pki_test_secrets_dir=%s' % secrets)
    assert rc == 0, err
    assert changed(out) == {'localhost': 0}

    old_ca = (pki / 'ca.pem').read_bytes()
    rc, out, err = playbook('client.yml', '-e', 'pki_test_secrets_dir=%s' % secrets, '-e', 'pki_ca_rotate=true')
    assert rc == 0, err
    new_ca = ca_cert(str(pki))
    assert new_ca.public_bytes(serialization.Encoding.PEM) != old_ca
    archived = list((pki / 'archive').iterdir())
    assert len(archived) == 1
    assert (archived[0] / 'ca.pem').read_bytes() == old_ca
    assert mode(archived[0] / 'ca-key.pem') == 0o600 and mode(archived[0]) == 0o700
    x509.load_pem_x509_certificate((bundle / 'cert.pem').read_bytes()).verify_directly_issued_by(new_ca)
    assert (bundle / 'ca.pem').read_bytes() == (pki / 'ca.pem').read_bytes()

    key = pki / 'ca-key.pem'
    key.chmod(0o644)
    rc, out, err = playbook('client.yml', '-e', 'pki_test_secrets_dir=%s' % secrets)
    assert rc != 0
    assert 'may have leaked' in json.dumps(out)
    assert mode(key) == 0o644, 'the role must not silently re-chmod a key that may have leaked'


@pytest.mark.parametrize('bad', [
    ['-e', 'pki_cert_days=20', '-e', 'pki_renew_days=30'],
    ['-e', 'pki_test_client_name=../escape'],
], ids=['renew-window-longer-than-validity', 'client-name-with-a-path'])
def test_bad_settings_fail_early_with_a_clear_message(tmp_path, bad):
    secrets = tmp_path / 'secrets'
    rc, out, err = playbook('client.yml', '-e', 'pki_test_secrets_dir=%s' % secrets, *bad)
    assert rc != 0
    text = json.dumps(out)
    assert 'pki_renew_days' in text or 'pki_client_name' in text
    assert not secrets.exists(), 'bad input must fail before anything is written'
