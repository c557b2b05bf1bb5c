# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An mDNS responder for discovery tests (python-zeroconf), run inside a test's network namespace.

Usage: python mdns_responder.py LIFETIME_SECONDS, with one JSON line on stdin: a list of services
{"type": "_workstation._tcp.local.", "name": "pico-01 [dc:a6:32:00:00:01]", "host": "pico-01",
"address": "198.18.0.11", "port": 9}. It registers them all, waits for their announcements, prints
"ready", and answers until stdin closes or LIFETIME_SECONDS pass.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import json
import socket
import sys
import threading

from zeroconf import IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf


async def serve(services, lifetime):
    azc = AsyncZeroconf(ip_version=IPVersion.V4Only)
    infos = [ServiceInfo(item['type'], '%s.%s' % (item['name'], item['type']), port=item.get('port', 9),
                         addresses=[socket.inet_aton(item['address'])], server='%s.local.' % item['host'])
             for item in services]
    announcements = await asyncio.gather(*(azc.async_register_service(info, cooperating_responders=True)
                                           for info in infos))
    await asyncio.gather(*announcements)
    print('ready', flush=True)
    loop = asyncio.get_running_loop()
    closed = asyncio.Event()

    def watch_stdin():
        sys.stdin.read()
        loop.call_soon_threadsafe(closed.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        await asyncio.wait_for(closed.wait(), lifetime)
    except asyncio.TimeoutError:
        pass
    await azc.async_close()


def main():
    lifetime = float(sys.argv[1])
    services = json.loads(sys.stdin.readline())
    asyncio.run(serve(services, lifetime))


if __name__ == '__main__':
    main()
