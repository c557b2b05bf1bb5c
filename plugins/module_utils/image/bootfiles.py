# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cmdline.txt and config.txt merging for the Raspberry Pi boot partition.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Formats, from the Raspberry Pi documentation ("The kernel command line" and "config.txt"):
- cmdline.txt is a single line of space-separated tokens; the firmware reads the first line only.
- config.txt is ``key=value`` lines grouped by conditional filters in square brackets
  (``[all]``, ``[pi4]``, ``[cm4]``, ...); lines before the first filter apply to every board, as
  does ``[all]``; ``#`` starts a comment; ``dtoverlay`` and ``dtparam`` may appear many times.
- The documented filters ("Conditional filters": ``[pi4]``, ``[pi3+]``, ``[cm4]``, ``[board-type=0x14]``,
  ``[EDID=DEL-DELL_U2422H]``, ``[0x12345678]``, ``[gpio4=1]``, ``[HDMI:0]``, ``[tryboot]``, ``[none]``)
  use letters, digits and ``_ + = : . -`` only; a section name is refused when it has anything
  else (a ``]`` would end the filter early), and values are refused when they hold a control
  character (a carriage return or line break would start a new line for the firmware).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.picocloud.edge.plugins.module_utils.image import options as options_utils

# Keys the kernel (or its modules) accept more than once: never replaced, only added.
MULTI_VALUE_CMDLINE_KEYS = frozenset(['console', 'cgroup_enable', 'cgroup_disable', 'modules-load', 'ip'])
# config.txt keys that are lists of lines rather than a single setting.
MULTI_VALUE_CONFIG_KEYS = frozenset(['dtoverlay', 'dtparam', 'include', 'initramfs'])
CGROUP_TOKENS = ('cgroup_memory=1', 'cgroup_enable=memory', 'cgroup_enable=cpuset')
SECTION_RE = re.compile(r'^\s*\[([^\]]+)\]\s*(#.*)?$')
SETTING_RE = re.compile(r'^\s*([A-Za-z0-9_.\-]+)\s*=(.*)$')
SECTION_NAME_RE = re.compile(r'[A-Za-z0-9_+=:.-]{1,64}')
KEY_RE = re.compile(r'[A-Za-z0-9_.\-]{1,64}')
SCALAR_TYPES = (str, int, float, bool)


class BootFileError(Exception):
    """Bad cmdline/config options."""


def _key(token):
    return token.split('=', 1)[0] if '=' in token else None


def split_cmdline(text):
    """Tokens of the first non-empty line of cmdline.txt."""
    for line in (text or '').splitlines():
        if line.strip():
            return line.split()
    return []


def merge_cmdline(text, add=(), remove=()):
    """New cmdline.txt text: one line, existing order kept, no duplicate token.

    ``add``: a ``key=value`` token replaces the first existing ``key=`` token in place (and drops
    later ones) unless the key is one the kernel accepts many times (console, cgroup_enable, ...);
    a bare flag or a new key is appended. ``remove``: ``key=value`` removes that exact token;
    ``key`` or ``key=`` removes the bare flag and every ``key=...`` token.
    """
    tokens = split_cmdline(text)
    for item in remove or ():
        item = item.strip()
        if not item:
            continue
        if '=' in item and not item.endswith('='):
            tokens = [token for token in tokens if token != item]
        else:
            key = item.rstrip('=')
            tokens = [token for token in tokens if token != key and _key(token) != key]
    for token in add or ():
        token = token.strip()
        if not token:
            continue
        if any(char.isspace() for char in token) or options_utils.refused_character(token):
            raise BootFileError('cmdline.add token %s contains whitespace or a control character; give one token '
                                'per list item' % options_utils.shown(token))
        if token in tokens:
            continue
        key = _key(token)
        if key is not None and key not in MULTI_VALUE_CMDLINE_KEYS:
            positions = [index for index, existing in enumerate(tokens) if _key(existing) == key]
            if positions:
                tokens[positions[0]] = token
                for index in reversed(positions[1:]):
                    del tokens[index]
                continue
        tokens.append(token)
    seen = set()
    unique = []
    for token in tokens:
        if token not in seen:
            seen.add(token)
            unique.append(token)
    return ' '.join(unique) + '\n'


def config_value(value):
    if isinstance(value, bool):
        return '1' if value else '0'
    return str(value)


def _sections(lines):
    """[(name, first_line_index, end_index)]; the implicit top section is named '' ."""
    sections = []
    name, start = '', 0
    for index, line in enumerate(lines):
        match = SECTION_RE.match(line)
        if match:
            sections.append((name, start, index))
            name, start = match.group(1).strip(), index
    sections.append((name, start, len(lines)))
    return sections


def _insert_point(lines, start, end):
    """Index after the last non-blank line of a section (so trailing blank lines stay trailing)."""
    point = end
    while point > start + 1 and not lines[point - 1].strip():
        point -= 1
    if point == start + 1 and not lines[start].strip():
        point = start
    return point


def merge_config(text, settings):
    """New config.txt text with ``settings`` ({section: {key: value or [values]}}) merged in.

    Other sections, comments and order are kept. A scalar replaces the last ``key=`` line of the
    target section (or is appended to it); list values add each missing ``key=item`` line. The
    section ``all`` targets the last ``[all]`` section, else the lines before the first filter.
    A missing section is appended at the end of the file.
    """
    lines = (text or '').splitlines()
    for section in sorted(settings or {}, key=str):
        values = settings[section] or {}
        if not isinstance(values, dict):
            raise BootFileError('config_txt.%s must be a mapping of settings' % section)
        wanted = section.strip().strip('[]').strip() if isinstance(section, str) else ''
        if not SECTION_NAME_RE.fullmatch(wanted):
            raise BootFileError('config_txt section %s is not a config.txt conditional filter: use a documented '
                                'filter such as all, pi4, cm4, board-type=0x14, EDID=DEL-DELL_U2422H, gpio4=1 or '
                                'HDMI:0 (letters, digits and _ + = : . - only)' % options_utils.shown(section))
        for key in sorted(values, key=str):
            if not isinstance(key, str) or not KEY_RE.fullmatch(key):
                raise BootFileError('config_txt.%s key %s is not a config.txt setting name (letters, digits, _ . -)'
                                    % (wanted, options_utils.shown(key)))
            value = values[key]
            for item in value if isinstance(value, list) else [value]:
                if not isinstance(item, SCALAR_TYPES):
                    raise BootFileError('config_txt.%s.%s=%s must be a string, number or boolean (or a list of them)'
                                        % (wanted, key, options_utils.shown(item)))
                found = options_utils.refused_character(config_value(item))
                if found:
                    raise BootFileError('config_txt.%s.%s=%s contains a control character (U+%04X); config.txt '
                                        'values are one line' % (wanted, key, options_utils.shown(item), ord(found[1])))
            lines = _merge_key(lines, wanted, key, value)
    return '\n'.join(lines) + '\n' if lines else ''


def _target_section(lines, wanted):
    sections = _sections(lines)
    matches = [s for s in sections if s[0].lower() == wanted.lower()]
    if matches:
        return matches[-1]
    if wanted.lower() == 'all':
        return sections[0]
    return None


def _search_ranges(lines, wanted):
    """Line ranges whose settings apply to ``wanted``: every same-named section (for all, the top too)."""
    ranges = []
    for index, (name, start, end) in enumerate(_sections(lines)):
        if name.lower() == wanted.lower() or (wanted.lower() == 'all' and index == 0 and name == ''):
            ranges.append((start, end))
    return ranges


def _merge_key(lines, wanted, key, value):
    section = _target_section(lines, wanted)
    if section is None:
        if lines and lines[-1].strip():
            lines = lines + ['']
        lines = lines + ['[%s]' % wanted]
        section = _target_section(lines, wanted)
    dummy_name, start, end = section
    existing = [index for first, last in _search_ranges(lines, wanted) for index in range(first, last)
                if SETTING_RE.match(lines[index]) and SETTING_RE.match(lines[index]).group(1) == key]
    if isinstance(value, list) or key in MULTI_VALUE_CONFIG_KEYS:
        items = value if isinstance(value, list) else [value]
        present = set(SETTING_RE.match(lines[index]).group(2).strip() for index in existing)
        missing = ['%s=%s' % (key, config_value(item)) for item in items if config_value(item) not in present]
        if missing:
            point = _insert_point(lines, start, end)
            lines = lines[:point] + missing + lines[point:]
        return lines
    new_line = '%s=%s' % (key, config_value(value))
    if existing:
        last = existing[-1]
        if SETTING_RE.match(lines[last]).group(2).strip() != config_value(value):
            lines = lines[:last] + [new_line] + lines[last + 1:]
        return lines
    point = _insert_point(lines, start, end)
    return lines[:point] + [new_line] + lines[point:]


def config_sections(text):
    """{section: [setting lines]} for checking that other sections stay intact."""
    lines = (text or '').splitlines()
    return dict((name or '', lines[start:end]) for name, start, end in _sections(lines))
