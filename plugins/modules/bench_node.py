#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: bench_node
short_description: Run one node-side experiment of the picocloud.edge bench
version_added: 0.2.0
description:
  - Runs on a site node, against the node's own Docker engine through its local UNIX socket, and returns the
    experiment's raw samples in the shape of the bench run document (see docs/bench.md).
  - C(storm) launches O(count) one-replica swarm services, O(concurrency) requests at a time, and returns for
    each the request time (runner clock), the task's CreatedAt and running timestamps as the orchestrator
    reports them, when the runner saw it running and the node it landed on. Run it on a swarm manager.
  - C(density) starts containers of each app of O(apps) one at a time and reads C(/proc/meminfo) after each,
    until MemAvailable falls below O(threshold_mb), O(max_count) containers or O(max_seconds); each app's
    containers are removed before the next app.
  - C(start) times O(repeats) cold starts (create and start a new container) and warm starts (start the stopped
    one) of a pre-pulled O(image), from the request to the engine's StartedAt.
  - C(footprint) sums the resident memory (VmRSS) of each platform daemon's processes (dockerd, containerd,
    consul, k3s, registry) found in C(/proc).
  - C(content) writes the serving experiment's page (C(index.html)) and its image (C(image.png), about 100 kB)
    into O(dest).
  - C(cleanup) removes every service (on a manager) and container labelled C(picocloud.bench=<run_id>) and waits
    until none is left.
  - Everything the bench creates carries the label C(picocloud.bench) and a C(picocloud-bench-) name.
author:
  - picocloud.edge developers (@picocloud)
attributes:
  check_mode:
    support: full
    description: In check mode nothing is created and no experiment runs; C(footprint) only reads, so it runs.
  diff_mode:
    support: none
    description: The experiments create and remove short-lived objects; there is no state to diff.
  idempotent:
    support: none
    description: Each experiment run creates and removes containers; C(cleanup) and C(content) are idempotent.
options:
  experiment:
    description: Which experiment to run.
    type: str
    required: true
    choices: [storm, density, start, footprint, content, cleanup]
  run_id:
    description:
      - The bench run's id; every object created carries it in the C(picocloud.bench) label.
      - For O(experiment=cleanup), omit it to remove the bench objects of every run.
    type: str
  image:
    description: Image of the storm's services and of the start experiment (pulled on the nodes beforehand).
    type: str
  count:
    description: Number of services the storm launches.
    type: int
    default: 250
  concurrency:
    description: Launch requests in flight at a time.
    type: int
    default: 5
  timeout_s:
    description: Seconds one launch (or one start, or the clean-up) may take before it counts as failed.
    type: float
    default: 120
  max_seconds:
    description: Time bound of the storm (no new request after it) and of each density app.
    type: float
    default: 900
  poll_s:
    description: Seconds between two looks at a launching task.
    type: float
    default: 0.05
  progress_file:
    description: File on the node the storm appends C(launched K/N) lines to while it runs, for the playbook's progress.
    type: path
  apps:
    description: The density apps, each with C(app) (a name) and C(image).
    type: list
    elements: dict
    default: []
  threshold_mb:
    description: Density stops when MemAvailable falls below this (MiB).
    type: float
    default: 50
  max_count:
    description: Density's bound on containers per app.
    type: int
    default: 100
  settle_s:
    description: Seconds to wait after a density container starts before reading the memory.
    type: float
    default: 1
  repeats:
    description: Cold and warm starts each, for O(experiment=start).
    type: int
    default: 5
  node:
    description: The inventory name of this node, recorded in the samples.
    type: str
  node_names:
    description:
      - For O(experiment=storm), the inventory name of each swarm node by its hostname, recorded in the samples
        instead of the hostname (a node whose hostname is not its inventory name, C(picocloud_hostname)).
    type: dict
    default: {}
  dest:
    description: Directory O(experiment=content) writes the page and the image into (created 0755; files 0644).
    type: path
  is_manager:
    description: For O(experiment=cleanup), whether this node is a swarm manager (then the bench's services are removed too).
    type: bool
    default: false
  docker_socket:
    description: The engine's UNIX socket.
    type: path
    default: /var/run/docker.sock
notes:
  - A module of the collection's own because the storm must keep O(concurrency) requests in flight and time each
    to the millisecond; one Ansible task per container (community.docker.docker_swarm_service in a loop) costs
    about a second of its own per container, which would be counted as launch time.
  - The engine's timestamps and the runner share the node's clock for C(start); for C(storm) the running time is
    stamped by the node the task runs on, so the site's clocks must be in sync (the base role sets time sync).
'''

EXAMPLES = r'''
- name: A storm of 20 services, 5 at a time, from the first manager
  picocloud.edge.bench_node:
    experiment: storm
    run_id: 20261204T101500Z
    image: 172.30.40.11:5000/picocloud/static:1.0
    count: 20
    concurrency: 5
  become: true
  register: storm

- name: Remove whatever a run left behind
  picocloud.edge.bench_node:
    experiment: cleanup
    run_id: 20261204T101500Z
    is_manager: "{{ inventory_hostname in groups['swarm_managers'] }}"
  become: true
'''

RETURN = r'''
samples:
  description: The experiment's raw samples (storm, start, footprint) in the run document's shape.
  returned: experiment is storm, start or footprint
  type: list
  elements: dict
apps:
  description: Density, per app, its baseline, samples and why it stopped.
  returned: experiment is density
  type: list
  elements: dict
started_at:
  description: Storm start (seconds since the epoch, the runner's clock).
  returned: experiment is storm
  type: float
finished_at:
  description: Storm end.
  returned: experiment is storm
  type: float
image:
  description: The storm's image as the services name it (by digest when the node has one).
  returned: experiment is storm
  type: str
engine_version:
  description: The node's Docker engine version.
  returned: always, unless the engine does not answer
  type: str
removed:
  description: The names cleanup removed.
  returned: experiment is cleanup
  type: list
  elements: str
'''

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.picocloud.edge.plugins.module_utils.bench import runner
from ansible_collections.picocloud.edge.plugins.module_utils.bench.engine import Engine, EngineError


def _content(module, dest):
    page = (b'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>picocloud bench</title></head>\n'
            b'<body><h1>picocloud bench</h1><img src="image.png" alt="noise" width="185" height="185"></body></html>\n')
    files = {'index.html': page, 'image.png': runner.noise_png(185, 185, 2026)}
    changed = False
    if not os.path.isdir(dest):
        changed = True
        if not module.check_mode:
            os.makedirs(dest, 0o755)
    for name, data in sorted(files.items()):
        path = os.path.join(dest, name)
        current = None
        if os.path.exists(path):
            with open(path, 'rb') as handle:
                current = handle.read()
        if current != data:
            changed = True
            if not module.check_mode:
                with open(path, 'wb') as handle:
                    handle.write(data)
        if not module.check_mode:
            os.chmod(path, 0o644)
    return {'changed': changed, 'files': sorted(os.path.join(dest, name) for name in files),
            'sizes': dict((name, len(data)) for name, data in files.items())}


def main():
    module = AnsibleModule(
        argument_spec={
            'experiment': {'type': 'str', 'required': True,
                           'choices': ['storm', 'density', 'start', 'footprint', 'content', 'cleanup']},
            'run_id': {'type': 'str'},
            'image': {'type': 'str'},
            'count': {'type': 'int', 'default': 250},
            'concurrency': {'type': 'int', 'default': 5},
            'timeout_s': {'type': 'float', 'default': 120},
            'max_seconds': {'type': 'float', 'default': 900},
            'poll_s': {'type': 'float', 'default': 0.05},
            'progress_file': {'type': 'path'},
            'apps': {'type': 'list', 'elements': 'dict', 'default': []},
            'threshold_mb': {'type': 'float', 'default': 50},
            'max_count': {'type': 'int', 'default': 100},
            'settle_s': {'type': 'float', 'default': 1},
            'repeats': {'type': 'int', 'default': 5},
            'node': {'type': 'str'},
            'node_names': {'type': 'dict', 'default': {}},
            'dest': {'type': 'path'},
            'is_manager': {'type': 'bool', 'default': False},
            'docker_socket': {'type': 'path', 'default': '/var/run/docker.sock'},
        },
        required_if=[
            ('experiment', 'storm', ('run_id', 'image')),
            ('experiment', 'density', ('run_id', 'apps')),
            ('experiment', 'start', ('run_id', 'image', 'node')),
            ('experiment', 'footprint', ('node',)),
            ('experiment', 'content', ('dest',)),
        ],
        supports_check_mode=True,
    )
    params = module.params
    experiment = params['experiment']
    for key in ('count', 'concurrency', 'max_count', 'repeats'):
        if params[key] < 1:
            module.fail_json(msg='%s: must be at least 1, got %d' % (key, params[key]))
    for app in params['apps']:
        if sorted(app) != ['app', 'image'] or not all(isinstance(app[k], str) and app[k] for k in app):
            module.fail_json(msg='apps: each app needs exactly a non-empty app and image, got %r' % (app,))
    if experiment == 'content':
        module.exit_json(**_content(module, params['dest']))
    if experiment == 'footprint':
        module.exit_json(changed=False, samples=runner.footprint('/proc', params['node'], time.time))
    engine = Engine(params['docker_socket'], timeout=max(10.0, params['timeout_s']))
    result = {'changed': False}
    try:
        result['engine_version'] = engine.version().get('Version')
        if module.check_mode:
            module.exit_json(msg='check mode: the %s experiment was not run' % experiment, **result)
        if experiment == 'storm':
            handle = open(params['progress_file'], 'a') if params['progress_file'] else None

            def progress(done, count):
                handle.write('launched %d/%d\n' % (done, count))
                handle.flush()
            try:
                result.update(changed=True, **runner.storm(
                    engine, params['run_id'], params['image'], params['count'], params['concurrency'],
                    params['timeout_s'], params['max_seconds'], params['poll_s'], time.time, time.sleep,
                    progress if handle else None, params['node_names']))
            finally:
                if handle:
                    handle.write('finished\n')
                    handle.close()
        elif experiment == 'density':
            def read_meminfo():
                with open('/proc/meminfo') as meminfo:
                    return meminfo.read()
            result.update(changed=True, apps=runner.density(
                engine, params['run_id'], params['apps'], params['threshold_mb'], params['max_count'],
                params['max_seconds'], params['settle_s'], read_meminfo, time.time, time.sleep))
        elif experiment == 'start':
            result.update(changed=True, samples=runner.start_latency(
                engine, params['run_id'], params['image'], params['repeats'], params['node'], params['timeout_s'],
                time.time, time.sleep))
        else:
            removed = runner.cleanup(engine, params['run_id'], params['is_manager'], params['timeout_s'], time.time, time.sleep)
            result.update(changed=bool(removed), removed=removed)
    except (EngineError, runner.BenchError) as exc:
        module.fail_json(msg='%s: %s' % (experiment, exc), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
