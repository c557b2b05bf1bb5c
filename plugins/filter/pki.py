# -*- coding: utf-8 -*-
# Copyright: picocloud.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.picocloud.edge.plugins.module_utils import pki


def _call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except pki.PkiError as exc:
        raise AnsibleFilterError(str(exc))


def pki_request(pki_certs, host, purposes, consul_servers=None, consul_domain='consul', key_type='ecdsa', rsa_bits=2048,
                cert_days=365, renew_days=30):
    """{'problems': [...], 'wanted': [...]} for a host's pki_certs."""
    purposes = list(purposes or [])
    problems = pki.entries_problems(pki_certs, purposes, cert_days, renew_days)
    if problems:
        return {'problems': problems, 'wanted': []}
    wanted = [pki.wanted(entry, key_type, rsa_bits, cert_days) for entry in pki_certs]
    for want in wanted:
        problems.extend(pki.naming_problems(host, want['name'], want['ca'], want['common_name'], want['sans'], consul_servers,
                                            consul_domain))
    return {'problems': problems, 'wanted': wanted}


def pki_csr_problems(requests, infos, consul_servers=None, consul_domain='consul'):
    return _call(pki.batch_problems, list(requests or []), list(infos or []), list(consul_servers or []), consul_domain)


def pki_host_plan(entries, files, texts, infos, site, now, renew_days, issue_leaves=True):
    return _call(pki.node_plan, list(entries or []), dict(files or {}), dict(texts or {}), dict(infos or {}), dict(site or {}),
                 now, renew_days, bool(issue_leaves))


def pki_trust_bundle(anchors, trust, retiring=None):
    return _call(pki.trust_bundle, dict(anchors or {}), list(trust or []), dict(retiring or {}))


def pki_site(cas, texts, infos, legacy_cert, names=None, key_publics=None, root_cert=None, now=None, window_days=0):
    return _call(pki.site_state, dict(cas), dict(texts or {}), dict(infos or {}), legacy_cert,
                 dict(names) if names is not None else None, dict(key_publics or {}), root_cert, now, window_days)


def pki_cert_reasons(want, cert_info, issuer_info, now, renew_days, accepted_issuers=None):
    return _call(pki.cert_reasons, want, cert_info or None, issuer_info or {}, now, renew_days, list(accepted_issuers or []))


def pki_key_report(found, root_key, cas, legacy_present=False):
    files = list((found or {}).get('files') or [])
    modes = dict((item['path'], item['mode']) for item in files)
    return pki.key_report(root_key, dict(cas or {}), modes, bool(legacy_present))


class FilterModule(object):

    def filters(self):
        return {
            'pki_request': pki_request,
            'pki_csr_problems': pki_csr_problems,
            'pki_host_plan': pki_host_plan,
            'pki_trust_bundle': pki_trust_bundle,
            'pki_site': pki_site,
            'pki_cert_reasons': pki_cert_reasons,
            'pki_key_report': pki_key_report,
        }
