# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bench's node-side experiments: launch storm, density, container start, footprint and clean-up.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Each function takes an :class:`~.engine.Engine` (or a fake with the same calls), a ``clock``
(``time.time``) and a ``sleep`` so tests drive them without a daemon, and returns the raw samples in
the shapes of the run document (schema.py). Every loop is bounded in count and in time. Everything
the bench creates carries the label ``picocloud.bench=<run id>``, which is what :func:`cleanup`
removes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import struct
import threading
import zlib

from ansible_collections.picocloud.edge.plugins.module_utils import node as node_utils
from ansible_collections.picocloud.edge.plugins.module_utils.bench.engine import EngineError, parse_timestamp

LABEL = 'picocloud.bench'
NAME_PREFIX = 'picocloud-bench'
FAILED_STATES = ('failed', 'rejected', 'shutdown', 'orphaned', 'remove', 'complete')
DAEMONS = {
    'dockerd': ('dockerd',),
    'containerd': ('containerd',),
    'consul': ('consul',),
    'k3s': ('k3s-server', 'k3s-agent', 'k3s'),
    'registry': ('docker-registry', 'registry'),
}
RUN_ID_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]{0,99}')


class BenchError(Exception):
    """An experiment could not run (bad input, or the engine refused its set-up)."""


def _remove_all(engine, idents):
    """Remove each container, best effort: a clean-up must not hide the error that ended the experiment."""
    for ident in idents:
        try:
            engine.remove_container(ident)
        except EngineError:
            pass


def check_run_id(run_id):
    if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id):
        raise BenchError('run_id: must be letters, digits, ".", "_" or "-" (up to 100), got %r' % (run_id,))
    return run_id


def object_name(run_id, kind, index):
    """``picocloud-bench-<kind>-<index>-<run id>``, cut to the engine's 63-character name limit."""
    return ('%s-%s-%d-%s' % (NAME_PREFIX, kind, index, run_id.replace('.', '-').replace('_', '-')))[:63].rstrip('-')


def pinned_image(engine, ref):
    """The image reference by digest when the local image has one (no registry round trip per task)."""
    data = engine.image(ref)
    repo = ref.rsplit('@', 1)[0]
    if ':' in repo.rsplit('/', 1)[-1]:
        repo = repo.rsplit(':', 1)[0]
    for digest in data.get('RepoDigests') or []:
        if digest.split('@', 1)[0] == repo:
            return digest
    return ref


def service_spec(name, image, run_id, stop_grace_s=1):
    return {
        'Name': name,
        'Labels': {LABEL: run_id},
        'TaskTemplate': {
            'ContainerSpec': {'Image': image, 'Labels': {LABEL: run_id}, 'StopGracePeriod': int(stop_grace_s * 1e9)},
            'RestartPolicy': {'Condition': 'none'},
        },
        'Mode': {'Replicated': {'Replicas': 1}},
    }


def storm(engine, run_id, image, count, concurrency, timeout_s, max_seconds, poll_s, clock, sleep, progress=None, names=None):
    """Launch ``count`` one-replica services, ``concurrency`` requests at a time, and time each to running.

    Each worker slot requests a service (``requested_at``, the runner's clock), polls its task until the
    orchestrator reports it running (``running_at``: the task's status timestamp; ``accepted_at``: the
    task's CreatedAt) and notes when it saw it (``observed_at``), then requests the next. A launch that
    fails, or is not running within ``timeout_s``, is a sample with ``ok`` false and the error. Once
    ``max_seconds`` have passed since the first request, no new request is made and the rest are
    recorded as not launched. ``progress(done, count)`` is called after every finished launch. A sample's
    ``node`` is the swarm node's hostname, or its name in ``names`` ({hostname: inventory name}) when listed there.
    """
    check_run_id(run_id)
    if count < 1 or concurrency < 1:
        raise BenchError('count and concurrency must be at least 1, got %r and %r' % (count, concurrency))
    names = names or {}
    node_names = dict((node['ID'], names.get(node['Description']['Hostname'], node['Description']['Hostname']))
                      for node in engine.nodes())
    image = pinned_image(engine, image)
    lock = threading.Lock()
    state = {'next': 0, 'done': 0}
    samples = [None] * count
    started = clock()

    def take():
        with lock:
            if state['next'] >= count:
                return None
            index = state['next']
            state['next'] += 1
            return index

    def finish(index, sample):
        with lock:
            samples[index] = sample
            state['done'] += 1
            done = state['done']
        if progress:
            progress(done, count)

    def launch(worker, index):
        name = object_name(run_id, 'storm', index)
        requested = clock()
        sample = {'index': index, 'worker': worker, 'node': None, 'requested_at': requested, 'accepted_at': None,
                  'running_at': None, 'observed_at': None, 'ok': False, 'error': None}
        if requested - started > max_seconds:
            sample['error'] = 'not launched: the storm ran out of its time bound (%s s)' % max_seconds
            return sample
        try:
            created = engine.create_service(service_spec(name, image, run_id))
        except EngineError as exc:
            sample['error'] = str(exc)
            return sample
        deadline = requested + timeout_s
        while True:
            try:
                tasks = engine.tasks(service=[created['ID']])
            except EngineError as exc:
                sample['error'] = str(exc)
                return sample
            now = clock()
            task = max(tasks, key=lambda t: t.get('CreatedAt', '')) if tasks else None
            status = (task or {}).get('Status') or {}
            if status.get('State') == 'running':
                sample.update(ok=True, observed_at=now, node=node_names.get(task.get('NodeID')),
                              running_at=parse_timestamp(status['Timestamp']),
                              accepted_at=parse_timestamp(task['CreatedAt']))
                if sample['node'] is None:
                    sample.update(ok=False, error='task ran on node %r, which the swarm does not list' % task.get('NodeID'))
                return sample
            if status.get('State') in FAILED_STATES:
                sample.update(observed_at=now, error='task %s: %s' % (status.get('State'), status.get('Err') or status.get('Message')))
                return sample
            if now > deadline:
                sample.update(error='not running after %s s (task state %s)' % (timeout_s, status.get('State', 'none yet')))
                return sample
            sleep(poll_s)

    def work(worker):
        while True:
            index = take()
            if index is None:
                return
            finish(index, launch(worker, index))

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(concurrency)]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join(max_seconds + timeout_s + 60)
    missing = [index for index, sample in enumerate(samples) if sample is None]
    for index in missing:
        samples[index] = {'index': index, 'worker': 0, 'node': None, 'requested_at': clock(), 'accepted_at': None,
                          'running_at': None, 'observed_at': None, 'ok': False,
                          'error': 'the runner gave up on this launch (its worker did not return in time)'}
    return {'started_at': started, 'finished_at': clock(), 'image': image, 'samples': samples}


def parse_meminfo(text):
    """MemTotal and MemAvailable (KiB) from /proc/meminfo text; raises BenchError when one is missing."""
    values = node_utils.parse_meminfo(text)
    for key in ('MemTotal', 'MemAvailable'):
        if key not in values:
            raise BenchError('/proc/meminfo has no %s line' % key)
    return {'mem_total_kib': values['MemTotal'], 'mem_available_kib': values['MemAvailable']}


def container_spec(image, run_id, extra=None):
    spec = {'Image': image, 'Labels': {LABEL: run_id}, 'StopTimeout': 1, 'HostConfig': {'AutoRemove': False}}
    spec.update(extra or {})
    return spec


def density(engine, run_id, apps, threshold_mb, max_count, max_seconds, settle_s, read_meminfo, clock, sleep):
    """Per app, containers started one at a time until MemAvailable < threshold, ``max_count`` or ``max_seconds``.

    ``apps`` is a list of ``{'app': name, 'image': ref}``. After each container runs and ``settle_s``
    passes, /proc/meminfo is read (``read_meminfo()`` returns its text). An app's containers are removed
    before the next app starts, and the memory settles again before its baseline.
    """
    check_run_id(run_id)
    results = []
    for app_index, app in enumerate(apps):
        baseline = dict(parse_meminfo(read_meminfo()), at=clock())
        samples = []
        stop_reason = 'count'
        error = None
        created = []
        started = clock()
        try:
            for count in range(1, max_count + 1):
                if clock() - started > max_seconds:
                    stop_reason = 'time'
                    break
                name = object_name(run_id, 'density-%d' % app_index, count)
                try:
                    ident = engine.create_container(name, container_spec(app['image'], run_id))['Id']
                    created.append(ident)
                    engine.start_container(ident)
                    sleep(settle_s)
                    if not engine.inspect_container(ident)['State'].get('Running'):
                        raise BenchError('container %d of %s exited: %s' % (
                            count, app['app'], engine.inspect_container(ident)['State'].get('Error') or 'not running'))
                except (EngineError, BenchError) as exc:
                    stop_reason, error = 'error', str(exc)
                    break
                sample = dict(parse_meminfo(read_meminfo()), count=count, at=clock())
                samples.append(sample)
                if sample['mem_available_kib'] / 1024.0 < threshold_mb:
                    stop_reason = 'threshold'
                    break
        finally:
            _remove_all(engine, created)
        entry = {'app': app['app'], 'image': app['image'], 'stop_reason': stop_reason, 'baseline': baseline,
                 'samples': samples}
        if error:
            entry['error'] = error[:2000]
        results.append(entry)
        sleep(settle_s)
    return results


def start_latency(engine, run_id, image, repeats, node, timeout_s, clock, sleep):
    """``repeats`` cold starts (create + start of a new container) and warm starts (start of a stopped one).

    ``running_at`` is the engine's State.StartedAt; the runner and the engine share the node's clock.
    """
    check_run_id(run_id)
    samples = []
    created = []
    try:
        for repeat in range(repeats):
            name = object_name(run_id, 'start', repeat)
            requested = clock()
            ident = engine.create_container(name, container_spec(image, run_id))['Id']
            created.append(ident)
            engine.start_container(ident)
            samples.append({'mode': 'cold', 'node': node, 'requested_at': requested,
                            'running_at': _started_at(engine, ident, requested, timeout_s, clock, sleep)})
            engine.stop_container(ident)
            requested = clock()
            engine.start_container(ident)
            samples.append({'mode': 'warm', 'node': node, 'requested_at': requested,
                            'running_at': _started_at(engine, ident, requested, timeout_s, clock, sleep)})
            engine.stop_container(ident)
    finally:
        _remove_all(engine, created)
    return samples


def _started_at(engine, ident, requested, timeout_s, clock, sleep):
    deadline = clock() + timeout_s
    while True:
        state = engine.inspect_container(ident)['State']
        started = parse_timestamp(state.get('StartedAt', ''))
        if state.get('Running') and started is not None and started >= requested - 1.0:
            return started
        if clock() > deadline:
            raise BenchError('container %s was not running %s s after its start request (state %s)' % (
                ident[:12], timeout_s, state.get('Status')))
        sleep(0.05)


def footprint(proc_root, node, clock, daemons=None):
    """One sample per platform daemon running on this node: the summed VmRSS (KiB) of its processes."""
    daemons = daemons or DAEMONS
    by_comm = {}
    for name, comms in daemons.items():
        for comm in comms:
            by_comm[comm] = name
    found = {}
    for entry in sorted(os.listdir(proc_root)):
        if not entry.isdigit():
            continue
        try:
            with open(os.path.join(proc_root, entry, 'status')) as handle:
                status = handle.read()
        except (IOError, OSError):
            continue
        comm = re.search(r'^Name:\s*(\S+)', status, re.M)
        rss = re.search(r'^VmRSS:\s*(\d+) kB', status, re.M)
        if not comm or not rss or comm.group(1) not in by_comm:
            continue
        daemon = by_comm[comm.group(1)]
        record = found.setdefault(daemon, {'node': node, 'daemon': daemon, 'rss_kib': 0, 'pids': [], 'at': clock()})
        record['rss_kib'] += int(rss.group(1))
        record['pids'].append(int(entry))
    return [found[name] for name in sorted(found)]


def cleanup(engine, run_id, is_manager, timeout_s, clock, sleep):
    """Remove the bench's services (on a manager) and containers with the run's label; wait until none is left.

    ``run_id`` None removes every bench object whatever its run. Returns the names removed.
    """
    label = LABEL if run_id is None else '%s=%s' % (LABEL, check_run_id(run_id))
    removed = []
    if is_manager:
        for service in engine.services(label=[label]):
            engine.remove_service(service['ID'])
            removed.append(service['Spec']['Name'])
    deadline = clock() + timeout_s
    while True:
        left = engine.containers(label=[label])
        if not left and (not is_manager or not engine.services(label=[label])):
            return removed
        for container in left:
            if clock() > deadline - timeout_s / 2.0 or not is_manager or not container['Labels'].get('com.docker.swarm.task.id'):
                engine.remove_container(container['Id'])
                removed.append(container['Names'][0].lstrip('/'))
        if clock() > deadline:
            raise BenchError('%d bench container(s) still present after %s s: %s' % (
                len(left), timeout_s, ', '.join(c['Names'][0].lstrip('/') for c in left[:10])))
        sleep(0.5)


def noise_png(width, height, seed):
    """A valid RGB PNG of pseudo-random pixels (incompressible, so its size is about 3 x width x height bytes)."""
    state = seed & 0xffffffff or 1
    rows = []
    for dummy in range(height):
        row = bytearray(1 + width * 3)
        for index in range(1, len(row)):
            state ^= (state << 13) & 0xffffffff
            state ^= state >> 17
            state ^= (state << 5) & 0xffffffff
            row[index] = state & 0xff
        rows.append(bytes(row))

    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)

    header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(b''.join(rows), 9)) + chunk(b'IEND', b'')
