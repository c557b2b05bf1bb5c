# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The k3s role's argument specs: the choices that keep k3s_links and k3s_etcd to what the role understands."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

SPECS = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '..', 'roles', 'k3s', 'meta', 'argument_specs.yml')


def _validator(entry_point):
    with open(SPECS) as handle:
        options = yaml.safe_load(handle)['argument_specs'][entry_point]['options']
    return ArgumentSpecValidator(options)


def _errors(entry_point, values):
    return [str(error) for error in _validator(entry_point).validate(values).errors]


@pytest.mark.parametrize('links', [['kubectl', 'crictl'], ['kubectl', 'crictl', 'ctr'], []])
def test_k3s_links_takes_the_tools_k3s_bundles(links):
    assert _errors('main', {'k3s_links': links}) == []


@pytest.mark.parametrize('link', ['../../sbin/iptables', 'bin/kubectl', 'helm'])
def test_k3s_links_refuses_any_other_name_and_paths(link):
    assert _errors('main', {'k3s_links': ['kubectl', link]}) == [
        'value of k3s_links must be one or more of: kubectl, crictl, ctr. Got no match for: %s' % link]


@pytest.mark.parametrize('entry_point', ['main', 'validate', 'upgrade'])
@pytest.mark.parametrize('value', ['auto', True, False, 'true', 'false', 'True'])
def test_k3s_etcd_takes_auto_or_a_boolean(entry_point, value):
    assert _errors(entry_point, {'k3s_etcd': value}) == []


@pytest.mark.parametrize('entry_point', ['main', 'validate', 'upgrade'])
@pytest.mark.parametrize('value', ['atuo', 'enabled', 'Auto'])
def test_k3s_etcd_refuses_what_the_role_would_read_as_false(entry_point, value):
    assert _errors(entry_point, {'k3s_etcd': value}) == [
        'value of k3s_etcd must be one of: auto, true, false, got: %s' % value]


@pytest.mark.parametrize('entry_point', ['main', 'validate', 'upgrade'])
def test_k3s_datastore_endpoint_is_no_log(entry_point):
    """It may hold a password (postgres://user:password@host): the spec marks it no_log, and it validates as given."""
    with open(SPECS) as handle:
        options = yaml.safe_load(handle)['argument_specs'][entry_point]['options']
    assert options['k3s_datastore_endpoint']['no_log'] is True
    assert _errors(entry_point, {'k3s_datastore_endpoint': 'postgres://k3s:S3cretPw@db.site:5432/k3s'}) == []
