# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Free VMIDs for desktop_pool's clones (private): from `vmid_min` up, never one the bulk read saw or this run
handed out; a collision with another run skips ahead at random so two runs stop racing for the same ids."""

from __future__ import annotations

import random
import threading

from ._pve_errors import StoredeskError


class VmidAllocator(object):
    """Free VMIDs from `vmid_min` up, never one the bulk read saw or this run handed out."""

    def __init__(self, taken, first=1000, last=999999999):
        self.taken = set(taken)
        self.cursor = first
        self.last = last
        self.lock = threading.Lock()
        self.collisions = 0

    def next(self):
        with self.lock:
            while self.cursor in self.taken:
                self.cursor += 1
            if self.cursor > self.last:
                raise StoredeskError('no free VMID left up to {0}'.format(self.last), hint='raise vmid_min range')
            self.taken.add(self.cursor)
            return self.cursor

    def reserve(self, count):
        """The VMID block this run expects to clone into (recorded in its lease), without taking ids."""
        with self.lock:
            first = self.cursor
            while first in self.taken:
                first += 1
            return [(first, min(self.last, first + 2 * count + 16))]

    def collided(self, vmid):
        """Another run took vmid: skip ahead a little at random so two runs stop racing for the same ids."""
        with self.lock:
            self.collisions += 1
            self.taken.add(vmid)
            self.cursor = max(self.cursor, vmid + 1 + random.randint(0, 8))
        return self.next()
