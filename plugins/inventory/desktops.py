# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: desktops
short_description: Store desktops of one or more Proxmox VE clusters as WinRM hosts
version_added: 0.1.0
description:
  - Reads every region's Proxmox VE cluster with one bulk request (C(GET /cluster/resources?type=vm)), then the
    guest list of each node that hosts a desktop (C(GET /nodes/{node}/qemu)), whose names, power states and
    template flags are live; the bulk list serves those from a cache up to about 10 seconds old. No per-VM
    configuration is read.
  - Keeps the desktops storedesk.vdi manages (tag C(storedesk), never templates) unless O(include_unmanaged=true).
  - Groups them by region, city, store, image, image version, role and power state (C(region_east),
    C(city_shanghai), C(store_sh_0001), C(image_store), C(image_v_1_0_0), C(role_desktop), C(power_running),
    C(power_hibernated)); every managed desktop is also in C(storedesk_desktops).
  - Optionally asks the guest agent of every running desktop for its address (one request per desktop,
    run concurrently), so C(ansible.windows) modules reach the desktop over WinRM.
  - The inventory source is a YAML file whose name ends in C(desktops.yml) or C(desktops.yaml).
author:
  - storedesk.vdi maintainers (@storedesk)
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin; the file is only read when it says so.
    type: str
    required: true
    choices: [storedesk.vdi.desktops]
  regions:
    description:
      - One entry per region (one Proxmox VE cluster each).
      - A value not given is read from the environment, first region-specific, then general, as the
        modules read it; for region C(east) the host comes from E(PROXMOX_HOST_EAST), else E(PROXMOX_HOST).
        The same goes for E(PROXMOX_PORT), E(PROXMOX_USER), E(PROXMOX_PASSWORD), E(PROXMOX_TOKEN_ID),
        E(PROXMOX_TOKEN_SECRET), E(PROXMOX_VALIDATE_CERTS) and E(PROXMOX_CA_PATH).
      - Values may be templates, such as a C(lookup) of a vaulted file; never write a secret in clear here.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Region name; becomes the group C(region_<name>) and the host var C(storedesk_region).
        type: str
        required: true
      api_host:
        description: Host name or address of a node of the region's cluster.
        type: str
      api_port:
        description: Port of the Proxmox VE API.
        type: int
        default: 8006
      api_user:
        description: User for a password login, or owner of the API token.
        type: str
        default: root@pam
      api_password:
        description: Password of O(regions[].api_user). Prefer an API token.
        type: str
      api_token_id:
        description: API token name or full id (C(automation@pve!storedesk)).
        type: str
      api_token_secret:
        description: Secret of the API token.
        type: str
      validate_certs:
        description: Verify the API's TLS certificate.
        type: bool
        default: true
      ca_path:
        description: PEM file with the cluster's CA.
        type: path
  group_prefix:
    description:
      - Put before every group name this plugin makes (V(desktop_) gives C(desktop_region_east)).
      - Needed when the same inventory also holds the stores inventory, whose groups C(region_*) and
        C(city_*) list stores, not desktops.
    type: str
    default: ''
  include_unmanaged:
    description: Also list VMs without the C(storedesk) tag (in the group C(unmanaged_vms)); templates never.
    type: bool
    default: false
  agent_ips:
    description:
      - Ask the guest agent of every running desktop for its address (C(network-get-interfaces)); the first
        IPv4 address that is not on a loopback interface becomes C(ansible_host) and C(storedesk_ip).
      - One API request per running desktop. With V(false) only the bulk read is made, and
        C(ansible_host) is not set.
    type: bool
    default: true
  agent_concurrency:
    description: Guest-agent requests in flight at once per region (at most 4 per node).
    type: int
    default: 16
  skip_unreachable_regions:
    description:
      - With V(false) (the default) a region that cannot be read fails the whole inventory, so a play never
        silently misses a region. With V(true) the region is left out with a warning.
    type: bool
    default: false
  api_timeout:
    description: Seconds to wait for one API answer.
    type: int
    default: 30
  winrm_user:
    description:
      - Becomes C(ansible_user) of every desktop. Give the password through an AWX/AAP credential or Ansible
        Vault, in a variable (C(ansible_password)) that is resolved when a task runs; this plugin never
        writes a password into host vars.
    type: str
    env:
      - name: STOREDESK_WINRM_USER
  winrm_port:
    description: Becomes C(ansible_port).
    type: int
    default: 5985
  winrm_scheme:
    description: Becomes C(ansible_winrm_scheme); C(http) is message-encrypted with NTLM.
    type: str
    choices: [http, https]
    default: http
  winrm_transport:
    description: Becomes C(ansible_winrm_transport).
    type: str
    choices: [ntlm, kerberos, credssp]
    default: ntlm
requirements:
  - requests
notes:
  - Host vars per desktop are C(storedesk_vmid), C(storedesk_node), C(storedesk_region), C(storedesk_pool),
    C(storedesk_status), C(storedesk_power), C(storedesk_tags), C(storedesk_store), C(storedesk_city),
    C(storedesk_image), C(storedesk_version), C(storedesk_role), C(storedesk_ip), and the WinRM connection
    variables C(ansible_connection=winrm), C(ansible_winrm_transport), C(ansible_winrm_scheme),
    C(ansible_port), C(ansible_user), C(ansible_host).
  - API requests per region are one bulk read plus one guest-agent request per running desktop (plus one
    login with a password; none with a token). The figures are shown with C(-v).
  - With O(cache=true) the desktops (no secrets) are kept in the inventory cache for O(cache_timeout) seconds.
'''

EXAMPLES = r'''
# lab.desktops.yml: the embedded lab (credentials from lab/.state/lab.env)
plugin: storedesk.vdi.desktops
regions:
  - name: east
  - name: west

---
# prod.desktops.yml: API tokens per region, secrets from a vaulted vars file through lookups
plugin: storedesk.vdi.desktops
regions:
  - name: east
    api_host: pve-east.example.com
    api_token_id: automation@pve!storedesk
    api_token_secret: "{{ lookup('ansible.builtin.unvault', '/etc/storedesk/east-token.vault') | trim }}"
    ca_path: /etc/storedesk/pve-east-ca.pem
  - name: west
    api_host: pve-west.example.com
    ca_path: /etc/storedesk/pve-west-ca.pem
agent_ips: true
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/storedesk-inventory
cache_timeout: 300
keyed_groups:
  - key: storedesk_pool
    prefix: pool
compose:
  store_link_weak: "'weak-link' in storedesk_tags"

# group_vars/storedesk_desktops.yml: the password reaches WinRM at task time, from the environment an
# AWX/AAP credential (or `ansible-vault` protected vars) provides, never from the inventory.
# ansible_password: "{{ lookup('ansible.builtin.env', 'STOREDESK_WINRM_PASSWORD') }}"
'''

import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.storedesk.vdi.plugins.module_utils import _inventory_hosts as inv
from ansible_collections.storedesk.vdi.plugins.module_utils import _guest_live as guest_live
from ansible_collections.storedesk.vdi.plugins.module_utils._executor import run_bounded
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_client import PveClient
from ansible_collections.storedesk.vdi.plugins.module_utils._pve_errors import StoredeskError
from ansible_collections.storedesk.vdi.plugins.module_utils._secret_env import secret_from_env

# region field -> (PROXMOX_* environment suffix, default)
REGION_FIELDS = {'api_host': ('HOST', None), 'api_port': ('PORT', 8006), 'api_user': ('USER', 'root@pam'),
                 'api_password': ('PASSWORD', None), 'api_token_id': ('TOKEN_ID', None),
                 'api_token_secret': ('TOKEN_SECRET', None), 'validate_certs': ('VALIDATE_CERTS', True),
                 'ca_path': ('CA_PATH', None)}
AGENT_PER_NODE = 4


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = 'storedesk.vdi.desktops'

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(('desktops.yml', 'desktops.yaml'))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        key = self.get_cache_key(path)
        use_cache = self.get_option('cache') and cache
        update_cache = self.get_option('cache') and not cache
        records = None
        if use_cache:
            try:
                records = self._cache[key]
            except KeyError:
                update_cache = True
        if records is None:
            records = self._read_regions()
        if update_cache:
            self._cache[key] = records
        self._populate(records)

    # ------------------------------------------------------------------ read

    def _read_regions(self):
        records, errors = [], []
        for region in self.get_option('regions'):
            try:
                records.extend(self._read_region(self._region_settings(region)))
            except StoredeskError as exc:
                errors.append('region {0}: {1}'.format(region.get('name'), exc))
        if errors and not self.get_option('skip_unreachable_regions'):
            raise AnsibleError('storedesk.vdi.desktops: ' + '; '.join(errors))
        for error in errors:
            self.display.warning('storedesk.vdi.desktops: left out ' + error)
        return records

    def _region_settings(self, region):
        """A region's connection: its own values (templated), else PROXMOX_<X>_<REGION>, else PROXMOX_<X>."""
        if not region.get('name'):
            raise AnsibleError('storedesk.vdi.desktops: every entry of regions needs a name')
        name = str(region['name'])
        out = {'name': name}
        for field, (suffix, default) in REGION_FIELDS.items():
            value = region.get(field)
            if isinstance(value, str) and self.templar.is_template(value):
                value = self.templar.template(value)
            if value in (None, ''):
                value = os.environ.get('PROXMOX_{0}_{1}'.format(suffix, name.upper()),
                                       os.environ.get('PROXMOX_' + suffix)) or default
            if value in (None, '') and suffix in ('PASSWORD', 'TOKEN_SECRET'):   # PROXMOX_<X>_FILE: AWX file injector
                value = secret_from_env('PROXMOX_' + suffix)
            out[field] = value
        if not out['api_host']:
            raise AnsibleError('storedesk.vdi.desktops: region {0} has no api_host (nor PROXMOX_HOST_{1} or '
                               'PROXMOX_HOST)'.format(name, name.upper()))
        out['api_port'] = int(out['api_port'])
        out['validate_certs'] = boolean(out['validate_certs'], strict=False)
        return out

    def _read_region(self, region):
        client = PveClient(region['api_host'], port=region['api_port'], user=region['api_user'],
                           password=region['api_password'], token_id=region['api_token_id'],
                           token_secret=region['api_token_secret'], validate_certs=region['validate_certs'],
                           ca_path=region['ca_path'], timeout=self.get_option('api_timeout'))
        try:
            include = self.get_option('include_unmanaged')
            resources = guest_live.resources(client, None if include else inv.is_managed)
            records = inv.desktops(resources, region['name'], include)
            running = [r for r in records if r['status'] == 'running']
            failed = 0
            if self.get_option('agent_ips') and running:
                failed = self._agent_ips(client, running)
            self.display.v('storedesk.vdi.desktops: region {0}: {1} desktops, {2} API requests ({3} logins, '
                           '1 bulk read, {6} node guest lists, {4} guest-agent reads, {5} without an '
                           'address)'.format(
                               region['name'], len(records), client.stats['requests'], client.stats['logins'],
                               len(running) if self.get_option('agent_ips') else 0, failed,
                               len(set(r['node'] for r in records))))
            return records
        finally:
            client.close()

    def _agent_ips(self, client, running):
        """Fill `ip` of every running desktop from its guest agent, concurrently; returns how many failed."""
        def ask(record):
            answer = client.get(client.path('nodes', record['node'], 'qemu', record['vmid'], 'agent',
                                            'network-get-interfaces'))
            return inv.first_ipv4(answer or {})

        outcomes = run_bounded(running, ask, key=lambda r: r['node'], per_key=AGENT_PER_NODE,
                               overall=max(1, self.get_option('agent_concurrency')))
        failed = 0
        for outcome in outcomes:
            outcome.item['ip'] = outcome.value if outcome.ok else None
            if not outcome.item['ip']:
                failed += 1
                reason = to_native(outcome.error) if outcome.error else 'no IPv4 address reported'
                self.display.vvv('storedesk.vdi.desktops: {0}: {1}'.format(outcome.item['name'], reason))
        return failed

    # -------------------------------------------------------------- populate

    def _populate(self, records):
        strict = self.get_option('strict')
        taken = set()
        for record in records:
            host = inv.host_name(record, taken)
            taken.add(host)
            self.inventory.add_host(host)
            for group in inv.group_names(record, self.get_option('group_prefix')):
                self.inventory.add_group(group)
                self.inventory.add_child(group, host)
            hostvars = inv.host_vars(record, winrm_user=self.get_option('winrm_user'),
                                     winrm_port=self.get_option('winrm_port'),
                                     winrm_scheme=self.get_option('winrm_scheme'),
                                     winrm_transport=self.get_option('winrm_transport'))
            for key, value in hostvars.items():
                self.inventory.set_variable(host, key, value)
            self._set_composite_vars(self.get_option('compose'), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), hostvars, host, strict=strict)
