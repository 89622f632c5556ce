# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter-plugin class every filter file of the collection exports (private)."""

from __future__ import annotations


def filter_module(**filters):
    """A FilterModule class serving `filters` ({filter name: function}); a filter file does
    `FilterModule = filter_module(name=function)` under its DOCUMENTATION, EXAMPLES and RETURN."""
    table = dict(filters)

    class FilterModule(object):
        def filters(self):
            return dict(table)

    return FilterModule
