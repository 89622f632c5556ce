#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: golden_image_info
short_description: Versions of the golden images across the estate, and who uses each
version_added: 0.1.0
description:
  - Lists every version of a golden image (or of all images) in one or several Proxmox VE clusters
    (regions) - per region the template, node, manifest hash and build time that
    M(storedesk.vdi.golden_image) wrote into its description, and whether it is pinned or protected.
  - For every version, the desktops that use it (tagged C(image-<name>) and C(v-<version>), or with disks that
    are linked clones of the template) and their stores, whether its hash is the same in every region, and
    in which regions it is missing - what a rollback decision needs.
  - Several regions - give O(regions), each with its API host and port; the credentials options apply to all
    of them. One region - the usual O(api_host) and O(api_port), named by O(region).
  - Regions are read in parallel; if one cannot be read the task fails naming it (a partial view of the
    estate is not a safe base for a rollback).
author:
  - storedesk.vdi maintainers (@storedesk)
extends_documentation_fragment:
  - storedesk.vdi.attributes.read_only
  - storedesk.vdi.proxmox
options:
  name:
    description: The image to report (C(store)); all images tagged on templates when not given.
    type: str
  regions:
    description:
      - The regions to read. When given, O(api_host), O(api_port) and O(region) are not used.
    type: list
    elements: dict
    suboptions:
      name:
        description: Region name used in the result.
        type: str
        required: true
      api_host:
        description: Host of the region's Proxmox VE API.
        type: str
        required: true
      api_port:
        description: Port of the region's API.
        type: int
        default: 8006
  region:
    description: Name of the one region read through O(api_host); default the host name.
    type: str
  api_host:
    description:
      - Host name or address of a node of the one cluster to read; required unless O(regions) is given.
      - The environment variable E(PROXMOX_HOST) is used when this is not set.
    type: str
    required: false
'''

EXAMPLES = r'''
- name: Versions of the store image in every region
  storedesk.vdi.golden_image_info:
    name: store
    regions:
      - {name: east, api_host: pve-east.example.com}
      - {name: west, api_host: pve-west.example.com}
  register: images

- name: Versions a rollback could go to (present everywhere, same build everywhere)
  ansible.builtin.debug:
    msg: "{{ images.images[0].versions | selectattr('rollback_candidate') | map(attribute='version') | list }}"

- name: One region through the usual connection options
  storedesk.vdi.golden_image_info:
    api_host: pve-east.example.com
    region: east
'''

RETURN = r'''
images:
  description: One entry per image.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Image name.
      type: str
      returned: always
    versions:
      description:
        - Newest first. Each with C(version), C(regions) (per region C(template), C(vmid), C(node), C(hash), C(built),
          C(pinned), C(protected)), C(missing_in) (regions without it), C(hash) (when the same everywhere),
          C(hash_consistent), C(built) (earliest), C(pinned) (in any region), C(desktops), C(desktops_by_region),
          C(stores), C(users) (vmid, name, node, store, region, via C(tags) or C(linked-clone)), C(latest) and
          C(rollback_candidate) (an older version present in every region with one hash).
      type: list
      elements: dict
      returned: always
      sample:
        - version: 1.1.0
          regions: {east: {template: tpl-store-1.1.0, vmid: 101, node: pve-e1, hash: 9f2c..., built: '2026-11-25T10:02:11Z',
                           pinned: false, protected: false}}
          missing_in: [west]
          hash_consistent: true
          desktops: 3
          stores: [sh-0001]
          latest: true
          rollback_candidate: false
    failed_builds:
      description: Build VMs kept after a failed build (C(failed-<name>-<version>)), with their region.
      type: list
      elements: dict
      returned: always
    builds_in_progress:
      description: Build VMs (C(build-<name>-<version>)) - a build running now, or an interrupted one.
      type: list
      elements: dict
      returned: always
regions:
  description: The regions read, with the API requests each took.
  returned: always
  type: dict
  sample: {east: {api_host: pve-east.example.com, api_requests: 5}}
'''

from ansible.module_utils.basic import env_fallback

from ansible_collections.storedesk.vdi.plugins.module_utils._image_info import merge, read_estate
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_module import pve_module, region_clients, run_module

ARGSPEC = dict(
    name=dict(type='str'),
    regions=dict(type='list', elements='dict', options=dict(
        name=dict(type='str', required=True),
        api_host=dict(type='str', required=True),
        api_port=dict(type='int', default=8006))),
    region=dict(type='str'),
    api_host=dict(type='str', fallback=(env_fallback, ['PROXMOX_HOST'])),
)


def execute(module, clients):
    """clients: {region: client} (region_clients)."""
    found, errors = read_estate(clients, module.params['name'])
    read = dict((name, {'api_host': c.host, 'api_requests': c.stats['requests']}) for name, c in clients.items())
    if errors:
        module.fail_json(msg='could not read every region, so no estate view: {0}'.format(
            '; '.join('{0}: {1}'.format(k, v) for k, v in sorted(errors.items()))), regions=read)
    return dict(changed=False, images=merge(found), regions=read)


def main():
    run_module(pve_module(ARGSPEC, required_one_of=[('api_host', 'regions')]), execute, connect=region_clients)


if __name__ == '__main__':
    main()
