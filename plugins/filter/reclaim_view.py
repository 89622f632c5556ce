# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: reclaim_view
short_description: The reclaim report page - what was destroyed, what was kept and why, with figures
version_added: 0.2.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - Turns the reclaim report data (C(destroyed), C(kept), C(failed), C(summary) per store) into the page the
    storedesk.vdi.report_html filter renders - a verdict, figures (destroyed, kept, failed, desktops before and
    after, vCPUs and memory given back), a chart of each store's desktops before and after, and tables of the
    destroyed desktops (with their backup), the kept ones with the reason, and the failures.
options:
  _input:
    description: The reclaim report data (C(reclaim_to), C(backup), C(stores), C(destroyed), C(kept), C(failed), C(summary)).
    type: dict
    required: true
  profile:
    description: Per desktop C(cores) and C(memory_mib), to say what the destroyed desktops gave back.
    type: dict
    default: {cores: 2, memory_mib: 4096}
'''

EXAMPLES = r'''
- name: The reclaim page
  ansible.builtin.set_fact:
    page: "{{ report_data | storedesk.vdi.reclaim_view }}"
'''

RETURN = r'''
_value:
  description: A page for storedesk.vdi.report_html (C(title), C(subtitle), C(verdict), C(summary), C(sections)).
  type: dict
'''


def reclaim_view(data, profile=None):
    profile = dict({'cores': 2, 'memory_mib': 4096}, **(profile or {}))
    destroyed, kept, failed = (list(data.get(k) or []) for k in ('destroyed', 'kept', 'failed'))
    summary = data.get('summary') or {}
    before = sum(int(s.get('desktops_before') or 0) for s in summary.values())
    after = before - len(destroyed)
    stores = data.get('stores') or sorted(summary)
    verdict = '{0} desktop(s) destroyed, {1} kept, {2} failed'.format(len(destroyed), len(kept), len(failed))
    bars = []
    for code in sorted(summary):
        gone = len([d for d in destroyed if d.get('store') == code])
        was = int(summary[code].get('desktops_before') or 0)
        bars.append({'label': code, 'value': was - gone, 'base': was})
    sections = [{'title': 'Desktops per store, before and after', 'chart': {
        'unit': 'desktops', 'legend': 'blue: after the reclaim; grey: before', 'bars': bars}}]
    sections.append({'title': 'Destroyed ({0})'.format(len(destroyed)), 'table': {
        'columns': ['store', 'name', 'vmid', 'node', 'backup', 'reason', 'status'],
        'rows': [dict(d, backup=d.get('backup') or 'none') for d in destroyed]}})
    sections.append({'title': 'Kept, and why ({0})'.format(len(kept)), 'table': {
        'columns': ['store', 'name', 'vmid', 'node', 'reason'], 'rows': kept}})
    if failed:
        sections.append({'title': 'Failed ({0})'.format(len(failed)), 'table': {
            'columns': ['store', 'name', 'vmid', 'action', 'error'],
            'rows': [dict(f, error=f.get('error') or f.get('msg') or f.get('reason')) for f in failed]}})
    return {
        'title': 'Reclaim',
        'subtitle': '{0} store(s) back to {1}; before each destroy: {2}'.format(
            len(stores), data.get('reclaim_to', 'baseline'), data.get('backup') or 'none'),
        'verdict': {'ok': not failed, 'text': verdict},
        'summary': [
            {'label': 'Destroyed', 'value': len(destroyed)},
            {'label': 'Kept', 'value': len(kept), 'note': 'in use, protected or unreadable'},
            {'label': 'Failed', 'value': len(failed)},
            {'label': 'Desktops before / after', 'value': '{0} / {1}'.format(before, after)},
            {'label': 'vCPUs given back', 'value': len(destroyed) * int(profile['cores'])},
            {'label': 'Memory given back', 'value': '{0:g} GiB'.format(
                len(destroyed) * int(profile['memory_mib']) / 1024.0)},
        ],
        'sections': sections,
    }


class FilterModule(object):
    def filters(self):
        return {'reclaim_view': reclaim_view}
