# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""desktop_power's selection and plan (private, pure): which desktops, and what each one needs."""

from __future__ import annotations

try:
    import jmespath
    HAS_JMESPATH = True
except ImportError:  # reported by the module when a query is given
    HAS_JMESPATH = False

from ._pve_errors import InputError

# action -> {current power: PVE operation}; anything else needs nothing.
TRANSITIONS = {
    'start': {'stopped': 'start', 'hibernated': 'start'},
    'resume': {'hibernated': 'start'},
    'shutdown': {'running': 'shutdown'},
    'hibernate': {'running': 'hibernate'},
}


UNREAD = 'its power could not be read live (GET /nodes/{0}/qemu failed); the cached state may be ~10 s old'


def desktop_records(actual):
    """The storedesk desktops of the region as plain records (what a query sees)."""
    out = []
    for vm in actual['vms']:
        meta = vm['meta']
        if vm['template'] or not meta['managed'] or not meta['store']:
            continue
        out.append({'name': vm['name'], 'vmid': vm['vmid'], 'node': vm['node'], 'status': vm['status'],
                    'power': vm['power'], 'lock': vm['lock'], 'pool': vm['pool'], 'online': vm['online'],
                    'store': meta['store'], 'city': meta['city'], 'region': meta['region'], 'image': meta['image'],
                    'version': meta['version'], 'role': meta['role'], 'tags': meta['tags']})
    return out


def select(records, stores=None, tags=None, query=None):
    """Records matching every selector given (stores, all of tags, a JMESPath query over the list)."""
    chosen = list(records)
    if stores:
        wanted = set(s.lower() for s in stores)
        chosen = [r for r in chosen if r['store'] in wanted]
    if tags:
        need = set(t.lower() for t in tags)
        chosen = [r for r in chosen if need <= set(t.lower() for t in r['tags'])]
    if query:
        if not HAS_JMESPATH:
            raise InputError('query needs the Python library jmespath on the controller', hint='pip install jmespath')
        try:
            found = jmespath.search(query, chosen)
        except jmespath.exceptions.JMESPathError as exc:
            raise InputError('query: {0}'.format(exc), hint='a JMESPath filter over desktop records, '
                             "e.g. [?role=='desktop' && store=='sh-0001']") from None
        if found is None:
            found = []
        if not isinstance(found, list) or any(not isinstance(r, dict) or 'vmid' not in r for r in found):
            raise InputError('query must return desktop records (a list of objects with vmid)',
                             hint="filter the list, e.g. [?city=='shanghai'], do not project fields")
        ids = set(r['vmid'] for r in found)
        chosen = [r for r in chosen if r['vmid'] in ids]
    return sorted(chosen, key=lambda r: (r['store'], r['name'], r['vmid']))


def plan(chosen, action, skip_in_use=True, unread=()):
    """[(record, operation or None, reason)] per chosen desktop. `unread`: online nodes whose live guest list could
    not be read -- their desktops' power is only the cached one, so nothing is decided for them."""
    out = []
    for rec in chosen:
        op = TRANSITIONS[action].get(rec['power'])
        reason = None
        if not rec['online']:
            op, reason = None, 'its node {0} is offline'.format(rec['node'])
        elif rec['node'] in unread:
            op, reason = None, UNREAD.format(rec['node'])
        elif op in ('shutdown', 'hibernate') and skip_in_use and 'inuse' in rec['tags']:
            op, reason = None, 'in use (tag inuse)'
        out.append((rec, op, reason))
    return out
