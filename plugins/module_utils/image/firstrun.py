# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""First-boot files for Raspberry Pi OS images customised the "systemd" way (Bookworm).

Private to the picocloud.edge collection: no compatibility promise to other collections.

This is the mechanism Raspberry Pi Imager uses for ``init_format: systemd`` images (Bookworm and
the first Trixie release; rpi-imager src/downloadthread.cpp and src/customization_generator.cpp):
- ``firstrun.sh`` on the boot partition, run once through
  ``systemd.run=/boot/firstrun.sh systemd.run_success_action=reboot
  systemd.unit=kernel-command-line.target`` appended to cmdline.txt; the script removes itself
  and those tokens;
- the script calls raspberrypi-sys-mods' ``imager_custom`` (set_hostname, set_wlan, set_keymap,
  set_timezone) and userconf-pi's ``userconf`` where present, with the same fallbacks as Imager's;
- ``userconf.txt`` (``name:crypted-password``), which userconf-pi reads at boot, and the empty
  ``ssh`` file, which makes sshswitch enable sshd; both are documented headless set-up files.
  The script applies userconf.txt itself first, so the SSH keys land in the renamed user's home.

How operator values reach the script: each is assigned once, shell-quoted with ``shlex.quote``, in
the block that follows ``VALUES_MARK``; nothing else in the script contains operator text. The
commands after ``ACTIONS_MARK`` only expand those variables, always inside double quotes, and
every file is written by ``write_file`` (``printf '%s\\n'`` of its lines), never by a heredoc.
Where a value must reach ``awk`` it goes through the environment (``ENVIRON``), never into the
program text, and no operator value is spliced into a ``sed`` expression. The values are also
validated (options.py), because imager_custom hands hostname and keymap to raspi-config, which
splices them into ``sed`` expressions of its own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import shlex

from ansible_collections.picocloud.edge.plugins.module_utils.image import options as options_utils

FIRSTRUN_TOKENS = ('systemd.run=/boot/firstrun.sh', 'systemd.run_success_action=reboot',
                   'systemd.unit=kernel-command-line.target')
IMAGER_CUSTOM = '/usr/lib/raspberrypi-sys-mods/imager_custom'
USERCONF = '/usr/lib/userconf-pi/userconf'
VALUES_MARK = '# -- values: every operator value, shell-quoted; nothing below puts them into code'
HELPERS_MARK = '# -- helpers'
ACTIONS_MARK = '# -- actions: they only expand the values above, inside double quotes'

HELPERS = r'''IMAGER_CUSTOM=%s
USERCONF=%s
for BOOT in /boot/firmware /boot; do [ -f "$BOOT/cmdline.txt" ] && break; done
# write_file MODE PATH [LINE...]: PATH gets each LINE and a newline (created private, then MODE).
write_file() {
   local mode=$1 path=$2
   shift 2
   (umask 077 && printf '%%s\n' "$@" >"$path") && chmod "$mode" "$path"
}
# edit_file PATH AWK_PROGRAM: PATH gets the program's output. The program is constant text;
# operator values reach it only through ENVIRON.
edit_file() {
   awk "$2" "$1" >"$1.picocloud-new" && cat "$1.picocloud-new" >"$1"
   rm -f "$1.picocloud-new"
}''' % (IMAGER_CUSTOM, USERCONF)

HOSTS_PROGRAM = ('$1 == "127.0.1.1" && index($0, ENVIRON["CURRENT_HOSTNAME"]) '
                 '{ $0 = "127.0.1.1\\t" ENVIRON["PICOCLOUD_HOSTNAME"] } { print }')
LOCALE_PROGRAM = ('{ line = $0; sub(/^#[ \\t]*/, "", line); split(line, field, /[ \\t]+/) } '
                  'field[1] == ENVIRON["PICOCLOUD_LOCALE"] { $0 = line } { print }')


def userconf(config, password_hash):
    """userconf.txt text, or None when no user is configured."""
    user = config.get('user')
    if not user:
        return None
    return '%s:%s\n' % (user['name'], password_hash or '*')


def nm_keyfile(network):
    """Lines of the NetworkManager keyfile for a static address (the other address family stays automatic)."""
    interface = network['interface']
    lines = ['[connection]', 'id=picocloud-%s' % interface,
             'type=%s' % ('wifi' if interface.startswith('wl') else 'ethernet'),
             'interface-name=%s' % interface, 'autoconnect=true']
    static = 'ipv6' if ipaddress.ip_interface(network['address']).version == 6 else 'ipv4'
    for family in ('ipv4', 'ipv6'):
        lines.extend(['', '[%s]' % family])
        if family != static:
            lines.append('method=auto')
            continue
        lines.append('method=manual')
        lines.append('address1=%s' % (network['address'] + (',' + network['gateway'] if network.get('gateway') else '')))
        servers = [server for server in network.get('dns') or []
                   if ipaddress.ip_address(server).version == (6 if family == 'ipv6' else 4)]
        if servers:
            lines.append('dns=%s;' % ';'.join(servers))
    return lines


def _assign(name, value):
    if isinstance(value, (list, tuple)):
        return '%s=(%s)' % (name, ' '.join(shlex.quote(item) for item in value))
    return '%s=%s' % (name, shlex.quote(value))


def _check_ssid_for_imager_custom(ssid):
    """imager_custom set_wlan writes ``ssid=$SSID`` into a NetworkManager keyfile without escaping.

    GLib's key-file reader then drops leading white space and decodes backslash escapes, so such an
    SSID would reach NetworkManager changed and the node would never join the network.
    """
    if '\\' in ssid or ssid != ssid.strip():
        raise options_utils.OptionError(
            'wifi.ssid=%s cannot be set on Raspberry Pi OS with firstrun: imager_custom writes the SSID into a '
            'NetworkManager keyfile unescaped, which drops leading or trailing white space and decodes backslashes'
            % options_utils.shown(ssid))


def _values(config):
    """[(variable, value or list)] for every operator value the script uses, in script order."""
    values = []
    hostname = config.get('hostname')
    if hostname:
        values.append(('PICOCLOUD_HOSTNAME', hostname.split('.')[0]))
    user = config.get('user')
    if user:
        values.append(('PICOCLOUD_USER', user['name']))
        if user.get('ssh_authorized_keys'):
            values.append(('PICOCLOUD_SSH_KEYS', list(user['ssh_authorized_keys'])))
        if user.get('groups'):
            values.append(('PICOCLOUD_GROUPS', list(user['groups'])))
    wifi = config.get('wifi') or {}
    if wifi.get('ssid'):
        _check_ssid_for_imager_custom(wifi['ssid'])
        values.extend([('PICOCLOUD_WIFI_SSID', wifi['ssid']), ('PICOCLOUD_WIFI_PSK', config.get('_psk') or ''),
                       ('PICOCLOUD_WIFI_COUNTRY', wifi['country'])])
    network = config.get('network')
    if network:
        values.extend([('PICOCLOUD_NM_INTERFACE', network['interface']),
                       ('PICOCLOUD_NM_KEYFILE', nm_keyfile(network))])
    for key in ('timezone', 'keymap', 'locale'):
        if config.get(key):
            values.append(('PICOCLOUD_%s' % key.upper(), config[key]))
    return values


def _actions(config):
    out = ['FIRSTUSER=$(getent passwd 1000 | cut -d: -f1)', '']
    if config.get('hostname'):
        out += ['CURRENT_HOSTNAME=$(tr -d " \\t\\n\\r" </etc/hostname)',
                'if [ -f "$IMAGER_CUSTOM" ]; then',
                '   "$IMAGER_CUSTOM" set_hostname "$PICOCLOUD_HOSTNAME"',
                'else',
                '   write_file 644 /etc/hostname "$PICOCLOUD_HOSTNAME"',
                '   export CURRENT_HOSTNAME PICOCLOUD_HOSTNAME',
                '   edit_file /etc/hosts %s' % shlex.quote(HOSTS_PROGRAM),
                'fi', '']
    user = config.get('user')
    if user:
        out += ['if [ -f "$BOOT/userconf.txt" ] && [ -x "$USERCONF" ]; then',
                '   IFS=: read -r UC_NAME UC_HASH <"$BOOT/userconf.txt"',
                '   "$USERCONF" "$UC_NAME" "$UC_HASH"',
                '   rm -f "$BOOT/userconf.txt"',
                'fi',
                'FIRSTUSER=$(getent passwd 1000 | cut -d: -f1)',
                'FIRSTUSERHOME=$(getent passwd 1000 | cut -d: -f6)']
        if user.get('ssh_authorized_keys'):
            out += ['install -o "$FIRSTUSER" -m 700 -d "$FIRSTUSERHOME/.ssh"',
                    'write_file 600 "$FIRSTUSERHOME/.ssh/authorized_keys" "${PICOCLOUD_SSH_KEYS[@]}"',
                    'chown "$FIRSTUSER:$FIRSTUSER" "$FIRSTUSERHOME/.ssh/authorized_keys"']
        if user.get('groups'):
            out += ['for GROUP in "${PICOCLOUD_GROUPS[@]}"; do',
                    '   usermod -aG "$GROUP" "$FIRSTUSER" 2>/dev/null',
                    'done']
        if user.get('sudo', True):
            out.append('write_file 440 "/etc/sudoers.d/010_${PICOCLOUD_USER}-nopasswd" '
                       '"$PICOCLOUD_USER ALL=(ALL) NOPASSWD:ALL"')
        else:
            out.append('rm -f "/etc/sudoers.d/010_${PICOCLOUD_USER}-nopasswd" /etc/sudoers.d/010_pi-nopasswd')
        out.append('')
    ssh = config.get('ssh') or {}
    if ssh.get('enabled', True):
        out += ['install -d -m 755 /etc/ssh/sshd_config.d',
                'write_file 644 /etc/ssh/sshd_config.d/10-picocloud.conf "PasswordAuthentication %s"'
                % ('yes' if ssh.get('password_authentication') else 'no'),
                'systemctl enable ssh', '']
    else:
        out += ['systemctl disable ssh', '']
    wifi = config.get('wifi') or {}
    if wifi.get('ssid'):
        out += ['if [ -f "$IMAGER_CUSTOM" ]; then',
                '   "$IMAGER_CUSTOM" set_wlan %s"$PICOCLOUD_WIFI_SSID" "$PICOCLOUD_WIFI_PSK" "$PICOCLOUD_WIFI_COUNTRY"'
                % ('-h ' if wifi.get('hidden') else ''),
                'fi', '']
    if config.get('network'):
        out += ['install -d -m 700 /etc/NetworkManager/system-connections',
                'write_file 600 "/etc/NetworkManager/system-connections/picocloud-$PICOCLOUD_NM_INTERFACE.nmconnection" '
                '"${PICOCLOUD_NM_KEYFILE[@]}"', '']
    keymap, timezone, locale = config.get('keymap'), config.get('timezone'), config.get('locale')
    if keymap or timezone:
        out.append('if [ -f "$IMAGER_CUSTOM" ]; then')
        if keymap:
            out.append('   "$IMAGER_CUSTOM" set_keymap "$PICOCLOUD_KEYMAP"')
        if timezone:
            out.append('   "$IMAGER_CUSTOM" set_timezone "$PICOCLOUD_TIMEZONE"')
        out.append('else')
        if timezone:
            out += ['   rm -f /etc/localtime',
                    '   write_file 644 /etc/timezone "$PICOCLOUD_TIMEZONE"',
                    '   dpkg-reconfigure -f noninteractive tzdata']
        if keymap:
            out += ['   write_file 644 /etc/default/keyboard \'XKBMODEL="pc105"\' "XKBLAYOUT=\\"$PICOCLOUD_KEYMAP\\"" '
                    '\'XKBVARIANT=""\' \'XKBOPTIONS=""\' \'\'',
                    '   dpkg-reconfigure -f noninteractive keyboard-configuration']
        out += ['fi', '']
    if locale:
        out += ['export PICOCLOUD_LOCALE',
                'if grep -qF -- "$PICOCLOUD_LOCALE" /etc/locale.gen; then',
                '   edit_file /etc/locale.gen %s' % shlex.quote(LOCALE_PROGRAM),
                '   locale-gen',
                'fi',
                'update-locale "LANG=$PICOCLOUD_LOCALE"', '']
    out += ['rm -f "$BOOT/firstrun.sh"',
            "sed -i -e 's| systemd\\.run=[^ ]*||g' -e 's| systemd\\.run_success_action=[^ ]*||g' "
            "-e 's| systemd\\.unit=kernel-command-line\\.target||g' \"$BOOT/cmdline.txt\"",
            'exit 0', '']
    return out


def script(config):
    """firstrun.sh text (deterministic for the same options)."""
    out = ['#!/bin/bash', '# Written by picocloud.edge.pi_image; runs once at first boot, then removes itself.',
           'set +e', '', VALUES_MARK]
    out += [_assign(name, value) for name, value in _values(config)]
    out += ['', HELPERS_MARK, HELPERS, '', ACTIONS_MARK]
    out += _actions(config)
    return '\n'.join(out)
