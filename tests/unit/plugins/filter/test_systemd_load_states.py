# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""picocloud.edge.systemd_load_states: the units the base role looks for, from one systemctl show."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.filter.node_addresses import FilterModule, systemd_load_states
from ansible_collections.picocloud.edge.plugins.module_utils.node import unit_load_states

NAMES = ['dphys-swapfile.service', 'zramswap.service', 'systemd-zram-setup@zram0.service', 'rpi-zram-writeback.timer',
         'chronyd.service']
# as systemd 252 (Debian 12) prints `systemctl show --property=Id --property=LoadState -- <NAMES>` on a node with
# dphys-swapfile, a masked writeback timer, and chrony asked for by its alias
SHOWN = '''Id=dphys-swapfile.service
LoadState=loaded

Id=zramswap.service
LoadState=not-found

Id=systemd-zram-setup@zram0.service
LoadState=loaded

Id=rpi-zram-writeback.timer
LoadState=masked

Id=chrony.service
LoadState=loaded
'''


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters()['systemd_load_states'] is systemd_load_states


def test_each_unit_gets_its_load_state_under_the_name_it_was_asked_by():
    assert systemd_load_states(SHOWN, NAMES) == {
        'dphys-swapfile.service': 'loaded', 'zramswap.service': 'not-found',
        'systemd-zram-setup@zram0.service': 'loaded', 'rpi-zram-writeback.timer': 'masked',
        'chronyd.service': 'loaded'}


def test_properties_in_another_order_and_a_missing_final_newline_are_read_the_same():
    shown = 'LoadState=not-found\nId=zramswap.service\n\nLoadState=loaded\nId=chrony.service'
    assert unit_load_states(shown, ['zramswap.service', 'chrony.service']) == {
        'zramswap.service': 'not-found', 'chrony.service': 'loaded'}


def test_one_unit():
    assert unit_load_states('Id=chrony.service\nLoadState=not-found\n', ('chrony.service',)) == {
        'chrony.service': 'not-found'}


@pytest.mark.parametrize('shown, names, message', [
    (SHOWN, NAMES[:4], 'systemctl show printed 5 unit blocks for 4 units (dphys-swapfile.service, zramswap.service, '
                       'systemd-zram-setup@zram0.service, rpi-zram-writeback.timer)'),
    ('', ['chrony.service'], 'systemctl show printed 0 unit blocks for 1 units (chrony.service)'),
    ('Id=chrony.service\n', ['chrony.service'], 'systemctl show printed no LoadState for chrony.service'),
])
def test_output_that_does_not_fit_the_names_is_an_error_naming_them(shown, names, message):
    with pytest.raises(ValueError) as error:
        unit_load_states(shown, names)
    assert str(error.value) == message
    with pytest.raises(AnsibleFilterError) as error:
        systemd_load_states(shown, names)
    assert str(error.value) == 'systemd_load_states: ' + message


@pytest.mark.parametrize('shown, names', [(None, ['a.service']), (SHOWN, 'dphys-swapfile.service')])
def test_wrong_input_types_are_refused(shown, names):
    with pytest.raises(AnsibleFilterError) as error:
        systemd_load_states(shown, names)
    assert str(error.value) == ('systemd_load_states expects the text systemctl show printed and the list of unit '
                                'names')
