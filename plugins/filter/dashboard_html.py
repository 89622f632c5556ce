# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: dashboard_html
short_description: The estate dashboard (index.html) from the phase reports of a report directory
version_added: 0.2.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - Reads every C(<phase>-<time>.json) report in the directory (on the controller) and returns one
    self-contained HTML page, readable on a phone - every store's desktops against the plan, image version,
    last KPI verdict, drift and last change, then a link to every phase report, newest first.
  - The report role writes it as C(index.html) after every phase report.
options:
  _input:
    description: The report directory.
    type: path
    required: true
  generated:
    description: When the page was generated (shown at the bottom).
    type: str
    default: ''
'''

EXAMPLES = r'''
- name: Refresh the dashboard
  ansible.builtin.copy:
    dest: "{{ report_dir }}/index.html"
    content: "{{ report_dir | storedesk.vdi.dashboard_html(now(utc=true).isoformat()) }}"
    mode: "0644"
'''

RETURN = r'''
_value:
  description: The HTML page.
  type: str
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._dashboard import render


class FilterModule(object):
    def filters(self):
        return {'dashboard_html': render}
