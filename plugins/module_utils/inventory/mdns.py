# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mDNS discovery with python-zeroconf: browse ``_ssh._tcp`` and ``_workstation._tcp``, then resolve
``<name>.local`` for the nodes still missing, all inside one bounded time window.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Avahi (Raspberry Pi OS, HypriotOS) names its workstation service ``<host> [<mac>]``, so a
``_workstation._tcp`` answer carries the MAC; an ``_ssh._tcp`` answer carries the host name and
address only. The window is split: browsing stops once no new service has appeared for
``QUIET`` seconds (after at least two query rounds) or when a quarter of the window is left for
the host-name look-ups; the look-ups end with the window.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import re

try:
    from zeroconf import AddressResolverIPv4, IPVersion, ServiceStateChange
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf
    HAS_ZEROCONF = True
except ImportError:
    HAS_ZEROCONF = False

from ansible_collections.picocloud.edge.plugins.module_utils.inventory.leases import short_hostname
from ansible_collections.picocloud.edge.plugins.module_utils.inventory.neighbours import observation
from ansible_collections.picocloud.edge.plugins.module_utils.inventory.sitefile import normalise_mac

SERVICE_TYPES = ('_workstation._tcp.local.', '_ssh._tcp.local.')
WORKSTATION = re.compile(r'(?P<host>.+?) \[(?P<mac>[0-9A-Fa-f:]{17})\]\._workstation\._tcp\.local\.')
# zeroconf's browser asks at once and again after about a second: wait for both rounds.
MIN_BROWSE = 1.3
QUIET = 0.4
RESOLVE_SHARE = 0.25
MAX_PARALLEL_LOOKUPS = 64


class MdnsError(Exception):
    """mDNS discovery cannot run."""


def parse_workstation(name):
    """'pico-01 [dc:a6:32:00:00:01]._workstation._tcp.local.' -> ('pico-01', 'dc:a6:32:00:00:01')."""
    match = WORKSTATION.fullmatch(name)
    if not match:
        return None, None
    try:
        mac = normalise_mac(match.group('mac'))
    except ValueError:
        mac = None
    return short_hostname(match.group('host')), mac


def service_observations(name, server, addresses):
    """Observations for one resolved service: its server host name, the MAC a workstation name
    carries, and each IPv4 address."""
    host, mac = parse_workstation(name)
    hostname = short_hostname(server) or host
    return [observation(mac, address, 'mdns', hostname=hostname, rank=0 if mac else 1) for address in addresses]


async def _lookup_services(zeroconf, names, deadline, loop):
    infos = [AsyncServiceInfo(service_type, name) for name, service_type in names.items()]
    remaining_ms = max(0.0, deadline - loop.time()) * 1000
    if infos and remaining_ms:
        await asyncio.gather(*(info.async_request(zeroconf, remaining_ms) for info in infos))
    found = []
    for info in infos:
        addresses = info.parsed_addresses(IPVersion.V4Only)
        if addresses:
            found.extend(service_observations(info.name, info.server, addresses))
    return found


async def _lookup_hosts(zeroconf, hostnames, deadline, loop):
    limit = asyncio.Semaphore(MAX_PARALLEL_LOOKUPS)
    found = []

    async def resolve(hostname):
        async with limit:
            remaining_ms = (deadline - loop.time()) * 1000
            if remaining_ms <= 0:
                return
            resolver = AddressResolverIPv4(hostname + '.local.')
            if await resolver.async_request(zeroconf, remaining_ms):
                for address in resolver.parsed_addresses(IPVersion.V4Only):
                    found.append(observation(None, address, 'mdns', hostname=hostname, rank=2))

    await asyncio.gather(*(resolve(hostname) for hostname in hostnames))
    return found


async def _discover(timeout, hostnames):
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = start + timeout
    azc = AsyncZeroconf(ip_version=IPVersion.V4Only)
    names = {}
    last_new = [start]

    def on_change(zeroconf, service_type, name, state_change):
        if state_change is not ServiceStateChange.Removed and name not in names:
            names[name] = service_type
            last_new[0] = loop.time()

    browser = AsyncServiceBrowser(azc.zeroconf, list(SERVICE_TYPES), handlers=[on_change])
    try:
        browse_end = deadline - (timeout * RESOLVE_SHARE if hostnames else 0.0)
        while loop.time() < browse_end:
            now = loop.time()
            if now - start >= min(MIN_BROWSE, browse_end - start) and now - last_new[0] >= QUIET:
                break
            await asyncio.sleep(0.05)
        found = await _lookup_services(azc.zeroconf, names, deadline, loop)
        seen = set(item['hostname'] for item in found)
        missing = [hostname for hostname in hostnames if hostname not in seen]
        found.extend(await _lookup_hosts(azc.zeroconf, missing, deadline, loop))
        return found
    finally:
        await browser.async_cancel()
        await azc.async_close()


def discover(timeout, hostnames=()):
    """Observations from mDNS within `timeout` seconds; `hostnames` are short names to resolve as
    <name>.local when browsing did not show them. MdnsError when zeroconf is missing or fails."""
    if not HAS_ZEROCONF:
        raise MdnsError('mDNS discovery needs the python zeroconf library on the controller '
                        '(pip install zeroconf; see requirements.txt), or leave mdns out of discovery.sources')
    try:
        return asyncio.run(asyncio.wait_for(_discover(timeout, list(hostnames)), timeout + 2.0))
    except asyncio.TimeoutError:
        raise MdnsError('mDNS discovery did not finish within %.1f s' % (timeout + 2.0))
    except OSError as exc:
        raise MdnsError('mDNS discovery cannot open its sockets: %s' % exc)
