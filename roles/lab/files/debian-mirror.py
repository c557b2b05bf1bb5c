# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print the Debian mirror of this machine's own apt sources (`--proxy`: its apt http proxy).

debian-fetch.sh and build-node-image.sh use it when PICOCLOUD_DEBIAN_MIRROR is not set; the lab role's
default comes from the same code through the picocloud.edge.apt_mirror lookup. It needs only the
Python standard library: the collection's module_utils are loaded from their files.
"""
import importlib.util
import os
import sys
import types

# roles/lab/files/ -> the collection's plugins/module_utils/
UTILS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'plugins', 'module_utils')
PACKAGE = 'ansible_collections.picocloud.edge.plugins.module_utils'


def load(name):
    """Load module_utils/<name>.py under its collection name (outside Ansible, without the collection loader)."""
    parts = PACKAGE.split('.')
    for i in range(1, len(parts) + 1):
        sys.modules.setdefault('.'.join(parts[:i]), types.ModuleType('.'.join(parts[:i])))
    spec = importlib.util.spec_from_file_location(PACKAGE + '.' + name, os.path.join(UTILS, name + '.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


load('node')
apt_sources = load('apt_sources')
print(apt_sources.system_proxy() if sys.argv[1:] == ['--proxy'] else apt_sources.system_mirror())
