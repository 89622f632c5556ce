"""The lab's Proxmox VE cluster: fakepve extended where it keeps no state we need.

One LabPve per region. Extensions go through fakepve's documented points (mixins with
`_routes_<name>` tables, and subclass hooks); fakepve itself is never copied or patched.
"""

import time

from fakepve import FakePve

from .pve_access import AccessControlApi
from .pve_capacity import GIB, NodeCapacityApi
from .pve_cdrom import CdromPermsApi
from .pve_clone import CloneApi
from .pve_create import CreateApi
from .pve_config_perms import ConfigPermsApi
from .pve_guests import GuestLifecycle
from .pve_network import NodeNetworkApi
from .pve_power import PowerApi
from .pve_rrd import ResourcesLagApi
from .pve_scale import ScaleApi
from .pve_spice import SpiceProxyApi
from .pve_tasks import TaskListApi
from .pve_usb_mapping import UsbMappingApi
from .pve_versions import VersionApi

# Order matters (method resolution): the release wraps authentication and permission checks of the access
# control; root-only options are refused before the USB rule; clones are shown in flight around the lab's
# task timing; a start fails on a missing bridge after the permission checks and the USB rule.
MIXINS = (VersionApi, ConfigPermsApi, UsbMappingApi, AccessControlApi, NodeNetworkApi, CloneApi, CreateApi, PowerApi,
          TaskListApi, ResourcesLagApi, ScaleApi, GuestLifecycle, NodeCapacityApi, SpiceProxyApi, CdromPermsApi)

# How strict the lab is, feature by feature (`strict=True` in Lab / `lab up --strict` gives all of these).
STRICT = {'resources_lag': 3.0, 'root_only_options': True, 'clone_inflight': True}
LENIENT = {'resources_lag': 0.0, 'root_only_options': False, 'clone_inflight': False}

LabBase = type('LabBase', MIXINS + (FakePve,), {})


class LabPve(LabBase):
    """A region's cluster as the topology declares it."""

    def __init__(self, region, spec, time_model, user='root@pam', password='secret', host=None, port=8006,
                 guest_net='127.64.0.0/16', pve_version='9.1', strictness=None):
        super().__init__(user=user, password=password, host=host, port=port)
        self.set_release(spec.get('pve_version') or pve_version)
        for key, value in dict(STRICT, **(strictness or {})).items():
            setattr(self, key, value)
        self.region = region
        self.started = time.time()
        self.cluster_name = spec.get('cluster', region)
        self.time_model = dict(time_model or {})
        self._lab_guests_init(guest_net)
        self.node_specs = dict(spec['nodes'])
        self.nodes = dict((name, {'online': True}) for name in spec['nodes'])
        self.setup_bridges(spec)
        self.storage_sizes = {}
        self.storages.pop('local-lvm', None)
        for sid, st in (spec.get('storages') or {}).items():
            conf = {'type': st.get('type', 'dir'), 'active': 1, 'content': st.get('content', 'images'),
                    'files': set()}
            if st.get('shared'):
                conf['shared'] = 1
            if st.get('type') == 'rbd':
                conf['pool'] = sid
            self.storages[sid] = dict(self.storages.get(sid, {}), **conf)
            self.storage_sizes[sid] = int(st.get('size_gib', 100)) * GIB
        for realm, kind in (spec.get('realms') or {}).items():
            self.add_realm(realm, kind, comment='lab directory')
        for iso in spec.get('isos') or []:
            self.store_file('local', iso, 5 * GIB)
        if spec.get('base_vm'):
            self.seed_vm(spec['base_vm'], template=False)
        for image in spec.get('seed_images') or []:
            self.seed_image(image)

    # ------------------------------------------------------------------ seeds

    def _disk(self, sid, vmid, size_gib, base=False, n=0, size=None):
        """Allocate a seed VM's volume (every lab disk is allocated: see pve_scale.py)."""
        name = '{0}-{1}-disk-{2}'.format('base' if base else 'vm', vmid, n)
        self.storages[sid].setdefault('volumes', {})[name] = {
            'content': 'images', 'format': 'raw', 'size': size or size_gib * GIB, 'vmid': vmid,
            'ctime': int(time.time())}
        return '{0}:{1},iothread=1,discard=on,size={2}G'.format(sid, name, size_gib) if size is None else \
            '{0}:{1}'.format(sid, name)

    def seed_vm(self, spec, template=False, tags='', name=None):
        """A Windows VM (or template) with the hardware profile storedesk.vdi builds."""
        vmid = int(spec['vmid'])
        sid = spec.get('storage', 'vdi-ceph')
        config = {
            'name': name or spec['name'], 'ostype': 'win11', 'machine': 'pc-q35-9.2+pve1', 'bios': 'ovmf',
            'cpu': 'x86-64-v2-AES', 'cores': spec.get('cores', 2), 'sockets': 1,
            'memory': str(spec.get('memory', 4096)), 'scsihw': 'virtio-scsi-single',
            'scsi0': self._disk(sid, vmid, spec.get('disk_gib', 64), base=template),
            'efidisk0': self._disk(sid, vmid, 0, template, 1, 528 * 1024) + ',efitype=4m,pre-enrolled-keys=1,size=528K',
            'tpmstate0': self._disk(sid, vmid, 0, template, 2, 4 * 1024 ** 2) + ',size=4M,version=v2.0',
            'net0': 'virtio=BC:24:11:{0:02X}:{1:02X}:01,bridge=vmbr0'.format(vmid // 256 % 256, vmid % 256),
            'vga': 'qxl', 'agent': '1', 'boot': 'order=scsi0;net0',
        }
        if tags:
            config['tags'] = tags
        vm = self.add_vm(vmid, config['name'], node=spec['node'], config=config, template=template)
        if template:
            vm.config['template'] = 1
        return vm

    def seed_image(self, image):
        """A golden-image template as storedesk.vdi.golden_image leaves it (until it builds its own)."""
        name = 'tpl-{0}-{1}'.format(image['image'], image['version'])
        tags = 'image-{0};storedesk;v-{1}'.format(image['image'], image['version'])
        spec = dict(image, name=name)
        vm = self.seed_vm(spec, template=True, tags=tags)
        vm.config['description'] = 'storedesk golden image {0} {1} (seeded by the lab)'.format(
            image['image'], image['version'])
        return vm
