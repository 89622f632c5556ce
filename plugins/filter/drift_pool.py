# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: drift_pool
short_description: Desktops whose pool plan (desktop_pool in check mode) is more than nothing to do
version_added: 0.2.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - Reads the registered loop result of M(storedesk.vdi.desktop_pool) run in check mode (the store_pool role's
    C(store_pool_results)) and lists each desktop whose planned action is more than C(none) or C(keep) - its
    config, tags, image version, power, or a desktop to create or destroy - with the command that fixes it.
options:
  _input:
    description: C(store_pool_results).
    type: dict
    required: true
  fixes:
    description: The fix command per store code.
    type: dict
'''

EXAMPLES = r'''
- name: The pools' drift
  ansible.builtin.set_fact:
    drift: "{{ store_pool_results | storedesk.vdi.drift_pool({'sh-0001': 'ansible-playbook playbooks/rollout.yml -e wave=wave1'}) }}"
'''

RETURN = r'''
_value:
  description: Rows with store, desktop, what (pool), detail (the planned action and its reason) and fix.
  type: list
  elements: dict
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._drift import pool_drift


class FilterModule(object):
    def filters(self):
        return {'drift_pool': pool_drift}
