#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: pi_image
short_description: Customise a HypriotOS, Raspberry Pi OS or Ubuntu card image per node, without root
version_added: 0.1.0
description:
  - Writes what each OS reads at first boot onto the FAT boot partition of a card image file, in pure
    Python (no root, no loop mount), so one downloaded image becomes one card image per node.
  - cloud-init flavours (C(hypriot), C(rpios-cloudinit), C(ubuntu)) get NoCloud C(user-data),
    C(meta-data) and C(network-config); C(rpios-firstrun) (Raspberry Pi OS Bookworm) gets
    C(firstrun.sh) started from C(cmdline.txt), C(userconf.txt) and the C(ssh) flag file.
  - C(cmdline.txt) stays one line, keeps the order of its tokens and never gets a token twice;
    C(config.txt) settings are merged into their C([section]) without touching other sections or comments.
  - O(src) may be a raw C(.img) (customised in place when O(dest) is omitted), C(.img.xz), C(.img.gz),
    C(.img.zst) or a C(.zip) holding one C(.img). Compressed sources are streamed into O(dest), keeping
    zero runs sparse, with no temporary copy of the whole image.
  - A damaged image fails with one message naming the damaged structure (GPT header, partition table,
    FAT boot sector, a cluster chain that loops, leaves its partition or is shared), before anything is
    written, and is left byte-for-byte unchanged. Every read is bounded by the partition and the image,
    and every cluster chain walk by the number of clusters.
author:
  - picocloud.edge developers (@picocloud)
attributes:
  check_mode:
    support: full
    description: Reports exactly which boot files would change and writes nothing (a new O(dest) is not created).
  diff_mode:
    support: full
    description: Shows before and after for each changed boot file; password hashes and Wi-Fi PSKs are masked.
  idempotent:
    support: full
    description: A second run with the same options reports C(changed=false) and writes nothing; plain
      passwords are checked against the hash already on the card, and the instance-id depends only on
      the rendered configuration.
options:
  src:
    description:
      - The image to customise or to read. The format is told from its magic bytes, not its name.
    type: path
    required: true
  dest:
    description:
      - The raw output image. Required when O(src) is compressed.
      - When omitted and O(src) is a raw image, O(src) is customised in place.
      - When O(dest) already exists it is taken as an earlier output of this module and customised
        in place (so a re-run is idempotent); set O(force=true) to decompress O(src) again.
      - A new O(dest) is written beside its final name and renamed only when complete, with mode 0600
        because it holds password hashes and Wi-Fi keys.
    type: path
  force:
    description:
      - Re-create O(dest) from O(src) even when O(dest) exists.
    type: bool
    default: false
  checksum:
    description:
      - The published digest of O(src), as C(sha256:<hex>). It is verified before anything is written.
      - Needs O(dest), because customising in place changes O(src).
    type: str
  flavor:
    description:
      - Which first-boot mechanism to write for. V(auto) detects it from the boot partition
        (see the notes) and fails clearly when it cannot tell.
    type: str
    choices: [auto, hypriot, rpios-firstrun, rpios-cloudinit, ubuntu]
    default: auto
  hostname:
    description:
      - Host name of the node (a short name, or a FQDN whose first label becomes the host name).
      - RFC 1123 labels (letters, digits, C(-)), dot-separated, at most 253 characters.
    type: str
  user:
    description: The admin user created or renamed at first boot.
    type: dict
    suboptions:
      name:
        description: Login name; lower-case letters, digits, C(_) and C(-), starting with a letter or C(_), at most 32.
        type: str
        required: true
      password:
        description:
          - Plain password; hashed on the controller with SHA-512 crypt and never written in plain text.
          - Needs the C(libpass) (passlib) Python package, or Python's C(crypt) module (Python < 3.13).
        type: str
      password_hash:
        description: A ready crypt(3) hash (for example from C(mkpasswd -m sha-512)).
        type: str
      ssh_authorized_keys:
        description:
          - Public keys allowed to log in as the user, each one OpenSSH public key line C(<type> <base64> [comment]),
            as in an C(id_*.pub) file.
          - The type is one of C(ssh-ed25519), C(ssh-rsa), C(ecdsa-sha2-nistp256), C(ecdsa-sha2-nistp384),
            C(ecdsa-sha2-nistp521), C(sk-ssh-ed25519@openssh.com), C(sk-ecdsa-sha2-nistp256@openssh.com), and must
            equal the type encoded in the base64 key. C(authorized_keys) options (C(from=), C(command=)) are refused.
        type: list
        elements: str
        default: []
      sudo:
        description: Give the user passwordless sudo.
        type: bool
        default: true
      groups:
        description:
          - Extra groups (names as for O(user.name)). On HypriotOS they replace its default C(users,docker,video,input).
        type: list
        elements: str
  ssh:
    description: SSH server settings.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Enable the SSH server at first boot.
        type: bool
        default: true
      password_authentication:
        description: Allow password logins over SSH.
        type: bool
        default: false
  wifi:
    description:
      - Wi-Fi client settings. The passphrase is stored as its WPA PSK (PBKDF2-HMAC-SHA1 hash).
    type: dict
    suboptions:
      ssid:
        description:
          - Network name, 1 to 32 bytes (UTF-8).
          - For C(rpios-firstrun), C(imager_custom) writes it into a NetworkManager keyfile unescaped, so an SSID with
            a backslash or leading or trailing spaces is refused there.
        type: str
        required: true
      password:
        description: Passphrase (8 to 63 bytes) or 64-hex-digit PSK; omit for an open network (an empty string is refused).
        type: str
      country:
        description: Two-letter regulatory domain such as C(DE) (two ASCII letters, written upper case). Required.
        type: str
      hidden:
        description: The network does not broadcast its SSID.
        type: bool
        default: false
  network:
    description: A static address. When absent the node uses DHCP.
    type: dict
    suboptions:
      interface:
        description: Interface name, 1 to 15 letters, digits, C(_), C(.) and C(-).
        type: str
        default: eth0
      address:
        description: Address with prefix length (CIDR), such as C(192.168.1.10/24).
        type: str
        required: true
      gateway:
        description:
          - "Default gateway, inside the address's network. Written to network-config as C(routes) C(to: 0.0.0.0/0)
            (IPv4) or C(gateway6) (IPv6), the forms cloud-init 22.3 and later read."
        type: str
      dns:
        description: DNS servers.
        type: list
        elements: str
        default: []
  timezone:
    description:
      - Time zone name such as C(Europe/Berlin); up to four C(/)-separated parts of letters, digits, C(_), C(+), C(-).
    type: str
  keymap:
    description:
      - Keyboard layout such as C(de), or several such as C(us,de); letters, digits, C(_) and C(-).
    type: str
  locale:
    description: Locale such as C(en_GB.UTF-8), C(C.UTF-8) or C(sr_RS@latin).
    type: str
  cmdline:
    description: Changes to the kernel command line.
    type: dict
    suboptions:
      add:
        description:
          - Tokens to add. C(key=value) replaces an existing C(key=) token in place, except for keys the
            kernel accepts many times (C(console), C(cgroup_enable), C(cgroup_disable), C(modules-load), C(ip)).
        type: list
        elements: str
        default: []
      remove:
        description:
          - Tokens to remove. C(key=value) removes that token; C(key) or C(key=) removes every C(key=...)
            token and the bare flag.
        type: list
        elements: str
        default: []
  cgroups:
    description: Add the flags k3s needs on a Pi, C(cgroup_memory=1 cgroup_enable=memory cgroup_enable=cpuset).
    type: bool
    default: false
  config_txt:
    description:
      - "Settings to merge into C(config.txt), as section to settings, for example
        C({all: {arm_64bit: 1, dtoverlay: [a, b]}}). A list adds one line per item."
      - "Sections are conditional filters (C(all), C(pi4), C(pi3+), C(board-type=0x14), C(EDID=DEL-DELL_U2422H),
        C(gpio4=1), C(HDMI:0) ...) of letters, digits and C(_ + = : . -); keys are letters, digits, C(_ . -);
        values are strings, numbers or booleans on one line."
    type: dict
  user_data:
    description:
      - Extra cloud-config, deep-merged over the generated one (cloud-init flavours only). Checked against
        the cloud-config schema with C(cloud-init schema) when cloud-init is installed on the controller.
    type: dict
  files:
    description: Files to place on the boot partition.
    type: list
    elements: dict
    suboptions:
      path:
        description: Path relative to the boot partition's root; missing directories are created.
        type: str
        required: true
      content:
        description: Text content.
        type: str
        required: true
notes:
  - Runs on the controller (or wherever the image file is); needs the C(pyfatfs) Python package.
  - Flavour detection under V(auto) reads the boot partition. C(os-release) with C(HYPRIOT) lines means
    HypriotOS; C(user-data)/C(meta-data)/C(network-config) next to Raspberry Pi OS C(issue.txt) mean Raspberry
    Pi OS with cloud-init (Trixie); the same files on an Ubuntu C(system-boot) partition mean Ubuntu;
    C(issue.txt) or C(cmdline.txt) without cloud-init files mean Raspberry Pi OS with firstrun (Bookworm).
  - The meta-data C(instance-id) is derived from the rendered configuration. Changing any option gives a new
    instance-id, and cloud-init then applies the whole configuration again at the next boot, also on a card
    that has already booted. Re-customising with unchanged options keeps the instance-id.
  - Boot files are replaced in a crash-ordered way (new clusters first, then the directory entry, then the old
    clusters are freed), so an interrupted run leaves the old or the new version of each file; at worst
    C(fsck.vfat) then reports lost clusters, which it can reclaim.
  - HypriotOS uses cloud-init 0.7.9 with network-config version 1, which has no Wi-Fi; Wi-Fi there is written
    as wpa_supplicant files through C(write_files).
  - Every string option is checked before the image is read. Control characters (line breaks, tabs, NUL,
    other C0 and C1 controls, the Unicode line and paragraph separators) are refused in every option except
    O(files[].content) and O(user_data), which are written as data. Patterns match the whole value. The
    error names the option and shows the value (secrets are named, never shown), and the image is not changed.
  - Operator values reach C(firstrun.sh) as shell-quoted data and cloud-init files as YAML data; no value is
    put into a heredoc or a C(sed) expression. See "What is refused, and why" in the C(docs/image.md) guide.
  - "The network-config default route is C(to: 0.0.0.0/0) (IPv6 C(gateway6)), which cloud-init 22.3 and later
    read; netplan's C(to: default) is refused by cloud-init 22.4."
  - This module exists because no maintained module customises card images without root; see the
    C(docs/image.md) guide of the collection.
seealso:
  - name: Raspberry Pi Imager customisation formats
    description: How Raspberry Pi Imager customises each Raspberry Pi OS release.
    link: https://github.com/raspberrypi/rpi-imager/blob/main/doc/os_customisation_formats.md
  - name: cloud-init NoCloud data source
    description: The user-data, meta-data and network-config files this module writes.
    link: https://cloudinit.readthedocs.io/en/latest/reference/datasources/nocloud.html
'''

EXAMPLES = r'''
- name: Customise a downloaded Raspberry Pi OS image for node1
  picocloud.edge.pi_image:
    src: /srv/images/2024-11-19-raspios-bookworm-arm64-lite.img.xz
    checksum: sha256:6ac3a10a1f144c7e9d1f8e568d75ca809288280a593eb6ca053e49b539f465a4
    dest: /srv/cards/node1.img
    hostname: node1
    user:
      name: admin
      password: "{{ vault_admin_password }}"
      ssh_authorized_keys:
        - "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"
    network:
      address: 192.168.10.11/24
      gateway: 192.168.10.1
      dns: [192.168.10.1]
    cgroups: true
    timezone: Europe/Berlin

- name: Customise a raw HypriotOS image in place, with Wi-Fi
  picocloud.edge.pi_image:
    src: /srv/cards/hypriot-node2.img
    hostname: node2
    user:
      name: pirate
      password_hash: "{{ vault_pirate_hash }}"
    wifi:
      ssid: picocloud
      password: "{{ vault_wifi_password }}"
      country: DE
  register: node2_image

- name: Add config.txt settings and extra cloud-config on a Pi OS cloud-init image
  picocloud.edge.pi_image:
    src: /srv/cards/node3.img
    config_txt:
      all:
        arm_64bit: 1
        dtoverlay: [disable-bt]
    user_data:
      packages: [avahi-daemon]
    files:
      - path: picocloud/site.txt
        content: "site=lab\n"
'''

RETURN = r'''
flavor:
  description: The flavour that was written for (detected or given).
  returned: always
  type: str
  sample: rpios-firstrun
partitions:
  description: The image's partitions; C(start) and C(size) in bytes, C(type) as MBR hex or GPT GUID.
  returned: always
  type: list
  elements: dict
  sample: [{index: 1, type: '0x0c', start: 4194304, size: 536870912}, {index: 2, type: '0x83', start: 541065216, size: 1606418432}]
boot_partition:
  description: The FAT boot partition, with its C(offset) and C(size) in bytes and its volume C(label).
  returned: always
  type: dict
  sample: {index: 1, offset: 4194304, size: 536870912, label: bootfs}
files_changed:
  description: Boot-partition paths that were (or in check mode would be) written or removed.
  returned: always
  type: list
  elements: str
  sample: [cmdline.txt, firstrun.sh, ssh, userconf.txt]
instance_id:
  description: The cloud-init instance-id written to meta-data; null for C(rpios-firstrun).
  returned: always
  type: str
  sample: picocloud-3f2a9c0d1b7e4a55
src_format:
  description: The format of O(src) (raw, xz, gz, zip or zst).
  returned: always
  type: str
  sample: xz
dest_created:
  description: Whether O(dest) was (or in check mode would be) created from O(src).
  returned: always
  type: bool
  sample: true
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.picocloud.edge.plugins.module_utils.image import customize
from ansible_collections.picocloud.edge.plugins.module_utils.image import fat


def argument_spec():
    return dict(
        src=dict(type='path', required=True),
        dest=dict(type='path'),
        force=dict(type='bool', default=False),
        checksum=dict(type='str'),
        flavor=dict(type='str', default='auto', choices=['auto', 'hypriot', 'rpios-firstrun', 'rpios-cloudinit', 'ubuntu']),
        hostname=dict(type='str'),
        user=dict(type='dict', options=dict(
            name=dict(type='str', required=True),
            password=dict(type='str', no_log=True),
            password_hash=dict(type='str', no_log=True),
            ssh_authorized_keys=dict(type='list', elements='str', default=[], no_log=False),
            sudo=dict(type='bool', default=True),
            groups=dict(type='list', elements='str'),
        ), mutually_exclusive=[('password', 'password_hash')]),
        ssh=dict(type='dict', default={}, options=dict(
            enabled=dict(type='bool', default=True),
            password_authentication=dict(type='bool', default=False),
        )),
        wifi=dict(type='dict', options=dict(
            ssid=dict(type='str', required=True),
            password=dict(type='str', no_log=True),
            country=dict(type='str'),
            hidden=dict(type='bool', default=False),
        )),
        network=dict(type='dict', options=dict(
            interface=dict(type='str', default='eth0'),
            address=dict(type='str', required=True),
            gateway=dict(type='str'),
            dns=dict(type='list', elements='str', default=[]),
        )),
        timezone=dict(type='str'),
        keymap=dict(type='str', no_log=False),
        locale=dict(type='str'),
        cmdline=dict(type='dict', options=dict(
            add=dict(type='list', elements='str', default=[]),
            remove=dict(type='list', elements='str', default=[]),
        )),
        cgroups=dict(type='bool', default=False),
        config_txt=dict(type='dict'),
        user_data=dict(type='dict'),
        files=dict(type='list', elements='dict', options=dict(
            path=dict(type='str', required=True),
            content=dict(type='str', required=True),
        )),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not fat.HAS_PYFATFS:
        module.fail_json(msg=missing_required_lib('pyfatfs'))
    try:
        result = customize.run(module.params, module.check_mode)
    except customize.CustomizeError as exc:
        module.fail_json(msg=str(exc))
    if not module._diff:
        result.pop('diff', None)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
