# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The KPIs (private, pure): their thresholds, checked before anything runs, and the pilot gate against them."""

from __future__ import annotations

# KPI -> (threshold key, 'max' when lower is better, 'min' when higher is better, unit). Every KPI has a threshold
# in storedesk_kpi_thresholds (one place, the inventory's group_vars); the pilot gate and the review use them all.
KPIS = {
    'ready_seconds': ('ready_seconds', 'max', 's'),
    'backend_latency_ms': ('backend_latency_ms', 'max', 'ms'),
    'scanner_present_pct': ('scanner_present_pct', 'min', '%'),
    'print_success_pct': ('print_success_pct', 'min', '%'),
    'account_switch_seconds': ('account_switch_seconds', 'max', 's'),
    'version_switch_seconds': ('version_switch_seconds', 'max', 's'),
    'library_current_pct': ('library_current_pct', 'min', '%'),
}
# What a missing threshold could be set to (the fix the validation names; the lab inventory's values).
SUGGESTED = {'ready_seconds': 120, 'backend_latency_ms': 80, 'scanner_present_pct': 100, 'print_success_pct': 95,
             'account_switch_seconds': 30, 'version_switch_seconds': 1800, 'library_current_pct': 100}

# A KPI that does not apply to a store (e.g. no clerk with a lab-known password, only directory users).
NOT_APPLICABLE = 'n/a'
# A KPI the phase has no source for (the version switch time before any rollout report, the library freshness
# without a version stamp to read): shown as such, neither a pass nor a miss. A KPI the phase measured and got no
# value for (null: the desktops did not answer, no test page came out) is a miss.
NOT_MEASURED = 'not measured'


def threshold_errors(thresholds, where, complete=False):
    """Problems of a thresholds mapping (storedesk_kpi_thresholds or a store's store_kpi_thresholds) as
    (field, problem, fix): unknown KPIs, values that are not numbers >= 0, percentages above 100; with
    `complete`, every KPI must have one (the common thresholds; a store's override only some)."""
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
    for key in KPIS if complete else ():
        if key not in thresholds:
            out.append(('{0}.{1}'.format(where, key), 'not set', 'add `{0}: {1}` ({2} {3}) to {4} in group_vars'
                        .format(key, SUGGESTED[key], 'at most' if KPIS[key][1] == 'max' else 'at least',
                                KPIS[key][2], where)))
    return out


def gate(results, thresholds):
    """{'passed': bool, 'stores': [...], 'misses': [...], 'not_measured': [...]}.

    A KPI with a number is compared with its threshold; n/a is left out; a KPI the result does not carry (or
    carries as 'not measured') is listed as not measured, neither pass nor miss; null (measured, no value) is a miss.
    A result may carry its store's own `thresholds` (e.g. a weak-link store's latency), over the common ones.
    """
    common = thresholds
    stores, misses, unmeasured = [], [], []
    for result in results:
        thresholds = dict(common, **(result.get('thresholds') or {}))
        row = {'store': result.get('store'), 'desktops': result.get('desktops')}
        reasons, absent = [], []
        for kpi, (key, sense, unit) in KPIS.items():
            if thresholds.get(key) is None:
                continue
            value, limit = result.get(kpi, NOT_MEASURED), thresholds[key]
            row[kpi] = value
            if value == NOT_APPLICABLE:
                continue
            if value == NOT_MEASURED:
                absent.append(kpi)
            elif value is None:
                reasons.append('{0}: measurement failed (no value)'.format(kpi))
            elif (sense == 'max' and value > limit) or (sense == 'min' and value < limit):
                side = 'above' if sense == 'max' else 'below'
                reasons.append('{0} {1}{2} {3} {4}{2}'.format(kpi, _num(value), unit, side, _num(limit)))
        row['verdict'] = 'FAIL' if reasons else 'PASS'
        row['reasons'] = reasons
        row['not_measured'] = absent
        misses.extend('{0}: {1}'.format(row['store'], r) for r in reasons)
        unmeasured.extend('{0}: {1}'.format(row['store'], k) for k in absent)
        stores.append(row)
    return {'passed': bool(stores) and not misses, 'stores': stores, 'misses': misses, 'not_measured': unmeasured}


def bars(results, kpi, thresholds):
    """Chart bars of one KPI per store against its threshold (n/a and not measured left out)."""
    key, sense, _unit = KPIS[kpi]
    out = []
    for result in results:
        limit = dict(thresholds, **(result.get('thresholds') or {})).get(key)
        value = result.get(kpi, NOT_MEASURED)
        if value in (NOT_APPLICABLE, NOT_MEASURED):
            continue
        ok = value is not None and limit is not None and (value <= limit if sense == 'max' else value >= limit)
        out.append({'label': result.get('store'), 'value': value if value is not None else 0, 'limit': limit,
                    'ok': ok})
    return out


def _num(value):
    return '{0:g}'.format(round(float(value), 1))
