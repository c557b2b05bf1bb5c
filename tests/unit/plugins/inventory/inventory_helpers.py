# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run an inventory plugin of this collection the way ansible-inventory does, and read the result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
from ansible.template import Templar, trust_as_template


def write_config(path, config):
    with open(str(path), 'w') as handle:
        yaml.safe_dump(config, handle, default_flow_style=False)
    return str(path)


class Result(object):
    """The inventory a plugin built, and the warnings it gave."""

    def __init__(self, inventory, warnings, plugin):
        self.inventory = inventory
        self.warnings = warnings
        self.plugin = plugin

    @property
    def hosts(self):
        return sorted(self.inventory.hosts)

    def group(self, name):
        group = self.inventory.groups.get(name)
        return None if group is None else sorted(host.name for host in group.get_hosts())

    def host_vars(self, name):
        return self.inventory.get_host(name).get_vars()

    def all_vars(self, name):
        """Host vars over the vars of its groups (all, picocloud, ...), as a play sees them at inventory level."""
        host = self.inventory.get_host(name)
        merged = {}
        for group in sorted(host.get_groups(), key=lambda item: item.depth):
            merged.update(group.get_vars())
        merged.update(host.get_vars())
        return merged

    def render(self, name, template):
        """Template `template` (trusted, as a playbook's text is) with the host's variables, as a play would."""
        return Templar(loader=DataLoader(), variables=self.all_vars(name)).template(trust_as_template(template))


def run_plugin(plugin_name, path, monkeypatch, cache=True):
    """parse() with a fresh plugin instance, then write its cache as InventoryManager does."""
    plugin = inventory_loader.get(plugin_name)
    warnings = []
    monkeypatch.setattr(plugin.display, 'warning', lambda msg, *args, **kwargs: warnings.append(msg))
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), str(path), cache=cache)
    if getattr(plugin, '_cache', None) is not None:
        plugin.update_cache_if_changed()
    inventory.reconcile_inventory()
    return Result(inventory, warnings, plugin)
