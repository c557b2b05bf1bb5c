# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A LAN made of network namespaces, for discovery tests: nothing here touches the machine's own network.

One namespace is the controller, with a bridge ``br0`` holding the controller's address; each Pi is a
namespace whose ``eth0`` (a veth with a Raspberry Pi MAC) is bridged there. Addresses come from
198.18.0.0/15 (RFC 2544, for benchmarking), one /24 per LAN. mDNS responders are python-zeroconf
processes inside the Pi namespaces. Every command and wait has a timeout; ``close()`` removes it all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
RESPONDER = os.path.join(HERE, 'mdns_responder.py')
COMMAND_TIMEOUT = 30
READY_TIMEOUT = 30


def ip(*args, **kwargs):
    subprocess.run(['ip'] + list(args), check=True, timeout=COMMAND_TIMEOUT, capture_output=True, **kwargs)


class Lan(object):
    """A bridged LAN of namespaces with the controller at .1 of `subnet` (a '198.18.N' prefix)."""

    def __init__(self, subnet):
        self.subnet = subnet
        self.tag = uuid.uuid4().hex[:6]
        self.controller = 'pc%s-ctl' % self.tag
        self.controller_ip = '%s.1' % subnet
        self.namespaces = [self.controller]
        self.processes = []
        ip('netns', 'add', self.controller)
        ip('-n', self.controller, 'link', 'set', 'lo', 'up')
        ip('-n', self.controller, 'link', 'add', 'br0', 'address', '02:00:00:00:00:01', 'type', 'bridge')
        ip('-n', self.controller, 'addr', 'add', self.controller_ip + '/24', 'dev', 'br0')
        ip('-n', self.controller, 'link', 'set', 'br0', 'up')

    def add_pi(self, mac, host):
        """A Pi namespace with eth0 = `mac` at <subnet>.<host>/24; returns (namespace, address)."""
        index = len(self.namespaces)
        namespace = 'pc%s-%d' % (self.tag, index)
        address = '%s.%d' % (self.subnet, host)
        ip('netns', 'add', namespace)
        self.namespaces.append(namespace)
        ip('-n', namespace, 'link', 'set', 'lo', 'up')
        ip('link', 'add', 'v%s%d' % (self.tag, index), 'netns', self.controller, 'type', 'veth',
           'peer', 'name', 'eth0', 'netns', namespace)
        ip('-n', namespace, 'link', 'set', 'eth0', 'address', mac)
        ip('-n', namespace, 'addr', 'add', address + '/24', 'dev', 'eth0')
        ip('-n', namespace, 'link', 'set', 'eth0', 'up')
        ip('-n', self.controller, 'link', 'set', 'v%s%d' % (self.tag, index), 'master', 'br0')
        ip('-n', self.controller, 'link', 'set', 'v%s%d' % (self.tag, index), 'up')
        return namespace, address

    def run(self, namespace, argv, timeout=COMMAND_TIMEOUT, env=None):
        return subprocess.run(['ip', 'netns', 'exec', namespace] + list(argv), capture_output=True, text=True,
                              timeout=timeout, env=env, check=False)

    def say_hello(self, namespace):
        """One UDP datagram from a Pi to the controller's discard port: the Pi ARPs for the controller, and the
        controller's kernel learns the Pi's MAC from that request (passive, as on a real LAN)."""
        code = ('import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); '
                's.sendto(b"hello", (%r, 9))' % self.controller_ip)
        result = self.run(namespace, [sys.executable, '-c', code])
        assert result.returncode == 0, result.stderr

    def respond(self, namespace, services, lifetime=120):
        """Start a zeroconf responder in `namespace` for `services` (see mdns_responder.py); wait until it
        has registered them (bounded)."""
        process = subprocess.Popen(['ip', 'netns', 'exec', namespace, sys.executable, RESPONDER, str(lifetime)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.processes.append(process)
        process.stdin.write(json.dumps(services) + '\n')
        process.stdin.flush()
        deadline = time.monotonic() + READY_TIMEOUT
        line = ''
        while time.monotonic() < deadline and process.poll() is None:
            line = process.stdout.readline().strip()
            if line == 'ready':
                return process
        stderr = process.stderr.read() if process.poll() is not None else ''
        raise RuntimeError('mDNS responder in %s did not get ready: %s %s' % (namespace, line, stderr))

    def neighbours(self):
        result = self.run(self.controller, ['ip', '-json', 'neigh', 'show'])
        return json.loads(result.stdout or '[]')

    def controller_links(self):
        result = self.run(self.controller, ['ip', '-json', 'link', 'show'])
        return sorted(link['ifname'] for link in json.loads(result.stdout))

    def close(self):
        for process in self.processes:
            if process.poll() is None:
                process.stdin.close()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
        for namespace in reversed(self.namespaces):
            subprocess.run(['ip', 'netns', 'del', namespace], timeout=COMMAND_TIMEOUT, capture_output=True, check=False)


def unwrap(value):
    """ansible-inventory --list JSON with {'__ansible_unsafe': x} markers -> plain values."""
    if isinstance(value, dict):
        if list(value) == ['__ansible_unsafe']:
            return value['__ansible_unsafe']
        return dict((key, unwrap(item)) for key, item in value.items())
    if isinstance(value, list):
        return [unwrap(item) for item in value]
    return value
