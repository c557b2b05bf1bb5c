# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rendered configuration checked by a real `consul validate`: Debian bullseye's Consul 1.8.7, the lab's release.

The binary comes from the artifacts dir that scripts/consul-artifacts.sh builds (the same zip the lab installs); set
PICOCLOUD_CONSUL_ARTIFACTS to that directory. It is the only Consul that runs here, so newer layouts are checked
against the configuration reference instead (test_consul_reference.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import platform
import stat
import subprocess
import zipfile

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils import consul

VERSION = '1.8.7'
ARTIFACTS = os.environ.get('PICOCLOUD_CONSUL_ARTIFACTS', '')
ZIP = os.path.join(ARTIFACTS, 'consul_%s_linux_amd64.zip' % VERSION)

pytestmark = pytest.mark.skipif(
    platform.machine() != 'x86_64' or not os.path.isfile(ZIP),
    reason='needs PICOCLOUD_CONSUL_ARTIFACTS with consul_%s_linux_amd64.zip (scripts/consul-artifacts.sh)' % VERSION)

SETTINGS = {
    'datacenter': 'lab', 'domain': 'consul', 'node_name': 'n1', 'data_dir': '/opt/consul', 'server': True,
    'servers': ['10.0.0.1', '10.0.0.2', '10.0.0.3'], 'bind_addr': '10.0.0.1',
    # a real gossip key: 32 random bytes in base64, as the role generates it
    'encrypt': 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=',
    'http_local': False, 'local_script_checks': False, 'log_level': 'INFO',
    'ports': {'https': 8501, 'dns': 8600, 'serf_lan': 8301, 'serf_wan': 8302, 'server': 8300},
    'tls': {'ca_file': '/etc/consul.d/tls/ca.pem', 'cert_file': '/etc/consul.d/tls/consul.pem',
            'key_file': '/etc/consul.d/tls/consul-key.pem'},
}


@pytest.fixture(scope='module')
def consul_binary(tmp_path_factory):
    where = tmp_path_factory.mktemp('consul-%s' % VERSION)
    with zipfile.ZipFile(ZIP) as archive:
        archive.extract('consul', str(where))
    binary = where / 'consul'
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    version = subprocess.run([str(binary), 'version'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=30, check=False)
    assert version.stdout.decode().startswith('Consul v%s' % VERSION), version.stdout
    return binary


def validate(binary, tmp_path, config):
    path = tmp_path / 'consul.json'
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + '\n')
    proc = subprocess.run([str(binary), 'validate', '-config-format=json', str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=30, check=False)
    return proc.returncode, proc.stdout.decode('utf-8', 'replace')


@pytest.mark.parametrize('changes', [{}, {'server': False}, {'http_local': True}, {'local_script_checks': True}],
                         ids=['server', 'client', 'http_local', 'script_checks'])
def test_consul_1_8_7_accepts_every_rendered_variant(consul_binary, tmp_path, changes):
    rc, out = validate(consul_binary, tmp_path, consul.render_config(dict(SETTINGS, **changes), VERSION))
    assert rc == 0 and 'Configuration is valid!' in out, out


def test_consul_1_8_7_accepts_merged_extras_that_keep_the_roles_keys(consul_binary, tmp_path):
    extra = {'acl': {'tokens': {'agent': '0c3a4e1c-1f9b-4d55-9a49-7b0e9f0c2d11'}}, 'ports': {'grpc': 8502},
             'node_meta': {'rack': 'r1'}}
    config = consul.render_config(dict(SETTINGS, extra=extra), VERSION)
    assert config['acl']['default_policy'] == 'deny' and config['ports']['http'] == -1
    rc, out = validate(consul_binary, tmp_path, config)
    assert rc == 0 and 'Configuration is valid!' in out, out


def test_consul_1_8_7_refuses_the_1_12_layout_so_validate_checks_the_schema(consul_binary, tmp_path):
    rc, out = validate(consul_binary, tmp_path, consul.render_config(SETTINGS, '1.12.0'))
    assert rc != 0 and 'invalid config key tls' in out, out


def test_consul_1_8_7_refuses_a_token_name_from_1_11_in_the_extras(consul_binary, tmp_path):
    config = consul.render_config(dict(SETTINGS, extra={'acl': {'tokens': {'initial_management': 'm'}}}), VERSION)
    rc, out = validate(consul_binary, tmp_path, config)
    assert rc != 0 and 'invalid config key acl.tokens.initial_management' in out, out
