#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: kpi_history
short_description: Keep the stores' KPIs over time in a SQLite file, query them, export them
version_added: 0.2.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - Appends one review's measured KPIs (per store, optionally per desktop) to an embedded SQLite history (WAL
    journal, busy timeout, one transaction per write), so two reviews can write at the same time.
  - Each row is keyed by review, store, desktop and KPI - recording the same review again, or from two runs at
    once, adds no duplicate.
  - Exports the history in Prometheus text format (the newest value per store and KPI, for node_exporter's
    textfile collector; written to a temporary file and renamed) or InfluxDB line protocol (every row).
  - Runs where the history file lives, normally the controller (delegate the task to localhost).
attributes:
  check_mode:
    support: full
    description: Reads the history and returns how many rows would be added, or whether the export would change.
  diff_mode:
    support: none
    description: No diff; C(added) and C(changed) say what would happen.
options:
  path:
    description: The SQLite file of the history (created with its directory when missing, for C(record)).
    type: path
    required: true
  state:
    description: C(record) appends O(rows) as review O(review); C(query) returns rows; C(export) writes O(dest).
    type: str
    choices: [record, query, export]
    default: record
  review:
    description: The review's id (e.g. its UTC timestamp); required for C(record).
    type: str
  at:
    description: When the review measured, in seconds since the epoch (default now).
    type: float
  rows:
    description: The measurements of C(record).
    type: list
    elements: dict
    default: []
    suboptions:
      store: {description: Store code., type: str, required: true}
      desktop: {description: Desktop name; empty for a store-wide KPI., type: str, default: ''}
      kpi: {description: KPI name (e.g. C(backend_latency_ms))., type: str, required: true}
      value: {description: 'The value: a number, null when not measured, or a text such as C(n/a).', type: raw}
      threshold: {description: Its threshold., type: float}
      sense: {description: 'C(max) when lower is better, C(min) when higher is better.', type: str, choices: [max, min]}
      ok: {description: 'Whether it met the threshold (computed from value, threshold and sense when not given).', type: bool}
  stores:
    description: Only these stores (C(query), C(export)).
    type: list
    elements: str
  kpis:
    description: Only these KPIs (C(query), C(export)).
    type: list
    elements: str
  last:
    description: Only the last N reviews (C(query), C(export)); all when not given.
    type: int
  format:
    description: Export format.
    type: str
    choices: [prometheus, influx]
    default: prometheus
  dest:
    description: File C(export) writes (for node_exporter, a C(.prom) file in its C(--collector.textfile.directory)).
    type: path
notes:
  - Check mode reports how many rows C(record) would add, and whether C(export) would change O(dest).
'''

EXAMPLES = r'''
- name: Append this review's KPIs
  storedesk.vdi.kpi_history:
    path: ~/.local/share/storedesk/kpi-history.sqlite
    review: "20261129T180000Z"
    rows:
      - {store: sh-0001, kpi: backend_latency_ms, value: 41.5, threshold: 80, sense: max}
  delegate_to: localhost

- name: Publish the newest values to node_exporter
  storedesk.vdi.kpi_history:
    path: ~/.local/share/storedesk/kpi-history.sqlite
    state: export
    format: prometheus
    dest: /var/lib/node_exporter/textfile/storedesk.prom
'''

RETURN = r'''
added:
  description: Rows (and the review itself) new in the history (C(record)); in check mode, that would be.
  returned: state is record
  type: int
rows:
  description: The rows, oldest first - review, at, store, desktop, kpi, value, text, threshold, sense, ok.
  returned: state is query
  type: list
  elements: dict
reviews:
  description: The review ids covered, oldest first.
  returned: state is query or export
  type: list
  elements: str
dest:
  description: The file written.
  returned: state is export
  type: str
lines:
  description: Number of lines of the export.
  returned: state is export
  type: int
'''

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.storedesk.vdi.plugins.module_utils import _kpi_history as kh


def run(module):
    p = module.params
    state = p['state']
    if state == 'record':
        if not p['review']:
            raise kh.HistoryError('review is required to record', 'review', 'give the review id, e.g. its UTC time')
        if module.check_mode and not os.path.exists(p['path']):
            kh.normalise(p['rows'], p['review'], 0)   # the same input errors as a real run
            return {'changed': True, 'added': len(p['rows']) + 1}
        conn = kh.connect(p['path'])
        added = kh.record(conn, p['review'], p['at'] if p['at'] is not None else time.time(), p['rows'],
                          check_mode=module.check_mode)
        return {'changed': added > 0, 'added': added}
    conn = kh.connect(p['path'], create=False)
    rows, reviews = kh.query(conn, p['stores'], p['kpis'], p['last'])
    if state == 'query':
        return {'changed': False, 'rows': rows, 'reviews': reviews}
    if not p['dest']:
        raise kh.HistoryError('dest is required to export', 'dest', 'give the file to write, e.g. storedesk.prom')
    content = kh.prometheus(rows) if p['format'] == 'prometheus' else kh.influx(rows)
    if module.check_mode:
        try:
            with open(p['dest']) as fh:
                changed = fh.read() != content
        except OSError:
            changed = True
    else:
        changed = kh.write_atomic(p['dest'], content)
    return {'changed': changed, 'dest': p['dest'], 'reviews': reviews, 'lines': content.count('\n')}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            state=dict(type='str', default='record', choices=['record', 'query', 'export']),
            review=dict(type='str'),
            at=dict(type='float'),
            rows=dict(type='list', elements='dict', default=[], options=dict(
                store=dict(type='str', required=True),
                desktop=dict(type='str', default=''),
                kpi=dict(type='str', required=True),
                value=dict(type='raw'),
                threshold=dict(type='float'),
                sense=dict(type='str', choices=['max', 'min']),
                ok=dict(type='bool'),
            )),
            stores=dict(type='list', elements='str'),
            kpis=dict(type='list', elements='str'),
            last=dict(type='int'),
            format=dict(type='str', default='prometheus', choices=['prometheus', 'influx']),
            dest=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    try:
        module.exit_json(**run(module))
    except kh.HistoryError as exc:
        module.fail_json(msg='{0} (field {1}: {2})'.format(exc, exc.field, exc.fix) if exc.field else str(exc))
    except kh.sqlite3.Error as exc:
        module.fail_json(msg='KPI history {0}: {1} (check that the file is a storedesk KPI history and writable)'.format(
            module.params['path'], exc))


if __name__ == '__main__':
    main()
