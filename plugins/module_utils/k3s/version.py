# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""k3s versions: reading ``k3s --version`` and planning an upgrade one minor at a time, private to picocloud.edge.

Private to the picocloud.edge collection: no compatibility promise to other collections.

k3s versions are Kubernetes versions with a k3s build suffix, ``v1.33.4+k3s1``. ``k3s --version`` prints
``k3s version v1.33.4+k3s1 (<commit>)`` and a ``go version`` line. Kubernetes supports upgrading the
control plane one minor version at a time (kubernetes.io "Version Skew Policy": kube-apiserver
instances differ by at most one minor version, and a minor version may not be skipped), and docs.k3s.io
"Manual Upgrades" says to upgrade servers first, one at a time, then agents. The plan here refuses a
skipped minor, a downgrade and a change of major version, naming the node and both versions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.picocloud.edge.plugins.module_utils.k3s import K3sError

_VERSION_RE = re.compile(r'v([0-9]+)\.([0-9]+)\.([0-9]+)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?')
_OUTPUT_RE = re.compile(r'\S+ version (v[0-9]+\.[0-9]+\.[0-9]+\S*)(?: .*)?')
_CONTROL_RE = re.compile(r'[\x00-\x1f\x7f]')


def parse(text, field='version'):
    """A k3s version (``v1.33.4+k3s1``) as ``{version, major, minor, patch, pre, build, key}``.

    ``key`` orders versions: by major, minor, patch, then a release after its pre-releases, then the
    build number of the suffix (``k3s2`` after ``k3s1``).
    """
    if not isinstance(text, str) or _CONTROL_RE.search(text):
        raise K3sError('%s: %r is not a k3s version such as v1.33.4+k3s1' % (field, text))
    match = _VERSION_RE.fullmatch(text)
    if not match:
        raise K3sError('%s: %r is not a k3s version such as v1.33.4+k3s1' % (field, text))
    major, minor, patch = (int(part) for part in match.group(1, 2, 3))
    pre, build = match.group(4), match.group(5)
    number = re.search(r'([0-9]+)$', build or '')
    key = (major, minor, patch, 0 if pre else 1, pre or '', int(number.group(1)) if number else 0, build or '')
    return {'version': text, 'major': major, 'minor': minor, 'patch': patch, 'pre': pre, 'build': build,
            'key': key}


def release(text, field='k3s_version'):
    """A version to install (``parse``), which must carry the build suffix: ``k3s --version`` always prints one
    (``+k3s1``; the test suite's stand-in prints ``+standin1``), so a version without it never matches the binary."""
    parsed = parse(text, field=field)
    if not parsed['build']:
        raise K3sError('%s: %r has no build suffix; k3s --version prints one, so give the whole release, e.g. '
                       'v1.30.2+k3s1' % (field, text))
    return parsed


def from_output(text, field='k3s --version'):
    """The version that ``k3s --version`` printed (its first line: ``k3s version v1.33.4+k3s1 (abc123)``)."""
    if not isinstance(text, str) or not text.strip():
        raise K3sError('%s: no output to read a version from' % field)
    first = text.strip().splitlines()[0]
    match = _OUTPUT_RE.fullmatch(first.strip())
    if not match:
        raise K3sError('%s: %r is not "k3s version v<major>.<minor>.<patch>+k3s<n> (...)"' % (field, first[:120]))
    return parse(match.group(1), field=field)['version']


def _minor(parsed):
    return 'v%d.%d' % (parsed['major'], parsed['minor'])


def step(current, target, node='node'):
    """What moving ``node`` from ``current`` to ``target`` is: ``same``, ``upgrade``; refused otherwise.

    A downgrade, a new major version and a skipped minor version are refused with a message naming the
    node and both versions.
    """
    now = parse(current, field='%s: installed version' % node)
    want = release(target)
    if now['key'] == want['key']:
        return 'same'
    if want['key'] < now['key']:
        raise K3sError('%s: runs %s, newer than k3s_version %s; k3s does not support downgrades (restore an etcd '
                       'snapshot of the older version instead)' % (node, now['version'], want['version']))
    if want['major'] != now['major']:
        raise K3sError('%s: runs %s and k3s_version is %s: a new major version is not a supported upgrade'
                       % (node, now['version'], want['version']))
    if want['minor'] - now['minor'] > 1:
        raise K3sError('%s: runs %s and k3s_version is %s: that skips %s; upgrade one minor version at a time '
                       '(first to the newest v%d.%d.x release)'
                       % (node, now['version'], want['version'],
                          ', '.join('v%d.%d' % (now['major'], minor)
                                    for minor in range(now['minor'] + 1, want['minor'])),
                          now['major'], now['minor'] + 1))
    return 'upgrade'


def upgrade_plan(installed, target):
    """The upgrade plan for ``installed`` (``{node: version or None}``) to ``target``.

    Returns ``{target, minor, upgrade: [nodes], same: [nodes], errors: [messages]}`` with nodes in
    the order given. A node without k3s is an error (install it with the site playbook first).
    """
    want = release(target)
    if not isinstance(installed, dict) or not installed:
        raise K3sError('installed: expected {node: installed version}, got %r' % (installed,))
    plan = {'target': want['version'], 'minor': _minor(want), 'upgrade': [], 'same': [], 'errors': []}
    for node, version in installed.items():
        if not version:
            plan['errors'].append('%s: k3s is not installed; converge it with picocloud.edge.site first' % node)
            continue
        try:
            plan[step(version, want['version'], node=node)].append(node)
        except K3sError as exc:
            plan['errors'].append(str(exc))
    return plan
