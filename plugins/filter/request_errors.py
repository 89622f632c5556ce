# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: request_errors
short_description: Every problem of a phase's request and credentials, before anything changes
version_added: 0.2.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - Checks what a phase playbook is asked to do (extra vars or AWX survey answers) - the stores it names, its
    choices (C(reclaim_to), C(reclaim_backup), C(power_action), C(access_action)), the wave, the event hours,
    the regions of an image build, the pilot's KPI thresholds - and that the credentials it needs are set.
  - "Returns one line per problem, in the form C(<field>: <problem> (<fix>)); an empty list when all is well."
options:
  _input:
    description: The phase - C(assess), C(build_image), C(pilot), C(rollout), C(scale_event), C(reclaim),
      C(accounts) or C(power).
    type: str
    required: true
  request:
    description: The phase's variables, each C(none) when not given.
    type: dict
    required: true
  groups:
    description: The inventory's C(groups).
    type: dict
    required: true
  regions:
    description: C(storedesk_regions).
    type: dict
    required: true
  env:
    description:
      - The controller's C(PROXMOX_TOKEN_ID), C(PROXMOX_TOKEN_SECRET), C(PROXMOX_PASSWORD), C(PROXMOX_CA_PATH)
        (and C(ca_exists)), C(STOREDESK_WINRM_USER), C(STOREDESK_WINRM_PASSWORD); only whether they are set
        is looked at (a secret given as a file through C(<NAME>_FILE) counts as set when the file exists;
        C(missing_files) lists the C(<NAME>_FILE) variables naming no file). Not checked when omitted.
    type: dict
'''

EXAMPLES = r'''
- name: Refuse a bad request before any change
  ansible.builtin.assert:
    that: _errors | length == 0
    fail_msg: "{{ _errors | join('; ') }}"
  vars:
    _errors: "{{ 'reclaim' | storedesk.vdi.request_errors({'reclaim_to': reclaim_to | default(none)}, groups,
                  storedesk_regions) }}"
'''

RETURN = r'''
_value:
  description: Problems, one line each.
  type: list
  elements: str
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._estate import request_problems
from ansible_collections.storedesk.vdi.plugins.plugin_utils._filters import filter_module

FilterModule = filter_module(request_errors=request_problems)
