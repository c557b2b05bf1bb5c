# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for get-pip.py in ansible-test's pip bootstrap.

ansible-test creates a virtualenv without pip for each sanity test, then
runs a get-pip.py bootstrap script that it downloads from
ci-files.testing.ansible.com. That host is out of reach on our build and
CI machines (only PyPI and Debian are), so `make sanity` seeds
ansible-test's cache with this script instead:

    python scripts/ansible_test_pip_bootstrap.py --seed

When ansible-test runs it as its bootstrap, it installs the pip bundled
with Python (ensurepip), then installs exactly the packages ansible-test
asked for (for example ``pip==24.2``) from the package index.
"""

from __future__ import absolute_import, division, print_function

import ensurepip
import os
import shutil
import subprocess
import sys


def seed():
    """Copy this script to the cache path ansible-test looks in."""
    from ansible_test._internal.python_requirements import get_venv_packages  # pylint: disable=import-error
    from ansible_test._internal.host_configs import NativePythonConfig  # pylint: disable=import-error

    version = get_venv_packages(NativePythonConfig(version='%d.%d' % sys.version_info[:2]))['pip']
    target = os.path.expanduser('~/.ansible/test/cache/get_pip_%s.py' % version.replace('.', '_'))
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.abspath(__file__), target)
        print('seeded ansible-test pip %s bootstrap: %s' % (version, target))


def bootstrap(args):
    """Install bundled pip, then the requested packages."""
    saved = os.environ.get('PIP_CONFIG_FILE')
    ensurepip.bootstrap(default_pip=True)
    # ensurepip points PIP_CONFIG_FILE at /dev/null for its own run; put the
    # user's pip configuration (index, certificates) back for the real install.
    os.environ.pop('PIP_CONFIG_FILE', None)
    if saved is not None:
        os.environ['PIP_CONFIG_FILE'] = saved
    packages = [arg for arg in args if arg not in ('--no-setuptools', '--no-wheel')]
    return subprocess.call([sys.executable, '-m', 'pip', 'install'] + packages)


if __name__ == '__main__':
    if sys.argv[1:] == ['--seed']:
        seed()
    else:
        sys.exit(bootstrap(sys.argv[1:]))
