# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The KPI review (private, pure): this review's measurements as history rows, and the review page built from
the history - per KPI and store the trend against its threshold, worst stores first, what changed."""

from __future__ import annotations

from ansible_collections.storedesk.vdi.plugins.plugin_utils._kpi import KPIS, NOT_APPLICABLE, NOT_MEASURED

TITLES = {
    'ready_seconds': 'Desktop ready time (start to WinRM answering)',
    'backend_latency_ms': 'Backend latency from the desktops (worst)',
    'scanner_present_pct': 'Scanner present in the desktops',
    'print_success_pct': 'Print test success',
    'account_switch_seconds': 'Account switch (clerk login to console ticket)',
    'version_switch_seconds': 'Image version switch (the store\'s last rollout, start to done)',
    'library_current_pct': 'Material library current in the desktops (version stamp seen in Windows)',
}
UNITS = dict((k, v[2]) for k, v in KPIS.items())


def history_rows(results, thresholds):
    """kpi role results (one per store) -> kpi_history rows (store-wide KPIs, with threshold and sense)."""
    rows = []
    for result in results:
        limits = dict(thresholds or {}, **(result.get('thresholds') or {}))
        kpis = [(kpi, key, sense, limits.get(key)) for kpi, (key, sense, _unit) in KPIS.items()]
        for kpi, key, sense, limit in kpis:
            if kpi not in result:
                continue
            value = result[kpi]
            if isinstance(value, str) and value not in (NOT_APPLICABLE, NOT_MEASURED):
                try:
                    value = float(value)
                except ValueError:
                    value = None
            rows.append({'store': result['store'], 'desktop': '', 'kpi': kpi, 'value': value,
                         'threshold': limit, 'sense': sense})
        rows.append({'store': result['store'], 'desktop': '', 'kpi': 'unreachable_desktops',
                     'value': len(result.get('unreachable') or []), 'threshold': 0, 'sense': 'max'})
    return rows


def _badness(row):
    """How far from its threshold (> 1: missed); None when there is nothing to compare."""
    value, limit = row.get('value'), row.get('threshold')
    if row.get('text') in (NOT_APPLICABLE, NOT_MEASURED):
        return None
    if value is None:
        return float('inf') if limit is not None else None
    if limit is None or row.get('sense') not in ('max', 'min'):
        return None
    if row['sense'] == 'max':
        return value / limit if limit else (float('inf') if value > 0 else 0.0)
    return limit / value if value else (float('inf') if limit > 0 else 0.0)


def _verdict(row):
    if row is None:
        return None
    if row.get('text') in (NOT_APPLICABLE, NOT_MEASURED):
        return row['text']   # no source for it (n/a, not measured): neither a pass nor a miss
    if row.get('value') is None:
        return 'no value' if row.get('threshold') is not None else None
    if row.get('ok') is None:
        return None
    return 'ok' if row['ok'] else 'missed'


def _shown(row):
    if row is None:
        return '-'
    if row.get('value') is None:
        return row.get('text') or 'no value'
    return '{0:g}'.format(round(row['value'], 1))


def view(rows, reviews, drift=None, estate=None):
    """(data, page) of the newest review in `rows` (history rows of the last reviews, oldest first).
    estate: {store: {plan, version, desktops}} as this review saw them (the dashboard shows them per store)."""
    if not reviews:
        return {'review': None, 'stores': [], 'changes': []}, {'title': 'KPI review', 'verdict': {
            'ok': False, 'text': 'No review in the history yet.'}}
    current, previous = reviews[-1], (reviews[-2] if len(reviews) > 1 else None)
    series = {}
    for row in rows:
        series.setdefault((row['store'], row['kpi']), {})[row['review']] = row
    stores = {}
    trends, changes = [], []
    for (store, kpi), by_review in sorted(series.items()):
        now, before = by_review.get(current), by_review.get(previous) if previous else None
        if now is None:
            continue
        bad = _badness(now)
        verdict = _verdict(now)
        entry = stores.setdefault(store, {'store': store, 'missed': 0, 'kpis': 0, 'worst_kpi': None,
                                          'worst': None, 'misses': []})
        if verdict not in (None, NOT_MEASURED):
            entry['kpis'] += 1
        if verdict in ('missed', 'no value'):
            entry['missed'] += 1
            entry['misses'].append('{0} {1}'.format(kpi, _shown(now)))
        if bad is not None and (entry['worst'] is None or bad > entry['worst']):
            entry['worst'], entry['worst_kpi'] = bad, kpi
        trends.append({'store': store, 'kpi': kpi, 'threshold': now.get('threshold'), 'verdict': verdict or '-',
                       'trend': ' → '.join(_shown(by_review.get(r)) for r in reviews if r in by_review),
                       'badness': bad})
        old = _verdict(before)
        if before is None:
            changes.append({'store': store, 'kpi': kpi, 'before': '-', 'now': _shown(now), 'change': 'new'})
        elif old != verdict:
            changes.append({'store': store, 'kpi': kpi, 'before': _shown(before), 'now': _shown(now),
                            'change': '{0} → {1}'.format(old, verdict)})
        elif now.get('value') is not None and before.get('value') not in (None, 0) and \
                abs(now['value'] - before['value']) / abs(before['value']) >= 0.2:
            changes.append({'store': store, 'kpi': kpi, 'before': _shown(before), 'now': _shown(now),
                            'change': '{0:+.0f} %'.format((now['value'] - before['value']) * 100 / abs(before['value']))})
    ranked = sorted(stores.values(),
                    key=lambda s: (-s['missed'], -(s['worst'] if s['worst'] is not None else -1), s['store']))
    for entry in ranked:
        entry['verdict'] = 'FAIL' if entry['missed'] else 'PASS'
        entry['worst'] = None if entry['worst'] is None else round(min(entry['worst'], 999.0), 2)
    for entry in ranked:
        entry['drift'] = None if drift is None else sum(1 for d in drift if d.get('store') == entry['store'])
        for key in ('plan', 'version', 'desktops'):
            if (estate or {}).get(entry['store'], {}).get(key) is not None:
                entry[key] = estate[entry['store']][key]
    order = {s['store']: i for i, s in enumerate(ranked)}
    trends.sort(key=lambda t: (order[t['store']], t['kpi']))
    if previous is None:
        changes = []
    data = {'review': current, 'previous': previous, 'reviews': reviews, 'stores': ranked, 'trends': trends,
            'changes': changes, 'drift': drift}
    failing = [s['store'] for s in ranked if s['missed']]
    sections = []
    for kpi, title in TITLES.items():
        bars = []
        for t in trends:
            if t['kpi'] != kpi:
                continue
            now = series[(t['store'], kpi)][current]
            if now.get('value') is None and now.get('text') in (NOT_APPLICABLE, NOT_MEASURED):
                continue
            bars.append({'label': t['store'], 'value': now.get('value') or 0, 'limit': now.get('threshold'),
                         'ok': t['verdict'] == 'ok'})
        if bars:
            sections.append({'title': title, 'chart': {'unit': UNITS[kpi], 'bars': bars}})
    page = {
        'title': 'KPI review',
        'subtitle': 'Review {0} of {1} stores; compared with {2}'.format(
            current, len(ranked), previous or 'nothing (first review)'),
        'verdict': {'ok': not failing, 'text': 'Every store met every KPI.' if not failing else
                    '{0} store(s) missed a KPI, worst first: {1}'.format(len(failing), ', '.join(failing))},
        'summary': [
            {'label': 'Stores reviewed', 'value': len(ranked)},
            {'label': 'Stores missing a KPI', 'value': len(failing)},
            {'label': 'Changes since last review', 'value': len(changes)},
            {'label': 'Reviews in the history', 'value': len(reviews)},
            {'label': 'Desktops drifted',
             'value': '—' if drift is None else len({(d.get('store'), d.get('desktop')) for d in drift})},
        ],
        'sections': [
            {'title': 'Stores, worst first', 'table': {
                'columns': ['store', 'verdict', 'missed', 'kpis', 'worst_kpi',
                            {'key': 'worst', 'label': 'worst (value / threshold)'}, 'misses', 'drift', 'desktops',
                            'plan', 'version'],
                'rows': ranked}},
            {'title': 'Drift from the inventory (what the phase playbooks would change, and how)',
             'text': 'Not checked.' if drift is None else ('' if drift else 'None: the desktops are as declared.'),
             'table': {'columns': ['store', 'desktop', 'what', 'detail', 'fix'], 'rows': drift} if drift else None},
            {'title': 'What changed since the last review', 'text': '' if changes else
             ('Nothing changed.' if previous else 'This is the first review in the history.'),
             'table': {'columns': ['store', 'kpi', 'before', 'now', 'change'], 'rows': changes} if changes else None},
        ] + sections + [
            {'title': 'Trend per store and KPI (oldest → newest)', 'table': {
                'columns': ['store', 'kpi', 'trend', 'threshold', 'verdict'], 'rows': trends}},
        ],
    }
    return data, page


def inspection(store, desktops, probes, rows, reviews, declared=None, drift=None):
    """(data, page) of one store's inspection.

    desktops: desktop_info records of the store; probes: desktop_probe records (and unreachable_desktops);
    rows/reviews: the store's KPI history; declared: {'version', 'printers': [names], 'usb': [VID:PID]}.
    """
    declared = declared or {}
    by_name = {p.get('name'): p for p in probes}
    problems, table, devices, printers = [], [], [], []
    for desk in sorted(desktops, key=lambda d: d['name']):
        probe = by_name.get(desk['name']) or {}
        users = sorted({d.get('user') for d in probe.get('default_printers') or [] if d.get('source') == 'loaded'})
        table.append({'desktop': desk['name'], 'power': desk.get('power'), 'version': desk.get('version'),
                      'logged_in': ', '.join(users) or None, 'uptime': _uptime(desk.get('uptime')),
                      'node': desk.get('node'), 'answers': probe.get('ok') if probe else None})
        if desk.get('power') != 'running':
            problems.append({'desktop': desk['name'], 'problem': 'not running ({0})'.format(desk.get('power'))})
        elif probe and not probe.get('ok'):
            problems.append({'desktop': desk['name'], 'problem': 'does not answer WinRM: {0}'.format(
                probe.get('error') or probe.get('category') or 'unreachable')})
        if declared.get('version') and desk.get('version') and str(desk['version']) != str(declared['version']):
            problems.append({'desktop': desk['name'], 'problem': 'image version {0}, the chain runs {1}'.format(
                desk['version'], declared['version'])})
        if not probe.get('ok'):
            continue
        usb = probe.get('usb') or {}
        for dev in usb.get('devices') or []:
            devices.append({'desktop': desk['name'], 'vid_pid': dev.get('vid_pid'), 'name': dev.get('name'),
                            'status': dev.get('status')})
        for missing in usb.get('missing') or []:
            problems.append({'desktop': desk['name'], 'problem': 'USB device {0} not seen in Windows'.format(missing)})
        have = {p.get('name') for p in probe.get('printers') or []}
        for printer in probe.get('printers') or []:
            printers.append({'desktop': desk['name'], 'printer': printer.get('name'), 'driver': printer.get('driver'),
                             'port': printer.get('port')})
        for name in declared.get('printers') or []:
            if name not in have:
                problems.append({'desktop': desk['name'], 'problem': 'printer {0} missing'.format(name)})
    data, review_page = view(rows, reviews) if reviews else ({'stores': [], 'trends': []}, {})
    last = next((s for s in data.get('stores') or [] if s['store'] == store), None)
    for miss in (last or {}).get('misses') or []:
        problems.append({'desktop': '(store)', 'problem': 'KPI missed at the last review: ' + miss})
    prints = [t for t in data.get('trends') or [] if t['kpi'] == 'print_success_pct']
    page = {
        'title': 'Store inspection: {0}'.format(store),
        'subtitle': '{0} desktops; KPIs from {1} review(s)'.format(len(desktops), len(reviews or [])),
        'verdict': {'ok': not problems and not drift, 'text': ('No open problem.' if not problems else
                    '{0} open problem(s): {1}'.format(len(problems), '; '.join(
                        '{0} {1}'.format(p['desktop'], p['problem']) for p in problems[:5])))
                    + (' {0} drift(s) from the inventory.'.format(len(drift)) if drift else '')},
        'summary': [
            {'label': 'Desktops running', 'value': '{0} / {1}'.format(
                sum(d.get('power') == 'running' for d in desktops), len(desktops))},
            {'label': 'Answering WinRM', 'value': sum(1 for p in probes if p.get('ok'))},
            {'label': 'Last KPI verdict', 'value': (last or {}).get('verdict', '—')},
            {'label': 'Open problems', 'value': len(problems)},
            {'label': 'Drifted desktops', 'value': '—' if drift is None else len({d['desktop'] for d in drift})},
        ],
        'sections': [
            {'title': 'Open problems', 'text': '' if problems else 'None.',
             'table': {'columns': ['desktop', 'problem'], 'rows': problems} if problems else None},
            {'title': 'Drift from the inventory (what the phase playbooks would change, and how)',
             'text': 'Not checked{0}'.format(': ' + declared['drift_error'] if declared.get('drift_error') else '.')
             if drift is None else ('' if drift else 'None: the desktops are as declared.'),
             'table': {'columns': ['desktop', 'what', 'detail', 'fix'], 'rows': drift} if drift else None},
            {'title': 'Desktops', 'table': {'columns': ['desktop', 'power', 'version', 'logged_in', 'uptime', 'node',
                                                        'answers'], 'rows': table}},
            {'title': 'Devices seen inside Windows', 'table': {'columns': ['desktop', 'vid_pid', 'name', 'status'],
                                                               'rows': devices}},
            {'title': 'Printers, and the store\'s print tests over time',
             'text': 'Print test success (oldest → newest): ' + (prints[0]['trend'] if prints else 'not measured yet'),
             'table': {'columns': ['desktop', 'printer', 'driver', 'port'], 'rows': printers}},
            {'title': 'KPIs over time (oldest → newest)', 'table': {
                'columns': ['kpi', 'trend', 'threshold', 'verdict'],
                'rows': [t for t in data.get('trends') or [] if t['store'] == store]}},
        ],
    }
    return {'store': store, 'desktops': table, 'devices': devices, 'printers': printers, 'problems': problems,
            'drift': drift,
            'kpi_verdict': (last or {}).get('verdict'), 'trends': [t for t in data.get('trends') or []
                                                                   if t['store'] == store]}, page


def _uptime(seconds):
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return None
    seconds = int(seconds)
    return '{0}d {1}h {2}m'.format(seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60)
