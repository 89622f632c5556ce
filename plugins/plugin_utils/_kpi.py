# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pilot gate (private, pure): each store's measured KPIs against the thresholds."""

from __future__ import annotations

# KPI -> (threshold key, 'max' when lower is better, 'min' when higher is better, unit)
KPIS = {
    'ready_seconds': ('ready_seconds', 'max', 's'),
    'backend_latency_ms': ('backend_latency_ms', 'max', 'ms'),
    'scanner_present_pct': ('scanner_present_pct', 'min', '%'),
    'print_success_pct': ('print_success_pct', 'min', '%'),
    'account_switch_seconds': ('account_switch_seconds', 'max', 's'),
}


def threshold_errors(thresholds, where):
    """Problems of a thresholds mapping (storedesk_kpi_thresholds or a store's store_kpi_thresholds) as
    (field, problem, fix): unknown KPIs, values that are not numbers >= 0, percentages above 100."""
    if not isinstance(thresholds, dict):
        return [(where, '{0!r} is not a mapping'.format(thresholds), 'give KPI: threshold pairs')]
    out = []
    for key, value in sorted(thresholds.items()):
        field = '{0}.{1}'.format(where, key)
        if key not in KPIS:
            out.append((field, 'is not a KPI', 'one of ' + ', '.join(KPIS)))
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            out.append((field, '{0!r} is not a number >= 0'.format(value), 'give the threshold as a number'))
        elif KPIS[key][2] == '%' and value > 100:
            out.append((field, '{0} is above 100 %'.format(value), 'give a percentage from 0 to 100'))
    return out


# A KPI that does not apply to a store (e.g. no clerk with a lab-known password, only directory users).
NOT_APPLICABLE = 'n/a'


def gate(results, thresholds):
    """{'passed': bool, 'stores': [...], 'misses': [...]}: a KPI that was not measured is a miss too.

    A result may carry its store's own `thresholds` (e.g. a weak-link store's latency), over the common ones.
    """
    common = thresholds
    stores, misses = [], []
    for result in results:
        thresholds = dict(common, **(result.get('thresholds') or {}))
        row = {'store': result.get('store'), 'desktops': result.get('desktops')}
        reasons = []
        for kpi, (key, sense, unit) in KPIS.items():
            if key not in thresholds:
                continue
            value, limit = result.get(kpi), thresholds[key]
            row[kpi] = value
            if value == NOT_APPLICABLE:
                continue
            if value is None:
                reasons.append('{0} not measured'.format(kpi))
            elif (sense == 'max' and value > limit) or (sense == 'min' and value < limit):
                side = 'above' if sense == 'max' else 'below'
                reasons.append('{0} {1}{2} {3} {4}{2}'.format(kpi, _num(value), unit, side, _num(limit)))
        row['verdict'] = 'FAIL' if reasons else 'PASS'
        row['reasons'] = reasons
        misses.extend('{0}: {1}'.format(row['store'], r) for r in reasons)
        stores.append(row)
    return {'passed': bool(stores) and not misses, 'stores': stores, 'misses': misses}


def bars(results, kpi, thresholds):
    """Chart bars of one KPI per store against its threshold."""
    key, sense, _unit = KPIS[kpi]
    out = []
    for result in results:
        limit = dict(thresholds, **(result.get('thresholds') or {})).get(key)
        value = result.get(kpi)
        if value == NOT_APPLICABLE:
            continue
        ok = value is not None and limit is not None and (value <= limit if sense == 'max' else value >= limit)
        out.append({'label': result.get('store'), 'value': value if value is not None else 0, 'limit': limit,
                    'ok': ok})
    return out


def _num(value):
    return '{0:g}'.format(round(float(value), 1))
