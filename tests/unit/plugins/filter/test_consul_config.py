# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""consul_config, consul_config_check and consul_version_advice: thin wrappers over module_utils.consul."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.filter.consul_config import (
    FilterModule,
    consul_config,
    consul_config_check,
    consul_version_advice,
)

SETTINGS = {
    'datacenter': 'lab', 'domain': 'consul', 'node_name': 'n1', 'data_dir': '/opt/consul', 'server': True,
    'servers': ['10.0.0.1'], 'bind_addr': '10.0.0.1', 'encrypt': 'k' * 44, 'http_local': False,
    'tls': {'ca_file': 'ca.pem', 'cert_file': 'c.pem', 'key_file': 'k.pem'},
}


def test_the_three_filters_are_registered():
    assert set(FilterModule().filters()) == {'consul_config', 'consul_config_check', 'consul_version_advice'}


def test_consul_config_merges_extras_recursively():
    config = consul_config(dict(SETTINGS, extra={'acl': {'tokens': {'agent': 'a'}}}), '2.0.4')
    assert config['acl']['default_policy'] == 'deny' and config['acl']['tokens'] == {'agent': 'a'}


@pytest.mark.parametrize('settings, version, message', [
    (['not', 'a', 'dict'], '2.0.4', 'consul_config: the settings must be a dict, got list'),
    (dict(SETTINGS, servers=[]), '2.0.4', 'consul_config: consul_servers is empty'),
    (SETTINGS, 'latest', "consul_config: consul_version 'latest' is not a Consul version"),
    (dict(SETTINGS, extra={'acl': ['x']}), '2.0.4', 'consul_config: consul_config_extra.acl is a list'),
])
def test_consul_config_errors_are_filter_errors(settings, version, message):
    with pytest.raises(AnsibleFilterError) as error:
        consul_config(settings, version)
    assert str(error.value).startswith(message)


def test_consul_config_check_lists_errors_and_weaker_settings():
    assert consul_config_check({'acl': {'default_policy': 'allow'}}, '2.0.4') == {
        'errors': [], 'weaker': ["consul_config_extra.acl.default_policy = 'allow' allows what no policy grants (the "
                                 "role keeps default_policy = \"deny\")"]}
    assert consul_config_check({'ports': {'http': 8501}}, '2.0.4', True) == {'errors': [], 'weaker': []}


def test_consul_config_check_refuses_a_bad_version():
    with pytest.raises(AnsibleFilterError, match="consul_config_check: consul_version '' is not a Consul version"):
        consul_config_check({}, '')


def test_consul_version_advice_returns_the_warnings():
    assert consul_version_advice('2.0.4') == []
    assert len(consul_version_advice('1.8.7')) == 2
    with pytest.raises(AnsibleFilterError, match="consul_version_advice: consul_version '1.8 ' is not"):
        consul_version_advice('1.8 ')
