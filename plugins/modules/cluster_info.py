#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: cluster_info
short_description: Capacity, templates, pools and store desktops of one Proxmox VE cluster
version_added: 0.1.0
description:
  - Reads one Proxmox VE cluster (one region) in one bulk read of C(/cluster/resources), plus the
    cluster status, the PVE version and the pool list (four API requests, whatever the cluster's size).
  - Returns the cluster's name and quorum, every node with its online state, CPU cores, memory and
    storage capacity and use, the templates with their tags, the pools, and the desktops per store
    counted from the tags storedesk.vdi writes (C(storedesk), C(store-<code>)).
  - All figures are the API's own; this is what the assessment phase plans capacity with.
author:
  - storedesk.vdi maintainers (@storedesk)
extends_documentation_fragment:
  - storedesk.vdi.attributes.read_only
  - storedesk.vdi.proxmox
options: {}
'''

EXAMPLES = r'''
- name: Read the capacity of the east region
  storedesk.vdi.cluster_info:
    api_host: pve-east.example.com
    api_token_id: automation@pve!storedesk
    api_token_secret: "{{ vault_pve_token_secret }}"
    ca_path: /etc/storedesk/pve-east-ca.pem
  register: east

- name: Show free memory per node
  ansible.builtin.debug:
    msg: "{{ east.nodes | map(attribute='memory_free_bytes') | list }}"
'''

RETURN = r'''
cluster:
  description: Cluster name, quorum and node counts.
  returned: always
  type: dict
  sample: {name: east, quorate: true, nodes_total: 3, nodes_online: 3}
version:
  description: PVE version as C(/version) reports it.
  returned: always
  type: dict
  sample: {version: 9.0.10, release: '9.0'}
nodes:
  description:
    - Every node with C(online), C(cpu_cores), C(cpu_usage), C(memory_total_bytes), C(memory_used_bytes),
      C(memory_free_bytes), C(memory_committed_bytes) and C(vcpus_committed) (sum over its VMs),
      C(vms_total), C(vms_running) and its C(storages).
  returned: always
  type: list
  elements: dict
storages:
  description: Every storage per node with C(total_bytes), C(used_bytes), C(avail_bytes), C(shared), C(content).
  returned: always
  type: list
  elements: dict
templates:
  description: Templates with C(vmid), C(name), C(node), C(tags), and C(image)/C(version) read from the tags.
  returned: always
  type: list
  elements: dict
pools:
  description: Resource pools (C(poolid), C(comment)).
  returned: always
  type: list
  elements: dict
stores:
  description: Per store code, C(desktops), C(running), desktops per node and per image version.
  returned: always
  type: dict
  sample: {sh-0012: {desktops: 6, running: 6, nodes: {pve-e1: 3, pve-e2: 3}, images: {'1.0.0': 6}}}
totals:
  description: Sums over the online nodes, and the desktop and VM counts.
  returned: always
  type: dict
api_requests:
  description: API requests this run made (the login included).
  returned: always
  type: int
'''

from ansible_collections.storedesk.vdi.plugins.module_utils._cluster_facts import build_facts, read_cluster
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_module import pve_module, run_module


def execute(module, client):
    facts = build_facts(read_cluster(client))
    facts.update(changed=False, api_requests=client.stats['requests'])
    return facts


def main():
    run_module(pve_module({}), execute)


if __name__ == '__main__':
    main()
