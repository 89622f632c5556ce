"""Hibernate (suspend to disk) as qemu-server checks it.

qemu-server src/PVE/API2/Qemu.pm `vm_suspend` (POST .../status/suspend), before the worker:
- `todisk=1` on an HA-managed VM: "Cannot suspend HA managed VM to disk" (500);
- `todisk=1` also needs VM.Config.Disk on the VM (`check_vm_perm`), a VM with a hostpciN cannot ("cannot
  suspend VM to disk due to passed-through PCI device(s), ..."), and Datastore.AllocateSpace on the state
  storage (`statestorage`, else QemuConfig.pm `find_vmstate_storage`: vmstatestorage, else a shared storage
  holding one of its disks, else a local one, else 'local');
- the task is `qmsuspend` with todisk, `qmpause` without. src/PVE/QemuServer/RunState.pm `vm_suspend` leaves
  the config with `lock: suspended` (fakepve models that; the `vmstate` volume key is not modelled); a start
  resumes and drops the lock.
"""

from fakepve.model import PveError

__all__ = ['PowerApi']


class PowerApi(object):
    """Mixin of the lab's FakePve."""

    def _vmstate_storage(self, vm, asked=None):
        if asked:
            return asked
        if vm.config.get('vmstatestorage'):
            return vm.config['vmstatestorage']
        shared = local = None
        for key in vm.devices():
            if key.startswith(('net', 'usb', 'hostpci')):
                continue
            value = str(vm.config.get(key, ''))
            sid = value.split(':')[0] if ':' in value.split(',')[0] else None
            if sid not in self.storages or 'media=cdrom' in value:
                continue
            if self.storages[sid].get('shared'):
                shared = shared or sid
            else:
                local = local or sid
        return shared or local or 'local'

    async def _do_suspend(self, vm, user, p):
        todisk = str(p.get('todisk', '0')) in ('1', 'true')
        if not todisk:
            self._need_running(vm)
            self._check_lock(vm)

            async def pause():
                vm.qmpstatus = 'paused'
            return await self.task(vm.node, 'qmpause', vm.vmid, user, pause, vm=vm)
        self._need_running(vm)
        if vm.ha_managed:
            raise PveError(500, 'Cannot suspend HA managed VM to disk')
        self.require(user, '/vms/{0}'.format(vm.vmid), 'VM.Config.Disk')
        if any(k.startswith('hostpci') for k in vm.config):
            raise PveError(500, 'cannot suspend VM to disk due to passed-through PCI device(s), which lack the '
                                'possibility to save/restore their internal state')
        storage = self._vmstate_storage(vm, p.get('statestorage'))
        self.require(user, '/storage/' + storage, 'Datastore.AllocateSpace')
        return await super()._do_suspend(vm, user, p)
