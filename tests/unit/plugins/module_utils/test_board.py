# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Board decoding against /proc/cpuinfo and device-tree texts of real boards.

The codes and model strings are taken from the published Raspberry Pi
revision-code table; the cpuinfo bodies are shaped like the kernel's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils import board

ARMV6_HEAD = (
    "processor\t: 0\nmodel name\t: ARMv6-compatible processor rev 7 (v6l)\n"
    "BogoMIPS\t: 697.95\nFeatures\t: half thumb fastmult vfp edsp java tls\n"
    "CPU implementer\t: 0x41\nCPU architecture: 7\nCPU variant\t: 0x0\nCPU part\t: 0xb76\n\n"
)
ARMV8_HEAD = (
    "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n"
    "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\n\n"
)


def cpuinfo(head, hardware, revision, model):
    return "%sHardware\t: %s\nRevision\t: %s\nSerial\t\t: 10000000a1b2c3d4\nModel\t\t: %s\n" % (
        head, hardware, revision, model)


# (fixture name, cpuinfo head, revision, device-tree model, expected subset)
BOARDS = [
    ('zero-w', ARMV6_HEAD, '9000c1', 'Raspberry Pi Zero W Rev 1.1',
     {'type': 'Zero W', 'memory_mb': 512, 'processor': 'BCM2835', 'manufacturer': 'Sony UK', 'pcb_revision': '1.1'}),
    ('zero-2-w', ARMV8_HEAD, '902120', 'Raspberry Pi Zero 2 W Rev 1.0',
     {'type': 'Zero 2 W', 'memory_mb': 512, 'processor': 'BCM2837', 'manufacturer': 'Sony UK'}),
    ('3b', ARMV8_HEAD, 'a02082', 'Raspberry Pi 3 Model B Rev 1.2',
     {'type': '3B', 'memory_mb': 1024, 'processor': 'BCM2837', 'manufacturer': 'Sony UK', 'pcb_revision': '1.2'}),
    ('3b-embest', ARMV8_HEAD, 'a22082', 'Raspberry Pi 3 Model B Rev 1.2',
     {'type': '3B', 'memory_mb': 1024, 'manufacturer': 'Embest'}),
    ('4b-1gb', ARMV8_HEAD, 'a03111', 'Raspberry Pi 4 Model B Rev 1.1',
     {'type': '4B', 'memory_mb': 1024, 'processor': 'BCM2711'}),
    ('4b-2gb', ARMV8_HEAD, 'b03112', 'Raspberry Pi 4 Model B Rev 1.2',
     {'type': '4B', 'memory_mb': 2048, 'processor': 'BCM2711', 'pcb_revision': '1.2'}),
    ('4b-4gb', ARMV8_HEAD, 'c03114', 'Raspberry Pi 4 Model B Rev 1.4',
     {'type': '4B', 'memory_mb': 4096, 'processor': 'BCM2711'}),
    ('4b-8gb', ARMV8_HEAD, 'd03115', 'Raspberry Pi 4 Model B Rev 1.5',
     {'type': '4B', 'memory_mb': 8192, 'processor': 'BCM2711', 'pcb_revision': '1.5'}),
    ('5-4gb', ARMV8_HEAD, 'c04170', 'Raspberry Pi 5 Model B Rev 1.0',
     {'type': '5', 'memory_mb': 4096, 'processor': 'BCM2712', 'manufacturer': 'Sony UK'}),
    ('5-8gb', ARMV8_HEAD, 'd04170', 'Raspberry Pi 5 Model B Rev 1.0',
     {'type': '5', 'memory_mb': 8192, 'processor': 'BCM2712'}),
    ('5-16gb', ARMV8_HEAD, 'e04171', 'Raspberry Pi 5 Model B Rev 1.1',
     {'type': '5', 'memory_mb': 16384, 'processor': 'BCM2712'}),
    ('b-rev2-old-style', ARMV6_HEAD, '000e', 'Raspberry Pi Model B Rev 2',
     {'type': 'B', 'memory_mb': 512, 'processor': 'BCM2835', 'manufacturer': 'Sony UK',
      'pcb_revision': '2.0', 'revision': '000e', 'warranty_voided': False}),
    ('b-plus-overvolted-old-style', ARMV6_HEAD, '1000010', 'Raspberry Pi Model B Plus Rev 1.2',
     {'type': 'B+', 'memory_mb': 512, 'revision': '0010', 'warranty_voided': True}),
]


@pytest.mark.parametrize('name, head, revision, model, expected', BOARDS, ids=[b[0] for b in BOARDS])
def test_board_facts_decode_recorded_boards(name, head, revision, model, expected):
    facts = board.board_facts(cpuinfo(head, 'BCM2835', revision, model), model + '\x00')
    assert facts['is_raspberry_pi'] is True
    assert facts['model'] == model
    for key, value in expected.items():
        assert facts[key] == value, (name, key)


def test_new_style_revision_is_six_hex_digits_lower_case():
    assert board.decode_revision('0xD03115')['revision'] == 'd03115'
    assert board.decode_revision(0xd03115)['type'] == '4B'


def test_new_style_warranty_bit_25():
    assert board.decode_revision('2a02082')['warranty_voided'] is True
    assert board.decode_revision('a02082')['warranty_voided'] is False


@pytest.mark.parametrize('bad', ['', 'xyz', '12 34', '0x', True, -1, 0x1ffffffff])
def test_decode_revision_refuses_garbage(bad):
    with pytest.raises(board.RevisionError):
        board.decode_revision(bad)


def test_unknown_old_style_code_is_refused_with_the_code():
    with pytest.raises(board.RevisionError, match='0001'):
        board.decode_revision('0001')


def test_x86_machine_is_not_a_pi_and_never_fails():
    x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R)\n"
    facts = board.board_facts(x86, None)
    assert facts == board.empty_board()


def test_other_arm_board_with_revision_field_is_not_a_pi():
    facts = board.board_facts(cpuinfo(ARMV8_HEAD, 'sun50iw1p1', '0000', 'Pine64+'), 'Pine64+\x00')
    assert facts['is_raspberry_pi'] is False
    assert facts['model'] == 'Pine64+'
    assert facts['type'] is None


def test_pi_with_unknown_revision_keeps_the_raw_code():
    facts = board.board_facts(cpuinfo(ARMV8_HEAD, 'BCM2835', '0001', 'Raspberry Pi Model B'), 'Raspberry Pi Model B')
    assert facts['is_raspberry_pi'] is True
    assert facts['revision'] == '0001'
    assert facts['type'] is None


def test_pi_without_revision_line():
    facts = board.board_facts(ARMV8_HEAD, 'Raspberry Pi 4 Model B Rev 1.4\x00')
    assert facts['is_raspberry_pi'] is True
    assert facts['revision'] is None


@pytest.mark.parametrize('machine, dpkg, expected', [
    ('x86_64', 'amd64', {'machine': 'x86_64', 'debian_arch': 'amd64', 'arm_version': None}),
    ('aarch64', None, {'machine': 'aarch64', 'debian_arch': 'arm64', 'arm_version': 8}),
    ('aarch64', 'armhf\n', {'machine': 'aarch64', 'debian_arch': 'armhf', 'arm_version': 8}),
    ('armv7l', None, {'machine': 'armv7l', 'debian_arch': 'armhf', 'arm_version': 7}),
    ('armv6l', 'armhf', {'machine': 'armv6l', 'debian_arch': 'armhf', 'arm_version': 6}),
    ('armv6l', None, {'machine': 'armv6l', 'debian_arch': 'armel', 'arm_version': 6}),
    ('riscv64', None, {'machine': 'riscv64', 'debian_arch': None, 'arm_version': None}),
])
def test_arch_facts(machine, dpkg, expected):
    assert board.arch_facts(machine, dpkg) == expected


def test_boot_facts_bookworm_prefers_firmware_dir():
    facts = board.boot_facts(['/boot/firmware/cmdline.txt', '/boot/firmware/config.txt', '/boot/config.txt'])
    assert facts == {'firmware_dir': '/boot/firmware', 'cmdline_path': '/boot/firmware/cmdline.txt',
                     'config_path': '/boot/firmware/config.txt'}


def test_boot_facts_bullseye_uses_boot():
    facts = board.boot_facts(['/boot/cmdline.txt'])
    assert facts == {'firmware_dir': '/boot', 'cmdline_path': '/boot/cmdline.txt', 'config_path': None}


def test_boot_facts_x86_is_all_null():
    assert board.boot_facts([]) == {'firmware_dir': None, 'cmdline_path': None, 'config_path': None}


def test_cgroup_v2_with_and_without_memory():
    assert board.cgroup_facts('cpuset cpu io memory hugetlb pids\n', None) == {'version': 2, 'memory_controller': True}
    assert board.cgroup_facts('cpuset cpu io pids\n', None) == {'version': 2, 'memory_controller': False}


def test_cgroup_v1_reads_enabled_column():
    proc = "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t2\t1\t1\nmemory\t0\t1\t0\n"
    assert board.cgroup_facts(None, proc) == {'version': 1, 'memory_controller': False}
    assert board.cgroup_facts(None, proc.replace('memory\t0\t1\t0', 'memory\t3\t40\t1'))['memory_controller'] is True


def test_throttled_vcgencmd_output_decodes_every_flag():
    flags = board.parse_throttled('throttled=0x50005\n')
    assert flags['raw'] == '0x50005'
    assert flags['under_voltage_now'] is True
    assert flags['throttled_now'] is True
    assert flags['freq_capped_now'] is False
    assert flags['soft_temp_limit_now'] is False
    assert flags['under_voltage_occurred'] is True
    assert flags['throttled_occurred'] is True
    assert flags['freq_capped_occurred'] is False


def test_throttled_sysfs_form_and_garbage():
    assert board.parse_throttled('80000\n')['soft_temp_limit_occurred'] is True
    assert board.parse_throttled('') is None
    assert board.parse_throttled('throttled=nope') is None
    assert board.parse_throttled(None) is None


def test_power_facts_without_firmware_has_null_flags_and_temperature():
    power = board.power_facts(None, '48312\n')
    assert power['available'] is False
    assert power['under_voltage_now'] is None
    assert power['temperature_c'] == 48.3
    assert board.power_facts('throttled=0x0', 'junk')['temperature_c'] is None
    assert board.power_facts('throttled=0x0', None)['available'] is True
