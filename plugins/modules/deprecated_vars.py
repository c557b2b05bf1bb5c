#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: deprecated_vars
short_description: Warn about renamed variables that are still set
version_added: 0.2.0
description:
  - Emits one Ansible deprecation warning for each variable in O(renamed) that is defined for the host, naming
    its replacement and the release that removes the old name.
  - The picocloud.edge.picocloud site layer runs it once per play, so a renamed role variable keeps working for
    one release and the user is told which name to use.
  - An action plugin, it runs on the controller and changes nothing.
author:
  - picocloud.edge developers (@picocloud)
attributes:
  check_mode:
    support: full
    description: Changes nothing.
  diff_mode:
    support: none
    description: Changes nothing.
  idempotent:
    support: full
    description: Always C(changed=false).
options:
  renamed:
    description: Old variable name -> what to use instead.
    type: dict
    required: true
  version:
    description: The collection release that removes the old names.
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Warn about renamed variables that are still set
  picocloud.edge.deprecated_vars:
    renamed:
      docker_secrets_dir: picocloud_secrets_dir
    version: 0.3.0
'''

RETURN = r'''
still_set:
  description: The old names that are still set for this host.
  returned: always
  type: list
  elements: str
  sample: [docker_secrets_dir]
'''
