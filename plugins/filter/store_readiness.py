# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: store_readiness
short_description: Go or no-go per store, with the reasons
version_added: 0.1.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - For each store - its link class (C(lan), C(weak) or C(poor)) and the SPICE settings desktop_pool writes for
    it (C(spice_video), C(spice_enhancements); the same rules, one set of thresholds), whether its link is above
    the floor, whether every printer has a known driver, whether it has a store manager account, and whether
    its region has the capacity for the event peak.
options:
  _input:
    description: The stores (C(code), C(region), C(link), C(devices), C(staff)).
    type: list
    elements: dict
    required: true
  catalog:
    description: C(printer_drivers) of the chain.
    type: dict
    required: true
  capacity:
    description: Per region, C(fits_event) and C(reason).
    type: dict
    required: true
  floor_mbps:
    description: Bandwidth below which a store is not ready.
    type: float
    default: 2
'''

EXAMPLES = r'''
- name: Decide go / no-go per store
  ansible.builtin.set_fact:
    readiness: "{{ stores | storedesk.vdi.store_readiness(catalog, capacity, floor_mbps=2) }}"
'''

RETURN = r'''
_value:
  description: Per store C(store), C(link_class), C(spice_video), C(spice_enhancements), C(verdict) (C(GO) or C(NO-GO))
    and C(reasons).
  type: list
  elements: dict
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._estate import readiness


class FilterModule(object):
    def filters(self):
        return {'store_readiness': readiness}
