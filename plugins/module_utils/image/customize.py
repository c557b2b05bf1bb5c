# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and apply the per-node customisation of a card image (the logic behind pi_image).

Private to the picocloud.edge collection: no compatibility promise to other collections.

Order of work, so that bad input loses nothing:
1. options are validated; the source's format and checksum are checked;
2. the partition table and boot partition are read (from src, or for a new dest from a
   decompressed prefix that only covers the boot partition in check mode) and the flavour told;
   every structure is checked against the partition and the image (image.mbr, image.fat), and
   every cluster chain walk is bounded;
3. every file is rendered and compared with what is on the card;
4. only then is anything written: a new dest is decompressed into a temporary file beside it,
   customised there and renamed over dest at the end; in place, each boot file is replaced with
   the crash-ordered write of image.fat, which re-checks the volume, the paths and the free room
   before its first byte. A refused change leaves the image byte-identical.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import os
import re
import tempfile

from ansible.module_utils.common.yaml import yaml_load

from ansible_collections.picocloud.edge.plugins.module_utils.image import bootfiles
from ansible_collections.picocloud.edge.plugins.module_utils.image import cloudinit
from ansible_collections.picocloud.edge.plugins.module_utils.image import fat
from ansible_collections.picocloud.edge.plugins.module_utils.image import firstrun
from ansible_collections.picocloud.edge.plugins.module_utils.image import flavor as flavor_utils
from ansible_collections.picocloud.edge.plugins.module_utils.image import mbr
from ansible_collections.picocloud.edge.plugins.module_utils.image import options as options_utils
from ansible_collections.picocloud.edge.plugins.module_utils.image import passwords
from ansible_collections.picocloud.edge.plugins.module_utils.image import source

REDACT_RE = re.compile(r'(\$(?:6|5|y|gy|2b|2y|1)\$[^\s"\']+)|(?<![0-9a-fA-F])([0-9a-f]{64})(?![0-9a-fA-F])')
ERRORS = (source.SourceError, mbr.PartitionError, fat.FatError, flavor_utils.FlavorError,
          options_utils.OptionError, bootfiles.BootFileError, cloudinit.CloudInitError, passwords.PasswordError)


class CustomizeError(Exception):
    """Wraps every expected failure with a user-facing message."""


class _LimitedReader(object):
    def __init__(self, reader, limit):
        self._reader = reader
        self._left = limit

    def read(self, size=-1):
        if self._left <= 0:
            return b''
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._reader.read(size)
        self._left -= len(data)
        return data


def redact(text):
    return REDACT_RE.sub('********', text)


def _decode(data):
    return None if data is None else data.decode('utf-8', 'replace')


def _existing_hash(flavor, current, user_name):
    """The password hash already on the card for user_name, if any."""
    if flavor == 'rpios-firstrun':
        text = _decode(current.get('userconf.txt')) or ''
        name, dummy, hashed = text.strip().partition(':')
        return hashed if name == user_name else None
    try:
        data = yaml_load(_decode(current.get('user-data')) or '') or {}
    except Exception:  # noqa: BLE001 - any unreadable user-data simply has no reusable hash
        return None
    if not isinstance(data, dict):
        return None
    candidates = [data.get('user')] + (data.get('users') if isinstance(data.get('users'), list) else [])
    for entry in candidates:
        if isinstance(entry, dict) and entry.get('name') == user_name:
            return entry.get('passwd')
    return None


def desired_files(config, flavor, current):
    """{boot path: bytes or None (None = remove)} and the instance-id (None for firstrun)."""
    user = config.get('user') or None
    password_hash = None
    if user:
        password_hash = passwords.password_hash(user.get('password'), user.get('password_hash'),
                                                _existing_hash(flavor, current, user['name']))
    wifi = config.get('wifi') or {}
    psk = passwords.wpa_psk(wifi['ssid'], wifi['password']) if wifi.get('ssid') and wifi.get('password') else None
    files = {}
    instance_id = None
    add = []
    if config.get('cgroups'):
        add.extend(bootfiles.CGROUP_TOKENS)
    if wifi.get('ssid') and flavor in ('rpios-firstrun', 'rpios-cloudinit'):
        add.append('cfg80211.ieee80211_regdom=%s' % wifi['country'])
    cmdline_opts = config.get('cmdline') or {}
    add.extend(cmdline_opts.get('add') or [])
    if flavor in flavor_utils.CLOUD_INIT_FLAVORS:
        rendered, instance_id = cloudinit.render(config, flavor, password_hash, psk)
        for name, text in rendered.items():
            files[name] = text.encode('utf-8')
        if flavor == 'rpios-cloudinit':
            # As Raspberry Pi Imager does: lets cloud-init check its cached instance without a seed dir.
            add.append('ds=nocloud;i=%s' % instance_id)
    else:
        script_config = dict(config, _psk=psk)
        files['firstrun.sh'] = firstrun.script(script_config).encode('utf-8')
        conf = firstrun.userconf(config, password_hash)
        files['userconf.txt'] = conf.encode('utf-8') if conf is not None else None
        files['ssh'] = b'' if (config.get('ssh') or {}).get('enabled', True) else None
        add.extend(firstrun.FIRSTRUN_TOKENS)
    current_cmdline = _decode(current.get('cmdline.txt'))
    if current_cmdline is None:
        raise CustomizeError('the boot partition has no cmdline.txt')
    merged = bootfiles.merge_cmdline(current_cmdline, add, cmdline_opts.get('remove') or [])
    if flavor == 'rpios-firstrun':
        # firstrun.sh strips its own tokens at first boot; keep them last, as Raspberry Pi Imager does.
        tokens = merged.split()
        tokens = [t for t in tokens if t not in firstrun.FIRSTRUN_TOKENS] + list(firstrun.FIRSTRUN_TOKENS)
        merged = ' '.join(tokens) + '\n'
    if merged.rstrip('\n') == current_cmdline.rstrip('\n') and '\n' not in current_cmdline.rstrip('\n'):
        merged = current_cmdline
    files['cmdline.txt'] = merged.encode('utf-8')
    if config.get('config_txt'):
        current_config = _decode(current.get('config.txt')) or ''
        merged_config = bootfiles.merge_config(current_config, config['config_txt'])
        files['config.txt'] = merged_config.encode('utf-8')
    for item in config.get('files') or []:
        path = item['path'].replace('\\', '/').strip('/')
        content = item.get('content')
        files[path] = (content if isinstance(content, bytes) else (content or '').encode('utf-8'))
    return files, instance_id


def _names_to_read(config):
    names = set(flavor_utils.MARKER_FILES) | set(['config.txt', 'userconf.txt', 'firstrun.sh', 'ssh'])
    for item in config.get('files') or []:
        names.add(item['path'].replace('\\', '/').strip('/'))
    return sorted(names)


def inspect(image_path, config, wanted_flavor='auto', name=None):
    """Read the image: partitions, boot partition, flavour, current boot files and desired files."""
    name = name or image_path
    size = os.path.getsize(image_path)
    with open(image_path, 'rb') as handle:
        partitions = mbr.parse_partitions(handle, size, name)
        boot = mbr.find_boot_partition(handle, partitions, name)
    current, label, listing = fat.read_files(image_path, boot['start'], boot['size'], _names_to_read(config))
    if wanted_flavor == 'auto':
        found, reason = flavor_utils.detect(current, listing, label)
    else:
        found, reason = wanted_flavor, 'set by the flavor option'
    files, instance_id = desired_files(config, found, current)
    changes = []
    for path in sorted(files):
        before, after = current.get(path), files[path]
        if before != after and not (before is None and after is None):
            changes.append((path, before, after))
    return {
        'partitions': [dict((k, p[k]) for k in ('index', 'type', 'start', 'size')) for p in partitions],
        'boot_partition': {'index': boot['index'], 'offset': boot['start'], 'size': boot['size'], 'label': label},
        'flavor': found,
        'flavor_reason': reason,
        'changes': changes,
        'instance_id': instance_id,
    }


def apply_changes(image_path, boot_partition, changes, hooks=None):
    """Write the changes to the boot partition; every check of the volume and of the paths comes first."""
    fat.apply(image_path, boot_partition['offset'], boot_partition['size'],
              [(path, after) for path, dummy_before, after in changes if after is not None],
              [path for path, dummy_before, after in changes if after is None], hooks=hooks)


def diffs(changes):
    result = []
    for path, before, after in changes:
        entry = {'before_header': 'boot:/%s' % path, 'after_header': 'boot:/%s' % path}
        for key, data in (('before', before), ('after', after)):
            if data is None:
                entry[key] = ''
                continue
            try:
                text = data.decode('utf-8')
            except UnicodeDecodeError:
                text = '<binary file, %d bytes>\n' % len(data)
            entry[key] = redact(text)
        result.append(entry)
    return result


def run(params, check_mode):
    """Everything pi_image does; returns the module result dict. Raises CustomizeError."""
    try:
        return _run(params, check_mode)
    except ERRORS as exc:
        raise CustomizeError(str(exc))


def _run(params, check_mode):
    config = options_utils.validate(dict(params))
    src, dest = params['src'], params.get('dest')
    if not os.path.isfile(src):
        raise CustomizeError('src %s does not exist or is not a file' % src)
    fmt = source.detect_format(src)
    if fmt != 'raw' and not dest:
        raise CustomizeError('src %s is %s-compressed: set dest to the raw image to write' % (src, fmt))
    if params.get('checksum') and not dest:
        raise CustomizeError('checksum verifies a published image; customising src in place changes it, '
                             'so checksum needs dest')
    if dest and os.path.abspath(dest) == os.path.abspath(src):
        raise CustomizeError('dest must differ from src; omit dest to customise src in place')
    if params.get('checksum'):
        source.verify_checksum(src, params['checksum'])
    wanted = params.get('flavor') or 'auto'
    result = {'src_format': fmt, 'dest_created': False}

    if not dest or (os.path.exists(dest) and not params.get('force')):
        image = dest or src
        if dest and not os.path.isfile(dest):
            raise CustomizeError('dest %s exists and is not a regular file' % dest)
        info = inspect(image, config, wanted)
        if info['changes'] and not check_mode:
            apply_changes(image, info['boot_partition'], info['changes'])
        return _result(result, info, changed=bool(info['changes']))

    # A new (or forced) dest: decompress next to it, customise, then rename.
    directory = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(directory):
        raise CustomizeError('the directory of dest %s does not exist' % dest)
    handle, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(dest), suffix='.picocloud', dir=directory)
    os.close(handle)
    try:
        with source.open_image(src) as reader:
            if check_mode:
                head = reader.read(mbr.SECTOR * 64)
                limit, full_size = _boot_end(head, src)
                source.copy_sparse(_Prefixed(head, _LimitedReader(reader, max(0, limit - len(head)))), tmp)
                os.truncate(tmp, max(full_size, os.path.getsize(tmp)))
            else:
                source.copy_sparse(reader, tmp)
        info = inspect(tmp, config, wanted, name=src)
        if not check_mode:
            if info['changes']:
                apply_changes(tmp, info['boot_partition'], info['changes'])
            os.replace(tmp, dest)
            tmp = None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    result['dest_created'] = True
    return _result(result, info, changed=True)


class _Prefixed(object):
    def __init__(self, head, rest):
        self._head = head
        self._rest = rest

    def read(self, size=-1):
        if self._head:
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._rest.read(size)


def _boot_end(head, name):
    """(bytes needed to reach the end of the FAT partition, end of the last partition) from the first sectors."""
    stream = io.BytesIO(head)
    partitions = mbr.parse_partitions(stream, 1 << 62, name)
    fats = [p for p in partitions if p['fat']]
    if not fats:
        raise mbr.PartitionError('%s has no FAT boot partition' % name)
    return max(p['start'] + p['size'] for p in fats), max(p['start'] + p['size'] for p in partitions)


def _result(result, info, changed):
    result.update({
        'changed': changed,
        'flavor': info['flavor'],
        'partitions': info['partitions'],
        'boot_partition': info['boot_partition'],
        'files_changed': [path for path, dummy, dummy_after in info['changes']],
        'instance_id': info['instance_id'],
        'diff': diffs(info['changes']),
    })
    return result
