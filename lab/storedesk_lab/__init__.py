"""The embedded lab of storedesk.vdi: fake PVE clusters (one per region) and fake Windows desktops.

A lab and test tool only: nothing under plugins/ imports it, and galaxy.yml keeps it out of the
built collection (fakepve, which it extends, is AGPL-3.0).
"""
