# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.module_utils import consul_members, lifecycle, quorum, swarm
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import lifecycle as k3s_lifecycle


def _wrap(name, func, *args):
    try:
        return func(*args)
    except (quorum.QuorumError, K3sError, lifecycle.LifecycleError) as exc:
        raise AnsibleFilterError('%s: %s' % (name, exc))
    except (AttributeError, TypeError) as exc:
        raise AnsibleFilterError('%s: the input is not shaped as the API returns it (%s)' % (name, exc))


def swarm_ghosts(swarm_nodes, node_ids, hostnames=None):
    return _wrap('swarm_ghosts', swarm.ghost_plan, list(swarm_nodes or []), dict(node_ids or {}), dict(hostnames or {}))


def swarm_departure(swarm_nodes, node_id, permanent=False):
    return _wrap('swarm_departure', swarm.departure, list(swarm_nodes or []), str(node_id), bool(permanent))


def consul_verify(members, raft, servers, clients, names=None, own=None, error=None):
    return _wrap('consul_verify', consul_members.verify_report, list(members or []), dict(raft or {}), list(servers),
                 list(clients), dict(names or {}), dict(own or {}), str(error) if error else None)


def consul_ghosts(members, raft, own, names=None):
    return _wrap('consul_ghosts', consul_members.ghost_plan, list(members or []), dict(raft or {}), dict(own or {}),
                 dict(names or {}))


def consul_departure(members, raft, name, permanent=False):
    return _wrap('consul_departure', consul_members.departure, list(members or []), dict(raft or {}), str(name),
                 bool(permanent))


def k3s_verify_report(nodes, expected, names=None, machine_ids=None, error=None):
    return _wrap('k3s_verify_report', k3s_lifecycle.verify_report, nodes, dict(expected), dict(names or {}),
                 dict(machine_ids or {}), str(error) if error else None)


def k3s_ghosts(nodes, hosts, names=None):
    return _wrap('k3s_ghosts', k3s_lifecycle.ghost_plan, nodes, dict(hosts or {}), dict(names or {}))


def k3s_departure(nodes, name, permanent=False):
    return _wrap('k3s_departure', k3s_lifecycle.departure, nodes, str(name), bool(permanent))


def lifecycle_health(name, swarm_nodes=None, node_id='', k3s_nodes=None, members=None, checks=None):
    return _wrap('lifecycle_health', lifecycle.health_gate, str(name),
                 None if swarm_nodes is None else list(swarm_nodes), str(node_id or ''), k3s_nodes,
                 None if members is None else list(members), None if checks is None else list(checks))


def swarm_backup_state(services, networks, configs, secrets, nodes):
    return _wrap('swarm_backup_state', lifecycle.swarm_state, list(services or []), list(networks or []),
                 list(configs or []), list(secrets or []), list(nodes or []))


def swarm_restore_plan(backup, current):
    return _wrap('swarm_restore_plan', lifecycle.swarm_restore_plan, dict(backup or {}), dict(current or {}))


def swarm_service_specs(services, backup, current):
    return _wrap('swarm_service_specs', lifecycle.service_specs, list(services or []), dict(backup or {}), dict(current or {}))


def backup_manifest_check(manifest, files):
    return _wrap('backup_manifest_check', lifecycle.backup_manifest_check, manifest, dict(files or {}))


class FilterModule(object):

    def filters(self):
        return {
            'swarm_ghosts': swarm_ghosts, 'swarm_departure': swarm_departure,
            'consul_verify': consul_verify, 'consul_ghosts': consul_ghosts, 'consul_departure': consul_departure,
            'k3s_verify_report': k3s_verify_report, 'k3s_ghosts': k3s_ghosts, 'k3s_departure': k3s_departure,
            'lifecycle_health': lifecycle_health, 'swarm_backup_state': swarm_backup_state,
            'swarm_restore_plan': swarm_restore_plan, 'swarm_service_specs': swarm_service_specs,
            'backup_manifest_check': backup_manifest_check,
        }
