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
- the script calls raspberrypi-sys-mods' ``imager_custom`` (set_hostname, enable_ssh, set_wlan,
  set_keymap, set_timezone) and userconf-pi's ``userconf`` where present, with plain fallbacks;
- ``userconf.txt`` (``name:crypted-password``), which userconf-pi reads at boot, and the empty
  ``ssh`` file, which makes sshswitch enable sshd; both are documented headless set-up files.
  The script applies userconf.txt itself first, so the SSH keys land in the renamed user's home.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

FIRSTRUN_TOKENS = ('systemd.run=/boot/firstrun.sh', 'systemd.run_success_action=reboot',
                   'systemd.unit=kernel-command-line.target')
IMAGER_CUSTOM = '/usr/lib/raspberrypi-sys-mods/imager_custom'


def shell_quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def userconf(config, password_hash):
    """userconf.txt text, or None when no user is configured."""
    user = config.get('user')
    if not user:
        return None
    return '%s:%s\n' % (user['name'], password_hash or '*')


def _nm_keyfile(network):
    lines = ['[connection]', 'id=picocloud-%s' % network['interface'],
             'type=%s' % ('wifi' if network['interface'].startswith('wl') else 'ethernet'),
             'interface-name=%s' % network['interface'], 'autoconnect=true', '', '[ipv4]', 'method=manual']
    address = network['address']
    lines.append('address1=%s' % (address + (',' + network['gateway'] if network.get('gateway') else '')))
    if network.get('dns'):
        lines.append('dns=%s;' % ';'.join(network['dns']))
    lines.extend(['', '[ipv6]', 'method=auto', ''])
    return '\n'.join(lines)


def script(config):
    """firstrun.sh text (deterministic for the same options)."""
    out = ['#!/bin/bash', '# Written by picocloud.edge.pi_image; runs once at first boot, then removes itself.',
           'set +e', '',
           'FIRSTUSER=$(getent passwd 1000 | cut -d: -f1)',
           'for BOOT in /boot/firmware /boot; do [ -f "$BOOT/cmdline.txt" ] && break; done', '']
    hostname = config.get('hostname')
    if hostname:
        short = hostname.split('.')[0]
        out += ['CURRENT_HOSTNAME=$(tr -d " \\t\\n\\r" </etc/hostname)',
                'if [ -f %s ]; then' % IMAGER_CUSTOM,
                '   %s set_hostname %s' % (IMAGER_CUSTOM, shell_quote(short)),
                'else',
                '   echo %s >/etc/hostname' % shell_quote(short),
                '   sed -i "s/127.0.1.1.*$CURRENT_HOSTNAME/127.0.1.1\\t%s/g" /etc/hosts' % short,
                'fi', '']
    user = config.get('user')
    if user:
        name = user['name']
        out += ['if [ -f "$BOOT/userconf.txt" ] && [ -x /usr/lib/userconf-pi/userconf ]; then',
                '   IFS=: read -r UC_NAME UC_HASH <"$BOOT/userconf.txt"',
                '   /usr/lib/userconf-pi/userconf "$UC_NAME" "$UC_HASH"',
                '   rm -f "$BOOT/userconf.txt"',
                'fi',
                'FIRSTUSER=$(getent passwd 1000 | cut -d: -f1)',
                'FIRSTUSERHOME=$(getent passwd 1000 | cut -d: -f6)']
        keys = user.get('ssh_authorized_keys') or []
        if keys:
            out += ['install -o "$FIRSTUSER" -m 700 -d "$FIRSTUSERHOME/.ssh"',
                    "cat >\"$FIRSTUSERHOME/.ssh/authorized_keys\" <<'PICOCLOUD_KEYS'"]
            out += list(keys)
            out += ['PICOCLOUD_KEYS',
                    'chown "$FIRSTUSER:$FIRSTUSER" "$FIRSTUSERHOME/.ssh/authorized_keys"',
                    'chmod 600 "$FIRSTUSERHOME/.ssh/authorized_keys"']
        for group in user.get('groups') or []:
            out.append('usermod -aG %s "$FIRSTUSER" 2>/dev/null' % shell_quote(group))
        sudoers = '/etc/sudoers.d/010_%s-nopasswd' % name
        if user.get('sudo', True):
            out += ['echo %s >%s' % (shell_quote('%s ALL=(ALL) NOPASSWD:ALL' % name), sudoers),
                    'chmod 0440 %s' % sudoers]
        else:
            out += ['rm -f %s /etc/sudoers.d/010_pi-nopasswd' % sudoers]
        out.append('')
    ssh = config.get('ssh') or {}
    if ssh.get('enabled', True):
        out += ['install -d -m 755 /etc/ssh/sshd_config.d',
                "echo 'PasswordAuthentication %s' >/etc/ssh/sshd_config.d/10-picocloud.conf"
                % ('yes' if ssh.get('password_authentication') else 'no'),
                'systemctl enable ssh', '']
    else:
        out += ['systemctl disable ssh', '']
    wifi = config.get('wifi') or {}
    if wifi.get('ssid'):
        psk = config.get('_psk') or ''
        out += ['if [ -f %s ]; then' % IMAGER_CUSTOM,
                '   %s set_wlan %s%s %s %s' % (IMAGER_CUSTOM, '-h ' if wifi.get('hidden') else '',
                                               shell_quote(wifi['ssid']), shell_quote(psk), shell_quote(wifi['country'])),
                'fi', '']
    network = config.get('network')
    if network:
        path = '/etc/NetworkManager/system-connections/picocloud-%s.nmconnection' % network['interface']
        out += ['install -d -m 700 /etc/NetworkManager/system-connections',
                "cat >%s <<'PICOCLOUD_NM'" % path, _nm_keyfile(network).rstrip('\n'), 'PICOCLOUD_NM',
                'chmod 600 %s' % path, '']
    keymap, timezone, locale = config.get('keymap'), config.get('timezone'), config.get('locale')
    if keymap or timezone:
        out.append('if [ -f %s ]; then' % IMAGER_CUSTOM)
        if keymap:
            out.append('   %s set_keymap %s' % (IMAGER_CUSTOM, shell_quote(keymap)))
        if timezone:
            out.append('   %s set_timezone %s' % (IMAGER_CUSTOM, shell_quote(timezone)))
        out.append('else')
        if timezone:
            out += ['   ln -sf %s /etc/localtime' % shell_quote('/usr/share/zoneinfo/' + timezone),
                    '   echo %s >/etc/timezone' % shell_quote(timezone)]
        if keymap:
            out.append('   sed -i "s/^XKBLAYOUT=.*/XKBLAYOUT=\\"%s\\"/" /etc/default/keyboard' % keymap)
        out += ['fi', '']
    if locale:
        out += ['if grep -q %s /etc/locale.gen; then' % shell_quote(locale),
                '   sed -i "s/^# *\\(%s\\)/\\1/" /etc/locale.gen' % locale.replace('.', '\\.'),
                '   locale-gen',
                'fi',
                'update-locale LANG=%s' % shell_quote(locale), '']
    out += ['rm -f "$BOOT/firstrun.sh"',
            "sed -i -e 's| systemd\\.run=[^ ]*||g' -e 's| systemd\\.run_success_action=[^ ]*||g' "
            "-e 's| systemd\\.unit=kernel-command-line\\.target||g' \"$BOOT/cmdline.txt\"",
            'exit 0', '']
    return '\n'.join(out)
