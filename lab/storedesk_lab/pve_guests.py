"""Guests in the lab's fakepve: task durations, guest-agent addresses, and lifecycle hooks.

- Time model: every task of a type in `time_model` (PVE seconds, scaled by time_scale) takes that long.
- Each VM gets its own loopback address; the guest agent reports it once the VM has booted
  (`boot` seconds after start), so WinRM can reach the fake Windows desktop there.
- Linked clones to another node need shared storage, as in PVE.
- `on_created(vmid)` / `on_destroyed(vmid)` callbacks let the Windows fleet follow the VMs.
"""

import ipaddress
import re
import time

from fakepve import PveError, TaskError
from fakepve.qemu import with_mac
from fakepve.routing import die


class GuestLifecycle(object):
    """Mixin of the lab's FakePve. Needs `time_model` (dict), `guest_net` (an IPv4Network in 127/8)."""

    def _lab_guests_init(self, guest_net):
        self.guest_net = ipaddress.ip_network(guest_net)
        self.guest_ips = {}            # vmid -> address
        self._next_ip = 2
        self.on_created = []
        self.task_faults = {}          # task type -> [message, times left]
        self.on_destroyed = []

    def ip_of(self, vmid):
        """The VM's loopback address (allocated on first use, kept for the VM's life)."""
        if vmid not in self.guest_ips:
            self.guest_ips[vmid] = str(self.guest_net.network_address + self._next_ip)
            self._next_ip += 1
        return self.guest_ips[vmid]

    def booted(self, vm):
        """True once a running VM's guest has finished booting."""
        if vm.status != 'running' or not vm.started_at:
            return False
        return time.time() - vm.started_at >= self.time_model.get('boot', 0) * (self.time_scale or 0)

    async def task(self, node, ttype, tid, user, body, vm=None, lock=True, log=()):
        secs = self.time_model.get(ttype, 0)
        injected = self._take_task_fault(ttype)

        async def timed():
            await self.pause(secs)
            if injected and ttype == 'qmclone' and vm is not None:
                self._undo_clone(vm)
            if injected:
                raise TaskError(injected)
            note = await body()
            await self._after_task(ttype, tid, vm)
            return note
        return await super().task(node, ttype, tid, user, timed, vm=vm, lock=lock, log=log)

    def fail_next_task(self, ttype, message, times=1):
        """The next `times` tasks of this type end with TASK ERROR: message (a clone cleans up as PVE's does)."""
        self.task_faults[ttype] = [message, times]

    def _take_task_fault(self, ttype):
        fault = self.task_faults.get(ttype)
        if not fault:
            return None
        fault[1] -= 1
        if fault[1] <= 0:
            del self.task_faults[ttype]
        return fault[0]

    def _undo_clone(self, vm):
        """What PVE's clone worker does when it fails: the new config and its disks go."""
        if vm in self.vms:
            self.vms.remove(vm)
        for key, value in list(vm.config.items()):
            if key[:4] in ('scsi', 'virt', 'sata', 'efid', 'tpms') and ':' in str(value):
                self._qm_free(str(value).split(',')[0])

    async def _after_task(self, ttype, tid, vm=None):
        try:
            vmid = int(tid)
        except (TypeError, ValueError):
            return
        if ttype in ('qmclone', 'qmcreate'):
            # A clone's task id is the source; its `vm` is the new VM (a create's is the VM itself).
            new = vm if vm is not None else self.vm(vmid)
            if new is not None and new in self.vms and new.vmid not in self.guest_ips and not new.template:
                self.ip_of(new.vmid)
                for hook in self.on_created:
                    await hook(new.vmid, self.guest_ips[new.vmid])
        elif ttype == 'qmdestroy' and self.vm(vmid) is None:
            self.guest_ips.pop(vmid, None)
            for hook in self.on_destroyed:
                await hook(vmid)

    async def _qm_clone(self, v, user):
        target = v.get('target')
        if target and target not in (v['node'], 'localhost'):
            src = self.find(v['node'], v['vmid'])
            for key, value in src.config.items():
                sid = str(value).split(':')[0] if key[:4] in ('scsi', 'virt', 'sata', 'efid', 'tpms') else None
                if sid in self.storages and not self.storages[sid].get('shared') and 'media=cdrom' not in str(value):
                    raise die("can't clone VM to node '{0}' (VM uses local storage)".format(target))
        return await super()._qm_clone(v, user)

    async def _apply_config(self, vm, user, p):
        # PVE gives a NIC written without a MAC address a new one (fakepve only does so on create).
        p = dict((k, with_mac(v) if re.fullmatch(r'net\d+', k) else v) for k, v in p.items())
        return await super()._apply_config(vm, user, p)

    async def _agent_call(self, match, values):
        vm = self.find(values['node'], values['vmid'])
        agent = str(vm.config.get('agent', '0')).split(',')[0].split('=')[-1] == '1'
        if not agent or not self.booted(vm):
            raise PveError(500, 'QEMU guest agent is not running')
        vm.agent = dict(vm.agent or {}, interfaces=self._interfaces(vm), os=WINDOWS_OS)
        return await super()._agent_call(match, values)

    def _interfaces(self, vm):
        mac = str(vm.config.get('net0', 'virtio=BC:24:11:00:00:01')).split(',')[0].split('=')[-1]
        return [{'name': 'Loopback Pseudo-Interface 1', 'hardware-address': '00:00:00:00:00:00',
                 'ip-addresses': [{'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4', 'prefix': 8}]},
                {'name': 'Ethernet', 'hardware-address': mac.lower(),
                 'ip-addresses': [{'ip-address': self.ip_of(vm.vmid), 'ip-address-type': 'ipv4', 'prefix': 8}]}]


WINDOWS_OS = {'name': 'Microsoft Windows 11 Enterprise', 'id': 'mswindows', 'version': 'Microsoft Windows 11',
              'version-id': '11', 'pretty-name': 'Windows 11 Enterprise', 'kernel-release': '26100',
              'kernel-version': '10.0', 'machine': 'x86_64', 'variant': 'client', 'variant-id': 'client'}
