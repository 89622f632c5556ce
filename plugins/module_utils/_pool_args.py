# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""desktop_pool's argument spec (private); documented in plugins/doc_fragments/desktop_pool.py."""

from __future__ import annotations

IMAGE = dict(type='dict', options=dict(name=dict(type='str'), version=dict(type='str')))

STORE_OPTIONS = dict(
    code=dict(type='str', required=True),
    name=dict(type='str'),
    city=dict(type='str'),
    region=dict(type='str'),
    subnet=dict(type='str'),
    gateway=dict(type='str'),
    reserved=dict(type='list', elements='str'),
    vlan=dict(type='int'),
    bridge=dict(type='str'),
    link=dict(type='dict', options=dict(bandwidth_mbps=dict(type='int'), latency_ms=dict(type='int'))),
    count=dict(type='int'),
    spares=dict(type='int'),
    power=dict(type='str', choices=['running', 'stopped', 'hibernated']),
    image=IMAGE,
    protection=dict(type='bool'),
    addressing=dict(type='str', choices=['dhcp', 'static']),
    spice_video=dict(type='str', choices=['auto', 'all', 'filter', 'off']),
)

POOL_ARGSPEC = dict(
    store=dict(type='dict', options=STORE_OPTIONS),
    stores=dict(type='list', elements='dict', options=STORE_OPTIONS),
    image=IMAGE,
    count=dict(type='int'),
    spares=dict(type='int', default=0),
    power=dict(type='str', default='running', choices=['running', 'stopped', 'hibernated']),
    name_pattern=dict(type='str', default='{store}-d{index:02d}'),
    pool_pattern=dict(type='str', default='store-{store}'),
    bridge=dict(type='str', default='vmbr0'),
    protection=dict(type='bool', default=False),
    guest_agent=dict(type='bool', default=True),
    spice_video=dict(type='str', default='auto', choices=['auto', 'all', 'filter', 'off']),
    addressing=dict(type='str', default='dhcp', choices=['dhcp', 'static']),
    address_offset=dict(type='int', default=10),
    nodes=dict(type='list', elements='str'),
    vmid_min=dict(type='int', default=1000),
    backup_before_destroy=dict(type='str', default='none', choices=['none', 'snapshot', 'vzdump']),
    backup_storage=dict(type='str', default='local'),
    in_use_check=dict(type='list', elements='str', default=['tag', 'agent'], choices=['tag', 'agent']),
    in_use_ignore_users=dict(type='list', elements='str', default=['root', 'storedesk-admin']),
    push=dict(type='dict', default={}, options=dict(
        canary=dict(type='int', default=1),
        batch_size=dict(type='int', default=5),
        in_use=dict(type='str', default='skip', choices=['skip', 'wait']),
        in_use_timeout=dict(type='int', default=900),
        stop_on_error=dict(type='bool', default=True),
    )),
    concurrency_per_node=dict(type='int', default=4),
    concurrency=dict(type='int', default=0),
    clone_retries=dict(type='int', default=1),
    task_timeout=dict(type='int', default=600),
    lock_wait=dict(type='int', default=120),
    lease_wait=dict(type='int', default=300),
    lease_ttl=dict(type='int', default=300),
    saved_sessions=dict(type='str', default='keep', choices=['keep', 'discard']),
    shutdown_timeout=dict(type='int', default=120),
)
