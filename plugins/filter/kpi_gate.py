# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: kpi_gate
short_description: The pilot gate - each store's measured KPIs against the thresholds
version_added: 0.1.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - Compares C(ready_seconds), C(backend_latency_ms), C(account_switch_seconds), C(version_switch_seconds) (at most
    the threshold) and C(scanner_present_pct), C(print_success_pct), C(library_current_pct) (at least the threshold)
    per store.
  - A KPI measured without a value (null) is a miss; one that does not apply to the store (C(n/a), e.g. the account
    switch of a store whose staff all log in through the directory) is left out; one the result does not carry, or
    carries as C(not measured) (the phase has no source for it, e.g. the version switch time in a pilot), is listed
    in C(not_measured) of the result and the store's C(not_measured) - neither a pass nor a miss.
options:
  _input:
    description: Per store, C(store) and the measured KPIs.
    type: list
    elements: dict
    required: true
  thresholds:
    description: The thresholds by KPI name (C(storedesk_kpi_thresholds)).
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Decide the pilot gate
  ansible.builtin.set_fact:
    gate: "{{ kpi_results | storedesk.vdi.kpi_gate(storedesk_kpi_thresholds) }}"
'''

RETURN = r'''
_value:
  description:
    - "C(passed), per store C(stores) (values, C(verdict) PASS or FAIL, C(reasons), C(not_measured)), all C(misses),
      and all C(not_measured) (C(store: kpi))."
  type: dict
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._kpi import gate


class FilterModule(object):
    def filters(self):
        return {'kpi_gate': gate}
