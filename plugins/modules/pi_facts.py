#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: pi_facts
short_description: Gather Raspberry Pi board, architecture, boot, cgroup and power facts
version_added: 0.1.0
description:
  - Sets C(ansible_facts.picocloud) with what the picocloud.edge roles need to know about a node.
  - The board is decoded from the revision code in C(/proc/cpuinfo) (new-style codes, bit 23 set, and
    the old-style table) and the model string from the device tree.
  - On a machine that is not a Raspberry Pi the module returns C(board.is_raspberry_pi=false) and fills
    everything else that applies. It never fails because a Pi-only file is missing.
  - It also reports the operating-system facts the picocloud.edge roles decide by, so no role probes them
    with a shell. These are the os-release identity, memory (kernel total, available and the board's nominal
    size), the active swap areas, and the init system (and the container type when the node is one).
  - Reads files only; it changes nothing on the node.
author:
  - picocloud.edge developers (@picocloud)
attributes:
  check_mode:
    support: full
    description: The module only reads, so check mode returns the same facts.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
  facts:
    support: full
    description: Sets C(ansible_facts.picocloud).
  idempotent:
    support: full
    description: Read-only; every run reports C(changed=false).
options: {}
notes:
  - The power flags come from C(vcgencmd get_throttled) when it is installed, otherwise from the
    firmware sysfs file C(/sys/devices/platform/soc/soc:firmware/get_throttled). When neither exists
    C(power.available) is false and the flags are null.
  - C(arch.debian_arch) comes from C(dpkg --print-architecture) when dpkg exists, because a 64-bit
    kernel may run a 32-bit userland; otherwise it is mapped from C(uname -m).
seealso:
  - name: Raspberry Pi revision codes
    description: The published layout of the revision code that this module decodes.
    link: https://www.raspberrypi.com/documentation/computers/raspberry-pi.html#raspberry-pi-revision-codes
'''

EXAMPLES = r'''
- name: Gather Pi facts
  picocloud.edge.pi_facts:

- name: Refuse k3s on armv6 boards
  ansible.builtin.assert:
    that:
      - ansible_facts.picocloud.arch.arm_version != 6
    fail_msg: "{{ inventory_hostname }} is armv6; k3s does not support it"

- name: Show the board
  ansible.builtin.debug:
    msg: "{{ ansible_facts.picocloud.board.model }} with {{ ansible_facts.picocloud.board.memory_mb }} MB"
'''

RETURN = r'''
ansible_facts:
  description: Facts set by the module.
  returned: always
  type: dict
  contains:
    picocloud:
      description: Everything the module found, by topic.
      returned: always
      type: dict
      contains:
        board:
          description: Board identity.
          returned: always
          type: dict
          sample:
            is_raspberry_pi: true
            model: Raspberry Pi 4 Model B Rev 1.5
            revision: d03115
            type: 4B
            memory_mb: 8192
            processor: BCM2711
            manufacturer: Sony UK
            pcb_revision: '1.5'
            warranty_voided: false
        arch:
          description: C(machine) from uname, C(debian_arch) (armel, armhf, arm64, amd64) and
            C(arm_version) (6, 7, 8 or null on x86).
          returned: always
          type: dict
          sample: {machine: aarch64, debian_arch: arm64, arm_version: 8}
        boot:
          description: C(firmware_dir) (C(/boot/firmware) on Bookworm and later, C(/boot) before),
            C(cmdline_path) and C(config_path); each is null when absent.
          returned: always
          type: dict
          sample:
            firmware_dir: /boot/firmware
            cmdline_path: /boot/firmware/cmdline.txt
            config_path: /boot/firmware/config.txt
        cgroups:
          description: C(version) (1 or 2) and whether the C(memory_controller) is enabled.
          returned: always
          type: dict
          sample: {version: 2, memory_controller: true}
        os:
          description: >-
            From C(/etc/os-release): C(id) (C(debian); C(raspbian) on 32-bit Raspberry Pi OS and HypriotOS),
            C(id_like) (a list), C(version_id), C(version_codename) and C(pretty_name); null when missing.
          returned: always
          type: dict
          sample: {id: debian, id_like: [], version_id: '12', version_codename: bookworm,
                   pretty_name: Debian GNU/Linux 12 (bookworm)}
        memory:
          description: >-
            In MB: C(total_mb) (MemTotal), C(available_mb) (MemAvailable), C(nominal_mb) (the board's size from
            its revision code, else C(total_mb)) and C(swap_total_mb).
          returned: always
          type: dict
          sample: {total_mb: 3792, available_mb: 3301, nominal_mb: 4096, swap_total_mb: 0}
        swap:
          description: >-
            The active swap areas from C(/proc/swaps) (C(path), C(type), C(size_mb), C(used_mb), C(priority),
            C(zram)). Inside a container C(/proc/swaps) is the host kernel's, so C(host_kernel) is true and
            C(areas) is empty.
          returned: always
          type: dict
          sample: {host_kernel: false, areas: [{path: /var/swap, type: file, size_mb: 100, used_mb: 0,
                                                priority: -2, zram: false}]}
        init:
          description: >-
            C(system) (the name of PID 1, e.g. C(systemd)), C(systemd) (a bool) and C(container) (what systemd
            detected in C(/run/systemd/container), e.g. C(docker), or null on a machine of its own).
          returned: always
          type: dict
          sample: {system: systemd, systemd: true, container: null}
        power:
          description: Throttling flags decoded from C(get_throttled) and C(temperature_c) from the
            first thermal zone. Flags are null when C(available) is false.
          returned: always
          type: dict
          sample:
            available: true
            raw: '0x50000'
            under_voltage_now: false
            under_voltage_occurred: true
            throttled_now: false
            throttled_occurred: true
            freq_capped_now: false
            freq_capped_occurred: false
            soft_temp_limit_now: false
            soft_temp_limit_occurred: false
            temperature_c: 48.3
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.picocloud.edge.plugins.module_utils import board as board_utils
from ansible_collections.picocloud.edge.plugins.module_utils import node as node_utils

MODEL_PATHS = ('/proc/device-tree/model', '/sys/firmware/devicetree/base/model')
THROTTLED_SYSFS = '/sys/devices/platform/soc/soc:firmware/get_throttled'
THERMAL_ZONE = '/sys/class/thermal/thermal_zone0/temp'
OS_RELEASE_PATHS = ('/etc/os-release', '/usr/lib/os-release')


def read_text(path):
    """File content as text, or None when it cannot be read."""
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return None


def first_text(paths):
    for path in paths:
        text = read_text(path)
        if text is not None:
            return text
    return None


def command_output(module, args):
    """stdout of a helper command, or None when it is missing or fails."""
    binary = module.get_bin_path(args[0])
    if not binary:
        return None
    rc, out, dummy = module.run_command([binary] + list(args[1:]))
    return out if rc == 0 else None


def gather(module):
    throttled = command_output(module, ['vcgencmd', 'get_throttled'])
    if throttled is None:
        throttled = read_text(THROTTLED_SYSFS)
    board = board_utils.board_facts(read_text('/proc/cpuinfo'), first_text(MODEL_PATHS))
    init = node_utils.init_facts(read_text('/proc/1/comm'), read_text('/run/systemd/container'))
    return {
        'board': board,
        'arch': board_utils.arch_facts(os.uname()[4], command_output(module, ['dpkg', '--print-architecture'])),
        'boot': board_utils.boot_facts(p for p in board_utils.BOOT_CANDIDATES if os.path.isfile(p)),
        'cgroups': board_utils.cgroup_facts(read_text('/sys/fs/cgroup/cgroup.controllers'), read_text('/proc/cgroups')),
        'power': board_utils.power_facts(throttled, read_text(THERMAL_ZONE)),
        'os': node_utils.os_facts(first_text(OS_RELEASE_PATHS)),
        'memory': node_utils.memory_facts(read_text('/proc/meminfo'), board['memory_mb']),
        'swap': node_utils.swap_facts(read_text('/proc/swaps'), init['container']),
        'init': init,
    }


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    module.exit_json(changed=False, ansible_facts={'picocloud': gather(module)})


if __name__ == '__main__':
    main()
