# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: capacity_plan
short_description: The planned pools against each region's and node's capacity
version_added: 0.1.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - From C(storedesk.vdi.cluster_info) results per region and the inventory's stores, the desktops, memory and
    vCPUs needed at baseline and at the event peak, whether they fit (memory above each node's reserve, quorum,
    linked-clone storage), the headroom, and each node's projected memory at the peak.
options:
  _input:
    description: Region name to its cluster_info result.
    type: dict
    required: true
  stores:
    description: The stores (C(region), C(desktops) with C(baseline), C(event), C(spares); C(profile)).
    type: list
    elements: dict
    required: true
  regions:
    description: C(storedesk_regions) (C(nodes_reserved_memory_gib) per region).
    type: dict
    required: true
  disk_delta_gib:
    description: Storage a linked clone grows to, per desktop.
    type: int
    default: 10
  storage:
    description: The shared storage the desktops live on.
    type: str
    default: vdi-ceph
'''

EXAMPLES = r'''
- name: Compare capacity with the plan
  ansible.builtin.set_fact:
    capacity: "{{ clusters | storedesk.vdi.capacity_plan(estate_stores, storedesk_regions) }}"
'''

RETURN = r'''
_value:
  description: C(regions) (per region figures, C(fits_event), C(reason)) and C(nodes) (per node peak vs limit).
  type: dict
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._capacity import plan


class FilterModule(object):
    def filters(self):
        return {'capacity_plan': plan}
