# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Consul service and node check definitions of the consul role (and the filters around them)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.filter.consul_service import FilterModule
from ansible_collections.picocloud.edge.plugins.module_utils.consul_service import (
    ConsulServiceError,
    node_check_definition,
    service_definition,
)

TOKEN = '6b7c4a9e-0000-4000-8000-000000000001'
CHECK_SCRIPT = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'consul', 'files',
                            'picocloud-node-check')


def test_a_service_without_meta_or_check_is_what_the_role_always_wrote():
    assert service_definition({'name': 'web', 'port': '8080', 'tags': ['a']}, TOKEN) == {
        'name': 'web', 'id': 'web', 'port': 8080, 'tags': ['a'], 'token': TOKEN}


def test_meta_address_and_each_check_kind_are_rendered():
    definition = service_definition({'name': 'web', 'port': 8080, 'address': '10.0.0.2',
                                     'meta': {'description': 'Wiki', 'url': 'http://w/', 'owner': 'ops'},
                                     'check': {'http': 'http://10.0.0.2:8080/health', 'interval': '5s'}}, TOKEN)
    assert definition['meta'] == {'description': 'Wiki', 'url': 'http://w/', 'owner': 'ops'}
    assert definition['address'] == '10.0.0.2'
    assert definition['check'] == {'name': 'web http', 'interval': '5s', 'timeout': '5s', 'http': 'http://10.0.0.2:8080/health'}
    tcp = service_definition({'name': 'mqtt', 'port': 1883, 'check': {'tcp': '10.0.0.2:1883', 'interval': '5s', 'timeout': '2s'}}, TOKEN)
    assert tcp['check'] == {'name': 'mqtt tcp', 'interval': '5s', 'timeout': '2s', 'tcp': '10.0.0.2:1883'}
    script = service_definition({'name': 'job', 'port': 1, 'check': {'script': 'test -e /run/job', 'interval': '1m'}}, TOKEN)
    assert script['check']['args'] == ['/bin/sh', '-c', 'test -e /run/job']


@pytest.mark.parametrize('service, message', [
    ({'name': 'we b', 'port': 1}, 'name is not valid'),
    ({'name': 'web', 'port': 0}, 'web: port must be a port number'),
    ({'name': 'web', 'port': True}, 'web: port must be a port number'),
    ({'name': 'web', 'port': 1, 'tags': ['a\nb']}, 'web: tags must not hold control characters'),
    ({'name': 'web', 'port': 1, 'meta': {'bad key': 'x'}}, "web: meta key is not valid: 'bad key'"),
    ({'name': 'web', 'port': 1, 'meta': {'consul-version': 'x'}}, 'reserved by Consul'),
    ({'name': 'web', 'port': 1, 'meta': {'n': 1}}, 'web: meta.n must be a string'),
    ({'name': 'web', 'port': 1, 'meta': {'d': 'x' * 513}}, 'at most 512 characters'),
    ({'name': 'web', 'port': 1, 'meta': dict(('k%d' % i, 'v') for i in range(65))}, 'has 65 keys; Consul allows 64'),
    ({'name': 'web', 'port': 1, 'check': {'interval': '5s'}}, 'exactly one of http, tcp or script, got none'),
    ({'name': 'web', 'port': 1, 'check': {'http': 'http://x/', 'tcp': 'x:1'}}, "got \\['http', 'tcp'\\]"),
    ({'name': 'web', 'port': 1, 'check': {'http': 'ftp://x/'}}, 'must be an http\\(s\\) URL'),
    ({'name': 'web', 'port': 1, 'check': {'tcp': 'x'}}, 'must be host:port'),
    ({'name': 'web', 'port': 1, 'check': {'tcp': 'x:1', 'interval': 'often'}}, 'check.interval is not valid'),
])
def test_a_bad_service_is_refused_naming_the_field(service, message):
    with pytest.raises(ConsulServiceError, match=message):
        service_definition(service, TOKEN)


def test_the_filter_turns_refusals_into_filter_errors_and_leaves_the_input_alone():
    service = {'name': 'web', 'port': 70000}
    with pytest.raises(AnsibleFilterError, match='consul_service_definition: web: port must be a port number'):
        FilterModule().filters()['consul_service_definition'](service, TOKEN)
    assert service == {'name': 'web', 'port': 70000}


def test_a_node_check_is_a_script_check_with_the_nodes_token():
    assert node_check_definition('picocloud-disk-root', 'Disk space /', ['/usr/local/libexec/picocloud-node-check', 'disk', '/'],
                                 '60s', TOKEN, 'notes') == {
        'id': 'picocloud-disk-root', 'name': 'Disk space /', 'args': ['/usr/local/libexec/picocloud-node-check', 'disk', '/'],
        'interval': '60s', 'timeout': '10s', 'token': TOKEN, 'notes': 'notes'}
    with pytest.raises(AnsibleFilterError, match='consul_node_check: check id is not valid'):
        FilterModule().filters()['consul_node_check']({'id': 'Bad ID', 'name': 'x', 'args': ['x']}, TOKEN)


# The node check script, run as Consul runs it, against a vcgencmd of the test's own on PATH.

@pytest.fixture
def vcgencmd(tmp_path):
    def install(output):
        tool = tmp_path / 'vcgencmd'
        tool.write_text('#!/bin/sh\necho "%s"\n' % output)
        tool.chmod(0o755)
        return dict(os.environ, PATH='%s:%s' % (tmp_path, os.environ['PATH']))
    return install


def run_check(env, *args):
    proc = subprocess.run(['sh', CHECK_SCRIPT] + list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=30, check=False)
    return proc.returncode, proc.stdout.strip()


@pytest.mark.parametrize('flags, check, code, words', [
    ('0x0', 'undervoltage', 0, 'no under-voltage since boot (0x0)'),
    ('0x50000', 'undervoltage', 1, 'under-voltage occurred since boot (0x50000)'),
    ('0x50005', 'undervoltage', 2, 'under-voltage now (0x50005)'),
    ('0x0', 'throttling', 0, 'not throttled since boot (0x0)'),
    ('0x40000', 'throttling', 1, 'throttled or frequency-capped since boot'),
    ('0x20000', 'throttling', 1, 'throttled or frequency-capped since boot'),
    ('0x4', 'throttling', 2, 'throttled or frequency-capped now'),
    ('0x2', 'throttling', 2, 'throttled or frequency-capped now'),
    ('0x10000', 'throttling', 0, 'not throttled since boot (0x10000)'),
])
def test_the_power_checks_decode_the_bits_pi_facts_decodes(vcgencmd, flags, check, code, words):
    status, output = run_check(vcgencmd('throttled=%s' % flags), 'power', check)
    assert status == code
    assert words in output


def test_a_node_without_the_firmware_flags_warns_instead_of_guessing(vcgencmd):
    code, output = run_check(vcgencmd('error=1 error_msg="Command not registered"'), 'power', 'undervoltage')
    assert code == 1 and 'not a Raspberry Pi' in output


def test_the_disk_check_follows_its_thresholds():
    code, output = run_check(dict(os.environ), 'disk', '/', '100', '100')
    assert code == 0 and output.startswith('/ is ')
    assert run_check(dict(os.environ), 'disk', '/', '-1', '100')[0] == 1
    assert run_check(dict(os.environ), 'disk', '/', '-1', '-1')[0] == 2
    assert run_check(dict(os.environ), 'disk', '/nonexistent/path')[0] == 2
