# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k3s preflight over pi_facts-shaped facts, and the join diagnostics message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import preflight

CMDLINE = 'console=serial0,115200 console=tty1 root=PARTUUID=6c586e13-02 rootfstype=ext4 fsck.repair=yes rootwait'
FLAGS = CMDLINE + ' cgroup_memory=1 cgroup_enable=memory cgroup_enable=cpuset'


def facts(board_mb=4096, memory=True, arm_version=8, debian_arch='arm64', machine='aarch64'):
    return {
        'board': {'is_raspberry_pi': True, 'type': '4B', 'memory_mb': board_mb},
        'arch': {'machine': machine, 'debian_arch': debian_arch, 'arm_version': arm_version},
        'boot': {'firmware_dir': '/boot/firmware', 'cmdline_path': '/boot/firmware/cmdline.txt'},
        'cgroups': {'version': 2, 'memory_controller': memory},
    }


def test_a_pi4_with_the_memory_controller_passes_without_warnings():
    result = preflight.preflight(facts(), 'pi-1', 'server', cmdline=FLAGS, proc_cmdline=FLAGS, cores=4,
                                 memory_mb=3794, server_count=3)
    assert result == {'ok': True, 'errors': [], 'warnings': [], 'arch': 'arm64'}


def test_armv6_is_an_error_that_names_the_node():
    result = preflight.preflight(facts(board_mb=512, arm_version=6, debian_arch='armhf', machine='armv6l'),
                                 'zero-1', 'agent', cores=1)
    assert not result['ok']
    assert result['errors'][0].startswith('zero-1: k3s publishes no ARMv6 build')
    assert result['arch'] is None


def test_memory_controller_missing_without_flags_says_to_add_them():
    result = preflight.preflight(facts(memory=False), 'pi-2', 'agent', cmdline=CMDLINE, proc_cmdline=CMDLINE)
    assert result['errors'] == [
        'pi-2: the memory cgroup controller is not enabled: add "cgroup_memory=1 cgroup_enable=memory" to the single '
        'line of /boot/firmware/cmdline.txt (the base role does this with base_cgroups: true) and reboot.']


def test_flags_in_cmdline_txt_but_not_in_the_running_kernel_say_the_reboot_is_pending():
    result = preflight.preflight(facts(memory=False), 'pi-2', 'agent', cmdline=FLAGS, proc_cmdline=CMDLINE)
    assert not result['ok']
    assert 'a reboot is pending' in result['errors'][0]
    assert '/boot/firmware/cmdline.txt has "cgroup_memory=1 cgroup_enable=memory"' in result['errors'][0]


def test_flags_in_the_running_kernel_without_the_controller_say_the_kernel_lacks_it():
    result = preflight.preflight(facts(memory=False), 'pi-2', 'agent', cmdline=FLAGS, proc_cmdline=FLAGS)
    assert 'this kernel does not provide it (cgroup version 2)' in result['errors'][0]


def test_a_controller_that_is_enabled_needs_no_flags_as_on_an_x86_lab_node():
    lab = facts(board_mb=None, debian_arch='amd64', machine='x86_64', arm_version=None)
    lab['board'] = {'is_raspberry_pi': False}
    assert preflight.preflight(lab, 'lab-1', 'server', cores=2, memory_mb=3900)['ok']


@pytest.mark.parametrize('role, cores, board_mb, memory_mb, expected', [
    ('server', 4, 1024, None, ['pi-1: 1024 MB RAM (board), below the 2048 MB that k3s documents for a server']),
    ('server', 1, 4096, None, ['pi-1: 1 CPU core(s), below the 2 that k3s documents for a server']),
    ('agent', 1, 512, None, []),
    ('agent', 1, None, 430, ['pi-1: 430 MB RAM (MemTotal), below the 512 MB that k3s documents for an agent']),
    ('server', 4, None, 1850, []),
    ('server', 4, None, 1700, ['pi-1: 1700 MB RAM (MemTotal), below the 2048 MB that k3s documents for a server']),
])
def test_nodes_below_the_documented_minimum_get_a_warning_not_an_error(role, cores, board_mb, memory_mb, expected):
    result = preflight.preflight(facts(board_mb=board_mb), 'pi-1', role, cores=cores, memory_mb=memory_mb)
    assert result['ok']
    assert result['warnings'] == expected


@pytest.mark.parametrize('count', [2, 4])
def test_an_even_number_of_servers_is_an_error(count):
    result = preflight.preflight(facts(), 'pi-1', 'server', server_count=count)
    assert not result['ok']
    assert 'use an odd number, or set k3s_allow_even_servers: true' in result['errors'][0]


def test_an_even_number_of_servers_is_a_warning_with_the_explicit_override():
    result = preflight.preflight(facts(), 'pi-1', 'server', server_count=2, allow_even_servers=True)
    assert result['ok']
    assert result['warnings'] == ['pi-1: 2 servers: embedded etcd needs a majority, so 2 servers survive the loss of '
                                  'no more servers than 1 would; use an odd number (allowed by k3s_allow_even_servers)']


def test_the_server_count_does_not_concern_agents_and_zero_servers_is_an_error():
    assert preflight.preflight(facts(), 'pi-4', 'agent', server_count=2)['ok']
    assert 'k3s_servers must hold at least one host' in preflight.preflight(
        facts(), 'pi-1', 'server', server_count=0)['errors'][0]


def test_several_problems_are_all_reported_at_once():
    result = preflight.preflight(facts(memory=False, arm_version=6, machine='armv6l', debian_arch='armhf'),
                                 'zero-1', 'server', cmdline=CMDLINE, server_count=2)
    assert len(result['errors']) == 3


@pytest.mark.parametrize('args, message', [
    ((None, 'pi-1', 'server'), 'facts: expected the picocloud facts'),
    (({}, 'pi-1', 'master'), "role: 'master' must be server or agent"),
])
def test_bad_preflight_input_is_refused(args, message):
    with pytest.raises(K3sError, match=message):
        preflight.preflight(*args)


JOURNAL = ['Dec 04 10:00:%02d pi-3 k3s[812]: time="..." level=info msg="Waiting to retrieve agent configuration"' % i
           for i in range(45)]


def test_join_diagnostics_name_node_url_port_token_and_the_last_30_journal_lines():
    message = preflight.join_diagnostics({
        'node': 'pi-3', 'role': 'server', 'server_url': 'https://192.168.50.11:6443', 'timeout': 300,
        'port_open': True, 'token_ca_hash': 'a' * 64, 'cacerts_sha256': 'a' * 64, 'secret_matched': False,
        'journal': '\n'.join(JOURNAL)})
    lines = message.splitlines()
    assert lines[0] == 'pi-3 did not join the cluster within 300s.'
    assert lines[1] == '- server URL tried: https://192.168.50.11:6443'
    assert lines[2] == '- port 6443 from pi-3: answered'
    assert lines[3] == '- token CA hash: matched'
    assert lines[4] == '- token secret: REJECTED by the server'
    assert lines[5] == '- last 30 lines of the k3s journal on pi-3:'
    assert lines[6:] == ['    ' + line for line in JOURNAL[-30:]]


def test_join_diagnostics_show_a_ca_hash_mismatch_with_both_hashes_and_a_closed_port():
    message = preflight.join_diagnostics({
        'node': 'pi-4', 'role': 'agent', 'server_url': 'https://192.168.50.10:6443', 'port_open': False,
        'token_ca_hash': 'a' * 64, 'cacerts_sha256': 'b' * 64, 'journal': []})
    assert '- port 6443 from pi-4: did not answer (wrong server address, server down, or a firewall)' in message
    assert 'DID NOT MATCH: the token carries CA hash %s, the server\'s /cacerts hashes to %s' % (
        'a' * 64, 'b' * 64) in message
    assert '- token secret: not checked' in message
    assert '- last 0 lines of the k3s-agent journal on pi-4:\n    (empty)' in message


def test_join_diagnostics_replace_control_characters_from_the_journal():
    message = preflight.join_diagnostics({'node': 'pi-4', 'journal': ['colour \x1b[31mred\x1b[0m']})
    assert '\x1b' not in message and 'colour ?[31mred?[0m' in message


def test_join_diagnostics_refuse_a_report_that_is_not_a_dict():
    with pytest.raises(K3sError, match='report: expected a dict of join facts'):
        preflight.join_diagnostics('pi-4 failed')
