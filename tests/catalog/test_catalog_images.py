# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The catalogue images for real: built from Debian packages, pushed as multi-arch tags to a TLS registry
(Debian's docker-registry on 127.0.0.1, client certificates and htpasswd), and run on the host's Docker engine.

PICOCLOUD_CATALOG_IMAGES names a directory that keeps the images between runs (the build skips what is
built); without it they are built in a temporary directory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import ROOT, Process, ScratchCA, free_port, wait_for

APPS = {
    # app: (tag, user, exposed port, first entrypoint word)
    'static': ('1.0', '65534:65534', '8080/tcp', '/bin/busybox'),
    'mosquitto': ('2.0', '1883:1883', '1883/tcp', '/usr/sbin/mosquitto'),
    'webapp': ('1.0', '10001:10001', '8080/tcp', '/usr/bin/python3'),
    'portal': ('1.0', '10001:10001', '8080/tcp', '/usr/bin/python3'),
}
ARCHES = {'amd64': ('amd64', None), 'arm64': ('arm64', 'v8')}
MEASURED = {}


def run(argv, timeout=600, check=True, **kwargs):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, check=False,
                          universal_newlines=True, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError('%s failed (%d):\n%s\n%s' % (argv, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc


def archive(images, app, arch):
    return os.path.join(images, 'picocloud', app, APPS[app][0], 'linux-%s.tar' % arch)


@pytest.fixture(scope='module')
def images(tmp_path_factory, output_dir):
    dest = os.environ.get('PICOCLOUD_CATALOG_IMAGES') or str(tmp_path_factory.mktemp('images'))
    start = time.monotonic()
    first = run([os.path.join(ROOT, 'scripts', 'catalog-images.sh'), dest], timeout=1800)
    MEASURED['build_seconds'] = round(time.monotonic() - start, 1)
    MEASURED['build_output'] = first.stdout.strip().splitlines()
    yield dest
    with open(os.path.join(output_dir, 'measurements.json'), 'w', encoding='utf-8') as handle:
        json.dump(MEASURED, handle, indent=2, sort_keys=True)


def config_of(path):
    return json.loads(run(['skopeo', 'inspect', '--config', 'oci-archive:' + path]).stdout)


def manifest_digest(path):
    return json.loads(run(['skopeo', 'inspect', 'oci-archive:' + path]).stdout)['Digest']


def test_every_app_has_an_amd64_and_an_arm64_archive_listed_in_sha256sums(images):
    run(['sha256sum', '--check', '--strict', 'SHA256SUMS'], cwd=images)
    with open(os.path.join(images, 'SHA256SUMS'), encoding='utf-8') as handle:
        listed = {line.split()[1] for line in handle}
    expected = {os.path.relpath(archive(images, app, arch), images) for app in APPS for arch in ARCHES}
    assert expected <= listed
    MEASURED['archive_kib'] = {name: os.path.getsize(os.path.join(images, name)) // 1024 for name in sorted(expected)}


@pytest.mark.parametrize('app', sorted(APPS))
@pytest.mark.parametrize('arch', sorted(ARCHES))
def test_each_image_declares_its_platform_entrypoint_port_and_a_non_root_user(images, app, arch):
    config = config_of(archive(images, app, arch))
    tag, user, port, entry = APPS[app]
    assert (config['os'], config['architecture'], config.get('variant')) == ('linux',) + ARCHES[arch]
    assert config['config']['User'] == user and not user.startswith('0:')
    assert list(config['config']['ExposedPorts']) == [port]
    assert config['config']['Entrypoint'][0] == entry
    assert config['config']['Labels']['org.opencontainers.image.version'] == tag
    assert config['config']['Labels']['org.opencontainers.image.title'] == 'picocloud/' + app


def test_a_second_build_builds_nothing_and_keeps_the_digests(images):
    before = {app: manifest_digest(archive(images, app, 'amd64')) for app in APPS}
    start = time.monotonic()
    again = run([os.path.join(ROOT, 'scripts', 'catalog-images.sh'), images])
    MEASURED['rebuild_seconds'] = round(time.monotonic() - start, 1)
    assert 'catalog-images: 0 image(s) built' in again.stdout
    assert {app: manifest_digest(archive(images, app, 'amd64')) for app in APPS} == before


def test_an_unknown_architecture_is_refused_before_anything_is_built(tmp_path):
    proc = run([os.path.join(ROOT, 'scripts', 'catalog-images.sh'), str(tmp_path / 'out'), 'riscv64'], check=False)
    assert proc.returncode == 2
    assert "unknown architecture 'riscv64'" in proc.stderr
    assert not (tmp_path / 'out').exists()


class Registry:
    """Debian's docker-registry on 127.0.0.1 with TLS, client certificates from the CA and htpasswd."""

    def __init__(self, directory):
        self.dir = directory
        self.ca = ScratchCA(directory)
        self.server_cert, self.server_key = self.ca.issue('registry', dns=['localhost'], ips=['127.0.0.1'], server=True)
        self.client_cert, self.client_key = self.ca.issue('operator', client=True)
        self.user, self.password = 'operator', base64.b32encode(os.urandom(10)).decode().lower()
        htpasswd = os.path.join(directory, 'htpasswd')
        run(['htpasswd', '-B', '-b', '-c', htpasswd, self.user, self.password])
        self.credentials = os.path.join(directory, 'credentials')
        with open(os.open(self.credentials, os.O_WRONLY | os.O_CREAT, 0o600), 'w', encoding='utf-8') as handle:
            handle.write('%s:%s\n' % (self.user, self.password))
        self.port = free_port()
        self.address = '127.0.0.1:%d' % self.port
        config = os.path.join(directory, 'config.yml')
        with open(config, 'w', encoding='utf-8') as handle:
            json.dump({  # YAML is a superset of JSON
                'version': 0.1,
                'log': {'level': 'info'},
                'storage': {'filesystem': {'rootdirectory': os.path.join(directory, 'data')}, 'delete': {'enabled': True}},
                'http': {'addr': self.address, 'tls': {'certificate': self.server_cert, 'key': self.server_key,
                                                       'clientcas': [self.ca.ca_file]}},
                'auth': {'htpasswd': {'realm': 'picocloud', 'path': htpasswd}},
            }, handle)
        self.process = Process(['docker-registry', 'serve', config], os.path.join(directory, 'registry.log'))
        wait_for('the registry on %s' % self.address, lambda: self.status('/v2/') == 401, 30)

    def status(self, path, client_cert=True, auth=None):
        """The HTTP status of a GET (an ssl.SSLError / connection error when the handshake is refused)."""
        context = ssl.create_default_context(cafile=self.ca.ca_file)
        if client_cert:
            context.load_cert_chain(self.client_cert, self.client_key)
        request = urllib.request.Request('https://%s%s' % (self.address, path),
                                         headers={'Accept': 'application/vnd.oci.image.index.v1+json'})
        if auth:
            request.add_header('Authorization', 'Basic ' + base64.b64encode(('%s:%s' % auth).encode()).decode())
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def cert_dir(self):
        path = os.path.join(self.dir, 'certs.d')
        os.makedirs(path, exist_ok=True)
        for src, name in ((self.ca.ca_file, 'ca.crt'), (self.client_cert, 'client.cert'), (self.client_key, 'client.key')):
            shutil.copy(src, os.path.join(path, name))
        return path

    def authfile(self):
        path = os.path.join(self.dir, 'auth.json')
        token = base64.b64encode(('%s:%s' % (self.user, self.password)).encode()).decode()
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w', encoding='utf-8') as handle:
            json.dump({'auths': {self.address: {'auth': token}}}, handle)
        return path

    def push(self, images):
        return run([os.path.join(ROOT, 'scripts', 'catalog-push.sh'), images, self.address, '--ca', self.ca.ca_file,
                    '--cert', self.client_cert, '--key', self.client_key, '--credentials', self.credentials], check=False)

    def inspect_raw(self, ref, auth=True):
        argv = ['skopeo', 'inspect', '--raw', '--cert-dir', self.cert_dir()] + (['--authfile', self.authfile()] if auth else [])
        return run(argv + ['docker://%s/%s' % (self.address, ref)], check=False)


@pytest.fixture(scope='module')
def registry(tmp_path_factory):
    reg = Registry(str(tmp_path_factory.mktemp('registry')))
    yield reg
    reg.process.stop()


@pytest.fixture(scope='module')
def pushed(images, registry):
    start = time.monotonic()
    proc = registry.push(images)
    MEASURED['push_seconds'] = round(time.monotonic() - start, 1)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.parametrize('app', sorted(APPS))
def test_one_tag_per_app_is_a_manifest_list_of_amd64_and_arm64_with_the_archives_digests(images, registry, pushed, app):
    proc = registry.inspect_raw('picocloud/%s:%s' % (app, APPS[app][0]))
    assert proc.returncode == 0, proc.stderr
    index = json.loads(proc.stdout)
    assert index['mediaType'] == 'application/vnd.oci.image.index.v1+json'
    platforms = {(m['platform']['os'], m['platform']['architecture'], m['platform'].get('variant')): m['digest']
                 for m in index['manifests']}
    assert platforms == {('linux',) + ARCHES[arch]: manifest_digest(archive(images, app, arch)) for arch in ARCHES}
    assert 'picocloud/%s:%s pushed sha256:' % (app, APPS[app][0]) in pushed.stdout


def test_a_second_push_reports_every_tag_unchanged(images, registry, pushed):
    again = registry.push(images)
    assert again.returncode == 0, again.stderr
    assert sorted(again.stdout.splitlines()) == sorted(
        'catalog-push: picocloud/%s:%s unchanged (linux/amd64 linux/arm64/v8)' % (app, APPS[app][0]) for app in APPS)


def test_the_registry_refuses_anonymous_and_wrong_credentials(registry, pushed):
    path = '/v2/picocloud/static/manifests/1.0'
    assert registry.status(path, auth=(registry.user, registry.password)) == 200
    assert registry.status(path) == 401
    assert registry.status(path, auth=(registry.user, 'wrong')) == 401
    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError, socket.error)):
        registry.status(path, client_cert=False, auth=(registry.user, registry.password))
    anonymous = registry.inspect_raw('picocloud/static:1.0', auth=False)
    assert anonymous.returncode != 0 and 'unauthorized' in anonymous.stderr.lower()


def test_a_tampered_archive_stops_the_push_before_anything_is_sent(images, registry, tmp_path):
    bad = tmp_path / 'images'
    target = bad / 'picocloud' / 'tampered' / '1.0'
    target.mkdir(parents=True)
    shutil.copy(archive(images, 'static', 'amd64'), str(target / 'linux-amd64.tar'))
    run(['sh', '-c', 'sha256sum picocloud/tampered/1.0/linux-amd64.tar > SHA256SUMS'], cwd=str(bad))
    with open(str(target / 'linux-amd64.tar'), 'ab') as handle:
        handle.write(b'\0' * 1024)
    proc = registry.push(str(bad))
    assert proc.returncode == 1
    assert 'an archive does not match SHA256SUMS (see above); nothing was pushed' in proc.stderr
    assert registry.inspect_raw('picocloud/tampered:1.0').returncode != 0


def test_an_archive_missing_from_sha256sums_stops_the_push_before_anything_is_sent(images, registry, tmp_path):
    bad = tmp_path / 'images'
    for repo in ('listed', 'unlisted'):
        (bad / 'picocloud' / repo / '1.0').mkdir(parents=True)
        shutil.copy(archive(images, 'static', 'amd64'), str(bad / 'picocloud' / repo / '1.0' / 'linux-amd64.tar'))
    run(['sh', '-c', 'sha256sum picocloud/listed/1.0/linux-amd64.tar > SHA256SUMS'], cwd=str(bad))
    proc = registry.push(str(bad))
    assert proc.returncode == 1
    assert "SHA256SUMS has no line for 'picocloud/unlisted/1.0/linux-amd64.tar'; nothing was pushed" in proc.stderr
    assert registry.inspect_raw('picocloud/listed:1.0').returncode != 0


def write_sums(seed):
    """SHA256SUMS of every archive under `seed`, as scripts/catalog-images.sh writes it."""
    run(['sh', '-c', 'find picocloud -name "*.tar" | LC_ALL=C sort | xargs sha256sum > SHA256SUMS'], cwd=str(seed))


def test_docker_archives_alone_or_beside_an_oci_archive_push_as_one_multi_arch_tag(images, registry, tmp_path):
    """The seed also takes docker-archive tarballs (`docker save`'s format, made here from the catalogue's archives
    with skopeo): a tag of two docker archives, and a tag of an OCI archive beside a docker archive. Each becomes one
    manifest list of both platforms; each platform's image, read back from the registry, has its source's config
    (architecture and layer diff IDs), so the layers arrived whole; a second push reports both tags unchanged."""
    seed = tmp_path / 'images'
    sources = {}
    for repo, formats in (('docker-only', ('docker', 'docker')), ('mixed', ('oci', 'docker'))):
        for arch, kind in zip(sorted(ARCHES), formats):
            target = seed / 'picocloud' / repo / '1.0' / ('linux-%s.tar' % arch)
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive(images, 'static', arch)
            if kind == 'oci':
                shutil.copy(source, str(target))
            else:
                run(['skopeo', 'copy', '--quiet', 'oci-archive:' + source, 'docker-archive:%s:picocloud/%s:1.0' % (target, repo)])
                assert run(['tar', '-tf', str(target)]).stdout.split().count('manifest.json') == 1
            sources[(repo, arch)] = config_of(source)
    write_sums(seed)
    proc = registry.push(str(seed))
    assert proc.returncode == 0, proc.stderr
    assert sorted(line.rsplit(' sha256:', 1)[0] for line in proc.stdout.splitlines()) == [
        'catalog-push: picocloud/docker-only:1.0 pushed', 'catalog-push: picocloud/mixed:1.0 pushed']
    for repo in ('docker-only', 'mixed'):
        raw = registry.inspect_raw('picocloud/%s:1.0' % repo)
        assert raw.returncode == 0, raw.stderr
        manifests = json.loads(raw.stdout)['manifests']
        assert sorted(m['platform']['architecture'] for m in manifests) == sorted(ARCHES)
        for entry in manifests:
            arch = entry['platform']['architecture']
            pulled = json.loads(run(['skopeo', 'inspect', '--config', '--cert-dir', registry.cert_dir(), '--authfile',
                                     registry.authfile(), 'docker://%s/picocloud/%s@%s' % (registry.address, repo, entry['digest'])]).stdout)
            source = sources[(repo, arch)]
            assert (pulled['architecture'], pulled['rootfs']['diff_ids']) == (source['architecture'], source['rootfs']['diff_ids'])
    again = registry.push(str(seed))
    assert again.returncode == 0, again.stderr
    assert sorted(again.stdout.splitlines()) == [
        'catalog-push: picocloud/%s:1.0 unchanged (linux/amd64 linux/arm64/v8)' % repo for repo in ('docker-only', 'mixed')]


@pytest.mark.parametrize('bad, message', [
    ('not-an-image', 'picocloud/zz-bad/1.0/linux-amd64.tar is not one image that skopeo reads as an OCI or docker archive'),
    ('same-platform', 'picocloud/zz-bad/1.0 has two archives of linux/amd64; nothing was pushed'),
    ('bad-tag', "'1.0+build' (from picocloud/zz-bad/1.0+build) is not a valid tag; nothing was pushed"),
])
def test_an_unreadable_archive_or_a_bad_tag_stops_the_push_before_any_tag_is_sent(images, registry, tmp_path, bad, message):
    """A tag that sorts first is fine; a later one holds a tar that is no image, two archives of one platform, or has
    a tag name no registry takes: every tag is read before the first is pushed, so neither reaches the registry."""
    seed = tmp_path / 'images'
    good = seed / 'picocloud' / 'aa-good' / '1.0'
    good.mkdir(parents=True)
    shutil.copy(archive(images, 'static', 'amd64'), str(good / 'linux-amd64.tar'))
    broken = seed / 'picocloud' / 'zz-bad' / ('1.0+build' if bad == 'bad-tag' else '1.0')
    broken.mkdir(parents=True)
    if bad == 'not-an-image':
        (tmp_path / 'notes.txt').write_text('not an image\n')
        run(['tar', '-cf', str(broken / 'linux-amd64.tar'), '-C', str(tmp_path), 'notes.txt'])
    else:
        shutil.copy(archive(images, 'static', 'amd64'), str(broken / 'linux-amd64.tar'))
    if bad == 'same-platform':
        run(['skopeo', 'copy', '--quiet', 'oci-archive:' + archive(images, 'static', 'amd64'),
             'docker-archive:%s:picocloud/zz-bad:1.0' % (broken / 'other-amd64.tar')])
    write_sums(seed)
    proc = registry.push(str(seed))
    assert proc.returncode == 1, proc.stdout
    assert message in proc.stderr and proc.stderr.rstrip().endswith('nothing was pushed'), proc.stderr
    assert proc.stdout == ''
    for ref in ('picocloud/aa-good:1.0', 'picocloud/zz-bad:1.0'):
        assert registry.inspect_raw(ref).returncode != 0, ref


@pytest.mark.parametrize('args, message', [
    (['images', 'registry.example'], "registry must be HOST:PORT, got 'registry.example'"),
    (['images', '127.0.0.1:5000;id'], "registry must be HOST:PORT, got '127.0.0.1:5000;id'"),
    (['images', '127.0.0.1:5000', '--ca', '/etc/hostname'], '--cert is required'),
])
def test_push_refuses_a_bad_registry_or_missing_option_by_name(tmp_path, args, message):
    proc = run([os.path.join(ROOT, 'scripts', 'catalog-push.sh')] + args, check=False, cwd=str(tmp_path))
    assert proc.returncode == 1
    assert message in proc.stderr


# --- the amd64 images on the host's Docker engine --------------------------------------------------------------


@pytest.fixture(scope='module')
def docker(images, tmp_path_factory):
    run([os.path.join(ROOT, 'scripts', 'ensure-docker.sh')], timeout=180)
    loaded = []
    work = tmp_path_factory.mktemp('docker')

    def load(app, arch='amd64'):
        name = 'catalogtest/%s:%s-%s' % (app, APPS[app][0], arch)
        tarball = str(work / ('%s-%s.tar' % (app, arch)))
        run(['skopeo', 'copy', '--quiet', 'oci-archive:' + archive(images, app, arch), 'docker-archive:%s:%s' % (tarball, name)])
        run(['docker', 'load', '-i', tarball])
        loaded.append(name)
        MEASURED.setdefault('%s_unpacked_bytes' % arch, {})[app] = int(
            run(['docker', 'image', 'inspect', '--format', '{{.Size}}', name]).stdout.strip())
        return name

    yield load
    for name in loaded:
        run(['docker', 'rmi', '-f', name], check=False)


def start_container(name, image, port, extra=()):
    run(['docker', 'rm', '-f', name], check=False)
    run(['docker', 'run', '-d', '--name', name, '-p', '127.0.0.1::%d' % port] + list(extra) + [image])
    published = run(['docker', 'port', name, '%d/tcp' % port]).stdout.split()[0]
    return int(published.rsplit(':', 1)[1])


def http_get(port, path):
    with urllib.request.urlopen('http://127.0.0.1:%d%s' % (port, path), timeout=5) as answer:
        return answer.status, answer.read().decode('utf-8', 'replace')


def mqtt_connack(port):
    """Send an MQTT 3.1.1 CONNECT and return the CONNACK bytes."""
    client_id = b'catalogtest'
    variable = b'\x00\x04MQTT\x04\x02\x00\x3c'
    payload = len(client_id).to_bytes(2, 'big') + client_id
    packet = b'\x10' + bytes([len(variable) + len(payload)]) + variable + payload
    with socket.create_connection(('127.0.0.1', port), timeout=5) as sock:
        sock.sendall(packet)
        return sock.recv(4)


@pytest.fixture
def container():
    names = []

    def make(app):
        name = 'catalogtest-%s' % app
        names.append(name)
        return name
    yield make
    for name in names:
        run(['docker', 'rm', '-f', name], check=False)


def test_the_static_image_serves_its_site(docker, container):
    name = container('static')
    port = start_container(name, docker('static'), 8080)
    status, body = wait_for('busybox httpd', lambda: http_get(port, '/'), 30)
    assert status == 200 and 'Pico-Cloud static site' in body
    assert run(['docker', 'exec', name, '/bin/busybox', 'id', '-u']).stdout.strip() == '65534'


def test_the_mosquitto_image_answers_connect_with_connack_accepted(docker, container):
    name = container('mosquitto')
    port = start_container(name, docker('mosquitto'), 1883)
    assert wait_for('mosquitto CONNACK', lambda: mqtt_connack(port), 30) == b'\x20\x02\x00\x00'


def test_the_webapp_image_counts_hits_and_reports_health(docker, container):
    port = start_container(container('webapp'), docker('webapp'), 8080)
    status, body = wait_for('webapp health', lambda: http_get(port, '/health'), 30)
    assert (status, json.loads(body)) == (200, {'status': 'ok'})
    assert '<span id="hits">1</span>' in http_get(port, '/')[1]
    assert '<span id="hits">2</span>' in http_get(port, '/')[1]


def test_the_portal_image_starts_and_says_when_consul_does_not_answer(docker, container, tmp_path):
    ca = ScratchCA(str(tmp_path))
    cert, key = ca.issue('portal', client=True)
    # A test key and directory, readable by the image's non-root user through the bind mount.
    os.chmod(key, 0o644)
    os.chmod(str(tmp_path), 0o755)
    token = tmp_path / 'token'
    token.write_text('00000000-1111-2222-3333-444444444444\n')
    mounts = ['-v', '%s:/run/portal:ro' % tmp_path, '-e', 'CONSUL_HTTP_ADDR=https://127.0.0.1:1',
              '-e', 'CONSUL_CACERT=/run/portal/ca.pem', '-e', 'CONSUL_CLIENT_CERT=/run/portal/portal.pem',
              '-e', 'CONSUL_CLIENT_KEY=/run/portal/portal-key.pem', '-e', 'CONSUL_HTTP_TOKEN_FILE=/run/portal/token']
    port = start_container(container('portal'), docker('portal'), 8080, mounts)
    status, body = wait_for('portal health', lambda: http_get(port, '/health'), 30)
    assert status == 200
    status, page = http_get(port, '/')
    assert status == 200 and 'Consul at https://127.0.0.1:1 did not answer GET /v1/catalog/services' in page


@pytest.fixture(scope='module')
def arm64_emulation():
    """The qemu-user binfmt handler for aarch64, as the lab registers it for its arm64 nodes."""
    if not os.path.exists('/proc/sys/fs/binfmt_misc/qemu-aarch64'):
        if not os.path.exists('/proc/sys/fs/binfmt_misc/status'):
            run(['mount', '-t', 'binfmt_misc', 'binfmt_misc', '/proc/sys/fs/binfmt_misc'])
        run(['update-binfmts', '--enable', 'qemu-aarch64'])
    with open('/proc/sys/fs/binfmt_misc/qemu-aarch64', encoding='ascii') as handle:
        assert handle.readline().strip() == 'enabled'


def test_the_arm64_images_run_under_emulation_and_answer(docker, container, arm64_emulation):
    static = container('static-arm64')
    port = start_container(static, docker('static', 'arm64'), 8080)
    assert wait_for('busybox httpd (arm64)', lambda: http_get(port, '/'), 60)[0] == 200
    assert run(['docker', 'exec', static, '/bin/busybox', 'uname', '-m']).stdout.strip() == 'aarch64'
    port = start_container(container('mosquitto-arm64'), docker('mosquitto', 'arm64'), 1883)
    assert wait_for('mosquitto CONNACK (arm64)', lambda: mqtt_connack(port), 60) == b'\x20\x02\x00\x00'
    port = start_container(container('webapp-arm64'), docker('webapp', 'arm64'), 8080)
    assert wait_for('webapp health (arm64)', lambda: http_get(port, '/health'), 60)[0] == 200
