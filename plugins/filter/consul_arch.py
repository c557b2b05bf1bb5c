# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.module_utils import consul


def consul_arch(debian_arch, version):
    try:
        return consul.release_arch(debian_arch, version)
    except consul.ConsulError as error:
        raise AnsibleFilterError('consul_arch: %s' % error)


class FilterModule(object):

    def filters(self):
        return {'consul_arch': consul_arch}
