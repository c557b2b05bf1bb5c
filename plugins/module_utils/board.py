# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Board, architecture, boot and power decoding for picocloud.edge.

Private to the picocloud.edge collection: no compatibility promise to
other collections. Every function here is pure (text in, dict out) so
it can be unit-tested against recorded /proc and /sys contents.

The revision-code layout follows the Raspberry Pi documentation
("Raspberry Pi revision codes"): new-style codes have bit 23 set and
encode NOQuuuWuFMMMCCCCPPPPTTTTTTTTRRRR.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

NEW_STYLE_FLAG = 1 << 23

MEMORY_MB = {0: 256, 1: 512, 2: 1024, 3: 2048, 4: 4096, 5: 8192, 6: 16384}

MANUFACTURERS = {
    0: 'Sony UK',
    1: 'Egoman',
    2: 'Embest',
    3: 'Sony Japan',
    4: 'Embest',
    5: 'Stadium',
}

PROCESSORS = {0: 'BCM2835', 1: 'BCM2836', 2: 'BCM2837', 3: 'BCM2711', 4: 'BCM2712'}

BOARD_TYPES = {
    0x00: 'A',
    0x01: 'B',
    0x02: 'A+',
    0x03: 'B+',
    0x04: '2B',
    0x05: 'Alpha',
    0x06: 'CM1',
    0x08: '3B',
    0x09: 'Zero',
    0x0a: 'CM3',
    0x0c: 'Zero W',
    0x0d: '3B+',
    0x0e: '3A+',
    0x0f: 'Internal',
    0x10: 'CM3+',
    0x11: '4B',
    0x12: 'Zero 2 W',
    0x13: '400',
    0x14: 'CM4',
    0x15: 'CM4S',
    0x16: 'Internal',
    0x17: '5',
    0x18: 'CM5',
    0x19: '500',
    0x1a: 'CM5 Lite',
}

# Old-style codes (bit 23 clear): code -> (type, pcb revision, memory MB, manufacturer).
# All of them carry a BCM2835.
OLD_STYLE_CODES = {
    0x0002: ('B', '1.0', 256, 'Egoman'),
    0x0003: ('B', '1.0', 256, 'Egoman'),
    0x0004: ('B', '2.0', 256, 'Sony UK'),
    0x0005: ('B', '2.0', 256, 'Qisda'),
    0x0006: ('B', '2.0', 256, 'Egoman'),
    0x0007: ('A', '2.0', 256, 'Egoman'),
    0x0008: ('A', '2.0', 256, 'Sony UK'),
    0x0009: ('A', '2.0', 256, 'Qisda'),
    0x000d: ('B', '2.0', 512, 'Egoman'),
    0x000e: ('B', '2.0', 512, 'Sony UK'),
    0x000f: ('B', '2.0', 512, 'Egoman'),
    0x0010: ('B+', '1.2', 512, 'Sony UK'),
    0x0011: ('CM1', '1.0', 512, 'Sony UK'),
    0x0012: ('A+', '1.1', 256, 'Sony UK'),
    0x0013: ('B+', '1.2', 512, 'Embest'),
    0x0014: ('CM1', '1.0', 512, 'Embest'),
    0x0015: ('A+', '1.1', 256, 'Embest'),
}

# Bits of `vcgencmd get_throttled` (and of the firmware sysfs file).
THROTTLE_BITS = {
    'under_voltage_now': 0,
    'freq_capped_now': 1,
    'throttled_now': 2,
    'soft_temp_limit_now': 3,
    'under_voltage_occurred': 16,
    'freq_capped_occurred': 17,
    'throttled_occurred': 18,
    'soft_temp_limit_occurred': 19,
}

# uname -m -> Debian architecture, used when dpkg cannot tell us.
DEBIAN_ARCH = {
    'x86_64': 'amd64',
    'amd64': 'amd64',
    'i386': 'i386',
    'i586': 'i386',
    'i686': 'i386',
    'aarch64': 'arm64',
    'arm64': 'arm64',
    'armv8l': 'armhf',
    'armv7l': 'armhf',
    'armv6l': 'armel',
}

ARM_VERSION = {'aarch64': 8, 'arm64': 8, 'armv8l': 8, 'armv7l': 7, 'armv6l': 6}


class RevisionError(ValueError):
    """A revision code that cannot be decoded."""


def empty_board():
    """The board dict for a machine that is not a Raspberry Pi."""
    return {
        'is_raspberry_pi': False,
        'model': None,
        'revision': None,
        'type': None,
        'memory_mb': None,
        'processor': None,
        'manufacturer': None,
        'pcb_revision': None,
        'warranty_voided': None,
    }


def parse_revision(code):
    """Turn '0xa02082', 'a02082', '1000002' or an int into an int."""
    if isinstance(code, bool):
        raise RevisionError('revision code must be a hex string or an integer, not a boolean')
    if isinstance(code, int):
        value = code
    else:
        text = str(code).strip().lower()
        if text.startswith('0x'):
            text = text[2:]
        if not text or not re.match(r'^[0-9a-f]+$', text):
            raise RevisionError('%r is not a hexadecimal Raspberry Pi revision code' % (code,))
        value = int(text, 16)
    if value < 0 or value > 0xffffffff:
        raise RevisionError('revision code %r is out of range' % (code,))
    return value


def decode_revision(code):
    """Decode a revision code into the `board` dict (without `model`).

    Raises RevisionError when the code is not valid hex or is an unknown
    old-style code.
    """
    value = parse_revision(code)
    board = empty_board()
    board['is_raspberry_pi'] = True
    if value & NEW_STYLE_FLAG:
        board['revision'] = '%06x' % value
        board['memory_mb'] = MEMORY_MB.get((value >> 20) & 0x7)
        board['manufacturer'] = MANUFACTURERS.get((value >> 16) & 0xf)
        board['processor'] = PROCESSORS.get((value >> 12) & 0xf)
        board['type'] = BOARD_TYPES.get((value >> 4) & 0xff)
        board['pcb_revision'] = '1.%d' % (value & 0xf)
        board['warranty_voided'] = bool((value >> 25) & 0x1)
        return board
    # Old style: a leading 1 (bit 24, "1000002") marks an over-volted board.
    warranty_voided = bool(value & (1 << 24))
    base = value & 0xffff
    if base not in OLD_STYLE_CODES:
        raise RevisionError('unknown old-style Raspberry Pi revision code %04x' % base)
    board_type, pcb, memory, maker = OLD_STYLE_CODES[base]
    board['revision'] = '%04x' % base
    board['type'] = board_type
    board['pcb_revision'] = pcb
    board['memory_mb'] = memory
    board['manufacturer'] = maker
    board['processor'] = 'BCM2835'
    board['warranty_voided'] = warranty_voided
    return board


def cpuinfo_revision(cpuinfo_text):
    """Return the `Revision` field of /proc/cpuinfo, or None."""
    for line in (cpuinfo_text or '').splitlines():
        key, sep, value = line.partition(':')
        if sep and key.strip().lower() == 'revision':
            value = value.strip()
            if value:
                return value
    return None


def clean_model(text):
    """Device-tree strings end with a NUL; strip it and whitespace."""
    if text is None:
        return None
    model = text.replace('\x00', '').strip()
    return model or None


def board_facts(cpuinfo_text, model_text):
    """Board facts from /proc/cpuinfo and the device-tree model string.

    A machine is a Raspberry Pi when the device-tree model says so; the
    revision code is decoded only then (x86 cpuinfo has no Revision line,
    and other ARM boards use the field differently).
    """
    model = clean_model(model_text)
    if not model or not model.startswith('Raspberry Pi'):
        board = empty_board()
        board['model'] = model
        return board
    revision = cpuinfo_revision(cpuinfo_text)
    if revision is None:
        board = empty_board()
        board['is_raspberry_pi'] = True
    else:
        try:
            board = decode_revision(revision)
        except RevisionError:
            board = empty_board()
            board['is_raspberry_pi'] = True
            board['revision'] = revision.lower()
    board['model'] = model
    return board


def arch_facts(machine, dpkg_arch=None):
    """Architecture facts from `uname -m` and, when known, dpkg's view.

    dpkg wins for `debian_arch` because a 64-bit kernel can run a 32-bit
    userland (Raspberry Pi OS 32-bit on a Pi 4 reports aarch64).
    """
    machine = (machine or '').strip()
    debian_arch = (dpkg_arch or '').strip() or DEBIAN_ARCH.get(machine)
    return {
        'machine': machine,
        'debian_arch': debian_arch,
        'arm_version': ARM_VERSION.get(machine),
    }


def boot_facts(existing_paths):
    """Pick the Raspberry Pi boot directory from the set of existing paths.

    Bookworm and later mount the FAT partition at /boot/firmware; older
    releases at /boot. A directory counts only when it holds cmdline.txt
    or config.txt, so an x86 /boot does not pass for a Pi boot partition.
    """
    paths = set(existing_paths)
    for firmware_dir in ('/boot/firmware', '/boot'):
        cmdline = firmware_dir + '/cmdline.txt'
        config = firmware_dir + '/config.txt'
        if cmdline in paths or config in paths:
            return {
                'firmware_dir': firmware_dir,
                'cmdline_path': cmdline if cmdline in paths else None,
                'config_path': config if config in paths else None,
            }
    return {'firmware_dir': None, 'cmdline_path': None, 'config_path': None}


BOOT_CANDIDATES = (
    '/boot/firmware/cmdline.txt',
    '/boot/firmware/config.txt',
    '/boot/cmdline.txt',
    '/boot/config.txt',
)


def cgroup_facts(v2_controllers_text, proc_cgroups_text):
    """cgroup version and whether the memory controller is usable.

    `v2_controllers_text` is /sys/fs/cgroup/cgroup.controllers (None when
    absent, meaning no unified hierarchy); `proc_cgroups_text` is
    /proc/cgroups, whose `enabled` column tells for v1.
    """
    if v2_controllers_text is not None:
        controllers = v2_controllers_text.split()
        return {'version': 2, 'memory_controller': 'memory' in controllers}
    enabled = False
    for line in (proc_cgroups_text or '').splitlines():
        if line.startswith('#'):
            continue
        fields = line.split()
        if len(fields) >= 4 and fields[0] == 'memory':
            enabled = fields[3] == '1'
    return {'version': 1, 'memory_controller': enabled}


def parse_throttled(text):
    """Decode `throttled=0x50005` (vcgencmd) or `50005` (sysfs) into flags.

    Returns None when the text is empty or not hex.
    """
    if text is None:
        return None
    value = text.strip()
    if '=' in value:
        value = value.split('=', 1)[1].strip()
    if value.lower().startswith('0x'):
        value = value[2:]
    if not value or not re.match(r'^[0-9a-fA-F]+$', value):
        return None
    bits = int(value, 16)
    flags = dict((name, bool(bits & (1 << bit))) for name, bit in THROTTLE_BITS.items())
    flags['raw'] = '0x%x' % bits
    return flags


def parse_temperature(text):
    """Thermal zone millidegrees ('48312') -> degrees C (48.3), or None."""
    if text is None:
        return None
    try:
        return round(int(text.strip()) / 1000.0, 1)
    except ValueError:
        return None


def power_facts(throttled_text, temperature_text):
    """The `power` fact: throttling flags (when known) plus temperature."""
    flags = parse_throttled(throttled_text)
    power = dict((name, None) for name in THROTTLE_BITS)
    power['raw'] = None
    power['available'] = flags is not None
    if flags:
        power.update(flags)
    power['temperature_c'] = parse_temperature(temperature_text)
    return power
