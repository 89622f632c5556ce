# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: review_targets
short_description: The desktops one bulk storedesk.vdi.desktop_probe call of the review covers
version_added: 0.2.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - From the desktop_info records of every region, the running desktops with an address, store by store, each
    with its store's expected USB devices - the C(desktops) of one desktop_probe call across all stores.
  - With O(sample), at most that many desktops per store, a window that moves with O(seed) so successive reviews
    cover other desktops.
options:
  _input:
    description: desktop_info C(desktops) records (with C(store), C(name), C(address)).
    type: list
    elements: dict
    required: true
  expect:
    description: Store code to the USB devices (C(VVVV:PPPP)) expected in its desktops.
    type: dict
    default: {}
  sample:
    description: Desktops per store at most (0 or none for all).
    type: int
  seed:
    description: Moves the sample window (the review id).
    type: str
    default: ''
'''

EXAMPLES = r'''
- name: Probe every store's desktops at once (three per store)
  storedesk.vdi.desktop_probe:
    desktops: "{{ info.desktops | storedesk.vdi.review_targets({'sh-0001': ['05E0:1200']}, 3, review_id) }}"
'''

RETURN = r'''
_value:
  description: C(name), C(address), C(expect_usb) per desktop.
  type: list
  elements: dict
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._review_probe import probe_targets


class FilterModule(object):
    def filters(self):
        return {'review_targets': probe_targets}
