# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Password and Wi-Fi passphrase hashing for first-boot files.

Private to the picocloud.edge collection: no compatibility promise to other collections.

Passwords become SHA-512 crypt hashes (``$6$``), which every target reads: chpasswd -e and
userconf-pi on Raspberry Pi OS, cloud-init's ``passwd`` on every flavour. The hash comes from
libpass (the maintained fork of passlib, imported as ``passlib``) when it is installed, else from
the standard library's ``crypt`` module (deprecated, removed in Python 3.13). With neither, a
plain password is refused and ``password_hash`` must be given.

To stay idempotent, a plain password is checked against the hash already on the card and that
hash is kept when it matches, so re-running with the same password writes nothing.

Wi-Fi passphrases become the 256-bit WPA PSK, PBKDF2-HMAC-SHA1(passphrase, ssid, 4096, 32),
written as 64 hex digits (IEEE 802.11i, as ``wpa_passphrase`` prints it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re
import warnings

try:
    from passlib.hash import sha512_crypt as _passlib_sha512
    HAS_PASSLIB = True
except ImportError:
    _passlib_sha512 = None
    HAS_PASSLIB = False

try:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        import crypt as _stdlib_crypt
    HAS_STDLIB_CRYPT = hasattr(_stdlib_crypt, 'METHOD_SHA512')
except ImportError:
    _stdlib_crypt = None
    HAS_STDLIB_CRYPT = False

# Matched whole (fullmatch): re.match with $ would accept a trailing newline, which splits userconf.txt.
CRYPT_RE = re.compile(r'\$(6|5|y|gy|2b|2y|1)\$[./A-Za-z0-9$=,]+')
SHA512_RE = re.compile(r'\$6\$(rounds=[0-9]+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{86}')
HEX_PSK_RE = re.compile(r'[0-9a-fA-F]{64}')


class PasswordError(Exception):
    """A password cannot be hashed or a hash is malformed."""


def can_hash():
    return HAS_PASSLIB or HAS_STDLIB_CRYPT


def is_crypt_hash(text):
    return isinstance(text, str) and bool(CRYPT_RE.fullmatch(text))


def sha512_crypt(password, salt=None):
    """SHA-512 crypt hash of password (5000 rounds, the glibc default); random salt unless given."""
    if HAS_PASSLIB:
        kwargs = {'rounds': 5000}
        if salt is not None:
            kwargs['salt'] = salt
        return _passlib_sha512.using(**kwargs).hash(password)
    if HAS_STDLIB_CRYPT:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            setting = '$6$%s' % salt if salt is not None else _stdlib_crypt.mksalt(_stdlib_crypt.METHOD_SHA512)
            return _stdlib_crypt.crypt(password, setting)
    raise PasswordError('hashing a plain password needs the libpass (passlib) Python package on the controller; '
                        'install it or give user.password_hash instead')


def verify(password, hashed):
    """True when password matches an existing SHA-512 crypt hash."""
    if not hashed or not SHA512_RE.fullmatch(hashed):
        return False
    if HAS_PASSLIB:
        return _passlib_sha512.verify(password, hashed)
    if HAS_STDLIB_CRYPT:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            return _stdlib_crypt.crypt(password, hashed) == hashed
    return False


def password_hash(password=None, hashed=None, existing=None):
    """The hash to write: ``hashed`` as given, else the existing hash if it matches, else a new one."""
    if hashed:
        if not is_crypt_hash(hashed):
            raise PasswordError('user.password_hash must be a crypt(3) hash such as $6$salt$...; got something else')
        return hashed
    if password is None:
        return None
    if existing and verify(password, existing):
        return existing
    return sha512_crypt(password)


def wpa_psk(ssid, passphrase):
    """64-hex-digit WPA PSK for a passphrase (8..63 bytes, as wpa_passphrase counts); 64 hex digits are used as is."""
    if HEX_PSK_RE.fullmatch(passphrase or ''):
        return passphrase.lower()
    if not 8 <= len((passphrase or '').encode('utf-8')) <= 63:
        raise PasswordError('wifi.password must be 8 to 63 bytes (UTF-8), or a 64-hex-digit PSK')
    return hashlib.pbkdf2_hmac('sha1', passphrase.encode('utf-8'), ssid.encode('utf-8'), 4096, 32).hex()
