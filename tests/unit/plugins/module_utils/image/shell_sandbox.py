# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Dry runs of a rendered firstrun.sh: its real values and actions, with every command that changes the system stubbed.

The script is cut at its markers (firstrun.VALUES_MARK, HELPERS_MARK, ACTIONS_MARK). The harness runs
the values and helpers as written, then:
- ``write_file`` and ``edit_file`` run their real code on the same path under a fake root;
- every other command that would change the system (install, chown, usermod, systemctl, rm, ln,
  sed, locale-gen, update-locale, dpkg-reconfigure, imager_custom, userconf) only records its
  arguments;
- PATH holds only read-only tools (awk, cat, tr, cut, grep, chmod, mkdir), so any command the
  harness does not know fails with "command not found", which the caller sees on stderr;
- as root, the harness runs as ``nobody`` (setpriv), so a stray write outside the fake root fails.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import tempfile

from ansible_collections.picocloud.edge.plugins.module_utils.image import firstrun

NOBODY = 65534
REAL_TOOLS = ('awk', 'cat', 'tr', 'cut', 'grep', 'chmod', 'mkdir', 'bash')
STUBBED = ('install', 'chown', 'usermod', 'systemctl', 'rm', 'ln', 'sed', 'locale-gen', 'update-locale',
           'dpkg-reconfigure')
PASSWD_LINE = 'pi:x:1000:1000:,,,:/home/pi:/bin/bash'
MACHINE_FILES = {
    'etc/hosts': '127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n',
    'etc/locale.gen': '# en_GB.UTF-8 UTF-8\n# en_US.UTF-8 UTF-8\n# sr_RS@latin UTF-8\n',
    'etc/default/keyboard': 'XKBMODEL="pc105"\nXKBLAYOUT="gb"\nXKBVARIANT=""\nXKBOPTIONS=""\n',
    'boot/firmware/cmdline.txt': 'console=tty1 root=PARTUUID=1-02 rootwait %s\n' % ' '.join(firstrun.FIRSTRUN_TOKENS),
}
LOGGING_STUB = '#!/bin/bash\nprintf \'%%s\\0\' %s "$@" >>%s\nprintf \'\\n\' >>%s\n'

HARNESS = r'''
ROOT=%(root)s
LOG=%(log)s
IMAGER_CUSTOM=%(imager_custom)s
USERCONF=%(userconf)s
BOOT="$ROOT/boot/firmware"
picocloud_log() { printf '%%s\0' "$@" >>"$LOG"; printf '\n' >>"$LOG"; }
eval "picocloud_real_$(declare -f write_file)"
eval "picocloud_real_$(declare -f edit_file)"
write_file() {
   picocloud_log write_file "$@"
   local target="$ROOT$2"
   mkdir -p "${target%%/*}"
   picocloud_real_write_file "$1" "$target" "${@:3}"
}
edit_file() { picocloud_log edit_file "$@"; picocloud_real_edit_file "$ROOT$1" "$2"; }
getent() { printf '%%s\n' %(passwd)s; }
grep() { local file="${!#}"; command grep "${@:1:$#-1}" "$ROOT$file"; }
'''


class DryRun(object):
    """What a dry run did: ``calls`` [(command, [args])], ``files`` {absolute path: text} of the fake root, ``stderr``."""

    def __init__(self, calls, files, stderr, returncode):
        self.calls = calls
        self.files = files
        self.stderr = stderr
        self.returncode = returncode

    def args_of(self, command):
        return [args for name, args in self.calls if name == command]


def split(text):
    """(values, helpers, actions) blocks of a rendered firstrun.sh."""
    head, rest = text.split(firstrun.VALUES_MARK + '\n', 1)
    values, rest = rest.split(firstrun.HELPERS_MARK + '\n', 1)
    helpers, actions = rest.split(firstrun.ACTIONS_MARK + '\n', 1)
    return values, helpers, actions


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _machine_hostname():
    try:
        with open('/etc/hostname') as handle:
            return ''.join(handle.read().split())
    except OSError:
        return ''


def _parse_log(data):
    calls = []
    for record in data.split(b'\n'):
        if not record:
            continue
        fields = [field.decode('utf-8', 'surrogateescape') for field in record.split(b'\0')[:-1]]
        calls.append((os.path.basename(fields[0]), fields[1:]))
    return calls


def _read_tree(root):
    files = {}
    for directory, dummy, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(directory, name)
            with open(path, encoding='utf-8', errors='surrogateescape', newline='') as handle:
                files['/' + os.path.relpath(path, root)] = handle.read()
    return files


def dry_run(text, imager_custom=True, userconf_txt=None, timeout=20):
    """Run the actions of firstrun.sh ``text`` in a sandbox; returns a DryRun (the sandbox is removed after reading)."""
    values, helpers, actions = split(text)
    base = tempfile.mkdtemp(prefix='picocloud-dryrun-')
    try:
        os.chmod(base, 0o755)
        root = os.path.join(base, 'root')
        bin_dir = os.path.join(base, 'bin')
        stubs = os.path.join(base, 'stubs')
        log = os.path.join(base, 'calls.log')
        for directory in (root, bin_dir, stubs):
            os.makedirs(directory)
        for tool in REAL_TOOLS:
            os.symlink(shutil.which(tool), os.path.join(bin_dir, tool))
        files = dict(MACHINE_FILES)
        if userconf_txt is not None:
            files['boot/firmware/userconf.txt'] = userconf_txt
        for path, content in files.items():
            full = os.path.join(root, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, 'w') as handle:
                handle.write(content.replace('{hostname}', _machine_hostname()))
        for name in ('imager_custom', 'userconf'):
            with open(os.path.join(stubs, name), 'w') as handle:
                handle.write(LOGGING_STUB % (name, _quote(log), _quote(log)))
            os.chmod(os.path.join(stubs, name), 0o755)
        open(log, 'w').close()
        stub_lines = ['%s() { picocloud_log %s "$@"; }' % (name, name) for name in STUBBED]
        harness = '\n'.join([
            'set +e', values, helpers,
            HARNESS % {'root': _quote(root), 'log': _quote(log), 'passwd': _quote(PASSWD_LINE),
                       'imager_custom': _quote(os.path.join(stubs, 'imager_custom') if imager_custom
                                               else os.path.join(base, 'absent')),
                       'userconf': _quote(os.path.join(stubs, 'userconf'))},
            '\n'.join(stub_lines), actions])
        script = os.path.join(base, 'harness.sh')
        with open(script, 'w') as handle:
            handle.write(harness)
        argv = ['/usr/bin/env', '-i', 'PATH=%s' % bin_dir, 'LC_ALL=C.UTF-8', os.path.join(bin_dir, 'bash'),
                '--noprofile', '--norc', script]
        if os.geteuid() == 0:
            for directory, dirnames, filenames in os.walk(base):
                for name in [directory] + [os.path.join(directory, entry) for entry in dirnames + filenames]:
                    os.lchown(name, NOBODY, NOBODY)
            argv = ['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY, '--clear-groups', '--'] + argv
        proc = subprocess.run(argv, cwd=base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                              check=False)
        with open(log, 'rb') as handle:
            calls = _parse_log(handle.read())
        return DryRun(calls, _read_tree(root), proc.stderr.decode('utf-8', 'replace'), proc.returncode)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def bash_syntax_ok(text):
    """(ok, stderr) of ``bash -n`` on the script text."""
    proc = subprocess.run(['bash', '-n'], input=text.encode('utf-8'), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=False, timeout=20)
    return proc.returncode == 0, proc.stderr.decode('utf-8', 'replace')


def visudo_ok(content, directory):
    """(ok, output) of ``visudo -c -f`` on a sudoers.d file with content."""
    path = os.path.join(directory, 'sudoers-check')
    with open(path, 'w') as handle:
        handle.write(content)
    os.chmod(path, 0o440)
    proc = subprocess.run(['visudo', '-c', '-f', path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          check=False, timeout=20)
    os.unlink(path)
    return proc.returncode == 0, proc.stdout.decode('utf-8', 'replace')
