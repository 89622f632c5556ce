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
  - Checks the whole estate together, with the store rules desktop_pool applies - codes, regions (API host,
    port, node reserve), subnets (no host bits, no overlaps), gateways, VLANs (1-4094, unique per bridge),
    links, desktop counts (a partial C(store_desktops) override is refused), desktop profiles, the pinned
    image, device models, printer drivers, ports and addresses (inside the store subnet, not the gateway),
    reserved addresses, staff roles and expiry dates, KPI thresholds, and waves naming unknown stores.
  - "Returns one line per problem, in the form C(store <code>: <field>: <problem> (<fix>)); an empty list when
    all is well."
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
    description: C(storedesk_regions) (each region's C(api_host), C(api_port) and C(nodes_reserved_memory_gib)
      are checked), or only the region names.
    type: raw
  thresholds:
    description: The pilot gate's C(storedesk_kpi_thresholds).
    type: dict
  now:
    description: Epoch seconds to check expiry dates against (default the current time).
    type: int
  phase:
    description:
      - Check what this phase reads of every store - C(build_image) the regions only, C(power) codes and regions,
        C(accounts) also the staff, C(scale_event) and C(reclaim) also subnets, VLANs, counts and image; the
        other phases (and none) everything.
    type: str
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
from ansible_collections.storedesk.vdi.plugins.plugin_utils._filters import filter_module

FilterModule = filter_module(estate_errors=validate)
