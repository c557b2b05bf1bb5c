# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cmdline.txt and config.txt merging (pure functions)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.image import bootfiles

PIOS = ('console=serial0,115200 console=tty1 root=PARTUUID=5e3da3c2-02 rootfstype=ext4 fsck.repair=yes '
        'rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n')


def test_cgroup_flags_are_appended_once_in_order_on_one_line():
    merged = bootfiles.merge_cmdline(PIOS, add=bootfiles.CGROUP_TOKENS)
    assert merged.count('\n') == 1 and merged.endswith('\n')
    assert merged.split() == PIOS.split() + list(bootfiles.CGROUP_TOKENS)
    assert bootfiles.merge_cmdline(merged, add=bootfiles.CGROUP_TOKENS) == merged


def test_key_value_replaces_existing_key_in_place_and_drops_later_copies():
    merged = bootfiles.merge_cmdline('a root=/dev/sda2 b root=/dev/sdb1 c\n', add=['root=PARTUUID=1-02'])
    assert merged == 'a root=PARTUUID=1-02 b c\n'


def test_multi_value_keys_are_added_not_replaced():
    merged = bootfiles.merge_cmdline('console=serial0,115200 cgroup_enable=cpuset\n',
                                     add=['console=tty1', 'cgroup_enable=memory'])
    assert merged.split() == ['console=serial0,115200', 'cgroup_enable=cpuset', 'console=tty1', 'cgroup_enable=memory']


def test_existing_duplicates_are_collapsed_and_no_token_is_ever_twice():
    merged = bootfiles.merge_cmdline('quiet rootwait quiet\n', add=['quiet', 'splash', 'splash'])
    assert merged == 'quiet rootwait splash\n'


def test_remove_exact_token_key_and_bare_flag():
    text = 'quiet splash init=/x plymouth.ignore-serial-consoles console=tty1 console=serial0,115200\n'
    merged = bootfiles.merge_cmdline(text, remove=['splash', 'init', 'console=tty1'])
    assert merged == 'quiet plymouth.ignore-serial-consoles console=serial0,115200\n'


def test_only_the_first_line_counts_and_the_result_is_one_line():
    assert bootfiles.merge_cmdline('a b\nignored c\n', add=['d']) == 'a b d\n'
    assert bootfiles.merge_cmdline('', add=['a']) == 'a\n'


def test_token_with_whitespace_is_refused():
    with pytest.raises(bootfiles.BootFileError, match='whitespace'):
        bootfiles.merge_cmdline('a\n', add=['b c'])


CONFIG = """# header comment
dtparam=audio=on
arm_64bit=0
dtoverlay=vc4-kms-v3d

[cm4]
# cm4 comment
otg_mode=1

[all]
max_framebuffers=2
"""


def test_all_settings_go_to_the_last_all_section_and_others_stay_intact():
    merged = bootfiles.merge_config(CONFIG, {'all': {'gpu_mem': 16}})
    sections = bootfiles.config_sections(merged)
    assert sections['cm4'] == bootfiles.config_sections(CONFIG)['cm4']
    assert merged.endswith('[all]\nmax_framebuffers=2\ngpu_mem=16\n')
    assert '# header comment' in merged and '# cm4 comment' in merged


def test_scalar_replaces_last_occurrence_in_its_section_in_place():
    merged = bootfiles.merge_config(CONFIG, {'cm4': {'otg_mode': 0}, 'all': {'max_framebuffers': 4}})
    assert 'otg_mode=0' in merged and 'otg_mode=1' not in merged
    assert merged.index('otg_mode=0') < merged.index('[all]')
    assert 'max_framebuffers=4' in merged and 'max_framebuffers=2' not in merged


def test_top_section_is_used_for_all_when_no_all_filter_exists():
    text = 'arm_64bit=0\n\n[pi4]\narm_boost=1\n'
    merged = bootfiles.merge_config(text, {'all': {'arm_64bit': 1, 'dtoverlay': ['a', 'b']}})
    assert merged == 'arm_64bit=1\ndtoverlay=a\ndtoverlay=b\n\n[pi4]\narm_boost=1\n'


def test_list_values_add_missing_lines_once():
    merged = bootfiles.merge_config(CONFIG, {'all': {'dtoverlay': ['vc4-kms-v3d', 'disable-bt']}})
    assert merged.count('dtoverlay=vc4-kms-v3d') == 1
    assert merged.count('dtoverlay=disable-bt') == 1
    assert bootfiles.merge_config(merged, {'all': {'dtoverlay': ['vc4-kms-v3d', 'disable-bt']}}) == merged


def test_missing_section_is_appended_and_merge_is_idempotent():
    merged = bootfiles.merge_config(CONFIG, {'pi5': {'usb_max_current_enable': True}})
    assert merged.endswith('\n[pi5]\nusb_max_current_enable=1\n')
    assert bootfiles.merge_config(merged, {'pi5': {'usb_max_current_enable': True}}) == merged


def test_commented_settings_are_left_alone():
    merged = bootfiles.merge_config('#dtparam=spi=on\n', {'all': {'dtparam': ['spi=on']}})
    assert merged == '#dtparam=spi=on\ndtparam=spi=on\n'


@pytest.mark.parametrize('settings, message', [
    ({'all': {'bad key': 1}}, "config_txt.all key 'bad key' is not a config.txt setting name"),
    ({'all': {'x\n': 1}}, "config_txt.all key 'x\\n' is not a config.txt setting name"),
    ({'all': {'x': 'a\nb'}}, "config_txt.all.x='a\\nb' contains a control character (U+000A)"),
    ({'all': {'x': 'on\r'}}, "config_txt.all.x='on\\r' contains a control character (U+000D)"),
    ({'all': {'x': ['a', 'b\u2028c']}}, 'contains a control character (U+2028)'),
    ({'all': {'x': {'nested': 1}}}, 'must be a string, number or boolean'),
    ({'all': 'x'}, 'must be a mapping'),
])
def test_bad_config_settings_are_refused(settings, message):
    with pytest.raises(bootfiles.BootFileError, match=re.escape(message)):
        bootfiles.merge_config(CONFIG, settings)


def test_a_carriage_return_would_start_a_new_line_for_the_firmware():
    """splitlines() (and a firmware reading CR as a line end) sees 'arm_freq=2000' as its own setting."""
    assert 'gpu_mem=16\rarm_freq=2000'.splitlines() == ['gpu_mem=16', 'arm_freq=2000']
    with pytest.raises(bootfiles.BootFileError, match='U\\+000D'):
        bootfiles.merge_config(CONFIG, {'all': {'gpu_mem': '16\rarm_freq=2000'}})


@pytest.mark.parametrize('section', ['pi4]x', 'pi4] [all', 'pi 4', 'EDID=DEL DELL', '', '[]', 'a' * 65, 'pi4#x'])
def test_a_section_that_is_not_a_conditional_filter_is_a_clear_error_not_a_type_error(section):
    """The old code wrote '[pi4]x]', could not find that section again and failed with a TypeError."""
    with pytest.raises(bootfiles.BootFileError, match='is not a config.txt conditional filter') as info:
        bootfiles.merge_config(CONFIG, {section: {'gpu_mem': 16}})
    assert repr(section) in str(info.value)


@pytest.mark.parametrize('section', ['pi3+', 'cm4s', 'board-type=0x14', 'EDID=DEL-DELL_U2422H', '0x12345678', 'gpio4=1',
                                     'HDMI:0', 'tryboot', 'none', '[pi02]'])
def test_every_documented_filter_form_is_accepted_and_found_again(section):
    merged = bootfiles.merge_config(CONFIG, {section: {'gpu_mem': 16}})
    name = section.strip('[]')
    assert bootfiles.config_sections(merged)[name] == ['[%s]' % name, 'gpu_mem=16']
    assert bootfiles.merge_config(merged, {section: {'gpu_mem': 16}}) == merged


@pytest.mark.parametrize('token', ['quiet\x00', 'a\x1bb', 'x\u2028y'])
def test_cmdline_tokens_with_control_characters_are_refused(token):
    with pytest.raises(bootfiles.BootFileError, match='whitespace or a control character'):
        bootfiles.merge_cmdline('a\n', add=[token])
