# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""golden_image's build VM (private): its VMID (PVE's nextid, moving on when another run or another node holds
the id), the rule that the lower VMID goes on when two runs build the same version, the VM made from the
installer ISO (with the answer ISO uploaded for it and removed after) or cloned from a base VM and adapted.
"""

from __future__ import annotations

import re

from . import _answer_iso as answer_mod
from . import _image_spec as spec_mod
from . import _unattend as unattend_mod
from ._vm_ops import with_mac
from ._pve_errors import PveApiError, PveTaskError, StoredeskError


def vmid_taken(exc):
    """The VMID we aimed at is taken: on this node PVE refuses the request ("config file already exists"); on
    another node pmxcfs refuses the clone task's first write of the config (pve-cluster src/pmxcfs/memdb.c
    memdb_create/memdb_rename: `vmlist_different_vm_exists` -> EEXIST; pve-common src/PVE/File.pm
    `file_set_contents`: "close (rename) atomic file '...' failed: File exists")."""
    text = getattr(exc, 'pve_message', None) or str(exc)
    return 'already exists' in text or ('atomic file' in text and 'File exists' in text)


def maybe_builder(item, name):
    """Could this /cluster/resources guest be a build VM named `name`? Only its config tells (live): any guest
    tagged role-build, named so in the (cached) listing, with no cached name yet, or locked by create/clone."""
    return ('role-build' in str(item.get('tags') or '') or item.get('name') == name or not item.get('name')
            or item.get('lock') in ('create', 'clone'))


def _size_gib(drive):
    found = re.search(r'(?:^|,)size=(\d+(?:\.\d+)?)([KMGT])', str(drive or ''))
    if not found:
        return 0
    factor = {'K': 1.0 / 1024 ** 2, 'M': 1.0 / 1024, 'G': 1, 'T': 1024}[found.group(2)]
    return float(found.group(1)) * factor


class BuildVm(object):
    """The build VM part of ImageBuild (a mixin): uses its client, spec, ops, where, timeouts and
    _deadline_loop; sets vm, stage and answer_iso."""

    def _make_vm(self, source):
        spec, hw = self.spec, self.spec['hardware']
        name = spec['build_name']
        net0 = 'virtio,bridge={0}'.format(hw['bridge']) + (',tag={0}'.format(hw['vlan']) if hw['vlan'] else '')
        common = dict(memory=hw['memory'], cores=hw['cores'], sockets=hw['sockets'], cpu=hw['cpu'], vga=hw['vga'],
                      agent='enabled=1', tags=spec_mod.BUILD_TAGS,
                      description='storedesk build of image {0} {1} (in progress)'.format(spec['name'], spec['version']))
        tried = []
        for _attempt in range(6):
            vmid = int(self.client.get('/cluster/nextid'))
            if vmid in tried:               # still listed free: the collision was with a VM we cannot see
                vmid = max(tried) + 1
            tried.append(vmid)
            try:
                if source is None:
                    upid = self._create_from_iso(vmid, name, net0, common)
                else:
                    upid = self.client.post(self.client.path('nodes', source['node'], 'qemu', source['vmid'], 'clone'),
                                            newid=vmid, name=name, full=1, storage=spec['storage'],
                                            target=spec['node'] if spec['node'] != source['node'] else None)
            except PveApiError as exc:
                if vmid_taken(exc):
                    continue            # another run took the id between nextid and our write
                raise
            self.vm = {'vmid': vmid, 'node': spec['node'], 'name': name}
            try:
                self.ops.wait(upid, self.where, 'create of build VM {0} (vmid {1})'.format(name, vmid))
            except PveTaskError as exc:
                if not vmid_taken(exc):
                    raise
                self.vm = None          # nothing of ours was written: the id belongs to a VM on another node
                continue
            break
        else:
            raise StoredeskError('no free VMID after 6 attempts (tried {0})'.format(
                ', '.join(str(v) for v in tried)), where=self.where)
        self._first_builder(name, vmid)
        if source is not None:
            self._adapt_clone(source, net0, common)

    def _first_builder(self, name, vmid):
        """Two runs that read the region at the same moment both create a build VM: the lower VMID goes on.

        From live data only. /cluster/resources has `name` from the RRD cache (~10 s old; none at all for a
        guest with no RRD entry yet: pve-manager PVE/API2Tools.pm `extract_vm_stats`), and a guest still being
        created or cloned holds only `lock: create` / `lock: clone` in its config until the worker writes
        it (qemu-server src/PVE/API2/Qemu.pm: create_vm -> pve-guest-common src/PVE/AbstractConfig.pm
        `create_and_lock_config`; clone_vm writes
        "# qmclone temporary file" with `lock: clone` and the name with the first `write_config`). So the
        config of every lower-VMID guest whose live name is unknown is read, waiting out one in creation."""
        items = self.client.get('/cluster/resources', type='vm') or []
        for item in sorted(items, key=lambda i: int(i['vmid'])):
            other = int(item['vmid'])
            if other >= vmid or item.get('type') != 'qemu' or not maybe_builder(item, name):
                continue
            if self._settled_name(item) == name:
                raise StoredeskError('another run started building this version first (build VM vmid {0})'.format(
                    other), where=self.where, hint='let that run finish; this run removes its own build VM')

    def _settled_name(self, item):
        """The guest's name from its config, once its create/clone has written it (None if it went away)."""
        path = self.client.path('nodes', item['node'], 'qemu', item['vmid'], 'config')
        config = {}
        for _tick in self._deadline_loop(self.timeouts['task']):
            try:
                config = self.client.get(path) or {}
            except PveApiError:
                return None             # gone (a failed create/clone is removed), or moved: not a rival
            if config.get('name') or config.get('lock') not in ('create', 'clone'):
                return config.get('name')
        return config.get('name')

    def _create_from_iso(self, vmid, name, net0, common):
        spec, hw, src = self.spec, self.spec['hardware'], self.spec['source']
        sid = spec['storage']
        body = dict(common, vmid=vmid, name=name, ostype=hw['ostype'], machine=hw['machine'], bios=hw['bios'],
                    efidisk0='{0}:1,{1}'.format(sid, hw['efidisk']), tpmstate0='{0}:1,version={1}'.format(sid, hw['tpm']),
                    scsihw=hw['scsihw'], scsi0='{0}:{1},iothread=1,discard=on'.format(sid, hw['disk_gib']),
                    ide2='{0},media=cdrom'.format(src['iso']), ide0='{0},media=cdrom'.format(src['virtio_iso']),
                    net0=net0, boot='order=scsi0;ide2')
        answer = src.get('answer_iso') or self.answer_iso          # uploaded once, also over VMID retries
        if not answer and (spec.get('unattend') or {}).get('setup'):
            answer = self._upload_answer_iso(src['iso'].split(':', 1)[0])
        if answer:
            body['sata0'] = '{0},media=cdrom'.format(answer)
        return self.client.post(self.client.path('nodes', spec['node'], 'qemu'), **body)

    def _upload_answer_iso(self, storage):
        """autounattend.xml from the manifest on a CD of its own, uploaded to the installer ISO's storage."""
        self.stage = 'answer ISO'
        spec = self.spec
        data = answer_mod.pack({'autounattend.xml': unattend_mod.setup_xml(spec['unattend'])})
        name = answer_mod.file_name(spec['name'], spec['version'])
        self.answer_iso = answer_mod.upload(self.client, spec['node'], storage, name, data, self.where)
        self.stage = 'create build VM'
        return self.answer_iso

    def _remove_answer_iso(self):
        """Delete the answer ISO this build uploaded (it holds the local admin's password)."""
        if self.answer_iso:
            answer_mod.remove(self.client, self.spec['node'], self.answer_iso)
            self.answer_iso = None

    def _adapt_clone(self, source, net0, common):
        node, vmid = self.vm['node'], self.vm['vmid']
        current = self.ops.config(node, vmid, self.where)
        self.ops.put_config(node, vmid, self.where, net0=with_mac(net0, current.get('net0')), **common)
        if _size_gib(current.get('scsi0')) and _size_gib(current.get('scsi0')) < self.spec['hardware']['disk_gib']:
            answer = self.client.put(self.client.path('nodes', node, 'qemu', vmid, 'resize'), disk='scsi0',
                                     size='{0}G'.format(self.spec['hardware']['disk_gib']))
            if isinstance(answer, str) and answer.startswith('UPID:'):
                self.ops.wait(answer, self.where, 'resize of scsi0')
