# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k3s preflight over pi_facts and the join diagnostics message, private to picocloud.edge.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Preflight runs before any change and returns errors (the role stops) and warnings (the role shows
them). Sources: docs.k3s.io "Requirements" (server 2 cores and 2 GB RAM, agent 1 core and 512 MB; an
odd number of servers for embedded etcd quorum), k3s's install.sh (the memory cgroup check and the
``cgroup_memory=1 cgroup_enable=memory`` advice for Raspberry Pi), and the ARMv6 refusal of ``airgap``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import airgap

ROLES = ('server', 'agent')
MINIMUMS = {'server': {'cores': 2, 'memory_mb': 2048}, 'agent': {'cores': 1, 'memory_mb': 512}}
# The kernel flags that enable the memory controller on Raspberry Pi OS (install.sh's advice).
MEMORY_FLAGS = ('cgroup_memory=1', 'cgroup_enable=memory')
# MemTotal is below the board's nominal size (firmware and kernel reserve some): a 2 GB Pi 4 reports
# about 1.8 GiB. A measured value counts as meeting a minimum when it is within this share of it.
MEASURED_SLACK = 0.125
JOURNAL_LINES = 30


def _flags_in(cmdline):
    tokens = (cmdline or '').split() if isinstance(cmdline, str) else []
    return all(flag in tokens for flag in MEMORY_FLAGS)


def _memory_check(facts, cmdline, proc_cmdline):
    cgroups = facts.get('cgroups') or {}
    if cgroups.get('memory_controller'):
        return None
    wanted = ' '.join(MEMORY_FLAGS)
    boot = (facts.get('boot') or {}).get('cmdline_path') or 'cmdline.txt'
    if _flags_in(cmdline) and not _flags_in(proc_cmdline):
        return ('the memory cgroup controller is not enabled yet: %s has "%s" but the running kernel was booted '
                'without them, so a reboot is pending. Reboot the node (the base role does when '
                'base_reboot_allowed is true), then run again.' % (boot, wanted))
    if _flags_in(proc_cmdline):
        return ('the memory cgroup controller is not enabled although the running kernel was booted with "%s"; '
                'this kernel does not provide it (cgroup version %s). k3s cannot run here.'
                % (wanted, cgroups.get('version')))
    return ('the memory cgroup controller is not enabled: add "%s" to the single line of %s (the base role does '
            'this with base_cgroups: true) and reboot.' % (wanted, boot))


def _resource_warnings(facts, role, cores, memory_mb):
    minimum = MINIMUMS[role]
    warnings = []
    if isinstance(cores, int) and not isinstance(cores, bool) and cores < minimum['cores']:
        warnings.append('%d CPU core(s), below the %d that k3s documents for a%s %s'
                        % (cores, minimum['cores'], 'n' if role == 'agent' else '', role))
    nominal = (facts.get('board') or {}).get('memory_mb')
    if isinstance(nominal, int) and not isinstance(nominal, bool) and nominal > 0:
        memory, slack, source = nominal, 0, 'board'
    elif isinstance(memory_mb, int) and not isinstance(memory_mb, bool) and memory_mb > 0:
        memory, slack, source = memory_mb, MEASURED_SLACK, 'MemTotal'
    else:
        return warnings
    if memory < minimum['memory_mb'] * (1 - slack):
        warnings.append('%d MB RAM (%s), below the %d MB that k3s documents for a%s %s'
                        % (memory, source, minimum['memory_mb'], 'n' if role == 'agent' else '', role))
    return warnings


def preflight(facts, node, role, cmdline=None, proc_cmdline=None, cores=None, memory_mb=None,
              server_count=None, allow_even_servers=False):
    """Errors and warnings for one node, before anything is changed.

    facts: the ``ansible_facts.picocloud`` dict of pi_facts (``arch``, ``cgroups``, ``board``, ``boot``).
    node: the inventory name (every message starts with it). role: server or agent.
    cmdline: the text of the boot partition's cmdline.txt (what the next boot uses); proc_cmdline: the
    running kernel's /proc/cmdline. cores and memory_mb: Ansible's processor_nproc and memtotal_mb
    (the board's nominal memory from pi_facts wins when known). server_count: how many hosts are in
    k3s_servers; an even count is an error unless ``allow_even_servers``, then a warning.
    Returns ``{'ok': bool, 'errors': [..], 'warnings': [..], 'arch': release arch or None}``.
    """
    if not isinstance(facts, dict):
        raise K3sError('facts: expected the picocloud facts of pi_facts (a dict), got %r' % (facts,))
    if role not in ROLES:
        raise K3sError('role: %r must be server or agent' % (role,))
    errors, warnings = [], []
    release = None
    try:
        release = airgap.release_arch(facts.get('arch') or {})
    except K3sError as exc:
        errors.append(str(exc)[len('arch: '):] if str(exc).startswith('arch: ') else str(exc))
    memory = _memory_check(facts, cmdline, proc_cmdline)
    if memory:
        errors.append(memory)
    warnings.extend(_resource_warnings(facts, role, cores, memory_mb))
    if role == 'server' and server_count is not None:
        if not isinstance(server_count, int) or isinstance(server_count, bool) or server_count < 1:
            errors.append('k3s_servers must hold at least one host (got %r)' % (server_count,))
        elif server_count % 2 == 0:
            message = ('%d servers: embedded etcd needs a majority, so %d servers survive the loss of no more '
                       'servers than %d would; use an odd number' % (server_count, server_count, server_count - 1))
            if allow_even_servers:
                warnings.append(message + ' (allowed by k3s_allow_even_servers)')
            else:
                errors.append(message + ', or set k3s_allow_even_servers: true to proceed anyway')
    prefix = '%s: ' % node
    return {
        'ok': not errors,
        'errors': [prefix + message for message in errors],
        'warnings': [prefix + message for message in warnings],
        'arch': release,
    }


def _yes_no(value, yes, no, unknown='not checked'):
    if value is None:
        return unknown
    return yes if value else no


def join_diagnostics(report):
    """One message for a join that did not complete within its timeout.

    report: ``node``, ``role``, ``server_url`` (the URL the node tried), ``timeout`` (seconds),
    ``port_open`` (did <server>:6443 answer a TCP connect from the node), ``cacerts_sha256`` (sha256 of
    the server's /cacerts as the node fetched it), ``token_ca_hash`` (the hash in the node's token),
    ``secret_matched`` (did the server accept the token's secret), ``unit`` and ``journal`` (the last
    lines of the unit's journal, text or list).
    """
    if not isinstance(report, dict):
        raise K3sError('report: expected a dict of join facts, got %r' % (report,))
    node = report.get('node') or 'unknown node'
    unit = report.get('unit') or ('k3s-agent' if report.get('role') == 'agent' else 'k3s')
    url = report.get('server_url') or '(no server URL)'
    lines = ['%s did not join the cluster%s.' % (node, ' within %ss' % report['timeout'] if report.get('timeout') else '')]
    lines.append('- server URL tried: %s' % url)
    port = _yes_no(report.get('port_open'), 'answered',
                   'did not answer (wrong server address, server down, or a firewall)')
    lines.append('- port 6443 from %s: %s' % (node, port))
    token_hash = (report.get('token_ca_hash') or '').lower() or None
    served = (report.get('cacerts_sha256') or '').lower() or None
    if token_hash and served:
        ca = 'matched' if token_hash == served else (
            'DID NOT MATCH: the token carries CA hash %s, the server\'s /cacerts hashes to %s (a token from another '
            'cluster, or the cluster was re-created)' % (token_hash, served))
    elif token_hash is None and served:
        ca = 'not checked: the token has no CA hash (short token)'
    else:
        ca = 'not checked (no /cacerts answer)'
    lines.append('- token CA hash: %s' % ca)
    secret = _yes_no(report.get('secret_matched'), 'accepted by the server', 'REJECTED by the server')
    lines.append('- token secret: %s' % secret)
    journal = report.get('journal') or []
    if isinstance(journal, str):
        journal = journal.splitlines()
    journal = [re.sub(r'[\x00-\x08\x0b-\x1f\x7f]', '?', str(line)) for line in journal][-JOURNAL_LINES:]
    lines.append('- last %d lines of the %s journal on %s:' % (len(journal), unit, node))
    lines.extend('    %s' % line for line in journal or ['(empty)'])
    return '\n'.join(lines)
