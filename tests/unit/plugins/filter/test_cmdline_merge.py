# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.cmdline_merge: the filter the base role uses on a running node's cmdline.txt."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.filter.cmdline_merge import FilterModule, cmdline_merge

BOOKWORM = ('console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes '
            'rootwait quiet splash plymouth.ignore-serial-consoles cfg80211.ieee80211_regdom=GB\n')
CGROUPS = ['cgroup_memory=1', 'cgroup_enable=memory', 'cgroup_enable=cpuset']


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters()['cmdline_merge'] is cmdline_merge


def test_adds_cgroup_flags_at_the_end_keeping_order_and_everything_else():
    merged = cmdline_merge(BOOKWORM, add=CGROUPS)
    assert merged == BOOKWORM[:-1] + ' cgroup_memory=1 cgroup_enable=memory cgroup_enable=cpuset\n'


def test_merging_twice_is_a_no_op():
    once = cmdline_merge(BOOKWORM, add=CGROUPS)
    assert cmdline_merge(once, add=CGROUPS) == once


def test_each_flag_appears_exactly_once_when_some_were_present():
    merged = cmdline_merge('root=/dev/mmcblk0p2 cgroup_enable=memory rootwait\n', add=CGROUPS)
    tokens = merged.split()
    for flag in CGROUPS:
        assert tokens.count(flag) == 1
    assert tokens[:3] == ['root=/dev/mmcblk0p2', 'cgroup_enable=memory', 'rootwait']


def test_result_is_one_line_even_when_the_file_had_a_stray_second_line():
    merged = cmdline_merge('root=/dev/mmcblk0p2 rootwait\nnot read by the firmware\n', add=CGROUPS)
    assert merged.count('\n') == 1 and merged.endswith('\n')
    assert 'firmware' not in merged


def test_missing_trailing_newline_is_added():
    assert cmdline_merge('root=/dev/sda2 rootwait', add=[]) == 'root=/dev/sda2 rootwait\n'


def test_a_string_of_tokens_is_accepted():
    assert cmdline_merge('rootwait\n', add='cgroup_memory=1 cgroup_enable=memory') == 'rootwait cgroup_memory=1 cgroup_enable=memory\n'


def test_remove_drops_tokens():
    assert cmdline_merge(BOOKWORM, remove=['quiet', 'splash']).split() == [t for t in BOOKWORM.split() if t not in ('quiet', 'splash')]


def test_token_with_whitespace_is_refused_clearly():
    with pytest.raises(AnsibleFilterError, match='whitespace'):
        cmdline_merge('rootwait\n', add=['cgroup_memory=1 cgroup_enable=memory'])


def test_non_text_input_is_refused_clearly():
    with pytest.raises(AnsibleFilterError, match='text of cmdline.txt'):
        cmdline_merge(['rootwait'], add=CGROUPS)


def test_bad_add_type_is_refused_clearly():
    with pytest.raises(AnsibleFilterError, match='add must be a list'):
        cmdline_merge('rootwait\n', add=5)


def test_none_input_gives_only_the_added_tokens():
    assert cmdline_merge(None, add=['cgroup_memory=1']) == 'cgroup_memory=1\n'
