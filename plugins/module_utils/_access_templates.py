# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role templates, the automation role and PVE's privilege list, as data (private, pure).

Everything here can be overridden by the module's `templates` option; docs/access.md explains each entry.
"""

from __future__ import annotations

import re

# Comments of the users and groups store_access manages start with this; in exclusive mode and on reclaim,
# objects without it are never changed. Roles carry no comment in PVE: ours are those named ROLE_PREFIX*.
MARKER = 'storedesk:'
ROLE_PREFIX = 'Storedesk'
AUTOMATION_ROLE = 'StoredeskAutomation'

# PVE 9 (pve-access-control AccessControl.pm, $privgroups + Permissions.Modify).
PVE9_PRIVILEGES = frozenset((
    'Datastore.Allocate', 'Datastore.AllocateSpace', 'Datastore.AllocateTemplate', 'Datastore.Audit',
    'Group.Allocate', 'Mapping.Audit', 'Mapping.Modify', 'Mapping.Use', 'Permissions.Modify',
    'Pool.Allocate', 'Pool.Audit', 'Realm.Allocate', 'Realm.AllocateUser',
    'SDN.Allocate', 'SDN.Audit', 'SDN.Use',
    'Sys.AccessNetwork', 'Sys.Audit', 'Sys.Console', 'Sys.Incoming', 'Sys.Modify', 'Sys.PowerMgmt', 'Sys.Syslog',
    'User.Modify',
    'VM.Allocate', 'VM.Audit', 'VM.Backup', 'VM.Clone', 'VM.Config.CDROM', 'VM.Config.CPU',
    'VM.Config.Cloudinit', 'VM.Config.Disk', 'VM.Config.HWType', 'VM.Config.Memory', 'VM.Config.Network',
    'VM.Config.Options', 'VM.Console', 'VM.GuestAgent.Audit', 'VM.GuestAgent.FileRead',
    'VM.GuestAgent.FileSystemMgmt', 'VM.GuestAgent.FileWrite', 'VM.GuestAgent.Unrestricted', 'VM.Migrate',
    'VM.PowerMgmt', 'VM.Replicate', 'VM.Snapshot', 'VM.Snapshot.Rollback',
))
# PVE 8 had one VM.Monitor where PVE 9 has the VM.GuestAgent.* privileges.
PVE8_ONLY = {'VM.Monitor': 'VM.Monitor was split in PVE 9: use VM.GuestAgent.Audit (read) or '
                           'VM.GuestAgent.Unrestricted (exec)'}

# StoredeskAutomation: exactly what the collection's API calls need, each with the call that needs it.
# tests/unit/plugins/module_utils/test_access_templates.py checks every API path under plugins/ against this list.
AUTOMATION_PRIVILEGES = (
    ('Sys.Audit', 'cluster_info: GET /cluster/status and nodes in /cluster/resources; every task wait: '
                  'GET /nodes/{node}/tasks (source=all); usb_mapping: GET /nodes; store_access, access_report: '
                  'GET /access/acl, /access/users'),
    ('Sys.Modify', 'store_access: POST/PUT/DELETE /access/roles (PVE checks it on /access)'),
    ('VM.Audit', 'every desktop module: VMs in /cluster/resources, GET .../qemu/{vmid}/config, /pending, '
                 '/status/current'),
    ('Pool.Audit', 'cluster_info, desktop_pool, store_access: GET /pools'),
    ('Pool.Allocate', 'desktop_pool: POST /pools, PUT /pools (members)'),
    ('Datastore.Audit', 'cluster_info: storages in /cluster/resources; golden image build: GET '
                        '/nodes/{node}/storage/{storage}/content (ISOs)'),
    ('Datastore.AllocateSpace', 'desktop_pool: clone (target storage); golden image build: POST /nodes/{node}/qemu '
                                '(disks); desktop_power: POST /nodes/{node}/vzdump (backup storage)'),
    ('Datastore.AllocateTemplate', 'golden image build: POST /nodes/{node}/storage/{storage}/upload (the answer '
                                   'ISO; pve-storage Status.pm, upload)'),
    ('Datastore.Allocate', 'golden image build: DELETE /nodes/{node}/storage/{storage}/content/{volume} (the '
                           'answer ISO, it holds the local admin password; pve-storage Content.pm, delete)'),
    ('SDN.Use', 'clone and POST /nodes/{node}/qemu with netN: SDN.Use on /sdn/zones/localnetwork/{bridge}; '
                'desktop_pool: GET /nodes/{node}/network?type=any_bridge lists only the bridges the user has it on'),
    ('VM.Clone', 'desktop_pool, golden image build: POST /nodes/{node}/qemu/{vmid}/clone (on the template)'),
    ('VM.Allocate', 'desktop_pool: clone target (/pool/store-<code>), DELETE .../qemu/{vmid}; golden image build: '
                    'POST /nodes/{node}/qemu, POST .../template'),
    ('VM.Config.Options', 'PUT .../config: name, tags, description, protection, agent, onboot'),
    ('VM.Config.HWType', 'PUT .../config: usbN (usb_device: spice / mapping=), vga qxl'),  # spice_enhancements: root@pam only
    ('VM.Config.CPU', 'PUT .../config: cores, sockets, cpu (desktop profile)'),
    ('VM.Config.Memory', 'PUT .../config: memory, balloon (desktop profile)'),
    ('VM.Config.Network', 'PUT .../config: netN (store bridge / VLAN)'),
    ('VM.Config.Disk', 'golden image build: PUT .../qemu/{vmid}/resize, scsi0/efidisk0/tpmstate0 at create'),
    ('VM.Config.CDROM', 'golden image build: the Windows and virtio ISOs at create (ideN media=cdrom)'),
    ('VM.PowerMgmt', 'desktop_power, golden image build: POST .../status/start|stop|shutdown|reboot|suspend|resume'),
    ('VM.Console', 'desktop_access: POST .../spiceproxy (.vv file)'),
    ('VM.Snapshot', 'desktop_power: POST .../qemu/{vmid}/snapshot'),
    ('VM.Backup', 'desktop_power: POST /nodes/{node}/vzdump'),
    ('VM.GuestAgent.Audit', 'desktops inventory, desktop_access, golden image build: GET '
                            '.../agent/network-get-interfaces; desktop_pool: .../agent/get-users (PVE 8: VM.Monitor)'),
    ('Mapping.Audit', 'usb_mapping, usb_device: GET /cluster/mapping/usb'),
    ('Mapping.Modify', 'usb_mapping: POST /cluster/mapping/usb, PUT/DELETE /cluster/mapping/usb/{id}'),
    ('Mapping.Use', 'usb_device: PUT .../config usbN=mapping=<id> (checked on /mapping/usb/<id>)'),
    ('User.Modify', 'store_access: POST/PUT/DELETE /access/users (group membership, enable, expire); store '
                    'terminals: POST/DELETE /access/users/{userid}/token/{tokenid}'),
    ('Group.Allocate', 'store_access: POST/PUT/DELETE /access/groups'),
    ('Realm.AllocateUser', 'store_access: POST/DELETE /access/users (checked on /access/realm/<realm>)'),
    ('Permissions.Modify', 'store_access: PUT /access/acl (grant and revoke the store groups\' ACLs)'),
)

# Role templates. scope store: one group per store (store-<code>-<group>), ACL on /pool/store-<code>;
# scope global: one group (<group>), ACL on /. one_store: a user may hold the template in one store only.
TEMPLATES = {
    'store_clerk': {
        'role': 'StoredeskStoreClerk', 'scope': 'store', 'group': 'clerk', 'one_store': True,
        'description': "Use the store's desktops: see them, open their console (noVNC/SPICE), power them on/off",
        # PVE has one privilege for all power actions: a clerk can also restart.
        'privileges': ['VM.Audit', 'VM.Console', 'VM.PowerMgmt', 'Pool.Audit'],
    },
    'store_manager': {
        'role': 'StoredeskStoreManager', 'scope': 'store', 'group': 'manager', 'one_store': False,
        'description': "A clerk's rights, plus USB for the store: add/remove SPICE USB redirection ports "
                       "(usbN=spice needs VM.Config.HWType) and use the store's USB mappings (Mapping.Use)",
        'privileges': ['VM.Audit', 'VM.Console', 'VM.PowerMgmt', 'Pool.Audit', 'VM.Config.HWType',
                       'Mapping.Use', 'Mapping.Audit'],
    },
    'hq_operator': {
        'role': 'StoredeskHqOperator', 'scope': 'global', 'group': 'storedesk-hq-operator', 'one_store': False,
        'description': 'Operate every store: console, power, configuration, snapshots, backups, migration; '
                       'no create, clone or destroy (no VM.Allocate)',
        'privileges': ['VM.Audit', 'VM.Console', 'VM.PowerMgmt', 'VM.Config.HWType', 'VM.Config.Options',
                       'VM.Config.CDROM', 'VM.Config.Network', 'VM.Snapshot', 'VM.Backup', 'VM.Migrate',
                       'VM.GuestAgent.Audit', 'Pool.Audit', 'Datastore.Audit', 'Sys.Audit', 'Mapping.Audit',
                       'Mapping.Use', 'SDN.Audit'],
    },
    'auditor': {
        'role': 'StoredeskAuditor', 'scope': 'global', 'group': 'storedesk-auditor', 'one_store': False,
        'description': 'Read-only everywhere, access control included (Sys.Audit on /)',
        'privileges': ['VM.Audit', 'VM.GuestAgent.Audit', 'Pool.Audit', 'Datastore.Audit', 'Sys.Audit',
                       'SDN.Audit', 'Mapping.Audit'],
    },
}

TEMPLATE_KEYS = ('role', 'scope', 'group', 'one_store', 'description', 'privileges')

# PVE's formats (pve-access-control / JSONSchema.pm).
REALM_RE = re.compile(r'^[A-Za-z][A-Za-z0-9.\-_]+$')
GROUPID_RE = re.compile(r'^[A-Za-z0-9.\-_]+$')
ROLEID_RE = re.compile(r'^[A-Za-z0-9.\-_]+$')
POOLID_RE = re.compile(r'^[A-Za-z0-9.\-_]+$')
USERNAME_BAD = re.compile(r'[\s:/]')


def automation_privileges():
    """The privilege names of StoredeskAutomation, sorted."""
    return sorted(p for p, _why in AUTOMATION_PRIVILEGES)


def pool_of(code):
    return 'store-' + code


def store_group(code, template):
    """Group of a store and a store-scoped template: store-sh-0001-clerk."""
    return 'store-{0}-{1}'.format(code, template['group'])


def role_name(template_name):
    """Default PVE role of a new template: store_cashier -> StoredeskStoreCashier."""
    return ROLE_PREFIX + ''.join(part.capitalize() for part in re.split(r'[_\-.]+', template_name) if part)
