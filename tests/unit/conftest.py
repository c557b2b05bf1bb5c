# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install Ansible's collection loader before any test imports ansible_collections, as the ansible CLIs
(and ansible-test units) do: the inventory plugin tests load plugins by FQCN, which needs it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.loader import init_plugin_loader

init_plugin_loader()
