# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate dashboard (private; controller side): reports/index.html from the phase reports in the directory.

Every store's state at a glance - desktops against the plan, image version, the last KPI verdict, drift and the
last change - and a link to every phase report, newest first. Built only from the reports' JSON files, so any
phase that writes a report refreshes it, and a report directory copied elsewhere still shows the same page.
"""

from __future__ import annotations

import glob
import json
import os
from html import escape

from ansible_collections.storedesk.vdi.plugins.plugin_utils._report_page import page, verdict

# Phases that change the estate (a review or an inspection only looks).
CHANGES = ('golden_image', 'pilot', 'rollout', 'scale_event', 'reclaim', 'access', 'accounts', 'power')
EXTRA_CSS = """
a{color:#1f5fb8}
@media (max-width:640px){main{padding:10px}th,td{padding:4px 5px;font-size:12px}.card{min-width:120px}}
"""


def _store_rows(phase, data):
    """(store, row dict) pairs a report says something about."""
    out = []
    rows = data.get('stores')
    if phase == 'pilot' and isinstance(data.get('gate'), dict):
        rows = data['gate'].get('stores')
        # the gate's rows hold the KPIs; the version the desktops run is in the kpi role's results
        seen = dict((r.get('store'), r.get('version')) for r in data.get('results') or [] if isinstance(r, dict))
        if isinstance(rows, list):
            rows = [dict(row, version=seen[row['store']]) if isinstance(row, dict) and seen.get(row.get('store'))
                    else row for row in rows]
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and row.get('store'):
            out.append((row['store'], row))
        elif isinstance(row, str):
            out.append((row, {}))
    return out


def load(report_dir):
    """[(name, phase, generated, data)] of the report JSON files, oldest first (plans of check runs included)."""
    reports = []
    for path in glob.glob(os.path.join(report_dir, '*-*.json')):
        try:
            with open(path) as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        name = os.path.basename(path)[:-5]
        phase = data.get('phase') or name.split('-')[0]
        reports.append((name, phase, str(data.get('generated') or ''), data))
    reports.sort(key=lambda r: (r[2], r[0]))
    return reports


def estate(reports):
    """Per store: desktops, plan, version, kpi verdict (with when), drift, last change."""
    stores = {}
    for name, phase, generated, data in reports:
        plan_run = '-plan-' in name
        for store, row in _store_rows(phase, data):
            entry = stores.setdefault(store, {'store': store, 'desktops': None, 'plan': None, 'version': None,
                                              'kpi': None, 'kpi_at': None, 'drift': None, 'last_change': None})
            if plan_run:
                continue
            if isinstance(row.get('desktops'), (int, float)) and not isinstance(row.get('desktops'), bool):
                entry['desktops'] = int(row['desktops'])
            if row.get('baseline') is not None:
                entry['plan'] = row['baseline']
            # a review or an inspection says what it saw in every store: the plan from the inventory, the image
            # version from the desktops' tags (stores of the pilot, or never scaled, had neither before)
            if row.get('plan') is not None:
                entry['plan'] = row['plan']
            if row.get('version'):
                entry['version'] = row['version']
            if phase == 'scale_event' and row.get('event_peak') is not None:
                entry['desktops'] = row['event_peak']
            if phase == 'rollout' and row.get('status') in ('done', 'done before') and isinstance(data.get('image'), dict):
                entry['version'] = data['image'].get('version')
            if phase in ('review', 'pilot') and row.get('verdict'):
                entry['kpi'], entry['kpi_at'] = row['verdict'], '{0} {1}'.format(phase, generated)
            if 'drift' in row:
                entry['drift'] = len(row['drift']) if isinstance(row['drift'], list) else row['drift']
            if 'open_problems' in row:   # a store inspection: drift from the inventory, and open problems
                drifted = len(row['drift']) if isinstance(row.get('drift'), list) else '?'
                entry['drift'] = '{0} / {1}'.format(drifted, row['open_problems'])
            if phase in CHANGES:
                entry['last_change'] = '{0} {1}'.format(phase, generated)
    return sorted(stores.values(), key=lambda s: (s['kpi'] != 'FAIL', s['store']))


def _cell(value):
    text = escape('—' if value is None else str(value))
    if value in ('PASS', 'done'):
        return '<td class="tag-ok">{0}</td>'.format(text)
    if value in ('FAIL', 'failed'):
        return '<td class="tag-bad">{0}</td>'.format(text)
    return '<td>{0}</td>'.format(text)


def render(report_dir, generated=''):
    reports = load(report_dir)
    stores = estate(reports)
    failing = [s['store'] for s in stores if s['kpi'] == 'FAIL']
    parts = [verdict(not failing, 'Every store met its KPIs at its last review.' if not failing else
                     'Missed a KPI at the last measurement: ' + ', '.join(failing))]
    cards = [('Stores', len(stores)),
             ('Desktops', sum(s['desktops'] or 0 for s in stores)),
             ('Stores missing a KPI', len(failing)),
             ('Reports', len(reports))]
    parts.append('<div class="cards">' + ''.join(
        '<div class="card"><div class="l">{0}</div><div class="v">{1}</div></div>'.format(escape(k), escape(str(v)))
        for k, v in cards) + '</div>')
    columns = [('store', 'store'), ('desktops', 'desktops'), ('plan', 'plan'), ('version', 'version'),
               ('kpi', 'last KPI verdict'), ('kpi_at', 'measured'), ('drift', 'drift / open problems'),
               ('last_change', 'last change')]
    parts.append('<section><h2>Stores</h2><div class="wide"><table><thead><tr>{0}</tr></thead><tbody>'.format(
        ''.join('<th>{0}</th>'.format(escape(label)) for _key, label in columns)))
    for entry in stores:
        parts.append('<tr>{0}</tr>'.format(''.join(_cell(entry[key]) for key, _label in columns)))
    parts.append('</tbody></table></div></section>')
    parts.append('<section><h2>Phase reports, newest first</h2><div class="wide"><table><thead><tr>'
                 '<th>report</th><th>phase</th><th>generated</th></tr></thead><tbody>')
    for name, phase, when, _data in reversed(reports):
        html = name + '.html'
        link = '<a href="{0}">{1}</a>'.format(escape(html), escape(name)) \
            if os.path.exists(os.path.join(report_dir, html)) else escape(name)
        parts.append('<tr><td>{0}</td><td>{1}</td><td>{2}</td></tr>'.format(link, escape(phase), escape(when)))
    parts.append('</tbody></table></div></section>')
    return page('storedesk estate', parts, generated, heading='Estate', extra_css=EXTRA_CSS,
                subtitle='{0} stores, {1} reports in {2}'.format(len(stores), len(reports), report_dir))
