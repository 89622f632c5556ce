# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: kpi_bars
short_description: Chart bars of one pilot KPI per store against its threshold
version_added: 0.1.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - For the report's bar chart - per store the measured value, the threshold as the limit mark, and whether it
    met the threshold (a missed KPI is drawn red). Stores where the KPI is C(n/a) or C(not measured) get no bar.
options:
  _input:
    description: Per store, C(store) and the measured KPIs.
    type: list
    elements: dict
    required: true
  kpi:
    description: The KPI.
    type: str
    required: true
    choices: [ready_seconds, backend_latency_ms, scanner_present_pct, print_success_pct, account_switch_seconds,
              version_switch_seconds, library_current_pct]
  thresholds:
    description: The thresholds by KPI name.
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Bars of the backend latency per store
  ansible.builtin.set_fact:
    latency_bars: "{{ kpi_results | storedesk.vdi.kpi_bars('backend_latency_ms', storedesk_kpi_thresholds) }}"
'''

RETURN = r'''
_value:
  description: C(label), C(value), C(limit), C(ok) per store.
  type: list
  elements: dict
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._kpi import bars


class FilterModule(object):
    def filters(self):
        return {'kpi_bars': bars}
