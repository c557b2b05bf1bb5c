# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Malformed-image fuzzing, shared by test_image_fuzz.py (a short run) and benchmarks/fuzz_pi_image.py.

- build_fixture() makes a small card image with the real tools (sfdisk, mkfs.vfat, mtools): an MBR
  or a GPT, a 34 MiB FAT32 boot partition with 512-byte clusters (so directories and files span
  several clusters) holding Raspberry Pi OS boot files, and a root partition behind it.
- targets() maps where its structures live: MBR entries, GPT header and entries, the FAT boot
  sector and FSInfo, FAT entries of the chains a customisation touches, directory entries.
- mutations() is a hypothesis strategy of 1-3 writes into those structures, with interesting values
  (a chain that loops, crosses another or leaves the volume; sizes bigger than the partition; GPT
  fields with their CRC32 recomputed so the checks behind the CRC are reached too).
- run_case() customises a mutated copy in place, under a per-case time limit, and classifies the
  outcome: success, a CustomizeError (then the image must be byte-identical), or a failure (any
  other exception, a timeout, or bytes changed by a refused run).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import hashlib
import os
import re
import shutil
import signal
import struct
import subprocess
import time
import traceback
import zlib

from hypothesis import strategies as st

from ansible_collections.picocloud.edge.plugins.module_utils.image import customize

MIB = 1024 * 1024
SECTOR = 512
IMAGE_SIZE = 40 * MIB
BOOT_LBA = 2048
BOOT_SECTORS = 34 * MIB // SECTOR
ROOT_LBA = BOOT_LBA + BOOT_SECTORS
TOOLS = ('sfdisk', 'mkfs.vfat', 'fsck.vfat', 'mcopy', 'mmd')
CASE_SECONDS = 10

BOOT_FILES = {
    'cmdline.txt': b'console=serial0,115200 console=tty1 root=PARTUUID=5e3da3c2-02 rootfstype=ext4 '
                   b'fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n',
    'config.txt': b'# http://rptl.io/configtxt\ndtparam=audio=on\ncamera_auto_detect=1\n' + b'#' * 1200 + b'\n'
                  b'[cm4]\notg_mode=1\n\n[all]\n',
    'issue.txt': b'Raspberry Pi reference 2024-11-19\nGenerated using pi-gen, stage2\n',
    'bcm2712-rpi-5-b.dtb': hashlib.sha512(b'dtb').digest() * 192,
    'LICENCE.broadcom': b'Copyright (c) 2006, Broadcom Corporation.\n' * 40,
    'fixup4cd.dat': b'\x01\x02' * 700,
    'bootcode.bin': b'\x7fboot' * 300,
    'kernel8.img': b'not a kernel\n' * 90,
    'start4cd.elf': b'\x7fELF' * 400,
    'initramfs8': b'not an initramfs\n' * 40,
}
SUBDIR_FILES = {'overlays/README': b'Device-tree overlays for the Raspberry Pi\n' * 30,
                'overlays/overlay_map.dtb': hashlib.sha256(b'map').digest() * 64}


def missing_tools():
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def _run(argv, **kwargs):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def build_fixture(path, scheme='mbr'):
    """A 40 MiB card image (MBR or GPT) with a 34 MiB FAT32 boot partition at 1 MiB; returns path."""
    with open(path, 'wb') as handle:
        handle.truncate(IMAGE_SIZE)
    if scheme == 'gpt':
        layout = ('label: gpt\nunit: sectors\n\nstart=%d, size=%d, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\n'
                  'start=%d, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' % (BOOT_LBA, BOOT_SECTORS, ROOT_LBA))
    else:
        layout = ('label: dos\nlabel-id: 0x5e3da3c2\nunit: sectors\n\nstart=%d, size=%d, type=c\nstart=%d, type=83\n'
                  % (BOOT_LBA, BOOT_SECTORS, ROOT_LBA))
    _run(['sfdisk', '--no-reread', '--no-tell-kernel', '-q', path], input=layout.encode())
    _run(['mkfs.vfat', '-F', '32', '-s', '1', '-S', '512', '-n', 'bootfs', '--offset', str(BOOT_LBA), path,
          str(BOOT_SECTORS // 2)])
    image = '%s@@%d' % (path, BOOT_LBA * SECTOR)
    env = dict(os.environ, MTOOLS_SKIP_CHECK='1')
    _run(['mmd', '-i', image, '::/overlays'], env=env)
    staging = path + '.files'
    os.mkdir(staging)
    try:
        for name, data in sorted(list(BOOT_FILES.items()) + list(SUBDIR_FILES.items())):
            local = os.path.join(staging, name.replace('/', '_'))
            with open(local, 'wb') as handle:
                handle.write(data)
            _run(['mcopy', '-i', image, '-o', local, '::/' + name], env=env)
    finally:
        shutil.rmtree(staging)
    with open(path, 'r+b') as handle:  # a recognisable root partition: a write into it changes the hash
        handle.seek(ROOT_LBA * SECTOR)
        handle.write(b'ROOTFS--' * 8192)
    return path


def params(path):
    """pi_image options that change cmdline.txt, config.txt and a subdirectory, and create files."""
    return {
        'src': path, 'dest': None, 'checksum': None, 'force': False, 'flavor': 'auto', 'hostname': 'node1',
        'user': None, 'ssh': {'enabled': True, 'password_authentication': False}, 'wifi': None, 'network': None,
        'timezone': None, 'keymap': None, 'locale': None,
        'cmdline': {'add': ['quiet', 'picocloud.node=1'], 'remove': []}, 'cgroups': True,
        'config_txt': {'all': {'arm_64bit': 1}}, 'user_data': None,
        'files': [{'path': 'picocloud/node.txt', 'content': 'node=node1\n' * 100},
                  {'path': 'overlays/README', 'content': 'replaced\n' * 200}],
    }


# --- where the structures are ----------------------------------------------------------------------

def _u16(data, pos):
    return struct.unpack_from('<H', data, pos)[0]


def _u32(data, pos):
    return struct.unpack_from('<I', data, pos)[0]


def targets(path, scheme):
    """Offsets of the structures of a fixture image built by build_fixture (read from the image)."""
    with open(path, 'rb') as handle:
        data = handle.read(ROOT_LBA * SECTOR)
    boot = BOOT_LBA * SECTOR
    bps, spc, reserved, fats = _u16(data, boot + 11), data[boot + 13], _u16(data, boot + 14), data[boot + 16]
    fat_sectors, root_cluster = _u32(data, boot + 36), _u32(data, boot + 44)
    fat_start = boot + reserved * bps
    data_start = boot + (reserved + fats * fat_sectors) * bps
    clusters = (BOOT_SECTORS - reserved - fats * fat_sectors) // spc

    def entry(cluster):
        return _u32(data, fat_start + 4 * cluster) & 0x0fffffff

    def chain(first):
        result = [first]
        while entry(result[-1]) < 0x0ffffff8 and len(result) < clusters:
            result.append(entry(result[-1]))
        return result

    def cluster_at(cluster):
        return data_start + (cluster - 2) * spc * bps

    def entries(dir_chain):
        slots, found = [], {}
        for cluster in dir_chain:
            for pos in range(cluster_at(cluster), cluster_at(cluster) + spc * bps, 32):
                if data[pos] == 0:
                    return slots, found
                slots.append(pos)
                if data[pos + 11] & 0x3f != 0x0f and data[pos] != 0xe5:
                    short = data[pos:pos + 8].rstrip(b' ') + b'.' + data[pos + 8:pos + 11].rstrip(b' ')
                    found[short.rstrip(b'.').decode('ascii').lower()] = (pos, _u16(data, pos + 26) | _u16(data, pos + 20) << 16)
        return slots, found

    root_chain = chain(root_cluster)
    root_slots, root_found = entries(root_chain)
    overlays_chain = chain(root_found['overlays'][1])
    overlay_slots, overlay_found = entries(overlays_chain)
    chains = {'root': root_chain, 'overlays': overlays_chain}
    for name, (dummy_pos, first) in root_found.items():
        if name in ('cmdline.txt', 'config.txt') or name.startswith('bcm27'):
            chains[name] = chain(first)
    chains['readme'] = chain(overlay_found['readme'][1])
    used = sorted(set(cluster for values in chains.values() for cluster in values))
    first_free = next(cluster for cluster in range(2, clusters + 2) if entry(cluster) == 0)
    result = {
        'scheme': scheme, 'boot': boot, 'fat_start': fat_start, 'fat_bytes': fat_sectors * bps, 'fats': fats,
        'clusters': clusters, 'chains': chains, 'used_clusters': used + [first_free, clusters + 1],
        'dir_slots': root_slots + overlay_slots, 'fsinfo': boot + _u16(data, boot + 48) * bps,
        'backup_boot': boot + _u16(data, boot + 50) * bps,
    }
    if scheme == 'gpt':
        result['gpt_entries'] = struct.unpack_from('<Q', data, SECTOR + 72)[0] * SECTOR
        result['gpt_entry_size'] = _u32(data, SECTOR + 84)
    return result


# --- mutations ---------------------------------------------------------------------------------------

U32 = st.integers(0, 0xffffffff)
U16 = st.integers(0, 0xffff)
U8 = st.integers(0, 0xff)


def _interesting(limit, extra=()):
    values = sorted(set([0, 1, 2, limit - 1, limit, limit + 1, limit * 2, 0xffff, 0x7fffffff, 0xffffffff]
                        + list(extra)))
    return st.one_of(st.sampled_from(values), U32)


def _field(offset, fmt, values):
    mask = (1 << (8 * struct.calcsize(fmt))) - 1
    return values.map(lambda value: {'offset': offset,
                                     'data': struct.pack(fmt, value if isinstance(value, bytes) else value & mask)})


def mutations(info):
    """Strategy: a list of 1-3 mutations, each {'offset', 'data'} plus 'gpt_crc' when the GPT CRCs are redone."""
    boot = info['boot']
    clusters = info['clusters']
    boot_fields = [
        (0, '<B', st.sampled_from([0xeb, 0xe9, 0x00, 0x90])), (2, '<B', U8),
        (11, '<H', st.sampled_from([0, 1, 256, 512, 513, 1024, 4096, 8192, 0xffff])),
        (13, '<B', st.sampled_from([0, 1, 2, 3, 64, 128, 255])),
        (14, '<H', _interesting(32, (BOOT_SECTORS,))), (16, '<B', st.sampled_from([0, 1, 2, 3, 255])),
        (17, '<H', st.sampled_from([0, 16, 512, 0xffff])), (19, '<H', _interesting(BOOT_SECTORS & 0xffff)),
        (21, '<B', st.sampled_from([0x00, 0xf0, 0xf8, 0x12])), (22, '<H', st.sampled_from([0, 1, 9, 0xffff])),
        (32, '<I', _interesting(BOOT_SECTORS, (BOOT_SECTORS * 2, IMAGE_SIZE // SECTOR))),
        (36, '<I', _interesting(540, (BOOT_SECTORS // 2, BOOT_SECTORS))),
        (44, '<I', _interesting(clusters + 2, (2, 3))), (48, '<H', _interesting(32, (0, 1))),
        (50, '<H', _interesting(32, (6,))), (510, '<H', st.sampled_from([0xaa55, 0, 0x55aa])),
        (65, '<B', U8), (66, '<B', U8),
    ]
    boot_mutation = st.sampled_from(boot_fields).flatmap(lambda f: _field(boot + f[0], f[1], f[2]))
    backup_mutation = st.sampled_from(boot_fields).flatmap(lambda f: _field(info['backup_boot'] + f[0], f[1], f[2]))
    fsinfo_mutation = st.tuples(st.integers(0, 511), st.binary(min_size=1, max_size=8)).map(
        lambda t: {'offset': info['fsinfo'] + t[0], 'data': t[1]})

    chain_clusters = info['used_clusters']
    other_cluster = st.sampled_from(chain_clusters)
    fat_value = st.one_of(
        st.sampled_from([0, 1, 0x0ffffff7, 0x0ffffff8, 0x0fffffff, 0x0ffffff0, clusters + 2, clusters + 1,
                         0x0fffffef, 0xffffffff]),
        other_cluster, st.integers(2, clusters + 1), U32)

    def fat_write(choice):
        cluster, value, copies = choice
        entries = []
        for copy in ([0] if copies == 'first' else [1] if copies == 'second' else [0, 1])[:info['fats']]:
            entries.append({'offset': info['fat_start'] + copy * info['fat_bytes'] + 4 * cluster,
                            'data': struct.pack('<I', value)})
        return entries

    loop_chain = st.sampled_from(sorted(info['chains'])).flatmap(
        lambda name: st.tuples(st.sampled_from(info['chains'][name]), st.sampled_from(info['chains'][name]),
                               st.just('both')))
    fat_mutation = st.one_of(st.tuples(other_cluster, fat_value, st.sampled_from(['first', 'second', 'both'])),
                             loop_chain).map(fat_write)

    dirent_fields = [
        (0, '<B', st.sampled_from([0x00, 0xe5, 0x2e, 0x41, 0x05, 0x20, 0xff])),
        (11, '<B', st.sampled_from([0x00, 0x01, 0x08, 0x0f, 0x10, 0x18, 0x20, 0x3f, 0xff])),
        (20, '<H', st.sampled_from([0, 1, 0xffff])),
        (26, '<H', st.one_of(st.sampled_from([0, 1, (clusters + 2) & 0xffff, 0xffff]),
                             st.sampled_from(chain_clusters).map(lambda c: c & 0xffff))),
        (28, '<I', _interesting(4096, (BOOT_SECTORS * SECTOR,))),
        (13, '<B', U8),
    ]
    dirent_mutation = st.tuples(st.sampled_from(info['dir_slots']), st.sampled_from(dirent_fields)).flatmap(
        lambda t: _field(t[0] + t[1][0], t[1][1], t[1][2]))

    mbr_fields = [(0, '<B', st.sampled_from([0x00, 0x80, 0xff])),
                  (4, '<B', st.sampled_from([0x00, 0x05, 0x0c, 0x0b, 0x06, 0x83, 0xee, 0x0f])),
                  (8, '<I', _interesting(BOOT_LBA, (0, ROOT_LBA, IMAGE_SIZE // SECTOR))),
                  (12, '<I', _interesting(BOOT_SECTORS, (BOOT_SECTORS - 1024, IMAGE_SIZE // SECTOR)))]
    mbr_mutation = st.one_of(
        st.tuples(st.integers(0, 3), st.sampled_from(mbr_fields)).flatmap(
            lambda t: _field(446 + 16 * t[0] + t[1][0], t[1][1], t[1][2])),
        _field(510, '<H', st.sampled_from([0, 0x55aa])))
    raw_mutation = st.tuples(st.integers(0, ROOT_LBA * SECTOR + 4096), st.binary(min_size=1, max_size=16)).map(
        lambda t: {'offset': t[0], 'data': t[1]})

    single = [boot_mutation, backup_mutation, fsinfo_mutation, dirent_mutation, mbr_mutation, raw_mutation]
    if info['scheme'] == 'gpt':
        gpt_header_fields = [(12, '<I', st.sampled_from([0, 91, 92, 512, 513, 0xffffffff])),
                             (24, '<Q', st.sampled_from([0, 1, 2, 1 << 40])),
                             (40, '<Q', st.sampled_from([0, 34, 1 << 40])),
                             (72, '<Q', st.sampled_from([0, 1, 2, 3, IMAGE_SIZE // SECTOR - 1, 1 << 40])),
                             (80, '<I', st.sampled_from([0, 1, 4, 128, 1024, 1025, 0x10000, 0xffffffff])),
                             (84, '<I', st.sampled_from([0, 64, 127, 128, 256, 384, 4096, 8192, 0x40000000,
                                                         0xffffffff]))]
        entry_fields = [(0, '<16s', st.sampled_from([b'\0' * 16, b'\x28\x73\x2a\xc1\x1f\xf8\xd2\x11\xba\x4b\x00\xa0'
                                                     b'\xc9\x3e\xc9\x3b'])),
                        (32, '<Q', st.sampled_from([0, 1, 2, 33, BOOT_LBA, ROOT_LBA, 1 << 40, (1 << 64) - 1])),
                        (40, '<Q', st.sampled_from([0, 1, BOOT_LBA, ROOT_LBA - 1, ROOT_LBA, IMAGE_SIZE // SECTOR,
                                                    (1 << 64) - 1]))]
        gpt_header = st.tuples(st.sampled_from(gpt_header_fields), st.booleans()).flatmap(
            lambda t: _field(SECTOR + t[0][0], t[0][1], t[0][2]).map(lambda m, fix=t[1]: dict(m, gpt_crc=fix)))
        gpt_entry = st.tuples(st.integers(0, 3), st.sampled_from(entry_fields), st.booleans()).flatmap(
            lambda t: _field(info['gpt_entries'] + t[0] * info['gpt_entry_size'] + t[1][0], t[1][1], t[1][2]).map(
                lambda m, fix=t[2]: dict(m, gpt_crc=fix)))
        single += [gpt_header, gpt_entry, gpt_header, gpt_entry]
    one = st.one_of(st.one_of(*single).map(lambda m: [m]), fat_mutation)
    return st.lists(one, min_size=1, max_size=3).map(lambda groups: [m for group in groups for m in group])


def _fix_gpt_crcs(handle):
    handle.seek(SECTOR)
    header = bytearray(handle.read(SECTOR))
    header_size = min(max(_u32(header, 12), 92), SECTOR)
    entries_lba, count, entry_size = struct.unpack_from('<QII', header, 72)
    if entries_lba * SECTOR + count * entry_size <= IMAGE_SIZE:
        handle.seek(entries_lba * SECTOR)
        header[88:92] = struct.pack('<I', zlib.crc32(handle.read(count * entry_size)) & 0xffffffff)
    header[16:20] = b'\0\0\0\0'
    header[16:20] = struct.pack('<I', zlib.crc32(bytes(header[:header_size])) & 0xffffffff)
    handle.seek(SECTOR)
    handle.write(bytes(header))


def apply_mutations(path, mutation_list):
    with open(path, 'r+b') as handle:
        for mutation in mutation_list:
            handle.seek(mutation['offset'])
            handle.write(mutation['data'])
        if any(mutation.get('gpt_crc') for mutation in mutation_list):
            _fix_gpt_crcs(handle)


# --- one case ----------------------------------------------------------------------------------------

class CaseTimeout(Exception):
    """A case ran longer than its limit (raised from SIGALRM, so a pure-Python loop is interrupted)."""


def _alarm(signum, frame):
    raise CaseTimeout('the case ran longer than its time limit')


@contextlib.contextmanager
def deadline(seconds):
    """Raise CaseTimeout in the main thread when the block runs longer than seconds."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(4 * MIB), b''):
            digest.update(block)
    return digest.hexdigest()


def error_kind(message):
    """A customisation error message with numbers and paths folded, to count errors by kind."""
    text = re.sub(r'/\S+\.img', '<image>', message)
    text = re.sub(r'0x[0-9a-f]+|\d+', 'N', text)
    return re.sub(r'/[A-Z0-9~_.]+(/[A-Z0-9~_.]+)*', '<path>', text)[:110]


def run_case(base, work, mutation_list, seconds=CASE_SECONDS):
    """Customise a mutated copy of base; returns (outcome, detail, elapsed seconds).

    outcome: 'ok'; 'error' (a CustomizeError, image unchanged; detail is the message); or 'failure'
    (anything else; detail says what)."""
    shutil.copyfile(base, work)
    apply_mutations(work, mutation_list)
    before = sha256(work)
    started = time.monotonic()
    try:
        with deadline(seconds):
            customize.run(params(work), check_mode=False)
        outcome, detail = 'ok', ''
    except customize.CustomizeError as exc:
        outcome, detail = 'error', str(exc)
    except CaseTimeout:
        outcome, detail = 'failure', 'timeout: no answer within %s s (a hang)' % seconds
    except Exception:  # noqa: BLE001 - any other exception is exactly what the fuzz test looks for
        outcome, detail = 'failure', 'traceback of another type:\n' + traceback.format_exc()
    elapsed = time.monotonic() - started
    if outcome == 'error' and sha256(work) != before:
        outcome, detail = 'failure', 'the image changed although the run failed with: %s' % detail
    if outcome == 'error' and not detail.strip():
        outcome, detail = 'failure', 'an error without a message'
    return outcome, detail, elapsed
