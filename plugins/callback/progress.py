# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
name: progress
type: stdout
short_description: One line per play or role with its time; the full log goes to a file
version_added: 0.2.0
description:
  - A stdout callback for long runs such as C(make demo). Each play gets one line when it ends, with its wall
    time, how many of its task results changed, and the time of each role in it (the site layer's tasks count for
    the role that ran them).
  - A failed or unreachable host is shown at once, with the task and the message.
  - The message of every C(debug) task whose name starts with C(Show) is printed in full, so the tables of
    picocloud.edge.verify (nodes, swarm, TLS, Consul) end the output.
  - The full output of Ansible's default callback goes to O(log_path), and the last line names that file.
  - O(times_path) receives the play and role times as JSON (used by benchmarks/bench_site_rerun.py).
author:
  - picocloud.edge developers (@picocloud)
options:
  log_path:
    description: File that receives the full output of the default callback; none when unset.
    type: path
    env:
      - name: PICOCLOUD_PROGRESS_LOG
    ini:
      - section: picocloud_progress
        key: log_path
  times_path:
    description: File that receives the play times (name, seconds, changed, seconds per role) as JSON; none when unset.
    type: path
    env:
      - name: PICOCLOUD_PROGRESS_TIMES
    ini:
      - section: picocloud_progress
        key: times_path
requirements:
  - It is a stdout callback; set C(ANSIBLE_STDOUT_CALLBACK=picocloud.edge.progress).
'''

import json
import os
import re
import time

from ansible.plugins.callback import CallbackBase
from ansible.plugins.loader import callback_loader

_ANSI = re.compile(r'\x1b\[[0-9;]*m')


class _FileDisplay(object):
    """Stands in for Ansible's Display inside the default callback: everything goes to a file, uncoloured."""

    def __init__(self, real, handle):
        self._real = real
        self._handle = handle

    def display(self, msg, color=None, stderr=False, screen_only=False, log_only=False, newline=True, **kwargs):
        self._handle.write(_ANSI.sub('', str(msg)) + ('\n' if newline else ''))
        self._handle.flush()

    def banner(self, msg, color=None, cows=False):
        msg = msg.strip()
        self.display('\n%s %s' % (msg, '*' * max(3, 79 - len(msg))))

    def warning(self, msg, formatted=False, **kwargs):
        self.display('[WARNING]: %s' % msg)

    def error(self, msg, wrap_text=True, **kwargs):
        self.display('ERROR! %s' % msg)

    def __getattr__(self, name):
        return getattr(self._real, name)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'picocloud.edge.progress'

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._full = None
        self._log = None
        self._play = None
        self._times = []
        self._run_start = time.time()
        self._playbook = ''

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super(CallbackModule, self).set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        log_path = self.get_option('log_path')
        if log_path:
            log_dir = os.path.dirname(os.path.abspath(log_path))
            if not os.path.isdir(log_dir):
                os.makedirs(log_dir, 0o700)
            self._log = open(log_path, 'a')
            self._full = callback_loader.get('ansible.builtin.default')
            self._full.set_options()
            self._full._display = _FileDisplay(self._display, self._log)

    # --- forwarding every event to the full log -------------------------------------------------------
    def _forward(self, name, *args, **kwargs):
        if self._full is not None and hasattr(self._full, name):
            getattr(self._full, name)(*args, **kwargs)

    # --- one line per play, with the time of each role in it -------------------------------------------
    def _close_play(self):
        if self._play is None:
            return
        seconds = time.time() - self._play['start']
        self._role_time(time.time())
        roles = self._play['roles']
        self._times.append({'play': self._play['name'], 'seconds': round(seconds, 2), 'changed': self._play['changed'],
                            'roles': dict((role, round(t, 2)) for role, t in roles.items())})
        detail = ', '.join('%s %.1fs' % (role, t) for role, t in sorted(roles.items(), key=lambda item: -item[1])
                           if t >= 0.05)
        changed = (' %d changed' % self._play['changed']) if self._play['changed'] else ''
        name = self._play['name'] if len(self._play['name']) <= 58 else self._play['name'][:55] + '...'
        self._display.display('  %-58s %7.1fs%s%s' % (name, seconds, changed, ('  (%s)' % detail) if detail else ''))
        self._play = None

    def _role_time(self, now):
        if self._play is not None and self._play['role'] is not None:
            role = self._play['role']
            self._play['roles'][role] = self._play['roles'].get(role, 0.0) + now - self._play['role_start']
        if self._play is not None:
            self._play['role_start'] = now

    def v2_playbook_on_start(self, playbook):
        self._playbook = os.path.basename(playbook._file_name)
        self._display.display('%s' % self._playbook)
        self._forward('v2_playbook_on_start', playbook)

    def v2_playbook_on_play_start(self, play):
        self._close_play()
        now = time.time()
        self._play = {'name': play.get_name().strip(), 'start': now, 'role': None, 'role_start': now, 'roles': {},
                      'changed': 0}
        self._forward('v2_playbook_on_play_start', play)

    def v2_playbook_on_task_start(self, task, is_conditional):
        role = task._role.get_name(include_role_fqcn=False) if task._role else 'tasks'
        # the site layer runs inside every role; its time counts for the role that called it
        if role == 'picocloud' and self._play['role'] not in (None, 'tasks'):
            role = self._play['role']
        if role != self._play['role']:
            self._role_time(time.time())
            self._play['role'] = role
        self._forward('v2_playbook_on_task_start', task, is_conditional)

    def v2_playbook_on_handler_task_start(self, task):
        self._forward('v2_playbook_on_handler_task_start', task)

    # --- results ---------------------------------------------------------------------------------------
    def _count(self, result):
        if result._result.get('changed') and self._play is not None:
            self._play['changed'] += 1

    def _show(self, result):
        task = result._task
        if task.action in ('debug', 'ansible.builtin.debug') and (task.name or '').startswith('Show'):
            msg = result._result.get('msg')
            lines = msg if isinstance(msg, list) else str(msg).splitlines()
            self._display.display('    %s (%s):' % (task.name, result._host.get_name()))
            for line in lines:
                self._display.display('      %s' % line)

    def v2_runner_on_ok(self, result):
        self._count(result)
        self._show(result)
        self._forward('v2_runner_on_ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not ignore_errors:
            msg = result._result.get('msg') or result._result.get('stderr') or result._result.get('exception', '')
            line = '    FAILED %s: %s: %s' % (result._host.get_name(), result._task.get_name(), str(msg).strip())
            self._display.display(line, color='red', stderr=True)
        self._forward('v2_runner_on_failed', result, ignore_errors=ignore_errors)

    def v2_runner_on_unreachable(self, result):
        self._display.display('    UNREACHABLE %s: %s' % (result._host.get_name(), result._result.get('msg', '')),
                              color='red', stderr=True)
        self._forward('v2_runner_on_unreachable', result)

    def v2_runner_on_skipped(self, result):
        self._forward('v2_runner_on_skipped', result)

    def v2_runner_item_on_ok(self, result):
        self._forward('v2_runner_item_on_ok', result)

    def v2_runner_item_on_failed(self, result):
        self._forward('v2_runner_item_on_failed', result)

    def v2_runner_item_on_skipped(self, result):
        self._forward('v2_runner_item_on_skipped', result)

    def v2_runner_retry(self, result):
        self._forward('v2_runner_retry', result)

    def v2_runner_on_start(self, host, task):
        self._forward('v2_runner_on_start', host, task)

    def v2_playbook_on_include(self, included_file):
        self._forward('v2_playbook_on_include', included_file)

    def v2_playbook_on_no_hosts_matched(self):
        self._forward('v2_playbook_on_no_hosts_matched')

    def v2_playbook_on_no_hosts_remaining(self):
        self._forward('v2_playbook_on_no_hosts_remaining')

    def v2_on_file_diff(self, result):
        self._forward('v2_on_file_diff', result)

    # --- the end ---------------------------------------------------------------------------------------
    def v2_playbook_on_stats(self, stats):
        self._close_play()
        self._forward('v2_playbook_on_stats', stats)
        totals = dict((key, 0) for key in ('ok', 'changed', 'failures', 'unreachable'))
        for host in sorted(stats.processed):
            summary = stats.summarize(host)
            for key in totals:
                totals[key] += summary.get(key, 0)
        elapsed = time.time() - self._run_start
        self._display.display('%s: %d host(s), %d changed, %d failed, %d unreachable, %.0fs' % (
            self._playbook, len(stats.processed), totals['changed'], totals['failures'], totals['unreachable'], elapsed))
        times_path = self.get_option('times_path')
        if times_path:
            with open(times_path, 'w') as handle:
                json.dump({'playbook': self._playbook, 'seconds': round(elapsed, 2), 'plays': self._times,
                           'changed': totals['changed'], 'failures': totals['failures'],
                           'unreachable': totals['unreachable']}, handle, indent=1)
        if self._log is not None:
            self._log.close()
            self._display.display('full log: %s' % self.get_option('log_path'))
