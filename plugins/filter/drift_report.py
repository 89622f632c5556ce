# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: drift_report
short_description: What differs on a store's desktops from the inventory, from the device modules' check-mode plans
version_added: 0.2.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - Reads the registered results of M(storedesk.vdi.usb_device), M(storedesk.vdi.desktop_printer) and
    M(storedesk.vdi.desktop_drive) run in check mode (the peripherals role with C(check_mode)) and lists each
    desktop that would change, what, and the command that fixes it.
options:
  _input:
    description: The store code.
    type: str
    required: true
  usb:
    description: The usb_device result (check mode).
    type: dict
  printers:
    description: The desktop_printer result (check mode).
    type: dict
  drives:
    description: The desktop_drive result (check mode).
    type: dict
  fix:
    description: The command that fixes it (shown with every row).
    type: str
'''

EXAMPLES = r'''
- name: The store's drift
  ansible.builtin.set_fact:
    drift: "{{ store_code | storedesk.vdi.drift_report(peripherals_usb_result, peripherals_printer_result,
               peripherals_library_result, 'ansible-playbook playbooks/rollout.yml -e wave=wave1') }}"
'''

RETURN = r'''
_value:
  description: Rows with store, desktop, what (USB devices, printers, drives), detail and fix.
  type: list
  elements: dict
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._drift import drift


class FilterModule(object):
    def filters(self):
        return {'drift_report': drift}
