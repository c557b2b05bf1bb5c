# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""containerd config.toml and certs.d hosts.toml rendering, checked against containerd's documented schema."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils import containerd

tomllib = pytest.importorskip('tomllib')

DEBIAN_1_6 = 'containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3'
DOCKER_1_7 = 'containerd containerd.io 1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da'
UPSTREAM_2_1 = 'containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811ccaba3376'
DEBIAN_SID_2_1 = 'containerd github.com/containerd/containerd/v2 2.1.9+unknown '
TLS = {'ca_file': '/etc/picocloud/ca.pem', 'cert_file': '/etc/picocloud/registry-client.pem',
       'key_file': '/etc/picocloud/registry-client-key.pem'}
REGISTRY = {'url': 'https://registry.site:5000', 'namespaces': ['docker.io', 'registry.site'], 'tls': TLS}


@pytest.mark.parametrize('text, version, schema', [
    (DEBIAN_1_6, (1, 6, 20), 2),
    (DOCKER_1_7, (1, 7, 27), 2),
    (UPSTREAM_2_1, (2, 1, 4), 3),
    (DEBIAN_SID_2_1, (2, 1, 9), 3),
    ('1.7.24', (1, 7, 24), 2),
    ('v2.0.0', (2, 0, 0), 3),
])
def test_version_output_of_debian_docker_and_upstream_builds_gives_the_config_schema(text, version, schema):
    assert containerd.parse_version(text) == version
    assert containerd.config_schema(version) == schema


@pytest.mark.parametrize('text', ['', 'containerd', 'containerd github.com/containerd/containerd latest abc',
                                  'docker 24.0.7', '1.6.20\n\x1b[31m'])
def test_text_that_is_no_containerd_version_is_refused_and_quoted(text):
    with pytest.raises(containerd.ContainerdError, match='is not the output of containerd --version'):
        containerd.parse_version(text)


def test_versions_without_certs_d_support_and_unknown_majors_are_refused():
    with pytest.raises(containerd.ContainerdError, match='needs containerd 1.5 or later'):
        containerd.config_schema((1, 4, 13))
    with pytest.raises(containerd.ContainerdError, match='no known config.toml schema for containerd 3.x'):
        containerd.config_schema((3, 0, 0))


def test_version_2_schema_puts_systemd_cgroup_and_config_path_in_the_cri_plugin_of_1_x():
    config = tomllib.loads(containerd.render_config({'cgroup_driver': 'systemd'}, DEBIAN_1_6))
    assert config['version'] == 2
    cri = config['plugins']['io.containerd.grpc.v1.cri']
    runc = cri['containerd']['runtimes']['runc']
    assert runc['runtime_type'] == 'io.containerd.runc.v2'
    assert runc['options'] == {'SystemdCgroup': True}
    assert cri['containerd']['default_runtime_name'] == 'runc'
    assert cri['registry'] == {'config_path': '/etc/containerd/certs.d'}
    assert set(config['plugins']) == {'io.containerd.grpc.v1.cri'}


def test_version_3_schema_uses_the_split_cri_plugins_of_2_x():
    config = tomllib.loads(containerd.render_config(
        {'cgroup_driver': 'systemd', 'sandbox_image': 'registry.site:5000/rancher/mirrored-pause:3.6'}, UPSTREAM_2_1))
    assert config['version'] == 3
    runtime = config['plugins']['io.containerd.cri.v1.runtime']
    images = config['plugins']['io.containerd.cri.v1.images']
    assert runtime['containerd']['runtimes']['runc']['options'] == {'SystemdCgroup': True}
    assert images['registry'] == {'config_path': '/etc/containerd/certs.d'}
    assert images['pinned_images'] == {'sandbox': 'registry.site:5000/rancher/mirrored-pause:3.6'}
    assert 'io.containerd.grpc.v1.cri' not in config['plugins']


def test_cgroupfs_driver_sets_systemd_cgroup_false():
    config = tomllib.loads(containerd.render_config({'cgroup_driver': 'cgroupfs'}, '1.6.20'))
    assert config['plugins']['io.containerd.grpc.v1.cri']['containerd']['runtimes']['runc']['options'] == {
        'SystemdCgroup': False}


def test_cni_dirs_and_sandbox_image_land_where_each_schema_documents_them():
    settings = {'cni_bin_dir': '/usr/lib/cni', 'cni_conf_dir': '/etc/cni/net.d', 'sandbox_image': 'pause:3.6'}
    v2 = tomllib.loads(containerd.render_config(settings, '1.6.20'))['plugins']['io.containerd.grpc.v1.cri']
    assert v2['cni'] == {'bin_dir': '/usr/lib/cni', 'conf_dir': '/etc/cni/net.d'}
    assert v2['sandbox_image'] == 'pause:3.6'
    v3 = tomllib.loads(containerd.render_config(settings, '2.0.0'))['plugins']
    assert v3['io.containerd.cri.v1.runtime']['cni'] == {'bin_dir': '/usr/lib/cni', 'conf_dir': '/etc/cni/net.d'}


def test_from_containerd_2_1_the_cni_plugin_dir_is_the_bin_dirs_list():
    settings = {'cni_bin_dir': '/usr/lib/cni'}
    cni = tomllib.loads(containerd.render_config(settings, DEBIAN_SID_2_1))['plugins']['io.containerd.cri.v1.runtime'][
        'cni']
    assert cni == {'bin_dirs': ['/usr/lib/cni']}


def test_extra_is_merged_into_the_nested_tables_without_dropping_rendered_keys():
    config = tomllib.loads(containerd.render_config(
        {'extra': {'plugins': {'io.containerd.grpc.v1.cri': {'max_concurrent_downloads': 2,
                                                             'containerd': {'snapshotter': 'native'}}},
                   'oom_score': -999}}, '1.6.20'))
    assert config['oom_score'] == -999
    cri = config['plugins']['io.containerd.grpc.v1.cri']
    assert cri['max_concurrent_downloads'] == 2 and cri['containerd']['snapshotter'] == 'native'
    assert cri['registry'] == {'config_path': '/etc/containerd/certs.d'}
    assert cri['containerd']['runtimes']['runc']['options'] == {'SystemdCgroup': True}


V2_CRI = 'plugins."io.containerd.grpc.v1.cri"'
V3_RUNTIME = 'plugins."io.containerd.cri.v1.runtime"'
V3_IMAGES = 'plugins."io.containerd.cri.v1.images"'


@pytest.mark.parametrize('settings, version, message', [
    ({'extra': {'plugins': {'io.containerd.grpc.v1.cri': {'containerd': {'runtimes': {'runc': {'options': {
        'SystemdCgroup': False}}}}}}}}, '1.6.20',
     'containerd_config_extra: %s.containerd.runtimes.runc.options.SystemdCgroup is set by the role (%s.containerd.'
     'runtimes.runc.options.SystemdCgroup): set containerd_cgroup_driver instead' % (V2_CRI, V2_CRI)),
    ({'extra': {'plugins': {'io.containerd.cri.v1.runtime': {'containerd': {'runtimes': {'runc': {'options': {
        'SystemdCgroup': False}}}}}}}}, '2.1.4',
     'containerd_config_extra: %s.containerd.runtimes.runc.options.SystemdCgroup is set by the role (%s.containerd.'
     'runtimes.runc.options.SystemdCgroup): set containerd_cgroup_driver instead' % (V3_RUNTIME, V3_RUNTIME)),
    ({'extra': {'plugins': {'io.containerd.grpc.v1.cri': {'registry': {'config_path': '/srv/certs.d'}}}}}, '1.6.20',
     'containerd_config_extra: %s.registry.config_path is set by the role (%s.registry.config_path): set '
     'containerd_certs_dir instead' % (V2_CRI, V2_CRI)),
    ({'extra': {'plugins': {'io.containerd.cri.v1.images': {'registry': 'none'}}}}, '2.0.0',
     'containerd_config_extra: %s.registry is set by the role (%s.registry.config_path): set containerd_certs_dir '
     'instead' % (V3_IMAGES, V3_IMAGES)),
    ({'extra': {'grpc': {'address': '/run/k3s/containerd/containerd.sock'}}}, '1.7.27',
     'containerd_config_extra: grpc.address is set by the role (grpc.address): it cannot be changed here'),
    ({'extra': {'version': 3}}, '1.7.27',
     'containerd_config_extra: version is set by the role (version): it cannot be changed here'),
    ({'sandbox_image': 'registry.site:5000/pause:3.6',
      'extra': {'plugins': {'io.containerd.grpc.v1.cri': {'sandbox_image': 'pause:3.9'}}}}, '1.6.20',
     'containerd_config_extra: %s.sandbox_image is set by the role (%s.sandbox_image): set containerd_sandbox_image '
     'instead' % (V2_CRI, V2_CRI)),
    ({'cni_bin_dir': '/usr/lib/cni', 'extra': {'plugins': {'io.containerd.cri.v1.runtime': {'cni': {
        'bin_dirs': ['/opt/cni/bin']}}}}}, '2.1.4',
     'containerd_config_extra: %s.cni.bin_dirs is set by the role (%s.cni.bin_dirs): set containerd_cni_bin_dir '
     'instead' % (V3_RUNTIME, V3_RUNTIME)),
])
def test_extra_that_would_override_a_key_the_role_sets_is_refused_naming_the_variable_to_set(settings, version, message):
    with pytest.raises(containerd.ContainerdError) as caught:
        containerd.render_config(settings, version)
    assert str(caught.value) == message


def test_extra_may_set_the_sandbox_image_and_cni_dirs_the_role_leaves_unset():
    extra = {'plugins': {'io.containerd.grpc.v1.cri': {'sandbox_image': 'pause:3.9', 'cni': {'bin_dir': '/opt/cni/bin'}}}}
    cri = tomllib.loads(containerd.render_config({'extra': extra}, '1.6.20'))['plugins']['io.containerd.grpc.v1.cri']
    assert cri['sandbox_image'] == 'pause:3.9' and cri['cni'] == {'bin_dir': '/opt/cni/bin'}


@pytest.mark.parametrize('extra, message', [
    ({'oom_score': None},
     'containerd_config_extra.oom_score: has no value (None); TOML has no null: give it a value or leave the key out'),
    ({'plugins': {'io.containerd.gc.v1.scheduler': {'pause_threshold': None}}},
     'containerd_config_extra.plugins."io.containerd.gc.v1.scheduler".pause_threshold: has no value (None); TOML has no '
     'null: give it a value or leave the key out'),
    ({1: 2}, "containerd_config_extra: the key 1 must be a non-empty string without control characters"),
    ({'plugins': {'a\n[evil]': {}}},
     "containerd_config_extra.plugins: the key 'a\\n[evil]' must be a non-empty string without control characters"),
    ({'proxy_plugins': [{'type': 'snapshot'}]},
     'containerd_config_extra.proxy_plugins[0]: a table in an array is not supported here; use a table'),
    ({'root': {1, 2}}, "containerd_config_extra.root: {1, 2} (set) cannot be written in TOML"),
])
def test_extra_that_toml_cannot_hold_is_refused_naming_its_dotted_path(extra, message):
    with pytest.raises(containerd.ContainerdError) as caught:
        containerd.render_config({'extra': extra}, '1.7.27')
    assert str(caught.value) == message


def test_extra_strings_with_control_characters_and_floats_round_trip_through_toml():
    extra = {'note': 'line one\nline two\ttabbed\x7f\x01', 'plugins': {'io.containerd.gc.v1.scheduler': {
        'pause_threshold': 0.02, 'deletion_threshold': 0, 'startup_delay': 1e30}}, 'big': float('inf')}
    config = tomllib.loads(containerd.render_config({'extra': extra}, '1.7.27'))
    assert config['note'] == extra['note']
    assert config['plugins']['io.containerd.gc.v1.scheduler'] == extra['plugins']['io.containerd.gc.v1.scheduler']
    assert config['big'] == float('inf')


def test_a_certs_dir_with_a_trailing_slash_or_doubled_slashes_is_one_directory():
    for spelling in ('/etc/containerd/certs.d/', '/etc//containerd/certs.d'):
        cri = tomllib.loads(containerd.render_config({'certs_dir': spelling}, '1.6.20'))['plugins'][
            'io.containerd.grpc.v1.cri']
        assert cri['registry'] == {'config_path': '/etc/containerd/certs.d'}
        files = containerd.hosts_files(dict(REGISTRY, certs_dir=spelling))
        assert [item['dest'] for item in files] == [
            '/etc/containerd/certs.d/registry.site:5000/hosts.toml', '/etc/containerd/certs.d/docker.io/hosts.toml',
            '/etc/containerd/certs.d/registry.site/hosts.toml']


@pytest.mark.parametrize('settings, message', [
    ({'cgroup_driver': 'systemd-ish'}, "cgroup_driver: 'systemd-ish' must be one of systemd, cgroupfs"),
    ({'certs_dir': 'etc/containerd/certs.d'}, "certs_dir: 'etc/containerd/certs.d' must be an absolute path"),
    ({'cni_bin_dir': '/usr/lib/cni\n[plugins]'}, 'cni_bin_dir: .* without control characters'),
    ({'extra': ['oom_score']}, "extra: \\['oom_score'\\] must be a dict"),
])
def test_bad_settings_are_refused_naming_the_field_and_value(settings, message):
    with pytest.raises(containerd.ContainerdError, match=message):
        containerd.render_config(settings, '1.6.20')


def test_strings_with_quotes_and_backslashes_are_escaped_as_toml_basic_strings():
    text = containerd.render_config({'sandbox_image': 'a"b\\c'}, '1.6.20')
    assert tomllib.loads(text)['plugins']['io.containerd.grpc.v1.cri']['sandbox_image'] == 'a"b\\c'


def test_rendering_is_stable_so_a_rerun_changes_nothing():
    settings = {'cgroup_driver': 'systemd', 'cni_bin_dir': '/usr/lib/cni'}
    assert containerd.render_config(settings, '1.6.20') == containerd.render_config(dict(settings), '1.6.20')


MIRROR_HOST = {'https://registry.site:5000': {
    'capabilities': ['pull', 'resolve'], 'ca': TLS['ca_file'], 'client': [[TLS['cert_file'], TLS['key_file']]]}}


def test_the_site_registry_namespace_gets_its_ca_and_client_pair_in_a_host_table_and_at_the_root():
    """containerd 1.6 refuses a hosts.toml without a host table (and then drops its TLS settings): every file has one."""
    files = containerd.hosts_files(REGISTRY)
    assert [item['path'] for item in files] == [
        'registry.site:5000/hosts.toml', 'docker.io/hosts.toml', 'registry.site/hosts.toml']
    own = tomllib.loads(files[0]['content'])
    assert own == {'server': 'https://registry.site:5000', 'ca': TLS['ca_file'],
                   'client': [[TLS['cert_file'], TLS['key_file']]], 'host': MIRROR_HOST}


def test_airgap_mirrors_make_the_site_registry_the_only_server():
    docker = tomllib.loads(containerd.hosts_files(REGISTRY)[1]['content'])
    assert docker == {'server': 'https://registry.site:5000', 'ca': TLS['ca_file'],
                      'client': [[TLS['cert_file'], TLS['key_file']]], 'host': MIRROR_HOST}


def test_a_mirror_without_tls_files_still_gets_its_host_table():
    docker = tomllib.loads(containerd.hosts_files({'url': 'https://registry.site:5000'})[0]['content'])
    assert docker == {'server': 'https://registry.site:5000',
                      'host': {'https://registry.site:5000': {'capabilities': ['pull', 'resolve']}}}


def test_with_fallback_the_mirror_is_a_host_tried_before_the_documented_upstream():
    files = containerd.hosts_files(dict(REGISTRY, fallback=True))
    docker = tomllib.loads(files[1]['content'])
    assert docker['server'] == 'https://registry-1.docker.io'
    assert docker['host'] == MIRROR_HOST
    assert 'ca' not in docker  # the upstream keeps the system's trust
    assert tomllib.loads(files[2]['content'])['server'] == 'https://registry.site'


@pytest.mark.parametrize('registry, message', [
    (dict(REGISTRY, url='registry.site:5000'), "registry_host: 'registry.site:5000' must be an http\\(s\\) URL"),
    (dict(REGISTRY, namespaces=['docker.io/library']), "namespaces: 'docker.io/library' is not a registry host"),
    (dict(REGISTRY, namespaces=['../etc']), "namespaces: '../etc' is not a registry host namespace"),
    (dict(REGISTRY, tls={'cert_file': '/etc/c.pem'}), 'a client certificate needs both'),
    (dict(REGISTRY, tls={'ca_file': 'ca.pem'}), "ca_file: 'ca.pem' must be an absolute path"),
])
def test_bad_registry_settings_are_refused_naming_the_field(registry, message):
    with pytest.raises(containerd.ContainerdError, match=message):
        containerd.hosts_files(registry)


@pytest.mark.parametrize('registry, message', [
    (dict(REGISTRY, namespaces=['Docker.IO']),
     "containerd_registry_namespaces: 'Docker.IO' is not a registry host namespace (a lower-case host or host:port, as "
     "image names spell it, or _default)"),
    (dict(REGISTRY, namespaces=['registry.site:99999']),
     "containerd_registry_namespaces: 'registry.site:99999' has port 99999, which is not a TCP port (1-65535)"),
    (dict(REGISTRY, url='https://registry.site:0'),
     "containerd_registry_host: 'https://registry.site:0' has port 0, which is not a TCP port (1-65535)"),
    (dict(REGISTRY, url='https://Registry.Site:5000'),
     "containerd_registry_host: 'https://Registry.Site:5000' must be an http(s) URL of a registry with a lower-case "
     "host, e.g. https://registry.site:5000"),
    (dict(REGISTRY, certs_dir='certs.d'), "containerd_certs_dir: 'certs.d' must be an absolute path"),
])
def test_registry_names_that_no_image_spells_and_ports_out_of_range_are_refused_exactly(registry, message):
    with pytest.raises(containerd.ContainerdError) as caught:
        containerd.hosts_files(registry)
    assert str(caught.value) == message


def test_the_default_namespace_with_fallback_has_no_server_so_each_image_keeps_its_own_registry():
    """docs/hosts.md: without `server`, the image's registry host namespace is the upstream; `_default` applies to
    every registry without a directory of its own, so a server there would send them all to one host."""
    files = containerd.hosts_files(dict(REGISTRY, namespaces=['_default'], fallback=True))
    default = tomllib.loads(files[1]['content'])
    assert default == {'host': MIRROR_HOST}
    airgap = tomllib.loads(containerd.hosts_files(dict(REGISTRY, namespaces=['_default']))[1]['content'])
    assert airgap['server'] == 'https://registry.site:5000'


def test_unknown_capabilities_are_refused():
    with pytest.raises(containerd.ContainerdError, match="capabilities: 'delete' must be among pull, resolve, push"):
        containerd.hosts_dict('docker.io', 'https://registry.site:5000', fallback=True, capabilities=['pull', 'delete'])


def _containerd_binaries():
    """containerd on PATH, plus any in PICOCLOUD_CONTAINERD_BINARIES (colon-separated), e.g. a 2.x from Debian sid."""
    found = []
    for binary in [shutil.which('containerd')] + os.environ.get('PICOCLOUD_CONTAINERD_BINARIES', '').split(':'):
        if binary and os.access(binary, os.X_OK) and binary not in found:
            found.append(binary)
    return found or [None]


def _version(binary):
    if binary is None:
        pytest.skip('containerd is not installed here; the schema is checked against the documentation only')
    return subprocess.run([binary, '--version'], capture_output=True, text=True, timeout=30, check=True).stdout


@pytest.mark.parametrize('binary', _containerd_binaries())
def test_the_installed_containerd_accepts_the_rendered_config_and_keeps_every_key(tmp_path, binary):
    version = _version(binary)
    schema = containerd.config_schema(containerd.parse_version(version))
    path = tmp_path / 'config.toml'
    path.write_text(containerd.render_config(
        {'cgroup_driver': 'systemd', 'cni_bin_dir': '/usr/lib/cni', 'sandbox_image': 'registry.site:5000/pause:3.6'},
        version))
    result = subprocess.run([binary, '--config', str(path), 'config', 'dump'], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert 'deprecated' not in result.stderr
    dumped = tomllib.loads(result.stdout)
    assert dumped['version'] == schema
    if schema == 2:
        cri = dumped['plugins']['io.containerd.grpc.v1.cri']
        runtimes, registry, sandbox = cri['containerd']['runtimes'], cri['registry'], cri['sandbox_image']
        cni = cri['cni']
    else:
        runtime = dumped['plugins']['io.containerd.cri.v1.runtime']
        images = dumped['plugins']['io.containerd.cri.v1.images']
        runtimes, registry, sandbox = runtime['containerd']['runtimes'], images['registry'], images['pinned_images'][
            'sandbox']
        cni = runtime['cni']
    assert runtimes['runc']['options']['SystemdCgroup'] is True
    assert runtimes['runc']['runtime_type'] == 'io.containerd.runc.v2'
    assert registry['config_path'] == '/etc/containerd/certs.d'
    assert sandbox == 'registry.site:5000/pause:3.6'
    assert '/usr/lib/cni' in cni.get('bin_dirs', [cni.get('bin_dir')])


@pytest.mark.parametrize('binary', _containerd_binaries())
def test_the_installed_containerd_refuses_a_config_of_the_wrong_type_so_the_dump_check_has_teeth(tmp_path, binary):
    version = _version(binary)
    path = tmp_path / 'config.toml'
    path.write_text(containerd.render_config({'extra': {'root': 5}}, version))
    result = subprocess.run([binary, '--config', str(path), 'config', 'dump'], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode != 0
    assert 'toml' in result.stderr.lower()


@pytest.mark.parametrize('version, arch, tarball, runc', [
    ('1.7.27', 'amd64', 'containerd-1.7.27-linux-amd64.tar.gz', 'runc.amd64'),
    ('v2.1.4', 'arm64', 'containerd-2.1.4-linux-arm64.tar.gz', 'runc.arm64'),
    ('1.6.20', 'x86_64', 'containerd-1.6.20-linux-amd64.tar.gz', 'runc.amd64'),
    ('2.0.0-rc.3', 'aarch64', 'containerd-2.0.0-rc.3-linux-arm64.tar.gz', 'runc.arm64'),
])
def test_release_assets_are_named_as_containerd_and_runc_publish_them(version, arch, tarball, runc):
    files = containerd.release_assets(version, arch)
    assert files['tarball'] == tarball
    assert files['tarball_sums'] == tarball + '.sha256sum'
    assert files['runc'] == runc
    assert files['runc_sums'] == 'runc.sha256sum'


@pytest.mark.parametrize('version, arch, message', [
    ('1.7.27', 'armhf', "containerd publishes Linux release builds for amd64 and arm64 only, not 'armhf'"),
    ('1.7.27', 'armel', 'containerd_install_source: distro'),
    ('latest', 'amd64', "containerd_version: 'latest' is not a containerd release version"),
    ('1.7.27/../x', 'amd64', 'is not a containerd release version'),
    ('1.7.27', '', "arch: '' must be a non-empty string"),
])
def test_release_assets_refuse_32_bit_arm_and_bad_versions(version, arch, message):
    with pytest.raises(containerd.ContainerdError, match=message):
        containerd.release_assets(version, arch)


SUMS = '%s  containerd-1.7.27-linux-amd64.tar.gz\n' % ('a' * 64)


def test_a_release_file_that_matches_its_sha256sum_line_is_accepted():
    assert containerd.verify_sha256(SUMS, 'containerd-1.7.27-linux-amd64.tar.gz', 'A' * 64) == 'a' * 64
    assert containerd.verify_sha256('%s *./runc.arm64\n\n' % ('b' * 64), 'runc.arm64', 'b' * 64) == 'b' * 64


@pytest.mark.parametrize('sums, name, actual, message', [
    (SUMS, 'containerd-1.7.27-linux-amd64.tar.gz', 'c' * 64,
     'containerd-1.7.27-linux-amd64.tar.gz does not match x.sha256sum: the file has sha256 c{64}, the list says a{64}; '
     'the file is corrupt or from another release. Nothing was installed.'),
    (SUMS, 'runc.amd64', 'a' * 64, 'x.sha256sum has no line for runc.amd64'),
    ('not a checksum line\n', 'runc.amd64', 'a' * 64, 'x.sha256sum: line 1 is not'),
    (SUMS, 'containerd-1.7.27-linux-amd64.tar.gz', 'zz', "'zz' is not a sha256 checksum"),
])
def test_a_mismatch_a_missing_line_or_a_bad_file_is_refused_naming_both(sums, name, actual, message):
    with pytest.raises(containerd.ContainerdError, match=message):
        containerd.verify_sha256(sums, name, actual, sums_name='x.sha256sum')
