# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.module_utils import swarm


def swarm_labels(picocloud_facts, extra=None):
    if extra is not None and not isinstance(extra, dict):
        raise AnsibleFilterError('swarm_labels: the extra labels must be a dict, got %s' % type(extra).__name__)
    return swarm.node_labels(picocloud_facts, extra)


def swarm_anchor(managers, states, site):
    return swarm.choose_anchor(list(managers), dict(states), site)


def swarm_verify(swarm_nodes, managers, workers, own_states, hostnames=None, error=None):
    return swarm.verify_report(list(swarm_nodes or []), list(managers), list(workers), dict(own_states),
                               dict(hostnames or {}), str(error) if error else None)


class FilterModule(object):

    def filters(self):
        return {'swarm_labels': swarm_labels, 'swarm_anchor': swarm_anchor, 'swarm_verify': swarm_verify}
