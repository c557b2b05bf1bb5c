# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site layer (picocloud.edge.picocloud's main.yml, which every role runs first) run by ansible-playbook on
localhost: a picocloud_registry_name that no image name or certs.d directory can spell (a port, a scheme, upper case,
a space, IPv6) stops the host there, naming the variable, before the task after it; a good name and no name pass."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys

import pytest

PLAYBOOK = '''
- name: The site layer on its own
  hosts: picocloud
  gather_facts: false
  roles:
    - role: picocloud.edge.picocloud
  tasks:
    - name: Mark that the site layer passed
      ansible.builtin.copy:
        content: "passed\\n"
        dest: "%(out)s/{{ inventory_hostname }}.passed"
        mode: "0600"
'''

BAD = {'port': 'registry.site:5000', 'scheme': 'https://registry.site', 'upper': 'Registry.Site',
       'space': 'reg istry', 'ipv6': 'fd00::1'}
GOOD = {'name': 'registry.site', 'address': '10.0.0.11', 'none': ''}


@pytest.fixture(scope='module')
def played(tmp_path_factory, run_local_play):
    tmp_path = tmp_path_factory.mktemp('site-layer')
    out = tmp_path / 'out'
    out.mkdir()
    hosts = dict((host, {'picocloud_registry_name': name}) for host, name in list(BAD.items()) + list(GOOD.items()))
    inventory = {'all': {
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable, 'picocloud_site': 'unit',
                 'picocloud_secrets_dir': str(tmp_path / 'secrets')},
        'children': {'picocloud': {'hosts': hosts}}}}
    log, recap = run_local_play(tmp_path, inventory, PLAYBOOK % {'out': out})
    assert set(recap) == set(hosts), log
    return log, recap, {path.name.split('.')[0] for path in out.iterdir()}


@pytest.mark.parametrize('host', sorted(BAD))
def test_a_registry_name_no_image_can_spell_stops_the_host_naming_the_variable(played, host):
    log, recap, passed = played
    assert host not in passed
    assert 'failed=1' in recap[host] and 'changed=0' in recap[host]
    message = ('picocloud_registry_name=%r is refused: use a lower-case host name or an IPv4 address, without scheme '
               'or port (image names and certs.d directories spell it so; the port is picocloud_registry_port)'
               % (BAD[host],))
    assert message in log, log


@pytest.mark.parametrize('host', sorted(GOOD))
def test_a_host_name_an_ipv4_address_or_no_name_passes(played, host):
    log, recap, passed = played
    assert host in passed, log
    assert 'failed=0' in recap[host]
