# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of picocloud.edge's pki role, as pure functions over community.crypto's info dictionaries.

Private to the picocloud.edge collection. The role reads files and parses certificates and CSRs with
community.crypto (modules on the nodes, filters on the controller) and passes the results in here:
- entry_problems / wanted: what one pki_certs entry asks for (checked, normalised, with its file paths);
- naming_problems / csr_problems: the signing policy (a CSR must match what was asked, plus per-purpose naming rules);
- cert_reasons / host_plan: why a certificate on a node must be (re)issued, and what else needs writing;
- trust_bundle: the content of a trust (CA) file;
- ca_reasons: why an intermediate CA or its self-signed anchor must be (re)made.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import ipaddress
import re

# The purposes of the site's intermediate CAs, and the usages their leaf certificates may carry.
# consul: agents need server and client auth (both); an operator's Consul client bundle needs client only.
# docker: daemons serve the remote API (server). operator: operator clients (client).
# registry: the registry's server certificate (server) and the nodes' registry client certificates (client).
PURPOSE_USAGES = {
    'consul': ('both', 'client'),
    'docker': ('server',),
    'operator': ('client',),
    'registry': ('server', 'client'),
}
USAGES = {'server': ('serverAuth',), 'client': ('clientAuth',), 'both': ('serverAuth', 'clientAuth')}

# community.crypto reports key usages by OpenSSL's long names; the role asks for them by short names.
_LONG_NAMES = {
    'digitalSignature': 'Digital Signature',
    'keyEncipherment': 'Key Encipherment',
    'serverAuth': 'TLS Web Server Authentication',
    'clientAuth': 'TLS Web Client Authentication',
}
_SHORT_NAMES = dict((long_name, short) for short, long_name in _LONG_NAMES.items())

# The extensions a leaf CSR may carry (everything in a CSR is copied into the certificate by the ownca provider):
# subjectAltName, keyUsage, extendedKeyUsage, basicConstraints.
CSR_EXTENSIONS = {'2.5.29.17': 'subject_alt_name', '2.5.29.15': 'key_usage', '2.5.29.37': 'extended_key_usage',
                  '2.5.29.19': 'basic_constraints'}

_NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]{0,127}')
_OWNER = re.compile(r'[A-Za-z_][A-Za-z0-9_.-]{0,31}')
_DNS = re.compile(r'(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*')
_PATH = re.compile(r'/[^\x00-\x1f\x7f]*')
_BASENAME = re.compile(r'[A-Za-z0-9._:@+-]+')
_TIME = '%Y%m%d%H%M%SZ'
_FILE_MODE = '0644'
_KEY_MODES = ('0600', '0400')


class PkiError(Exception):
    """A pki_certs entry, a certificate or a trust anchor that the role cannot use; the message says why."""


def _control(value):
    return any(ord(char) < 32 or ord(char) == 127 for char in value)


def key_usage(key_type):
    """The key usages of a leaf with this key type (ecdsa: digitalSignature; rsa adds keyEncipherment)."""
    return ['digitalSignature', 'keyEncipherment'] if key_type == 'rsa' else ['digitalSignature']


def normalize_san(san):
    """A subjectAltName as community.crypto reports it: DNS names lower-case, IP addresses in canonical form."""
    if not isinstance(san, str) or ':' not in san or _control(san):
        raise PkiError('%r is not a subjectAltName: use DNS:<name>, IP:<address>, URI:<uri> or email:<address>' % (san,))
    kind, value = san.split(':', 1)
    if kind == 'DNS':
        value = value.lower()
        if not _DNS.fullmatch(value) or len(value) > 253:
            raise PkiError('%r is not a DNS name' % (san,))
        return 'DNS:' + value
    if kind == 'IP':
        try:
            return 'IP:' + str(ipaddress.ip_address(value))
        except ValueError:
            raise PkiError('%r is not an IP address' % (san,))
    if kind in ('URI', 'email') and value and ' ' not in value:
        return '%s:%s' % (kind, value)
    raise PkiError('%r is not a subjectAltName: use DNS:<name>, IP:<address>, URI:<uri> or email:<address>' % (san,))


def _label(entry):
    return entry.get('name') if isinstance(entry, dict) and isinstance(entry.get('name'), str) else '?'


def entry_problems(entry, purposes, cert_days, renew_days):
    """What is wrong with one pki_certs entry, as messages naming the certificate, the field and the value."""
    if not isinstance(entry, dict):
        return ['a pki_certs entry must be a dict, got %r' % (entry,)]
    label = _label(entry)
    problems = []

    def bad(field, value, rule):
        problems.append('pki_certs entry %s: %s=%r is refused: %s' % (label, field, value, rule))

    name = entry.get('name')
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        bad('name', name, 'use 1-128 letters, digits, ".", "_" and "-", starting with a letter or digit')
    cn = entry.get('common_name')
    if not isinstance(cn, str) or not cn or len(cn) > 64 or _control(cn):
        bad('common_name', cn, 'use 1-64 characters without control characters')
    ca = entry.get('ca')
    if ca not in purposes:
        bad('ca', ca, 'name the issuing purpose, one of %s' % ', '.join(sorted(purposes)))
    trust = entry.get('trust')
    trust = [ca] if trust is None else trust
    if not isinstance(trust, list) or not trust or any(item not in purposes for item in trust):
        bad('trust', trust, 'list the purposes whose CAs this certificate trusts, each one of %s' % ', '.join(sorted(purposes)))
    usage = entry.get('usage', 'server')
    if usage not in USAGES:
        bad('usage', usage, 'use server, client or both')
    elif ca in PURPOSE_USAGES and usage not in PURPOSE_USAGES[ca]:
        bad('usage', usage, 'the %s CA issues only %s certificates' % (ca, ' or '.join(PURPOSE_USAGES[ca])))
    sans = entry.get('sans', [])
    if not isinstance(sans, list):
        bad('sans', sans, 'give a list of DNS:, IP:, URI: or email: names')
    else:
        for san in sans:
            try:
                normalize_san(san)
            except PkiError as exc:
                bad('sans', san, str(exc))
    dest = entry.get('dest')
    if dest is not None and (not isinstance(dest, str) or not _PATH.fullmatch(dest)):
        bad('dest', dest, 'use an absolute directory without control characters')
    for field in ('cert_file', 'key_file', 'ca_file'):
        value = entry.get(field)
        if value is None:
            if dest is None:
                bad(field, value, 'set dest (for the default file names) or %s (an absolute path)' % field)
        elif (not isinstance(value, str) or not _PATH.fullmatch(value)
              or not _BASENAME.fullmatch(value.rsplit('/', 1)[1]) or value.rsplit('/', 1)[1] in ('.', '..')):
            bad(field, value, 'use an absolute file path whose file name has only letters, digits and ._:@+-')
    for field in ('owner', 'group'):
        value = entry.get(field, 'root')
        if not isinstance(value, str) or not _OWNER.fullmatch(value):
            bad(field, value, 'use a user or group name')
    days = entry.get('days', cert_days)
    try:
        days_ok = int(days) > int(renew_days)
    except (TypeError, ValueError):
        days_ok = False
    if not days_ok:
        bad('days', days, 'must be a number of days greater than pki_renew_days (%s)' % renew_days)
    return problems


def wanted(entry, key_type='ecdsa', rsa_bits=2048, cert_days=365):
    """The normalised request of one valid pki_certs entry: subject, names, usages, key, validity and file paths."""
    dest = (entry.get('dest') or '').rstrip('/')
    usage = entry.get('usage', 'server')
    result = {
        'name': entry['name'],
        'ca': entry['ca'],
        'trust': list(entry.get('trust') or [entry['ca']]),
        'common_name': entry['common_name'],
        'sans': sorted(set(normalize_san(san) for san in entry.get('sans', []))),
        'usage': usage,
        'key_usage': key_usage(key_type),
        'extended_key_usage': list(USAGES[usage]),
        'public_key': wanted_public_key(key_type, rsa_bits),
        'days': int(entry.get('days', cert_days)),
        'cert_file': entry.get('cert_file') or '%s/%s.pem' % (dest, entry['name']),
        'key_file': entry.get('key_file') or '%s/%s-key.pem' % (dest, entry['name']),
        'ca_file': entry.get('ca_file') or '%s/ca.pem' % dest,
        'owner': entry.get('owner', 'root'),
        'group': entry.get('group', 'root'),
    }
    result['dirs'] = sorted(set(path.rsplit('/', 1)[0] or '/' for path in
                                (result['cert_file'], result['key_file'], result['ca_file'])))
    return result


def entries_problems(entries, purposes, cert_days, renew_days):
    """entry_problems for every entry, plus what only the whole list shows: two entries with one name or one file,
    and one CA file asked to trust two different sets of CAs."""
    if not isinstance(entries, list):
        return ['pki_certs must be a list of dicts, got %r' % (entries,)]
    problems = []
    for entry in entries:
        problems.extend(entry_problems(entry, purposes, cert_days, renew_days))
    if problems:
        return problems
    names = [entry['name'] for entry in entries]
    for name in sorted(set(name for name in names if names.count(name) > 1)):
        problems.append('pki_certs has two entries named %s' % name)
    normalized = [wanted(entry, cert_days=cert_days) for entry in entries]
    files = {}
    for item in normalized:
        for field in ('cert_file', 'key_file'):
            if item[field] in files:
                problems.append('pki_certs entries %s and %s both write %s' % (files[item[field]], item['name'], item[field]))
            files[item[field]] = item['name']
    trusts = {}
    for item in normalized:
        if item['ca_file'] in files:
            problems.append('pki_certs entry %s: ca_file %s is also a certificate or key file' % (item['name'], item['ca_file']))
        other = trusts.setdefault(item['ca_file'], (item['name'], sorted(item['trust'])))
        if other[1] != sorted(item['trust']):
            problems.append('pki_certs entries %s and %s share the CA file %s but trust %s and %s: give one of them a ca_file'
                            % (other[0], item['name'], item['ca_file'], other[1], sorted(item['trust'])))
    return problems


def _dns_names(common_name, sans):
    names = [san[4:].lower() for san in sans if san.startswith('DNS:')]
    return names + ([common_name.lower()] if common_name else [])


def is_consul_server_name(name, consul_domain):
    """server.<dc>.<domain> (the name verify_server_hostname checks) or <node>.server.<dc>.<domain>; consul_domain is
    the site's <dc>.<domain>. Names are compared case-insensitively, as DNS does."""
    name = name.lower().rstrip('.')
    suffix = 'server.' + consul_domain.lower().strip('.')
    return name == suffix or name.endswith('.' + suffix)


def naming_problems(host, certificate, purpose, common_name, sans, consul_servers, consul_domain):
    """Per-purpose naming rules, whatever pki_certs asks: a Consul server name (server.<dc>.<domain>, or a name under
    it) only for hosts in consul_servers. Messages read '<host>: certificate <name> (<purpose> CA): name: ...'."""
    problems = []
    if purpose == 'consul' and host not in (consul_servers or []):
        for name in _dns_names(common_name, sans):
            if is_consul_server_name(name, consul_domain):
                problems.append(
                    "%s: certificate %s (consul CA): name: it asks %r, allowed are names outside server.%s: "
                    "server.<dc>.<domain> (checked by Consul's verify_server_hostname) belongs only to hosts in "
                    "consul_servers, and %s is not one" % (host, certificate, name, consul_domain, host))
    return problems


def _short(names):
    return sorted(_SHORT_NAMES.get(name, name) for name in (names or []))


def _public_key(info):
    data = info.get('public_key_data') or {}
    return {'type': info.get('public_key_type'), 'curve': data.get('curve'), 'size': data.get('size')}


def wanted_public_key(key_type, rsa_bits):
    """The public key a leaf of pki_key_type / pki_rsa_bits has, as _public_key reports it."""
    if key_type == 'rsa':
        return {'type': 'RSA', 'curve': None, 'size': int(rsa_bits)}
    return {'type': 'ECC', 'curve': 'secp256r1', 'size': None}


def csr_problems(host, want, csr_info, consul_servers, consul_domain):
    """Why the controller must not sign this CSR for this host's certificate `want` (a wanted() dict).

    csr_info is community.crypto.openssl_csr_info's answer. Each message names the node, the certificate, the field,
    what the CSR asked and what is allowed. An empty list means: sign it.
    """
    where = '%s: certificate %s (%s CA)' % (host, want['name'], want['ca'])
    problems = []

    def refuse(field, asked, allowed):
        problems.append('%s: %s: the CSR asks %s, allowed is %s' % (where, field, asked, allowed))

    if csr_info.get('signature_valid') is not True:
        refuse('signature', 'a request whose self-signature does not verify', 'a request signed by its own key')
    subject = [list(pair) for pair in csr_info.get('subject_ordered') or []]
    if subject != [['commonName', want['common_name']]]:
        refuse('subject', subject, [['commonName', want['common_name']]])
    try:
        asked_sans = sorted(set(normalize_san(san) for san in csr_info.get('subject_alt_name') or []))
    except PkiError as exc:
        asked_sans = [str(exc)]
    if asked_sans != want['sans']:
        refuse('subject_alt_name', asked_sans, want['sans'])
    if _short(csr_info.get('key_usage')) != sorted(want['key_usage']) or not csr_info.get('key_usage_critical'):
        refuse('key_usage', '%s (critical: %s)' % (_short(csr_info.get('key_usage')), bool(csr_info.get('key_usage_critical'))),
               '%s (critical: True)' % sorted(want['key_usage']))
    if _short(csr_info.get('extended_key_usage')) != sorted(want['extended_key_usage']):
        refuse('extended_key_usage', _short(csr_info.get('extended_key_usage')), sorted(want['extended_key_usage']))
    if csr_info.get('basic_constraints') != ['CA:FALSE'] or not csr_info.get('basic_constraints_critical'):
        refuse('basic_constraints', '%s (critical: %s)' % (csr_info.get('basic_constraints'),
                                                           bool(csr_info.get('basic_constraints_critical'))),
               "['CA:FALSE'] (critical: True)")
    extra = sorted(oid for oid in (csr_info.get('extensions_by_oid') or {}) if oid not in CSR_EXTENSIONS)
    if extra:
        refuse('extensions', 'the extensions %s' % ', '.join(extra),
               'only %s' % ', '.join(sorted(CSR_EXTENSIONS.values())))
    if _public_key(csr_info) != want['public_key']:
        refuse('public_key', _public_key(csr_info), want['public_key'])
    problems.extend(naming_problems(host, want['name'], want['ca'], (csr_info.get('subject') or {}).get('commonName', ''),
                                    csr_info.get('subject_alt_name') or [], consul_servers, consul_domain))
    return problems


def batch_problems(requests, infos, consul_servers, consul_domain):
    """csr_problems of every request ({host, want, csr}) in one signing batch; infos in the same order."""
    if len(requests) != len(infos):
        raise PkiError('%d requests but %d parsed CSRs' % (len(requests), len(infos)))
    problems = []
    for request, info in zip(requests, infos):
        problems.extend(csr_problems(request['host'], request['want'], info, consul_servers, consul_domain))
    return problems


def parse_time(value):
    """A UTC datetime from community.crypto's ASN.1 time (20261204200357Z), an ISO string or a datetime."""
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    if isinstance(value, str):
        try:
            return datetime.datetime.strptime(value, _TIME)
        except ValueError:
            try:
                return parse_time(datetime.datetime.fromisoformat(value))
            except ValueError:
                pass
    raise PkiError('%r is not a time (expected YYYYmmddHHMMSSZ)' % (value,))


def _issued_by(cert_info, issuer_info):
    return (cert_info.get('issuer') == issuer_info.get('subject')
            and (cert_info.get('authority_key_identifier') or '').lower()
            == (issuer_info.get('subject_key_identifier') or '').lower()
            and bool(cert_info.get('authority_key_identifier')))


def cert_reasons(want, cert_info, issuer_info, now, renew_days, accepted_issuers=()):
    """Why the certificate described by cert_info must be (re)issued for `want`; [] when it still fits.

    issuer_info is the current intermediate of want['ca']; a certificate issued by one of accepted_issuers (CAs being
    replaced, while a client bundle waits for the end of the run) is accepted too.
    """
    if not cert_info:
        return ['there is no certificate yet']
    reasons = []
    if not _issued_by(cert_info, issuer_info):
        if not any(_issued_by(cert_info, other) for other in accepted_issuers or ()):
            reasons.append('it was not issued by the current %s CA (issuer %s)' % (
                want['ca'], cert_info.get('issuer', {}).get('commonName', cert_info.get('issuer'))))
    if cert_info.get('subject') != {'commonName': want['common_name']}:
        reasons.append('its subject is %s, wanted commonName %s' % (cert_info.get('subject'), want['common_name']))
    try:
        have_sans = sorted(set(normalize_san(san) for san in cert_info.get('subject_alt_name') or []))
    except PkiError:
        have_sans = None
    if have_sans != want['sans']:
        reasons.append('its names are %s, wanted %s' % (have_sans, want['sans']))
    if _short(cert_info.get('key_usage')) != sorted(want['key_usage']):
        reasons.append('its key usage is %s, wanted %s' % (_short(cert_info.get('key_usage')), sorted(want['key_usage'])))
    if _short(cert_info.get('extended_key_usage')) != sorted(want['extended_key_usage']):
        reasons.append('its extended key usage is %s, wanted %s' % (
            _short(cert_info.get('extended_key_usage')), sorted(want['extended_key_usage'])))
    if cert_info.get('basic_constraints') != ['CA:FALSE']:
        reasons.append('its basic constraints are %s, wanted CA:FALSE' % cert_info.get('basic_constraints'))
    if _public_key(cert_info) != want['public_key']:
        reasons.append('its key is %s, wanted %s' % (_public_key(cert_info), want['public_key']))
    not_after = parse_time(cert_info['not_after'])
    if not_after <= parse_time(now) + datetime.timedelta(days=int(renew_days)):
        reasons.append('it expires %s, within pki_renew_days (%s)' % (not_after.strftime('%Y-%m-%d %H:%M'), renew_days))
    return reasons


def split_pems(text):
    """The PEM blocks of a text, each ending with one newline."""
    return [block.strip() + '\n' for block in
            re.findall(r'-----BEGIN [A-Z0-9 ]+-----[^-]+-----END [A-Z0-9 ]+-----', text or '')]


def trust_bundle(anchors, trust, retiring=None):
    """The content of a trust file: the anchors of the purposes in `trust` (in that order), then the CAs being replaced
    for those purposes (retiring[purpose]: PEM texts), each certificate once."""
    blocks = []
    for purpose in trust:
        if not anchors.get(purpose):
            raise PkiError('there is no trust anchor for the %s CA yet' % purpose)
        blocks.extend(split_pems(anchors[purpose]))
    for purpose in trust:
        for pem in (retiring or {}).get(purpose, []):
            blocks.extend(split_pems(pem))
    unique = []
    for block in blocks:
        if block not in unique:
            unique.append(block)
    return ''.join(unique)


def sha1(text):
    """The checksum ansible's find and copy report for a file with this text."""
    return hashlib.sha1(text.encode('utf-8')).hexdigest()


def host_plan(entries, files, texts, infos, issuers, anchors, retiring, chains, now, renew_days):
    """What the pki role must do on one node for its wanted() entries.

    files: {path: find's answer for it (checksum, mode, pw_name, gr_name)}, missing files absent; texts: {cert_file: the
    file's text}; infos: {cert_file: its first certificate parsed by community.crypto.x509_certificate_info};
    issuers: {purpose: the parsed current intermediate}; anchors, retiring: PEMs per purpose (see trust_bundle);
    chains: {purpose: the intermediate's PEM, which follows every leaf in its file}.
    Returns the entries, each with: issue (reasons to (re)issue; [] keeps the certificate), key_fix (the key file's owner
    or mode needs fixing), cert_fix (the certificate file's owner or mode needs fixing, or its text is not exactly the
    leaf then the current intermediate, one newline after each), trust_text (the text
    its CA file must get, or None when it has it), stale (the certificate on the node is issued by a CA being replaced)
    and leaf (the node's leaf PEM).
    """
    plan = []
    for want in entries:
        key = files.get(want['key_file'])
        cert = files.get(want['cert_file'])
        ca_file = files.get(want['ca_file'])
        info = infos.get(want['cert_file']) or None
        issuer = issuers.get(want['ca'])
        if issuer is None:
            raise PkiError('the %s CA does not exist yet' % want['ca'])
        owner = (want['owner'], want['group'])
        issue = [] if key else ['its key does not exist yet']
        issue += cert_reasons(want, info, issuer, now, renew_days) if cert else ['there is no certificate yet']
        text = texts.get(want['cert_file'], '')
        blocks = split_pems(text)
        cert_fix = bool(cert) and not issue and (
            (cert.get('pw_name'), cert.get('gr_name')) != owner or cert.get('mode') != _FILE_MODE
            or text != ''.join(blocks[:1] + split_pems(chains.get(want['ca'], ''))))
        key_fix = bool(key) and ((key.get('pw_name'), key.get('gr_name')) != owner or key.get('mode') not in _KEY_MODES)
        trust_text = trust_bundle(anchors, want['trust'], retiring)
        trust_fix = (not ca_file or ca_file.get('checksum') != sha1(trust_text)
                     or (ca_file.get('pw_name'), ca_file.get('gr_name')) != owner or ca_file.get('mode') != _FILE_MODE)
        plan.append(dict(want, issue=issue, key_fix=key_fix, cert_fix=cert_fix, trust_text=trust_text if trust_fix else None,
                         stale=bool(info) and not _issued_by(info, issuer), leaf=blocks[0] if blocks else ''))
    return plan


def ca_reasons(purpose, common_name, cert_info, anchor_info, key_public, root_info, now, window_days):
    """Why the intermediate CA of `purpose` or its self-signed anchor must be (re)made.

    common_name: the subject wanted for both; cert_info / anchor_info: the parsed ca.pem and anchor.pem of the purpose
    (None when missing); key_public: the public key (PEM) of its private key (None when missing: a new key is made);
    root_info: the parsed root certificate; window_days: renew when either expires within this many days.
    The anchor is judged against the key, not the certificate, so renewing an intermediate with its key keeps the
    anchor (and every trust file) as it is. Returns {'intermediate': [...], 'anchor': [...]}.
    """
    intermediate = []
    anchor = []
    subject = {'commonName': common_name}
    moment = parse_time(now) + datetime.timedelta(days=int(window_days))
    if key_public is None:
        intermediate.append('the %s CA has no key yet' % purpose)
        anchor.append('the %s CA gets a new key' % purpose)
    if cert_info is None:
        intermediate.append('the %s CA has no certificate yet' % purpose)
    elif key_public is not None:
        if cert_info.get('public_key') != key_public:
            intermediate.append('the %s CA certificate does not match its key' % purpose)
        if cert_info.get('subject') != subject:
            intermediate.append('the %s CA certificate names %s, wanted %s' % (purpose, cert_info.get('subject'), subject))
        if root_info is None or not _issued_by(cert_info, root_info):
            intermediate.append('the %s CA certificate was not issued by the current root CA' % purpose)
        if cert_info.get('basic_constraints') != ['CA:TRUE', 'pathlen:0']:
            intermediate.append('the %s CA certificate has basic constraints %s' % (purpose, cert_info.get('basic_constraints')))
        if parse_time(cert_info['not_after']) <= moment:
            intermediate.append('the %s CA certificate expires %s' % (purpose, cert_info['not_after']))
    if anchor_info is None:
        anchor.append('the %s CA has no trust anchor yet' % purpose)
    elif key_public is not None:
        if anchor_info.get('public_key') != key_public or anchor_info.get('subject') != subject:
            anchor.append('the %s trust anchor does not have the subject and key of its CA' % purpose)
        if anchor_info.get('issuer') != subject:
            anchor.append('the %s trust anchor is not self-signed' % purpose)
        if parse_time(anchor_info['not_after']) <= moment:
            anchor.append('the %s trust anchor expires %s' % (purpose, anchor_info['not_after']))
    return {'intermediate': intermediate, 'anchor': sorted(set(anchor), key=anchor.index)}


def _first_block(text):
    blocks = split_pems(text)
    return blocks[0] if blocks else None


def _info(infos, block):
    if block is None:
        return None
    for pem, info in infos.items():
        if pem.strip() == block.strip():
            return info
    raise PkiError('no parsed certificate for a block that was read')


# What the decisions read of an issuer's info; site_state keeps only these, so the facts stay small.
_ISSUER_KEYS = ('subject', 'subject_key_identifier', 'not_after')


def _slim(info):
    return dict((key, info.get(key)) for key in _ISSUER_KEYS) if info is not None else None


def ca_plan(cas, names, texts, infos, key_publics, root_cert, now, window_days):
    """ca_reasons for every purpose of cas ({purpose: {cert, key, anchor, ...}}), from the files read once: texts
    ({path: text}, missing files absent), infos ({PEM: community.crypto.x509_certificate_info}), key_publics ({key
    path: public key PEM}), and the root certificate's path."""
    root = _info(infos, _first_block(texts.get(root_cert, '')))
    plan = {}
    for purpose, paths in cas.items():
        plan[purpose] = ca_reasons(purpose, names[purpose], _info(infos, _first_block(texts.get(paths['cert'], ''))),
                                   _info(infos, _first_block(texts.get(paths['anchor'], ''))),
                                   key_publics.get(paths['key']), root, now, window_days)
    return plan


def site_state(cas, texts, infos, legacy_cert, names=None, key_publics=None, root_cert=None, now=None, window_days=0):
    """What the certificates of a run need from the site's CAs, from the files read once (see ca_plan):
    ready (every intermediate and anchor exists), todo ({purpose: ca_reasons} of the purposes that need making, when
    names is given), anchors and chains ({purpose: PEM}), issuers ({purpose: parsed intermediate}), retiring
    ({purpose: PEMs still trusted while being replaced: the legacy CA of 0.1.0 sites, then the purpose's retiring.pem})
    and retiring_issuers (the same, parsed)."""
    ready = all(paths['cert'] in texts and paths['anchor'] in texts for paths in cas.values())
    todo = {}
    if names is not None:
        plan = ca_plan(cas, names, texts, infos, key_publics or {}, root_cert, now, window_days)
        todo = dict((purpose, reasons) for purpose, reasons in plan.items() if reasons['intermediate'] or reasons['anchor'])
    state = {'ready': ready, 'todo': todo, 'anchors': {}, 'chains': {}, 'issuers': {}, 'retiring': {}, 'retiring_issuers': {}}
    if not ready:
        return state
    legacy = split_pems(texts.get(legacy_cert, ''))
    for purpose, paths in cas.items():
        state['anchors'][purpose] = _first_block(texts[paths['anchor']])
        state['chains'][purpose] = _first_block(texts[paths['cert']])
        state['issuers'][purpose] = _slim(_info(infos, state['chains'][purpose]))
        state['retiring'][purpose] = legacy + split_pems(texts.get(paths['retiring'], ''))
        state['retiring_issuers'][purpose] = [_slim(_info(infos, block)) for block in state['retiring'][purpose]]
    return state


def node_plan(entries, files, texts, infos, site, now, renew_days, issue_leaves=True):
    """host_plan for one call on one node, with what the role does next: {'entries': host_plan's list (empty while
    the site's CAs do not exist), 'missing_dirs': the directories of the entries that do not exist, 'issue': the
    entries to (re)issue (none when issue_leaves is false), 'write': whether anything must be written or reported}."""
    dirs = sorted(set(directory for entry in entries for directory in entry['dirs']))
    missing = [directory for directory in dirs if not (files.get(directory) or {}).get('isdir')]
    if not site.get('ready'):
        return {'entries': [], 'missing_dirs': missing, 'issue': [], 'write': bool(entries)}
    plan = host_plan(entries, files, texts, infos, site['issuers'], site['anchors'], site['retiring'], site['chains'],
                     now, renew_days)
    issue = [entry for entry in plan if entry['issue']] if issue_leaves else []
    write = bool(missing or issue or any(entry['trust_text'] is not None or entry['key_fix'] or entry['cert_fix']
                                         for entry in plan))
    return {'entries': plan, 'missing_dirs': missing, 'issue': issue, 'write': write}


def key_report(root_key, cas, modes, legacy_present=False):
    """The trust state lines of picocloud.edge.verify: the mode of the root key and of each purpose's CA key as the
    controller holds them (`modes`: path -> octal mode string), and whether a 0.1.0 site's CA is still trusted."""
    lines = ['root CA key: ' + ('present, mode %s' % modes[root_key] if root_key in modes
                                else 'not on this controller (kept offline, see docs/trust.md)')]
    for purpose in sorted(cas):
        key = cas[purpose]['key']
        lines.append('%s CA key: %s' % (purpose, 'present, mode %s' % modes[key] if key in modes
                                        else 'absent (no certificate issued yet)'))
    if legacy_present:
        lines.append('0.1.0 site CA: still trusted; the next picocloud.edge.site run on every node retires it')
    return lines
