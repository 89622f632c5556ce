# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: review_library
short_description: The material library's freshness per store, from the version stamp the desktops see
version_added: 0.2.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - Per store, the percentage of its desktops that see the library's current version stamp (the marker file
    storedesk.vdi.desktop_drive reads inside Windows). The current stamp is O(current), else the newest stamp any
    desktop sees; a desktop on an older stamp, or that cannot read it, is stale.
options:
  _input:
    description: Store code to its desktops' markers (C(visible), C(content)).
    type: dict
    required: true
  current:
    description: The stamp the library source holds now (C(storedesk_library.current)).
    type: str
'''

EXAMPLES = r'''
- name: Library freshness
  ansible.builtin.set_fact:
    library: "{{ {'sh-0001': drive.desktops | map(attribute='marker') | list} | storedesk.vdi.review_library }}"
'''

RETURN = r'''
_value:
  description: Store code to a percentage.
  type: dict
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._review_probe import library_freshness


class FilterModule(object):
    def filters(self):
        return {'review_library': library_freshness}
