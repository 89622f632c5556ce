# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: report_html
short_description: Render a storedesk phase report as a self-contained HTML page
version_added: 0.1.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - Turns a report dictionary (title, verdict, summary cards, sections with bar charts and tables)
    into one HTML page with inline CSS and SVG; no script, font or CDN.
options:
  _input:
    description: The report; keys C(title), C(subtitle), C(verdict), C(summary), C(sections), C(generated).
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Write the HTML report
  ansible.builtin.copy:
    dest: reports/pilot.html
    content: "{{ report | storedesk.vdi.report_html }}"
    mode: "0644"
'''

RETURN = r'''
_value:
  description: The HTML page.
  type: str
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._report_html import render


class FilterModule(object):
    def filters(self):
        return {'report_html': render}
