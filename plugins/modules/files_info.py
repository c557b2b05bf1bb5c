#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: files_info
short_description: Stat several files, checksum them, and read the small ones asked for, in one call
version_added: 0.2.0
description:
  - For each path that exists, returns whether it is a regular file, a directory or a symlink, its mode, owner,
    group and size, and for regular files the sha1 checksum (as M(ansible.builtin.find) and M(ansible.builtin.copy)
    report it). The files named in O(read) are also returned as text.
  - Symlinks are reported and never followed. Paths that do not exist are left out of the result.
author:
  - picocloud.edge developers (@picocloud)
attributes:
  check_mode:
    support: full
    description: The module only reads, so check mode returns the same result.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
  idempotent:
    support: full
    description: Read-only; every run reports C(changed=false).
options:
  paths:
    description: Absolute paths to look at.
    type: list
    elements: path
    required: true
  read:
    description: Paths (also in O(paths)) whose content to return; each must be a regular UTF-8 text file of at most O(max_bytes).
    type: list
    elements: path
    default: []
  max_bytes:
    description: The largest file O(read) returns.
    type: int
    default: 65536
notes:
  - picocloud.edge.pki uses it to decide, from one look at a node, which certificates need (re)issuing and which key,
    certificate and CA files need writing. M(ansible.builtin.find) gives the checksums and modes and
    M(ansible.builtin.slurp) the contents, but that is two round trips per call; on the 3-node lab, under load, each
    took 1 to 3.5 seconds of a no-op run. This module does both in one. Never name a private key in O(read).
'''

EXAMPLES = r'''
- name: Look at the Docker API's TLS files and read its certificate
  picocloud.edge.files_info:
    paths: [/etc/docker/tls, /etc/docker/tls/docker.pem, /etc/docker/tls/docker-key.pem, /etc/docker/tls/ca.pem]
    read: [/etc/docker/tls/docker.pem]
  register: tls_files

- name: Show the key's mode
  ansible.builtin.debug:
    msg: "{{ tls_files.files['/etc/docker/tls/docker-key.pem'].mode | default('missing') }}"
'''

RETURN = r'''
files:
  description: Per path that exists, what it is.
  returned: always
  type: dict
  contains:
    path:
      description: The path.
      type: str
    isreg:
      description: Whether it is a regular file.
      type: bool
    isdir:
      description: Whether it is a directory.
      type: bool
    islnk:
      description: Whether it is a symlink (not followed).
      type: bool
    mode:
      description: The permission bits, four octal digits.
      type: str
      sample: "0600"
    pw_name:
      description: The owner's name (or number when it has none).
      type: str
    gr_name:
      description: The group's name (or number when it has none).
      type: str
    size:
      description: The size in bytes.
      type: int
    checksum:
      description: The sha1 of a regular file's content.
      type: str
      returned: for regular files
    content:
      description: The file's text.
      type: str
      returned: for the paths in O(read)
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.picocloud.edge.plugins.module_utils.files import FilesError, files_info


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type='list', elements='path', required=True),
            read=dict(type='list', elements='path', default=[]),
            max_bytes=dict(type='int', default=65536),
        ),
        supports_check_mode=True,
    )
    try:
        found = files_info(module.params['paths'], module.params['read'], module.params['max_bytes'])
    except (FilesError, OSError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, files=found)


if __name__ == '__main__':
    main()
