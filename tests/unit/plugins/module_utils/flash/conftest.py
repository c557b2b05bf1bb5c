# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recorded /sys/block and /proc layouts (layouts/*.json), rebuilt as real trees under tmp_path.

Each device becomes a directory under sys/devices/... with its attribute files, partitions as
sub-directories, holders/ and slaves/ entries, and sys/class/block/NAME and sys/block/NAME
symlinks pointing into sys/devices, as the kernel lays them out. A layout's "udev" entries
("MAJOR:MINOR": text) become udev's database files run/udev/data/bMAJOR:MINOR.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

LAYOUTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'layouts')


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as handle:
        handle.write(text if text.endswith('\n') else text + '\n')


def build_layout(name, root, mounts=None, edit=None):
    """Rebuild layouts/NAME.json under root; edit(layout dict), when given, changes it first."""
    with open(os.path.join(LAYOUTS, name + '.json')) as handle:
        layout = json.load(handle)
    if edit is not None:
        edit(layout)
    class_block = os.path.join(root, 'sys', 'class', 'block')
    sys_block = os.path.join(root, 'sys', 'block')
    os.makedirs(class_block)
    os.makedirs(sys_block)

    def add(dev_name, devdir, spec):
        os.makedirs(devdir, exist_ok=True)
        for rel, value in spec.get('attrs', {}).items():
            _write(os.path.join(devdir, rel), value)
        for kind in ('holders', 'slaves'):
            os.makedirs(os.path.join(devdir, kind), exist_ok=True)
            for other in spec.get(kind, []):
                open(os.path.join(devdir, kind, other), 'w').close()
        os.symlink(os.path.relpath(devdir, class_block), os.path.join(class_block, dev_name))

    for disk, spec in layout['devices'].items():
        devdir = os.path.join(root, spec['devpath'].lstrip('/'))
        add(disk, devdir, spec)
        os.symlink(os.path.relpath(devdir, sys_block), os.path.join(sys_block, disk))
        for part, part_spec in spec.get('partitions', {}).items():
            add(part, os.path.join(devdir, part), part_spec)
    _write(os.path.join(root, 'proc', 'mounts'), layout['proc_mounts'] if mounts is None else mounts)
    _write(os.path.join(root, 'proc', 'swaps'), layout['proc_swaps'])
    for devnum, text in layout.get('udev', {}).items():
        _write(os.path.join(root, 'run', 'udev', 'data', 'b' + devnum), text)
    return layout


@pytest.fixture
def sysroot(tmp_path):
    """sysroot('usb_card_reader') -> path of a rebuilt root; mounts= overrides /proc/mounts, and
    edit(layout dict) changes the layout before it is built.

    A second call with the same arguments returns the same root."""
    built = {}

    def make(name, mounts=None, edit=None):
        key = (name, mounts, edit)
        if key not in built:
            root = str(tmp_path / ('root-%s-%d' % (name, len(built))))
            build_layout(name, root, mounts, edit)
            built[key] = root
        return built[key]
    return make
