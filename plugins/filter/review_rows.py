# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: review_rows
short_description: The kpi role's per-store results as rows for storedesk.vdi.kpi_history
version_added: 0.2.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - One row per store and KPI with its threshold (the store's own over the common ones) and sense, plus the
    number of desktops that did not answer (threshold 0).
options:
  _input:
    description: The C(kpi_result) of each store (roles/kpi).
    type: list
    elements: dict
    required: true
  thresholds:
    description: The common thresholds (C(storedesk_kpi_thresholds)).
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: The kpi role's results as history rows
  ansible.builtin.set_fact:
    rows: "{{ kpi_results | storedesk.vdi.review_rows(storedesk_kpi_thresholds) }}"
'''

RETURN = r'''
_value:
  description: Rows with store, desktop (empty), kpi, value, threshold, sense.
  type: list
  elements: dict
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._review import history_rows


class FilterModule(object):
    def filters(self):
        return {'review_rows': history_rows}
