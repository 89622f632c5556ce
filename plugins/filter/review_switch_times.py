# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: review_switch_times
short_description: How long each store's last image version switch took, from the rollout reports
version_added: 0.2.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - Reads the C(rollout-<time>.json) reports of the report directory (on the controller; plans of check runs
    skipped) and returns per store its last switch - the timeline row with status C(done), finished minus started.
options:
  _input:
    description: The report directory.
    type: path
    required: true
'''

EXAMPLES = r'''
- name: Version switch times
  ansible.builtin.set_fact:
    switches: "{{ report_dir | storedesk.vdi.review_switch_times }}"
'''

RETURN = r'''
_value:
  description: Store code to C(seconds), C(version) and C(at) (when the rollout report was written).
  type: dict
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._dashboard import load
from ansible_collections.storedesk.vdi.plugins.plugin_utils._review_probe import switch_times


def review_switch_times(report_dir):
    return switch_times(load(report_dir))


class FilterModule(object):
    def filters(self):
        return {'review_switch_times': review_switch_times}
