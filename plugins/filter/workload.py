# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of picocloud.edge.workload (the logic is in module_utils/workload)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.module_utils import workload


def _call(name, function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except workload.WorkloadError as exc:
        raise AnsibleFilterError('%s: %s' % (name, exc))


def workload_app(definition, registry='', publish_mode='ingress', publish=None):
    return _call('workload_app', workload.normalize, definition, registry=registry or '', publish_mode=publish_mode,
                 publish=publish)


def workload_eligible_hosts(app, hosts, exclude_hosts=None):
    if not isinstance(hosts, dict):
        raise AnsibleFilterError('workload_eligible_hosts: hosts must be {host: {arch, board, labels}}, got %r' % (hosts,))
    chosen = workload.eligible_hosts(app['placement'], hosts, list(exclude_hosts or []))
    _call('workload_eligible_hosts', workload.check_capacity, app, chosen)
    return chosen


def workload_swarm_service(app, secret_names=None, site_labels=None, exclude_hosts=None, site='', consul_port=8501):
    return _call('workload_swarm_service', workload.swarm_service, app, secret_names=dict(secret_names or {}),
                 site_labels=dict(site_labels or {}), exclude_hosts=list(exclude_hosts or []), site=site or '',
                 consul_port=int(consul_port))


def workload_k8s_manifests(app, namespace='picocloud-apps', secret_data=None, consul_port=8501):
    return _call('workload_k8s_manifests', workload.k8s_manifests, app, namespace=namespace,
                 secret_data=dict(secret_data or {}), consul_port=int(consul_port))


def workload_swarm_rollout(info, name, replicas):
    if not isinstance(info, dict):
        raise AnsibleFilterError('workload_swarm_rollout: expects docker_swarm_info\'s result, got %r' % (info,))
    return workload.swarm_rollout(name, list(info.get('services') or []), list(info.get('tasks') or []),
                                  list(info.get('nodes') or []), int(replicas))


def workload_consul_service(app, address):
    return workload.consul_service(app, address)


def workload_published(health, tag='published'):
    if not isinstance(health, dict):
        raise AnsibleFilterError('workload_published: expects {service: [health entries]}, got %r' % (health,))
    return workload.published_apps(health, tag)


class FilterModule(object):

    def filters(self):
        return {
            'workload_app': workload_app,
            'workload_eligible_hosts': workload_eligible_hosts,
            'workload_swarm_service': workload_swarm_service,
            'workload_k8s_manifests': workload_k8s_manifests,
            'workload_swarm_rollout': workload_swarm_rollout,
            'workload_consul_service': workload_consul_service,
            'workload_published': workload_published,
        }
