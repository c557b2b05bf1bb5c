# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.module_utils import consul


def consul_config(settings, version):
    if not isinstance(settings, dict):
        raise AnsibleFilterError('consul_config: the settings must be a dict, got %s' % type(settings).__name__)
    try:
        return consul.render_config(settings, version)
    except consul.ConsulError as error:
        raise AnsibleFilterError('consul_config: %s' % error)


def consul_config_check(extra, version, http_local=False):
    try:
        return consul.weaker_settings(extra, version, http_local)
    except consul.ConsulError as error:
        raise AnsibleFilterError('consul_config_check: %s' % error)


def consul_version_advice(version):
    try:
        return consul.version_advice(version)
    except consul.ConsulError as error:
        raise AnsibleFilterError('consul_version_advice: %s' % error)


class FilterModule(object):

    def filters(self):
        return {'consul_config': consul_config, 'consul_config_check': consul_config_check,
                'consul_version_advice': consul_version_advice}
