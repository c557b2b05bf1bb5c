# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Consul agent service and check definitions for the consul role (the logic is in module_utils/consul_service)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.module_utils import consul_service


def consul_service_definition(service, token):
    try:
        return consul_service.service_definition(service, token)
    except consul_service.ConsulServiceError as exc:
        raise AnsibleFilterError('consul_service_definition: %s' % exc)


def consul_node_check(check, token):
    if not isinstance(check, dict):
        raise AnsibleFilterError('consul_node_check: expects a mapping (id, name, args, interval), got %r' % (check,))
    try:
        return consul_service.node_check_definition(check.get('id'), check.get('name'), list(check.get('args') or []),
                                                    check.get('interval'), token, check.get('notes') or '')
    except consul_service.ConsulServiceError as exc:
        raise AnsibleFilterError('consul_node_check: %s' % exc)


class FilterModule(object):

    def filters(self):
        return {'consul_service_definition': consul_service_definition, 'consul_node_check': consul_node_check}
