# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import platform

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.module_utils import lab
from ansible_collections.picocloud.edge.plugins.module_utils.board import DEBIAN_ARCH


def lab_nodes(name, count, arch='amd64', arm64_nodes=0, subnet='172.30.10.0/24', managers=1, consul_servers=3,
              host_arch=None):
    # The lab runs on the controller, where this filter runs: its arch is the controller's.
    host_arch = host_arch or DEBIAN_ARCH.get(platform.machine(), platform.machine())
    try:
        return lab.node_list(str(name), int(count), str(arch), int(arm64_nodes), str(subnet), int(managers),
                             int(consul_servers), str(host_arch))
    except lab.LabError as exc:
        raise AnsibleFilterError(str(exc))


def lab_foreign_objects(label, lab_name, containers, network, volumes):
    return lab.foreign_objects(label, lab_name, list(containers), dict(network), list(volumes))


def lab_site_file(nodes, site, orchestrator, admin_user, key, known_hosts, secrets_dir):
    try:
        return lab.site_file(list(nodes), str(site), str(orchestrator), str(admin_user), str(key), str(known_hosts),
                             str(secrets_dir))
    except lab.LabError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):

    def filters(self):
        return {'lab_nodes': lab_nodes, 'lab_foreign_objects': lab_foreign_objects, 'lab_site_file': lab_site_file}
