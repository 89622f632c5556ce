# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: review_inspection
short_description: One store's inspection page - desktops, devices seen in Windows, printers, KPIs over time, problems
version_added: 0.2.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - Builds the store inspection of C(playbooks/inspect.yml) from the store's desktops (M(storedesk.vdi.desktop_info)),
    their probes (M(storedesk.vdi.desktop_probe)) and the store's KPI history (M(storedesk.vdi.kpi_history) query).
options:
  _input:
    description: The store code.
    type: str
    required: true
  desktops:
    description: The store's desktop_info records.
    type: list
    elements: dict
    required: true
  probes:
    description: desktop_probe C(desktops) plus C(unreachable_desktops).
    type: list
    elements: dict
    required: true
  rows:
    description: The store's history rows.
    type: list
    elements: dict
    required: true
  reviews:
    description: The reviews of the rows, oldest first.
    type: list
    elements: str
    required: true
  declared:
    description: What the inventory declares - C(version), C(printers) (names), C(usb) (VID:PID).
    type: dict
  drift:
    description: The store's drift (storedesk.vdi.drift_report); null when it was not checked.
    type: list
    elements: dict
'''

EXAMPLES = r'''
- name: Build the store's page
  ansible.builtin.set_fact:
    page: "{{ store_code | storedesk.vdi.review_inspection(info.desktops, probe.desktops, hist.rows, hist.reviews) }}"
'''

RETURN = r'''
_value:
  description: C(data) (desktops, devices, printers, problems, trends) and C(view) (the page for the report role).
  type: dict
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._review import inspection


def review_inspection(store, desktops, probes, rows, reviews, declared=None, drift=None):
    data, page = inspection(store, desktops, probes, rows, reviews, declared, drift)
    return {'data': data, 'view': page}


class FilterModule(object):
    def filters(self):
        return {'review_inspection': review_inspection}
