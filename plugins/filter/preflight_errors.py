# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: preflight_errors
short_description: What the read-only pass over every region found, before the first write anywhere
version_added: 0.2.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - Turns the read-only pre-flight of the store_pool role into one line per problem, each naming the region -
    a cluster that cannot be read or has no quorum, placement nodes (C(storedesk_regions.<region>.nodes)) that
    are not in the cluster or are offline, a backup storage missing on a node or not holding backups, and what
    a check-mode C(storedesk.vdi.desktop_pool) run found (a golden-image version with no template in the region,
    an image push without the memory for it, a C(store_bridge) missing on a placement node or a C(store_vlan) PVE
    cannot plug on it).
  - "Returns lines in the form C(region <region>: <store or setting>: <problem> (<fix>)); an empty list when
    every region is ready."
options:
  _input:
    description: The registered C(storedesk.vdi.cluster_info) loop results, one per region (C(item) is the region).
    type: list
    elements: dict
    required: true
  plans:
    description: The registered check-mode C(storedesk.vdi.desktop_pool) loop results, one per region.
    type: list
    elements: dict
  regions:
    description: C(storedesk_regions); a region's C(nodes) are its placement nodes.
    type: dict
  backup_storage:
    description: The storage vzdump writes to before a destroy; not checked when omitted.
    type: str
'''

EXAMPLES = r'''
- name: Refuse the run when any region is not ready
  ansible.builtin.assert:
    that: _problems | length == 0
    fail_msg: "{{ _problems | join(' | ') }}"
  vars:
    _problems: "{{ clusters.results | storedesk.vdi.preflight_errors(plans.results, regions=storedesk_regions) }}"
'''

RETURN = r'''
_value:
  description: Problems, one line each, region first.
  type: list
  elements: str
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._filters import filter_module
from ansible_collections.storedesk.vdi.plugins.plugin_utils._preflight import preflight_problems

FilterModule = filter_module(preflight_errors=preflight_problems)
