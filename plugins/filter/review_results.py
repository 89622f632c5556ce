# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: review_results
short_description: Each store's review KPIs from the one bulk desktop_probe result
version_added: 0.2.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - Completes the kpi role's per-store results (run with C(kpi_probe=false)) from one desktop_probe result across
    all stores - C(desktops), C(probed), C(reachable), C(backend_latency_ms) (worst), C(scanner_present_pct),
    C(unreachable) - and adds C(version) (the desktops' image version tags), C(plan) (baseline and spares),
    C(version_switch_seconds) and C(library_current_pct).
options:
  _input:
    description: The stores' C(kpi_result).
    type: list
    elements: dict
    required: true
  desktops:
    description: desktop_info records of the stores (every region).
    type: list
    elements: dict
    required: true
  probe:
    description: The registered desktop_probe result.
    type: dict
    required: true
  expect:
    description: Store code to its expected USB devices (a store without any has scanner_present_pct n/a).
    type: dict
  plans:
    description: Store code to its planned desktops.
    type: dict
  switches:
    description: storedesk.vdi.review_switch_times of the report directory.
    type: dict
  library:
    description: storedesk.vdi.review_library of the stores.
    type: dict
'''

EXAMPLES = r'''
- name: The stores' KPIs
  ansible.builtin.set_fact:
    results: "{{ partials | storedesk.vdi.review_results(info.desktops, probe, expect, plans) }}"
'''

RETURN = r'''
_value:
  description: One result per store, as the kpi role's C(kpi_result) with the fields above.
  type: list
  elements: dict
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._review_probe import store_results


class FilterModule(object):
    def filters(self):
        return {'review_results': store_results}
