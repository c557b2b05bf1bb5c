# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site registry of a converged site (picocloud.edge.registry): TLS on both endpoints, client certificates
from the registry CA, read-only pulls, authenticated pushes, anonymous clients refused, and every node pulling
the multi-arch catalogue tags for its own architecture. Hosts come from the inventory's groups and the nodes'
own facts (dpkg's architecture), never from names."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request

import pytest

from picocloud_test import SITE, Site, node_exec, site_registry_address, wait_for

TAG = 'picocloud/static:1.0'
INDEX_TYPES = ('application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json')
# Runs on a node: one HTTPS request to the registry with the node's own certs.d files (or none), printing
# {"status", "body", "headers"} or {"error"}.
REQUEST = r'''
import json, ssl, sys, urllib.error, urllib.request
url, method, certs, accept = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=certs + "/ca.crt")
if sys.argv[5] == "cert":
    ctx.load_cert_chain(certs + "/client.cert", certs + "/client.key")
req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
if accept:
    req.add_header("Accept", accept)
try:
    with urllib.request.urlopen(req, context=ctx, timeout=15) as resp:
        print(json.dumps({"status": resp.status, "body": resp.read().decode(), "headers": dict(resp.headers)}))
except urllib.error.HTTPError as exc:
    print(json.dumps({"status": exc.code, "body": exc.read().decode(), "headers": dict(exc.headers)}))
except Exception as exc:
    print(json.dumps({"error": "%s: %s" % (type(exc).__name__, exc)}))
'''


@pytest.fixture(scope='module')
def site():
    return Site.current()


@pytest.fixture(scope='module')
def registry(site):
    """The registry host, the address every node pulls through (the name of its certs.d directory) and the
    directory of a node's client files."""
    host = site.hosts('registry')[0]
    address = site_registry_address(host)
    found = {'host': host, 'address': address, 'hostname': address.rsplit(':', 1)[0],
             'port': int(address.rsplit(':', 1)[1]), 'certs': '/etc/docker/certs.d/' + address}
    # the lifecycle tests before this module reboot and restore nodes (the registry's too): wait, bounded, until the
    # pull endpoint answers the node's own certificate again
    assert wait_for(lambda: request(host, found, '/v2/').get('status') == 200, timeout=180, step=3), \
        request(host, found, '/v2/')
    return found


def request(on, registry, path, cert=True, method='GET', accept='', port=None):
    url = 'https://%s:%d%s' % (registry['hostname'], port or registry['port'], path)
    out = node_exec(on, 'python3', '-c', REQUEST, url, method, registry['certs'], accept, 'cert' if cert else 'none',
                    check=True).stdout
    return json.loads(out)


def registry_anchor(site):
    """What the controller verifies the registry's server certificate with: the registry CA's anchor (docs/trust.md)."""
    return os.path.join(site.secrets_dir, 'pki', 'registry', 'anchor.pem')


def operator_context(site):
    """The controller's TLS context for the registry: the registry CA's anchor, and the operator's client certificate
    (the site's pki/clients/operator bundle); the host name is not checked."""
    bundle = os.path.join(site.secrets_dir, 'pki', 'clients', 'operator')
    context = ssl.create_default_context(cafile=registry_anchor(site))
    context.check_hostname = False
    context.load_cert_chain(os.path.join(bundle, 'cert.pem'), os.path.join(bundle, 'key.pem'))
    return context


def arch_of(host):
    return node_exec(host, 'dpkg', '--print-architecture', check=True).stdout.strip()


def hosts_by_arch(site):
    found = {}
    for host in site.hosts():
        found.setdefault(arch_of(host), []).append(host)
    return found


def test_both_endpoints_run_from_their_units_on_the_persistent_data_dir(registry):
    host = registry['host']
    for unit in ('picocloud-registry-pull', 'picocloud-registry-push'):
        assert node_exec(host, 'systemctl', 'is-active', unit).stdout.strip() == 'active'
    assert node_exec(host, 'test', '-d', '/var/lib/docker-registry/docker/registry/v2/repositories/picocloud').returncode == 0
    # The pull endpoint's unit cannot write the storage, even if distribution tried.
    props = node_exec(host, 'systemctl', 'show', '-p', 'ReadWritePaths', '-p', 'ProtectSystem',
                      'picocloud-registry-pull', check=True).stdout
    assert 'ProtectSystem=strict' in props and 'docker-registry' not in props


def test_every_node_pulls_over_verified_tls_with_its_own_client_certificate(site, registry):
    for host in site.hosts():
        answer = request(host, registry, '/v2/_catalog')
        assert answer.get('status') == 200, (host, answer)
        repositories = json.loads(answer['body'])['repositories']
        assert {'picocloud/static', 'picocloud/mosquitto', 'picocloud/webapp', 'picocloud/portal'} <= set(repositories)
        mode = node_exec(host, 'stat', '-c', '%a %U', registry['certs'] + '/client.key', check=True).stdout.split()
        assert mode == ['600', 'root'], (host, mode)


def test_an_anonymous_client_is_refused_by_both_endpoints(site, registry):
    host = site.hosts()[-1]
    for port in (registry['port'], registry['port'] + 1):
        answer = request(host, registry, '/v2/picocloud/static/manifests/1.0', cert=False, port=port)
        assert 'error' in answer, (port, answer)
        assert 'SSL' in answer['error'] or 'certificate' in answer['error'].lower(), answer
    # From the controller too, with a TLS client that trusts the registry's anchor but shows no certificate.
    context = ssl.create_default_context(cafile=registry_anchor(site))
    context.check_hostname = False
    with pytest.raises((ssl.SSLError, ConnectionResetError, urllib.error.URLError)):
        urllib.request.urlopen('https://%s/v2/' % registry['address'], context=context, timeout=10).read()


def test_the_pull_endpoint_is_read_only_and_the_push_endpoint_wants_credentials(site, registry):
    host = registry['host']
    # distribution's read-only mode answers an upload with 405 Method not allowed.
    upload = request(host, registry, '/v2/picocloud/static/blobs/uploads/', method='POST')
    assert upload.get('status') == 405, upload
    # The operator's certificate passes TLS on the push endpoint, but without the credential nothing is answered.
    context = operator_context(site)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen('https://%s:%d/v2/_catalog' % (registry['hostname'], registry['port'] + 1),
                               context=context, timeout=10)
    assert refused.value.code == 401
    credentials = os.path.join(site.secrets_dir, 'registry', 'push.credentials')
    assert oct(os.stat(credentials).st_mode & 0o777) == '0o600'


def test_the_catalogue_tag_is_a_manifest_list_of_every_architecture_the_site_runs(site, registry):
    answer = request(registry['host'], registry, '/v2/picocloud/static/manifests/1.0', accept=','.join(INDEX_TYPES))
    assert answer.get('status') == 200, answer
    index = json.loads(answer['body'])
    assert index['mediaType'] in INDEX_TYPES
    platforms = set(m['platform']['architecture'] for m in index['manifests'])
    oci = {'amd64': 'amd64', 'arm64': 'arm64', 'armhf': 'arm'}
    assert set(oci[arch] for arch in hosts_by_arch(site)) <= platforms
    # scripts/catalog-images.sh builds the catalogue for both, whatever the lab runs
    assert {'amd64', 'arm64'} <= platforms, platforms


def test_one_node_of_each_architecture_pulls_its_own_platform_of_the_tag(site, registry):
    image = '%s/%s' % (registry['address'], TAG)
    if site.hosts('lab_emulated'):
        # a lab with an emulated node has an arm64 node to pull the arm64 platform
        assert 'arm64' in hosts_by_arch(site), hosts_by_arch(site)
    for arch, hosts in sorted(hosts_by_arch(site).items()):
        host = hosts[-1]
        had = node_exec(host, 'docker', 'image', 'inspect', image).returncode == 0
        try:
            pulled = node_exec(host, 'docker', 'pull', image, timeout=600)
            assert pulled.returncode == 0, (host, pulled.stdout, pulled.stderr)
            seen = node_exec(host, 'docker', 'image', 'inspect', '--format', '{{.Os}}/{{.Architecture}}', image,
                             check=True).stdout.strip()
            assert seen == 'linux/%s' % {'armhf': 'arm'}.get(arch, arch), (host, seen)
        finally:
            if not had:
                node_exec(host, 'docker', 'image', 'rm', image)
        assert (node_exec(host, 'docker', 'image', 'inspect', image).returncode == 0) == had


def test_docker_uses_the_site_registry_as_its_mirror(site, registry):
    for host in site.hosts():
        info = json.loads(node_exec(host, 'docker', 'info', '--format', '{{json .RegistryConfig.Mirrors}}', check=True).stdout)
        assert info == ['https://%s/' % registry['address']], (host, info)


def test_a_second_seed_pushes_nothing(site):
    artifacts = os.environ.get('PICOCLOUD_TEST_ARTIFACTS_DIR') or site.hostvars(site.hosts()[0]).get('picocloud_artifacts_dir')
    if not artifacts or not os.path.isfile(os.path.join(artifacts, 'images', 'SHA256SUMS')):
        pytest.skip('no images in the artifacts dir (scripts/catalog-images.sh writes them)')
    run = site.playbook('picocloud.edge.registry_seed', extra_vars={'picocloud_artifacts_dir': artifacts}).ok()
    assert run.changed == 0, run.changed_tasks()
    pushed = run.results('picocloud.edge.registry : Push the archives as multi-arch tags')
    lines = [line for res in pushed.values() for line in res['stdout_lines']]
    assert lines and all(' unchanged ' in line for line in lines), lines


def test_garbage_collection_in_check_mode_deletes_nothing(site, registry):
    before = node_exec(registry['host'], 'du', '-s', '/var/lib/docker-registry', check=True).stdout.split()[0]
    run = site.playbook('picocloud.edge.registry_gc', check=True).ok()
    assert node_exec(registry['host'], 'du', '-s', '/var/lib/docker-registry', check=True).stdout.split()[0] == before
    assert node_exec(registry['host'], 'systemctl', 'is-active', 'picocloud-registry-push').stdout.strip() == 'active'
    assert run.rc == 0


MANIFEST_TYPES = ('application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json')


def catalogue_manifests(registry):
    """{digest: status} for the index of every tag of every repository and every platform manifest the index lists,
    as the pull endpoint answers them."""
    host = registry['host']
    found = {}
    for repository in json.loads(request(host, registry, '/v2/_catalog')['body'])['repositories']:
        for tag in json.loads(request(host, registry, '/v2/%s/tags/list' % repository)['body'])['tags'] or []:
            index = request(host, registry, '/v2/%s/manifests/%s' % (repository, tag), accept=','.join(INDEX_TYPES))
            found['%s:%s' % (repository, tag)] = index.get('status')
            for platform in json.loads(index.get('body') or '{}').get('manifests', []):
                answer = request(host, registry, '/v2/%s/manifests/%s' % (repository, platform['digest']),
                                 accept=platform['mediaType'])
                found['%s@%s' % (repository, platform['digest'])] = answer.get('status')
    return found


def push_endpoint(site, registry, method, path, data=None, content_type=None):
    """One request to the push endpoint with the operator's certificate and push credential; returns (status,
    headers), an HTTP error's too. `path` may also be a whole URL (an upload's Location)."""
    context = operator_context(site)
    with open(os.path.join(site.secrets_dir, 'registry', 'push.credentials')) as handle:
        credential = handle.readline().strip()
    headers = {'Authorization': 'Basic ' + base64.b64encode(credential.encode()).decode()}
    if content_type:
        headers['Content-Type'] = content_type
    url = urllib.parse.urljoin('https://%s:%d' % (registry['hostname'], registry['port'] + 1), path)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers),
                                    context=context, timeout=15) as answer:
            return answer.status, answer.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def push_endpoint_upload(site, registry, repository, data):
    """Upload one blob that no manifest references through the push endpoint: a POST opens the upload
    (distribution 2.8 answers 202 with its Location) and one PUT with the digest completes it (201). Returns the
    digest."""
    digest = 'sha256:' + hashlib.sha256(data).hexdigest()
    status, headers = push_endpoint(site, registry, 'POST', '/v2/%s/blobs/uploads/' % repository, data=b'')
    assert status == 202, status
    location = headers['Location']
    status, headers = push_endpoint(site, registry, 'PUT', '%s%sdigest=%s' % (location, '&' if '?' in location else '?', digest),
                                    data=data, content_type='application/octet-stream')
    assert status == 201, status
    return digest


def test_garbage_collection_with_delete_untagged_is_refused_on_distribution_2_and_changes_nothing(site, registry):
    """Before 3.0.0, --delete-untagged deletes the platform manifests of multi-arch tags (distribution#3178): asked
    for on the lab's Debian docker-registry 2.8.2, the collection is refused before the push endpoint stops."""
    host = registry['host']
    before = catalogue_manifests(registry)
    assert before and set(before.values()) == {200}, before
    pushed_since = node_exec(host, 'systemctl', 'show', '-p', 'ActiveEnterTimestamp', 'picocloud-registry-push').stdout
    run = site.playbook('picocloud.edge.registry_gc', extra_vars={'registry_gc_delete_untagged': True})
    assert run.rc != 0 and run.changed == 0
    refusal = run.results('Refuse --delete-untagged before distribution 3.0.0 (distribution/distribution#3178)')
    assert [result.get('msg') for result in refusal.values()] == [(
        'registry_gc_delete_untagged: true is refused on %s: its distribution is 2.8.2, and before 3.0.0 '
        'garbage-collect --delete-untagged also deletes the platform manifests of every multi-arch tag '
        '(distribution/distribution#3178), so the site\'s catalogue tags would stop pulling. Leave it false (the '
        'default) or run distribution 3.0.0 or later (registry_container_image). Nothing was changed.' % host)], \
        run.failure_text()
    assert node_exec(host, 'systemctl', 'show', '-p', 'ActiveEnterTimestamp', 'picocloud-registry-push').stdout == \
        pushed_since
    assert catalogue_manifests(registry) == before


def test_garbage_collection_deletes_an_unreferenced_blob_and_keeps_every_catalogue_manifest(site, registry):
    """A real collection: a blob that no manifest references (uploaded through the push endpoint) goes, every tag's
    index and platform manifests still answer, the push endpoint is back, and a second collection deletes nothing."""
    host = registry['host']
    repository = 'picocloud/gc-probe'
    before = catalogue_manifests(registry)
    digest = push_endpoint_upload(site, registry, repository, os.urandom(4096))
    blob = '/v2/%s/blobs/%s' % (repository, digest)
    try:
        assert push_endpoint(site, registry, 'HEAD', blob)[0] == 200
        assert request(host, registry, blob, method='HEAD').get('status') == 200
        run = site.playbook('picocloud.edge.registry_gc').ok()
        assert run.changed == 1, run.changed_tasks()
        # other tests may have left blobs to collect too; no manifest is deleted without --delete-untagged
        report = [res['msg'] for res in run.results('Report what the collection deleted').values()]
        assert len(report) == 1 and re.fullmatch(
            r'[0-9]+ blobs marked, [1-9][0-9]* blobs and 0 manifests eligible for deletion', report[0]), report
        # the blob's data is gone from the storage, and the push endpoint, started again, no longer knows it (the
        # pull endpoint, which kept serving, may still answer a HEAD from its in-memory cache: docs/workloads.md)
        assert node_exec(host, 'test', '-e', '/var/lib/docker-registry/docker/registry/v2/blobs/sha256/%s/%s' % (
            digest[7:9], digest[7:])).returncode == 1
        assert push_endpoint(site, registry, 'HEAD', blob)[0] == 404
        assert node_exec(host, 'systemctl', 'is-active', 'picocloud-registry-push').stdout.strip() == 'active'
        again = site.playbook('picocloud.edge.registry_gc').ok()
        assert again.changed == 0, again.changed_tasks()
    finally:
        node_exec(host, 'rm', '-rf', '/var/lib/docker-registry/docker/registry/v2/repositories/' + repository)
    assert catalogue_manifests(registry) == before


def test_a_seed_without_images_fails_early_and_pushes_nothing(site):
    run = site.playbook('picocloud.edge.registry_seed', extra_vars={'picocloud_artifacts_dir': '/nonexistent'})
    assert run.rc != 0
    assert 'Nothing to seed' in run.failure_text() and 'Nothing was pushed' in run.failure_text()
    assert run.changed == 0


def test_clashing_ports_are_refused_before_anything_changes(site, registry, tmp_path):
    config = '/etc/docker/registry/pull.yml'
    before = node_exec(registry['host'], 'sha256sum', config, check=True).stdout
    play = tmp_path / 'registry.yml'
    play.write_text('- hosts: registry\n  become: true\n  gather_facts: false\n  roles:\n'
                    '    - role: picocloud.edge.registry\n      registry_push_port: %d\n' % registry['port'])
    run = site.playbook(str(play))
    assert run.rc != 0
    assert 'must be two different ports' in run.failure_text()
    assert run.changed == 0
    assert node_exec(registry['host'], 'sha256sum', config, check=True).stdout == before


def registry_image_from_the_nodes_package(host):
    """A registry image on `host`'s Docker engine made of the node's own Debian docker-registry (distribution 2.8.2)
    and the libraries `ldd` names for it, with distribution as its entrypoint, as registry_runtime=container expects
    (`serve CONFIG`). The lab reaches no public registry, so the upstream default image cannot be pulled; this is the
    same program the systemd runtime runs, not a stand-in. Returns its name."""
    name = 'picocloud-test/registry:2.8.2'
    binary = '/usr/bin/docker-registry'
    libraries = re.findall(r'(/\S+) \(0x', node_exec(host, 'ldd', binary, check=True).stdout)
    assert libraries, 'ldd named no library for %s' % binary
    # the paths go to tar as arguments (data), never into the script's text
    node_exec(host, 'sh', '-c', 'tar -C / -chf - "$@" | docker import --change \'ENTRYPOINT ["%s"]\' - %s' % (binary, name),
              'sh', *[path.lstrip('/') for path in [binary] + libraries], check=True, timeout=120)
    return name


def registry_containers(host):
    """{name: (running, image, user, read-only root)} of the registry's endpoint containers on `host`."""
    names = node_exec(host, 'docker', 'ps', '-a', '--filter', 'label=io.picocloud.registry.endpoint', '--format', '{{.Names}}',
                      check=True).stdout.split()
    found = {}
    for name in names:
        state = json.loads(node_exec(host, 'docker', 'inspect', name, check=True).stdout)[0]
        found[name] = (state['State']['Running'], state['Config']['Image'], state['Config']['User'],
                       state['HostConfig']['ReadonlyRootfs'])
    return found


def unit_states(host):
    """(ActiveState, UnitFileState) of both endpoint units on `host`."""
    return [tuple(node_exec(host, 'systemctl', 'show', '--value', '-p', prop, unit, check=True).stdout.strip()
                  for prop in ('ActiveState', 'UnitFileState'))
            for unit in ('picocloud-registry-pull', 'picocloud-registry-push')]


# A runtime migration of the registry node and back: about 2.5 minutes, so with the lifecycle tests (`make test-all`,
# `make lifecycle-tests`), not in `make test` (docs/testing.md).
@pytest.mark.lifecycle
def test_the_registry_moves_to_the_container_runtime_and_back_keeping_its_endpoints_and_storage(site, registry):
    """registry_runtime=container for real, with site.yml's registry layer as a user switches it (--tags registry,
    limited to the registry host): check mode changes nothing; apply stops and disables the units and starts both
    endpoints as containers of distribution on the node's Docker engine (read-only root, the registry user); a re-run
    and a check report changed=0. Through the containers, every node pulls with its certificate, anonymous clients are
    refused, and the push endpoint takes the operator's upload; registry_gc collects it through a container and starts
    the push container again; --delete-untagged is refused from the image's own version. Last, the default runtime
    takes the ports back: the containers go and the units run again, on the same storage."""
    host = registry['host']
    image = registry_image_from_the_nodes_package(host)
    switch = {'registry_runtime': 'container', 'registry_container_image': image}
    before = catalogue_manifests(registry)
    systemd_units = unit_states(host)
    assert systemd_units == [('active', 'enabled')] * 2, systemd_units

    def layer(extra_vars=None, check=False):
        return site.playbook(SITE, tags='registry', limit=host, extra_vars=extra_vars, check=check).ok()

    digest = None
    try:
        checked = layer(switch, check=True)
        assert {'Stop and disable them (their ports are the containers\' now)', 'Run the endpoint containers'} <= {
            name.split(' : ', 1)[-1] for name in checked.node_changes(host)}, checked.changed_tasks()
        assert unit_states(host) == systemd_units and registry_containers(host) == {}

        applied = layer(switch)
        assert applied.changed > 0, applied.changed_tasks()
        assert unit_states(host) == [('inactive', 'disabled')] * 2, unit_states(host)
        uid_gid = '%s:%s' % tuple(node_exec(host, 'id', '-%s' % flag, 'docker-registry', check=True).stdout.strip() for flag in 'ug')
        assert registry_containers(host) == {'picocloud-registry-%s' % endpoint: (True, image, uid_gid, True)
                                             for endpoint in ('pull', 'push')}
        for again in (layer(switch), layer(switch, check=True)):
            assert again.changed == 0, again.changed_tasks()

        assert wait_for(lambda: request(host, registry, '/v2/').get('status') == 200, timeout=60, step=2)
        assert catalogue_manifests(registry) == before
        for node in site.hosts():
            answer = request(node, registry, '/v2/picocloud/static/manifests/1.0', accept=','.join(INDEX_TYPES))
            assert answer.get('status') == 200, (node, answer)
        refused = request(site.hosts()[-1], registry, '/v2/', cert=False)
        assert 'error' in refused, refused
        digest = push_endpoint_upload(site, registry, 'picocloud/runtime-probe', os.urandom(2048))

        untagged = site.playbook('picocloud.edge.registry_gc', extra_vars=dict(switch, registry_gc_delete_untagged=True))
        assert untagged.rc != 0 and untagged.changed == 0
        assert 'its distribution is 2.8.2, and before 3.0.0' in untagged.failure_text(), untagged.failure_text()
        collected = site.playbook('picocloud.edge.registry_gc', extra_vars=switch).ok()
        assert collected.changed == 1, collected.changed_tasks()
        assert registry_containers(host)['picocloud-registry-push'][0] is True
        assert wait_for(lambda: push_endpoint(site, registry, 'HEAD', '/v2/picocloud/runtime-probe/blobs/' + digest)[0] == 404,
                        timeout=60, step=2)
    finally:
        back = layer()
        if digest:
            node_exec(host, 'rm', '-rf', '/var/lib/docker-registry/docker/registry/v2/repositories/picocloud/runtime-probe')
        node_exec(host, 'docker', 'rmi', image)
    assert back.changed > 0, back.changed_tasks()
    assert registry_containers(host) == {}
    assert unit_states(host) == systemd_units
    assert wait_for(lambda: request(host, registry, '/v2/').get('status') == 200, timeout=60, step=2)
    assert catalogue_manifests(registry) == before
