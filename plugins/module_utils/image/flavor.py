# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Telling which OS a card image holds, from its own boot partition.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Markers (sources in docs/image.md):
- HypriotOS: image-builder-rpi copies /etc/os-release, with HYPRIOT_* lines, to /boot/os-release,
  and ships user-data/meta-data/network-config for cloud-init 0.7.9 (NoCloud seed links);
- Raspberry Pi OS with cloud-init (Trixie, from the 2025-10 images): user-data, meta-data and
  network-config next to issue.txt ("Raspberry Pi reference ...") on the ``bootfs`` partition;
- Ubuntu Server for Raspberry Pi: user-data/meta-data/network-config on ``system-boot``, with a
  README that names Ubuntu and the kernel as vmlinuz/initrd.img;
- Raspberry Pi OS with firstrun (Bookworm and the first Trixie release): issue.txt and/or
  cmdline.txt and no cloud-init files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

FLAVORS = ('hypriot', 'rpios-firstrun', 'rpios-cloudinit', 'ubuntu')
CLOUD_INIT_FLAVORS = ('hypriot', 'rpios-cloudinit', 'ubuntu')
CLOUD_INIT_FILES = ('user-data', 'meta-data', 'network-config')
# Files read from the boot partition to decide; each small.
MARKER_FILES = ('os-release', 'issue.txt', 'README', 'cmdline.txt') + CLOUD_INIT_FILES


class FlavorError(Exception):
    """The flavour cannot be told."""


def _text(files, name):
    data = files.get(name)
    if data is None:
        return None
    return data.decode('utf-8', 'replace')


def detect(files, names, label=''):
    """Flavour from {marker name: bytes or None}, the root listing and the volume label.

    Returns (flavor, reason). Raises FlavorError when nothing matches.
    """
    lower = set(name.lower() for name in names)
    os_release = _text(files, 'os-release') or ''
    issue = _text(files, 'issue.txt') or ''
    readme = _text(files, 'README') or ''
    user_data = _text(files, 'user-data') or ''
    label = (label or '').strip()
    has_cloud_init = any(name in lower for name in CLOUD_INIT_FILES)

    if 'HYPRIOT' in os_release.upper():
        return 'hypriot', 'os-release names HypriotOS'
    if has_cloud_init:
        if 'hypriot' in user_data.lower() or label.lower() == 'hypriotos':
            return 'hypriot', 'cloud-init files with a HypriotOS user-data or label'
        if 'raspberry pi reference' in issue.lower() or (issue and label.lower() == 'bootfs'):
            return 'rpios-cloudinit', 'cloud-init files next to Raspberry Pi OS issue.txt'
        if ('ubuntu' in readme.lower() or label.lower() == 'system-boot'
                or ('vmlinuz' in lower and 'initrd.img' in lower)):
            return 'ubuntu', 'cloud-init files on an Ubuntu system-boot partition'
        raise FlavorError('the boot partition has cloud-init files (%s) but no marker of HypriotOS, Raspberry Pi OS '
                          'or Ubuntu; set flavor explicitly'
                          % ', '.join(sorted(name for name in CLOUD_INIT_FILES if name in lower)))
    if 'issue.txt' in lower or 'cmdline.txt' in lower:
        return 'rpios-firstrun', 'issue.txt/cmdline.txt without cloud-init files'
    raise FlavorError('unknown flavour: the boot partition has none of os-release, issue.txt, cmdline.txt, '
                      'user-data or meta-data (volume label %r); set flavor to one of %s'
                      % (label, ', '.join(FLAVORS)))
