# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k3s versions: reading k3s --version, ordering versions, and refusing upgrades that skip a minor version."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError
from ansible_collections.picocloud.edge.plugins.module_utils.k3s import version


@pytest.mark.parametrize('text, expected', [
    ('k3s version v1.33.4+k3s1 (5a4d7a1b)\ngo version go1.24.5\n', 'v1.33.4+k3s1'),
    ('k3s version v1.30.14+k3s2 (c1de3a2e)', 'v1.30.14+k3s2'),
    ('k3s-stand-in version v1.33.0+standin1 (stand-in, not k3s)\n', 'v1.33.0+standin1'),
    ('k3s version v1.34.0-rc1+k3s1 (abc)', 'v1.34.0-rc1+k3s1'),
])
def test_the_version_is_read_from_the_first_line_of_k3s_version(text, expected):
    assert version.from_output(text) == expected


@pytest.mark.parametrize('text', ['', 'k3s', 'k3s version latest (x)', 'go version go1.24.5\nk3s version v1.33.4+k3s1',
                                  'k3s version v1.33 (x)'])
def test_output_without_a_version_on_its_first_line_is_refused(text):
    with pytest.raises(K3sError, match='k3s --version'):
        version.from_output(text)


@pytest.mark.parametrize('text', ['1.33.4+k3s1', 'v1.33', 'v1.33.4+k3s1\n', 'v1.33.4+k3s 1', None, 'v1.33.4+\x1b'])
def test_a_version_must_be_v_major_minor_patch_with_an_optional_suffix(text):
    with pytest.raises(K3sError, match='is not a k3s version such as v1.33.4'):
        version.parse(text)


def test_versions_order_by_number_then_release_after_rc_then_build_number():
    ordered = ['v1.33.4-rc1+k3s1', 'v1.33.4+k3s1', 'v1.33.4+k3s2', 'v1.33.10+k3s1', 'v1.34.0+k3s1']
    keys = [version.parse(text)['key'] for text in ordered]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize('current, target, result', [
    ('v1.33.4+k3s1', 'v1.33.4+k3s1', 'same'),
    ('v1.33.4+k3s1', 'v1.33.5+k3s1', 'upgrade'),
    ('v1.33.4+k3s1', 'v1.33.4+k3s2', 'upgrade'),
    ('v1.33.4+k3s1', 'v1.34.0+k3s1', 'upgrade'),
    ('v1.33.0+standin1', 'v1.34.0+standin1', 'upgrade'),
])
def test_a_patch_or_the_next_minor_version_is_an_upgrade(current, target, result):
    assert version.step(current, target) == result


def test_skipping_a_minor_version_is_refused_naming_the_node_the_versions_and_the_skipped_minors():
    with pytest.raises(K3sError) as caught:
        version.step('v1.31.2+k3s1', 'v1.34.0+k3s1', node='pi-2')
    message = str(caught.value)
    assert message.startswith('pi-2: runs v1.31.2+k3s1 and k3s_version is v1.34.0+k3s1: that skips v1.32, v1.33;')
    assert 'first to the newest v1.32.x release' in message


def test_a_downgrade_and_a_new_major_version_are_refused():
    with pytest.raises(K3sError, match='^pi-1: runs v1.34.1\\+k3s1, newer than k3s_version v1.34.0\\+k3s1; k3s does not'):
        version.step('v1.34.1+k3s1', 'v1.34.0+k3s1', node='pi-1')
    with pytest.raises(K3sError, match='a new major version is not a supported upgrade'):
        version.step('v1.34.1+k3s1', 'v2.0.0+k3s1')


def test_the_plan_sorts_nodes_in_order_and_collects_every_refusal():
    installed = {'pi-1': 'v1.33.4+k3s1', 'pi-2': 'v1.34.0+k3s1', 'pi-3': None, 'pi-4': 'v1.32.9+k3s1',
                 'pi-5': 'v1.33.9+k3s1'}
    plan = version.upgrade_plan(installed, 'v1.34.0+k3s1')
    assert plan['target'] == 'v1.34.0+k3s1'
    assert plan['minor'] == 'v1.34'
    assert plan['upgrade'] == ['pi-1', 'pi-5']
    assert plan['same'] == ['pi-2']
    assert plan['errors'] == [
        'pi-3: k3s is not installed; converge it with picocloud.edge.site first',
        'pi-4: runs v1.32.9+k3s1 and k3s_version is v1.34.0+k3s1: that skips v1.33; upgrade one minor version at a '
        'time (first to the newest v1.33.x release)']


def test_a_bad_target_or_an_empty_inventory_is_refused_before_any_node_is_looked_at():
    with pytest.raises(K3sError, match='^k3s_version: .latest. is not a k3s version'):
        version.upgrade_plan({'pi-1': 'v1.33.4+k3s1'}, 'latest')
    with pytest.raises(K3sError, match='^installed: expected'):
        version.upgrade_plan({}, 'v1.33.4+k3s1')


@pytest.mark.parametrize('text', ['v1.30.2+k3s1', 'v1.33.0+standin1', 'v1.34.0-rc1+k3s1'])
def test_a_release_to_install_has_its_build_suffix(text):
    assert version.release(text)['version'] == text


@pytest.mark.parametrize('text', ['v1.30.2', 'v1.34.0-rc1'])
def test_a_release_without_its_build_suffix_is_refused_naming_k3s_version_with_an_example(text):
    message = ('k3s_version: %r has no build suffix; k3s --version prints one, so give the whole release, e.g. '
               'v1.30.2+k3s1' % (text,))
    with pytest.raises(K3sError) as info:
        version.release(text)
    assert str(info.value) == message
    with pytest.raises(K3sError) as info:
        version.upgrade_plan({'pi-1': 'v1.30.1+k3s1'}, text)
    assert str(info.value) == message
    with pytest.raises(K3sError) as info:
        version.step('v1.30.1+k3s1', text, node='pi-1')
    assert str(info.value) == message


def test_an_installed_version_is_still_read_without_a_suffix():
    assert version.parse('v1.30.2')['build'] is None
