#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: rollout_state
short_description: Which stores a rollout has finished, kept in the stores' PVE pools
version_added: 0.1.0
description:
  - Reads or writes a rollout marker in the comment of each store's resource pool (C(store-<code>)), so an
    interrupted rollout resumes on the next run with the stores already done skipped - also from AWX, where
    nothing survives on the execution node between jobs.
  - The marker names the image version the store was rolled out with; a store rolled out with another
    version counts as not done.
  - One read of C(/pools) whatever the number of stores; one write per store marked.
author:
  - storedesk.vdi maintainers (@storedesk)
extends_documentation_fragment:
  - storedesk.vdi.proxmox
attributes:
  check_mode:
    support: full
    description: Reports what would be marked and writes nothing.
  diff_mode:
    support: full
    description: Shows each pool comment before and after.
options:
  stores:
    description: Store codes.
    type: list
    elements: str
    required: true
  version:
    description: The image version of this rollout.
    type: str
    required: true
  state:
    description:
      - C(query) only reads; C(done) marks the stores as rolled out with O(version); C(pending) removes the marker.
    type: str
    choices: [query, done, pending]
    default: query
  pool_pattern:
    description: The pool of a store.
    type: str
    default: store-{store}
'''

EXAMPLES = r'''
- name: Which stores of the wave are still to do
  storedesk.vdi.rollout_state:
    api_host: "{{ storedesk_regions.east.api_host }}"
    stores: "{{ groups['wave1'] }}"
    version: "{{ storedesk_image.version }}"
  register: wave

- name: Mark a store done
  storedesk.vdi.rollout_state:
    api_host: "{{ storedesk_regions.east.api_host }}"
    stores: [sh-0002]
    version: 1.0.0
    state: done
'''

RETURN = r'''
pending:
  description: Stores not yet rolled out with O(version) (after this run's change).
  returned: always
  type: list
  elements: str
done:
  description: Stores rolled out with O(version) (after this run's change).
  returned: always
  type: list
  elements: str
stores:
  description: Per store, C(done), C(version) and C(at) of its marker, and whether its pool exists.
  returned: always
  type: dict
'''

import re
import time

from ansible_collections.storedesk.vdi.plugins.module_utils._pve_module import pve_module, run_module

MARK = re.compile(r'\s*\|\s*rollout done v(?P<version>\S+) (?P<at>\S+)')


def parse(comment):
    found = MARK.search(comment or '')
    return (found.group('version'), found.group('at')) if found else (None, None)


def execute(module, client):
    p = module.params
    pools = dict((x.get('poolid'), x.get('comment') or '') for x in client.get('/pools') or [])
    now = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
    stores, changed, diff = {}, False, {'before': {}, 'after': {}}
    for code in p['stores']:
        pool = p['pool_pattern'].format(store=code)
        comment = pools.get(pool)
        version, at = parse(comment)
        base = MARK.sub('', comment or '')
        wanted = comment
        if p['state'] == 'done' and comment is not None and version != p['version']:
            wanted = '{0} | rollout done v{1} {2}'.format(base or 'storedesk store desktops', p['version'], now)
            version, at = p['version'], now
        elif p['state'] == 'pending' and version is not None:
            wanted, version, at = base, None, None
        if wanted != comment:
            changed = True
            diff['before'][pool], diff['after'][pool] = comment, wanted
            if not module.check_mode:
                client.put(client.path('pools', pool), safe=True, comment=wanted)
        stores[code] = {'pool': pool, 'exists': comment is not None, 'done': version == p['version'],
                        'version': version, 'at': at}
    result = {'changed': changed, 'stores': stores,
              'done': [c for c in p['stores'] if stores[c]['done']],
              'pending': [c for c in p['stores'] if not stores[c]['done']]}
    if module._diff:
        result['diff'] = diff
    return result


def main():
    run_module(pve_module(dict(
        stores=dict(type='list', elements='str', required=True), version=dict(type='str', required=True),
        state=dict(type='str', default='query', choices=['query', 'done', 'pending']),
        pool_pattern=dict(type='str', default='store-{store}'))), execute)


if __name__ == '__main__':
    main()
