# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How storedesk.vdi names things in PVE tags (private, pure).

A desktop's identity is its name and tags, never a remembered VMID:
  storedesk            every object this collection manages
  store-<code>         the store a desktop belongs to
  city-<x> region-<x>  where the store is
  image-<name> v-<ver> the golden image and version it was cloned from (templates carry them too)
  role-<role>          desktop, spare, build, ...
"""

from __future__ import annotations

import re

MARKER = 'storedesk'
PREFIXES = ('store', 'city', 'region', 'image', 'v', 'role')
# PVE's pve-tag format.
TAG_RE = re.compile(r'^[a-z0-9_][a-z0-9_\-+.]*$', re.I)


def split_tags(value):
    """PVE tags (a `;`, `,` or space separated string) as a list, in order."""
    return [t for t in re.split(r'[;, ]+', str(value or '')) if t]


def join_tags(tags):
    """Tags as PVE stores them: lower case, sorted, `;`-separated."""
    return ';'.join(sorted(set(t.lower() for t in tags)))


def tag_value(tags, prefix):
    """The value of the first `<prefix>-<value>` tag, or None."""
    head = prefix + '-'
    for tag in tags:
        if tag.startswith(head):
            return tag[len(head):]
    return None


def desktop_tags(store, city=None, region=None, image=None, version=None, role='desktop', extra=()):
    """The tags of a store desktop."""
    tags = [MARKER, 'store-' + store, 'role-' + role]
    for prefix, value in (('city', city), ('region', region), ('image', image), ('v', version)):
        if value:
            tags.append('{0}-{1}'.format(prefix, value))
    return join_tags(list(tags) + list(extra))


def parse(value):
    """{'managed': bool, 'store': .., 'city': .., 'region': .., 'image': .., 'version': .., 'role': .., 'tags': [..]}"""
    tags = split_tags(value)
    out = {'managed': MARKER in tags, 'tags': tags}
    for prefix in PREFIXES:
        out['version' if prefix == 'v' else prefix] = tag_value(tags, prefix)
    return out
