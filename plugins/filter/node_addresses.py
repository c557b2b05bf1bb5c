# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.module_utils.node import (
    node_address as _node_address, own_ipv4_addresses, registry_endpoint as _registry_endpoint, unit_load_states)


def node_addresses(ansible_facts):
    if not isinstance(ansible_facts, dict):
        raise AnsibleFilterError('node_addresses expects ansible_facts (a dict), got %s' % type(ansible_facts).__name__)
    return own_ipv4_addresses(ansible_facts)


def node_address(host_vars):
    if not hasattr(host_vars, 'get'):
        raise AnsibleFilterError('node_address expects a host\'s hostvars (a mapping), got %s' % type(host_vars).__name__)
    return _node_address(host_vars)


def registry_endpoint(host, port, orchestrator):
    try:
        return _registry_endpoint(host, port, orchestrator)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError('registry_endpoint: %s' % exc)


def systemd_load_states(show_text, names):
    if not isinstance(show_text, str) or not isinstance(names, (list, tuple)):
        raise AnsibleFilterError('systemd_load_states expects the text systemctl show printed and the list of unit names')
    try:
        return unit_load_states(show_text, names)
    except ValueError as exc:
        raise AnsibleFilterError('systemd_load_states: %s' % exc)


class FilterModule(object):

    def filters(self):
        return {'node_addresses': node_addresses, 'node_address': node_address, 'registry_endpoint': registry_endpoint,
                'systemd_load_states': systemd_load_states}
