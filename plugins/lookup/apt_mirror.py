# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
name: apt_mirror
version_added: 0.2.0
short_description: The Debian mirror (or apt proxy) of the controller's own apt sources
description:
  - Returns the Debian mirror that the controller's apt sources use, as apt itself reports it
    (C(apt-get indextargets)), so one-line C(sources.list) and deb822 C(*.sources) files both count.
  - The mirror of the controller's own suite wins over other suites; C(-security) and C(-updates) archives
    are skipped. On a controller that is not Debian, or that names no Debian mirror, the O(default) is returned.
  - With O(proxy=true) it returns apt's http proxy (C(Acquire::http::Proxy)) instead, or an empty string.
  - The picocloud.edge.lab role uses it as the default of C(lab_debian_mirror), so a site with a local mirror
    or an apt proxy needs no setting.
author:
  - picocloud.edge developers (@picocloud)
options:
  default:
    description: The mirror returned when the controller's sources name none.
    type: str
    default: http://deb.debian.org/debian
  proxy:
    description: Return apt's http proxy instead of the mirror.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Show the controller's Debian mirror
  ansible.builtin.debug:
    msg: "{{ lookup('picocloud.edge.apt_mirror') }}"
'''

RETURN = r'''
_raw:
  description: The mirror URL without a trailing slash (or the proxy URL, or an empty string).
  type: list
  elements: str
'''

from ansible.plugins.lookup import LookupBase

from ansible_collections.picocloud.edge.plugins.module_utils.apt_sources import system_mirror, system_proxy


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if self.get_option('proxy'):
            return [system_proxy()]
        return [system_mirror(default=self.get_option('default'))]
