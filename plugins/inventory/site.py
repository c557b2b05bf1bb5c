# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
name: site
version_added: 0.2.0
short_description: A picocloud site from one declarative site file, with LAN discovery of the Raspberry Pis
description:
  - Reads a site file named C(*.picocloud.yml) or C(*.picocloud.yaml) that describes the whole site (its name,
    orchestrator, defaults, image and nodes) and builds the inventory the picocloud.edge roles and playbooks use.
  - "Groups: C(picocloud) (every declared node); C(swarm_managers), C(k3s_servers), C(consul_servers), C(registry)
    (the present nodes with that role); C(swarm_workers) on a swarm site or C(k3s_agents) on a k3s site (every other
    present node); C(absent) (nodes with O(nodes[].state=absent), kept in C(picocloud) for decommissioning but in no
    role group); C(unclaimed) (Raspberry Pis seen on the LAN that the file does not declare). Every group exists even
    when empty. Arch and board groups come from the O(keyed_groups) defaults."
  - "Variables: C(picocloud_site) and C(picocloud_orchestrator) on group C(all); O(defaults) and the site O(image)
    (as C(picocloud_base_image)) on group C(picocloud), so C(group_vars) files can still override them; per node
    C(ansible_host), C(picocloud_mac), C(picocloud_roles), C(picocloud_state), C(picocloud_board), C(picocloud_arch),
    C(picocloud_base_image), C(picocloud_network), C(picocloud_address_source) (C(pinned), C(neighbours), C(leases),
    C(mdns) or C(none)) and the node's O(nodes[].vars)."
  - "Discovery finds the live address of each node that has no pinned O(nodes[].address). The sources run in this
    order, each optional: the opt-in probe (it only feeds the next step), the controller's neighbour table
    (C(ip -json neigh show)), the DHCP lease files, mDNS (python-zeroconf browses C(_ssh._tcp) and C(_workstation._tcp),
    then resolves C(<name>.local) for the nodes still missing, within O(discovery.mdns_timeout)). A node is matched by
    its O(nodes[].mac) first, then by host name (C(picocloud_hostname) in its vars, else its name); an earlier
    source wins over a later one."
  - Unclaimed Raspberry Pis get C(picocloud_mac), C(picocloud_vendor) (from the IEEE registries), C(picocloud_board_family)
    (C(Pi 1-3), C(Pi 4) or C(Pi 5), as the MAC's OUI block implies) and C(ansible_host). Claim one by adding its MAC to
    a node in the file.
  - Everything discovery learns is marked unsafe, so text from the LAN is never templated.
  - "The same file feeds C(picocloud.edge.flash): O(nodes[].image) and O(image) become C(picocloud_base_image) and
    O(nodes[].network) becomes C(picocloud_network)."
  - Bad input fails with a message that names the file, the node and the field.
author:
  - picocloud.edge developers (@picocloud)
requirements:
  - netaddr (MA-L and IAB registries)
  - zeroconf (for the C(mdns) source)
  - iproute2 (C(ip)) on Linux, for the C(neighbours) source and the probe
  - the IEEE C(mam.csv) and C(oui36.csv) registries (Debian's C(ieee-data) package) for vendors of 28- and 36-bit blocks
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin; the file is ignored otherwise.
    type: str
    required: true
    choices: [picocloud.edge.site]
  site:
    description:
      - The name of the site (C(picocloud_site)); lower-case letters, digits, C(-) and C(_).
    type: str
    required: true
  orchestrator:
    description: The site's orchestrator (C(picocloud_orchestrator)); it decides which role groups nodes may join.
    type: str
    choices: [swarm, k3s]
    default: swarm
  defaults:
    description:
      - Variables for every declared node, set on group C(picocloud) (for example C(ansible_user), C(picocloud_user)).
      - Variables the file sets elsewhere (C(ansible_host), C(picocloud_mac), ...) are refused here.
    type: dict
    default: {}
  image:
    description:
      - The site's base image for C(picocloud.edge.flash), set as C(picocloud_base_image) on group C(picocloud).
    type: dict
    default: {}
    suboptions:
      url:
        description: Where the image is (C(https://), C(file://), ...); C(.img), C(.img.xz), C(.zip), ...
        type: str
        required: true
      sha256:
        description: The image file's sha256 (64 hex digits), checked on every download.
        type: str
        required: true
      flavor:
        description: The OS flavour for C(picocloud.edge.pi_image).
        type: str
        choices: [auto, hypriot, rpios-firstrun, rpios-cloudinit, ubuntu]
        default: auto
  discovery:
    description: How to find the nodes that have no pinned address.
    type: dict
    default: {}
    suboptions:
      sources:
        description:
          - The sources to use. They always run in this order; an empty list turns discovery off.
        type: list
        elements: str
        choices: [neighbours, leases, mdns]
        default: [neighbours, leases, mdns]
      lease_files:
        description:
          - DHCP lease files to read, each a path or a mapping with C(path) and C(format) (C(auto), C(dnsmasq), C(isc)).
        type: list
        elements: raw
        default: []
      mdns_timeout:
        description: Seconds the whole mDNS step may take (at most 30).
        type: float
        default: 2
      probe:
        description:
          - Opt-in active probing that only feeds the neighbour step; needs root or CAP_NET_RAW and the
            C(neighbours) source.
        type: dict
        suboptions:
          cidr:
            description: The IPv4 network to ask, on a link of the controller (for example C(10.42.0.0/24)).
            type: str
            required: true
          method:
            description: ARP requests, or one ICMP echo per address (the kernel's ARP then fills its table).
            type: str
            choices: [arp, ping]
            default: arp
          max_hosts:
            description: A network with more host addresses is refused (at most 4096).
            type: int
            default: 256
          timeout:
            description: Seconds the probe may take (at most 60).
            type: float
            default: 5
      unclaimed:
        description: Report undeclared Raspberry Pis in group C(unclaimed).
        type: bool
        default: true
      registry_dirs:
        description: Directories with the IEEE registry CSVs (C(mam.csv), C(oui36.csv), ...).
        type: list
        elements: path
        default: [/var/lib/ieee-data, /usr/share/ieee-data]
  nodes:
    description: The site's nodes.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The inventory name, which is also the host name.
        type: str
        required: true
      mac:
        description: The MAC of the node's wired interface (quote it in YAML); discovery matches it first.
        type: str
      address:
        description: A pinned address (C(ansible_host)); the node is not looked for.
        type: str
      roles:
        description: The node's roles; manager and server roles must fit the O(orchestrator).
        type: list
        elements: str
        choices: [swarm_manager, swarm_worker, k3s_server, k3s_agent, consul_server, registry]
        default: []
      board:
        description: The Raspberry Pi type as pi_facts names it (C(4B), C(5), C(3B+), C(Zero 2 W), ...).
        type: str
      arch:
        description: The node's Debian architecture.
        type: str
        choices: [amd64, arm64, armhf, armel, i386]
      state:
        description: C(absent) keeps the node in C(picocloud) and group C(absent), but in no role group.
        type: str
        choices: [present, absent]
        default: present
      image:
        description: The node's own C(url), C(sha256) and C(flavor), merged over the site O(image).
        type: dict
      network:
        description:
          - Static addressing for C(picocloud.edge.flash) (C(address) with prefix length, C(gateway), C(dns),
            C(interface)); its address is also the node's pinned address.
        type: dict
      vars:
        description: Any further host variables.
        type: dict
  keyed_groups:
    description: Add hosts to groups named from variables; the default makes arch and board groups.
    type: list
    elements: dict
    default:
      - key: picocloud_arch | default('unknown')
        prefix: arch
      - key: picocloud_board | default('unknown')
        prefix: board
  strict:
    description:
      - As for every constructed plugin, and also turns the quorum warning (an even number of C(consul_servers),
        C(k3s_servers) or C(swarm_managers)) into an error.
notes:
  - "Enable it with C(enable_plugins) in C([inventory]) of ansible.cfg, or leave the default C(auto) plugin on, which
    hands it files that start with C(plugin: picocloud.edge.site)."
  - "With the cache on, the cache holds the discovery results (not the site file), so an edit of the nodes shows at
    once and a change of the O(discovery) settings discovers again; C(--flush-cache) discovers anew."
  - Discovery runs on the controller and reads only its own neighbour table, the lease files you name and mDNS on its
    links; the probe sends only inside O(discovery.probe.cidr).
seealso:
  - name: Inventory guide
    description: From unboxed Pis to a converged site (docs/inventory.md in the collection).
    link: https://example.invalid/picocloud/edge/docs/inventory.md
'''

EXAMPLES = r'''
# lab.picocloud.yml: three pinned nodes, no discovery
plugin: picocloud.edge.site
site: lab
orchestrator: swarm
discovery: {sources: []}
defaults: {ansible_user: pico}
nodes:
  - {name: pico-01, address: 172.30.10.11, roles: [swarm_manager, consul_server]}
  - {name: pico-02, address: 172.30.10.12, roles: [consul_server]}
  - {name: pico-03, address: 172.30.10.13, roles: [consul_server]}

---
# berlin.picocloud.yml: found by MAC on the LAN, with an image for picocloud.edge.flash
plugin: picocloud.edge.site
site: berlin
orchestrator: k3s
image:
  url: https://downloads.example.org/2025-05-13-raspios-bookworm-arm64-lite.img.xz
  sha256: 62d025b9bc7ca0e1facfec74ae56ac13978b6745c58177f081d39fbb8041ed45
defaults:
  ansible_user: pico
  picocloud_user: {name: pico, ssh_authorized_keys: ['ssh-ed25519 AAAA... tech@laptop']}
discovery:
  sources: [neighbours, leases, mdns]
  lease_files: [/var/lib/misc/dnsmasq.leases]
  probe: {cidr: 10.42.0.0/24, method: arp}
nodes:
  - {name: pi-01, mac: "dc:a6:32:01:02:03", board: 4B, arch: arm64, roles: [k3s_server, consul_server, registry]}
  - {name: pi-02, mac: "dc:a6:32:01:02:04", board: 4B, arch: arm64, roles: [consul_server]}
  - {name: pi-03, mac: "d8:3a:dd:01:02:05", board: "5", arch: arm64, roles: [consul_server]}
  - name: pi-04
    mac: "e4:5f:01:01:02:06"
    network: {address: 10.42.0.14/24, gateway: 10.42.0.1, dns: [10.42.0.1]}
    vars: {picocloud_timezone: Europe/Berlin}
keyed_groups:
  - {key: picocloud_arch | default('unknown'), prefix: arch}
  - {key: picocloud_board | default('unknown'), prefix: board}
  - {key: picocloud_address_source, prefix: found_by}
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/picocloud/inventory
cache_timeout: 300
'''

import json

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.vars import combine_vars

from ansible_collections.picocloud.edge.plugins.plugin_utils.unsafe import make_unsafe
from ansible_collections.picocloud.edge.plugins.module_utils.inventory import plan
from ansible_collections.picocloud.edge.plugins.module_utils.inventory.discover import discover
from ansible_collections.picocloud.edge.plugins.module_utils.inventory.keys import NOT_PLAIN, plain_key_value
from ansible_collections.picocloud.edge.plugins.module_utils.inventory.match import enrich, match_nodes, unclaimed
from ansible_collections.picocloud.edge.plugins.module_utils.inventory.sitefile import SiteError, parse_site
from ansible_collections.picocloud.edge.plugins.module_utils.inventory.vendor import DEFAULT_REGISTRY_DIRS, Registry

SITE_KEYS = ('site', 'orchestrator', 'defaults', 'image', 'discovery', 'nodes')
SUFFIXES = ('.picocloud.yml', '.picocloud.yaml')


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = 'picocloud.edge.site'

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        strict = self.get_option('strict')
        try:
            site = parse_site(dict((key, self.get_option(key)) for key in SITE_KEYS), path)
            groups = plan.role_groups(site)
            for warning in plan.check_quorum(site, groups, strict):
                self.display.warning(warning)
        except SiteError as exc:
            raise AnsibleParserError(to_native(exc))
        discovered = self._discovered(site, path, cache)
        for warning in discovered['warnings']:
            self.display.warning('%s: %s' % (path, warning))
        self._populate(site, groups, discovered['observations'], strict)

    def _discovered(self, site, path, cache):
        """Discovery results, from the cache when allowed: the one place the cache is read and written."""
        settings = site['discovery']
        if not settings['sources']:
            return {'observations': [], 'warnings': []}
        fingerprint = json.dumps(settings, sort_keys=True)
        use_cache = self.get_option('cache')
        cache_key = self.get_cache_key(path)
        if use_cache and cache:
            try:
                cached = self._cache[cache_key]
            except KeyError:
                cached = None
            if isinstance(cached, dict) and cached.get('discovery') == fingerprint:
                return cached
        result = discover(settings, site['nodes'])
        result = {'discovery': fingerprint, 'observations': result['observations'], 'warnings': result['warnings']}
        if use_cache:
            self._cache[cache_key] = result
        return result

    def _populate(self, site, groups, observations, strict):
        inventory = self.inventory
        for group in plan.STANDARD_GROUPS:
            inventory.add_group(group)
        inventory.set_variable('all', 'picocloud_site', site['site'])
        inventory.set_variable('all', 'picocloud_orchestrator', site['orchestrator'])
        shared = {'picocloud_site': site['site'], 'picocloud_orchestrator': site['orchestrator']}
        shared.update(site['defaults'])
        if site['image']:
            shared['picocloud_base_image'] = site['image']
        for key, value in shared.items():
            if key not in ('picocloud_site', 'picocloud_orchestrator'):
                inventory.set_variable('picocloud', key, value)

        observations = enrich(observations)
        found, warnings = match_nodes(site['nodes'], observations)
        for warning in warnings:
            self.display.warning('%s: %s' % (site['path'], warning))
        for group, members in groups.items():
            for name in members:
                inventory.add_host(name, group=group)
        missing = []
        for node in site['nodes']:
            declared, discovered = plan.node_vars(node, found.get(node['name']))
            image = plan.node_image(site, node)
            if image:
                declared['picocloud_base_image'] = image
            if site['discovery']['sources'] and not node['address'] and node['name'] not in found:
                missing.append(node['name'])
            host_vars = dict(declared)
            host_vars.update(make_unsafe(discovered))
            self._set_host(node['name'], host_vars, shared, strict)
        if missing:
            self.display.warning('%s: discovery found no address for %d node(s): %s (not pinned, MAC and host name '
                                 'not seen)' % (site['path'], len(missing), ', '.join(missing[:20])
                                                + (', ...' if len(missing) > 20 else '')))
        if site['discovery']['unclaimed'] and observations:
            registry = Registry(site['discovery']['registry_dirs'] or DEFAULT_REGISTRY_DIRS)
            for pi in unclaimed(site['nodes'], observations, found, registry):
                name = plan.unclaimed_name(pi['mac'])
                inventory.add_host(name, group='unclaimed')
                self._set_host(name, make_unsafe(plan.unclaimed_vars(pi)), {'picocloud_site': site['site'],
                                                                            'picocloud_orchestrator': site['orchestrator']},
                               strict)
            if registry.needed_missing:
                self.display.warning('%s: MAC vendors of 28- and 36-bit blocks need the IEEE registries %s '
                                     '(Debian: apt-get install ieee-data; or name their directory in '
                                     'discovery.registry_dirs)' % (site['path'], ', '.join(sorted(registry.needed_missing))))

    def _compose(self, template, variables, disable_lookups=...):
        """Constructable._compose, without Jinja for a key that is one variable (see module_utils keys.py)."""
        if not (self.get_option('use_extra_vars') and self._vars):
            value = plain_key_value(template, variables)
            if value is not NOT_PLAIN:
                return value
        return super(InventoryModule, self)._compose(template, variables)

    def _set_host(self, name, host_vars, shared, strict):
        for key, value in host_vars.items():
            self.inventory.set_variable(name, key, value)
        variables = combine_vars(shared, host_vars)
        compose = self.get_option('compose')
        if compose:
            self._set_composite_vars(compose, variables, name, strict=strict)
            variables = combine_vars(variables, self.inventory.get_host(name).get_vars())
        self._add_host_to_composed_groups(self.get_option('groups'), variables, name, strict=strict, fetch_hostvars=False)
        self._add_host_to_keyed_groups(self.get_option('keyed_groups'), variables, name, strict=strict,
                                       fetch_hostvars=False)
