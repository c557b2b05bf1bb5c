# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operating-system facts of a node (os-release, memory, swap areas, init system, unit states), from file and
command texts.

Private to the picocloud.edge collection. Pure functions: pi_facts reads the files and passes their
text in, so every function is tested against recorded texts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# The site registry's name as image names and certs.d directories spell it: a lower-case DNS name or an IPv4
# address, without scheme or port (picocloud_registry_port is the port).
_REGISTRY_HOST_RE = re.compile(r'(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*')


def parse_os_release(text):
    """The KEY=value pairs of an os-release file, quotes removed; {} for None or empty text."""
    values = {}
    for line in (text or '').splitlines():
        line = line.strip()
        if not line or line.startswith('#') or '=' not in line:
            continue
        key, value = line.split('=', 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in '"\'':
            value = value[1:-1]
        values[key.strip()] = value
    return values


def os_facts(os_release_text):
    """The `os` fact: os-release ID, ID_LIKE (a list), VERSION_ID, VERSION_CODENAME and PRETTY_NAME.

    Raspberry Pi OS 32-bit says ID=raspbian, 64-bit says ID=debian; HypriotOS says ID=raspbian.
    Missing keys are null, and a Debian testing/sid without VERSION_CODENAME keeps it null.
    """
    values = parse_os_release(os_release_text)
    return {
        'id': values.get('ID') or None,
        'id_like': values.get('ID_LIKE', '').split(),
        'version_id': values.get('VERSION_ID') or None,
        'version_codename': values.get('VERSION_CODENAME') or None,
        'pretty_name': values.get('PRETTY_NAME') or None,
    }


def parse_meminfo(text):
    """/proc/meminfo as {key: kB}."""
    values = {}
    for line in (text or '').splitlines():
        key, sep, rest = line.partition(':')
        fields = rest.split()
        if sep and fields and fields[0].isdigit():
            values[key.strip()] = int(fields[0])
    return values


def memory_facts(meminfo_text, board_memory_mb=None):
    """The `memory` fact, in MB.

    `total_mb` is what the kernel manages (MemTotal) and `available_mb` what it could give to new work
    (MemAvailable); `nominal_mb` is the board's size when the revision code tells it (a 1 GB Pi reports
    about 920 MB MemTotal), else `total_mb`. Roles compare requirements against `nominal_mb`.
    """
    values = parse_meminfo(meminfo_text)
    total = values.get('MemTotal', 0) // 1024 if 'MemTotal' in values else None
    available = values.get('MemAvailable', 0) // 1024 if 'MemAvailable' in values else None
    return {
        'total_mb': total,
        'available_mb': available,
        'nominal_mb': board_memory_mb if board_memory_mb else total,
        'swap_total_mb': values.get('SwapTotal', 0) // 1024 if 'SwapTotal' in values else None,
    }


def swap_facts(proc_swaps_text, container=None):
    """The `swap` fact: the active swap areas from /proc/swaps.

    Inside a container /proc/swaps shows the host kernel's swap, which the node must never touch, so
    `host_kernel` is true there and `areas` is empty. Each area: path, type (file, partition, ...),
    size_mb, used_mb, priority, and `zram` (a compressed RAM device).
    """
    if container:
        return {'host_kernel': True, 'areas': []}
    areas = []
    for line in (proc_swaps_text or '').splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5:
            continue
        path = fields[0].replace('\\040', ' ')
        areas.append({
            'path': path,
            'type': fields[1],
            'size_mb': int(fields[2]) // 1024 if fields[2].isdigit() else None,
            'used_mb': int(fields[3]) // 1024 if fields[3].isdigit() else None,
            'priority': int(fields[4]) if fields[4].lstrip('-').isdigit() else None,
            'zram': path.startswith('/dev/zram'),
        })
    return {'host_kernel': False, 'areas': areas}


def init_facts(pid1_comm, container_text=None):
    """The `init` fact: the init system (the name of PID 1: systemd, init, openrc-init, ...) and the
    container type systemd detected (/run/systemd/container: docker, lxc, systemd-nspawn, ...) or null.
    """
    comm = (pid1_comm or '').strip() or None
    return {
        'system': comm,
        'systemd': comm == 'systemd',
        'container': (container_text or '').strip() or None,
    }


def unit_load_states(show_text, names):
    """{name: LoadState} for the units `names`, from the output of
    ``systemctl show --property=Id --property=LoadState -- <names...>``.

    systemctl prints one block of properties per unit named, in the order named, with an empty line between blocks;
    a unit that does not exist has the LoadState ``not-found``, a masked one ``masked``. The blocks are matched to
    `names` by position (an alias is shown under its unit's Id), and a count that differs is an error.
    """
    names = list(names)
    blocks = [block for block in (show_text or '').strip('\n').split('\n\n') if block.strip()]
    if len(blocks) != len(names):
        raise ValueError('systemctl show printed %d unit blocks for %d units (%s)' % (len(blocks), len(names), ', '.join(names)))
    states = {}
    for name, block in zip(names, blocks):
        properties = dict(line.split('=', 1) for line in block.splitlines() if '=' in line)
        if 'LoadState' not in properties:
            raise ValueError('systemctl show printed no LoadState for %s' % name)
        states[name] = properties['LoadState']
    return states


# Interfaces that belong to container runtimes, overlays and VPNs, not to the node's own network.
VIRTUAL_INTERFACE_PREFIXES = ('lo', 'docker', 'br-', 'veth', 'vxlan', 'vx-', 'cni', 'flannel', 'cali', 'kube',
                              'tun', 'tap', 'virbr')


def own_ipv4_addresses(ansible_facts):
    """The node's own IPv4 addresses from Ansible's network facts: the default route's address first, then
    the primary address of every other interface that is not a container bridge, veth, overlay or tunnel.
    """
    addresses = []
    default = (ansible_facts.get('default_ipv4') or {}).get('address')
    if default:
        addresses.append(default)
    for name in ansible_facts.get('interfaces') or []:
        if name.startswith(VIRTUAL_INTERFACE_PREFIXES):
            continue
        address = ((ansible_facts.get(name.replace('-', '_')) or {}).get('ipv4') or {}).get('address')
        if address and address not in addresses:
            addresses.append(address)
    return addresses


def node_address(host_vars):
    """The address the other nodes and the controller reach a host on: its `picocloud_node_address` when the
    inventory sets one, else the address of its default IPv4 route from Ansible's facts, else ''.

    `host_vars` is the host's `hostvars[host]`, which holds inventory variables and facts (never role defaults),
    so the same answer comes out for the host itself and for any other host of the play.
    """
    explicit = host_vars.get('picocloud_node_address') if hasattr(host_vars, 'get') else None
    if explicit:
        return str(explicit)
    facts = (host_vars.get('ansible_facts') if hasattr(host_vars, 'get') else None) or {}
    return str((facts.get('default_ipv4') or {}).get('address') or '')


def registry_endpoint(host, port, orchestrator):
    """The site registry as every role reads it (picocloud_registry): host, port, address (host:port, the prefix of
    the site's image names and the name of its certs.d directory), url, certs_dir and tls, the CA and client
    certificate files a node presents when it pulls (Docker reads them from its certs.d directory; containerd's
    hosts.toml names them). An empty host means the site has no registry: {}."""
    if not host:
        return {}
    if not isinstance(host, str) or not _REGISTRY_HOST_RE.fullmatch(host):
        raise ValueError('picocloud_registry_name=%r is refused: use a lower-case host name or an IPv4 address, without '
                         'scheme or port (image names and certs.d directories spell it so; the port is '
                         'picocloud_registry_port)' % (host,))
    port = int(port)
    if not 0 < port < 65536:
        raise ValueError('picocloud_registry_port=%r is not a TCP port' % port)
    address = '%s:%d' % (host, port)
    certs = ('/etc/docker/certs.d/' if orchestrator == 'swarm' else '/etc/picocloud/registry/certs.d/') + address
    return {'host': host, 'port': port, 'address': address, 'url': 'https://' + address, 'certs_dir': certs,
            'tls': {'ca_file': certs + '/ca.crt', 'cert_file': certs + '/client.cert', 'key_file': certs + '/client.key'}}
