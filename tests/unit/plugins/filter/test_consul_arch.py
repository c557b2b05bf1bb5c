# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The consul_arch filter: a thin wrapper over module_utils.consul.release_arch (tested in test_consul.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.filter.consul_arch import FilterModule, consul_arch


def test_only_consul_arch_is_registered_here():
    assert set(FilterModule().filters()) == {'consul_arch'}


def test_consul_arch_returns_the_release_suffix():
    assert consul_arch('armhf', '2.0.4') == 'linux_arm'
    assert consul_arch('armhf', '1.8.7') == 'linux_armhfv6'


def test_consul_arch_errors_are_filter_errors_naming_the_filter_and_the_value():
    with pytest.raises(AnsibleFilterError, match="consul_arch: HashiCorp publishes no Linux build of Consul 1.8.7 for "
                                                 "Debian architecture 'riscv64'"):
        consul_arch('riscv64', '1.8.7')
    with pytest.raises(AnsibleFilterError, match="consul_arch: consul_version 'latest' is not a Consul version"):
        consul_arch('amd64', 'latest')
