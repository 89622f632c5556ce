# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: estate_errors
short_description: Every problem of the estate inventory, before anything changes
version_added: 0.1.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - Checks the stores of the inventory together - codes, regions, subnets (overlaps), VLANs (1-4094,
    duplicates), desktop counts, pinned image, device models, printer drivers and addresses, staff roles,
    and waves naming unknown stores.
  - Returns one line per problem, in the form C(store - field - problem (fix)); an empty list when all is well.
options:
  _input:
    description: The stores, one dict per store (C(code), C(region), C(subnet), C(vlan), C(desktops), ...).
    type: list
    elements: dict
    required: true
  catalog:
    description: C(image), C(usb_models), C(printer_drivers) of the chain.
    type: dict
    required: true
  waves:
    description: Wave name to the hosts it lists.
    type: dict
  regions:
    description: Region names of C(storedesk_regions).
    type: list
    elements: str
'''

EXAMPLES = r'''
- name: Refuse bad inventory data before any change
  ansible.builtin.assert:
    that: _errors | length == 0
    fail_msg: "{{ _errors | join('; ') }}"
  vars:
    _errors: "{{ stores | storedesk.vdi.estate_errors(catalog, waves=waves, regions=regions) }}"
'''

RETURN = r'''
_value:
  description: Problems, one line each.
  type: list
  elements: str
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._estate import validate


class FilterModule(object):
    def filters(self):
        return {'estate_errors': validate}
