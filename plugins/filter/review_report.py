# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: review_report
short_description: The KPI review from the history - per KPI and store the trend, worst stores first, what changed
version_added: 0.2.0
author: storedesk.vdi maintainers (@storedesk)
description:
  - Takes the rows of the last reviews (the C(rows) and C(reviews) a C(storedesk.vdi.kpi_history) query returns)
    and builds the review of the newest one against the one before it.
options:
  _input:
    description: C(rows) of the query.
    type: list
    elements: dict
    required: true
  reviews:
    description: C(reviews) of the query, oldest first.
    type: list
    elements: str
    required: true
  drift:
    description: Drift rows of the reviewed stores (storedesk.vdi.drift_report); counted per store and listed.
    type: list
    elements: dict
  estate:
    description:
      - Store code to C(plan), C(version) and C(desktops) as this review saw them; added to the store rows (the
        dashboard shows them).
    type: dict
    version_added: 0.2.0
'''

EXAMPLES = r'''
- name: Build the review page
  ansible.builtin.set_fact:
    review: "{{ history.rows | storedesk.vdi.review_report(history.reviews) }}"
'''

RETURN = r'''
_value:
  description: C(data) (review, previous, stores worst first, trends, changes) and C(view) (the page for the report role).
  type: dict
'''

from ansible_collections.storedesk.vdi.plugins.plugin_utils._review import view


def review_report(rows, reviews, drift=None, estate=None):
    data, page = view(rows, reviews, drift=drift, estate=estate)
    return {'data': data, 'view': page}


class FilterModule(object):
    def filters(self):
        return {'review_report': review_report}
