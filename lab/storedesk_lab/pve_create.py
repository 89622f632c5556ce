"""A VM being created as PVE shows it while its create task runs.

qemu-server src/PVE/API2/Qemu.pm `create_vm` (master and stable-bookworm):
- before the worker is forked, `PVE::QemuConfig->create_and_lock_config($vmid, $force)` (pve-guest-common
  src/PVE/AbstractConfig.pm `create_and_lock_config`) writes a config holding only `lock: create`;
- the worker (`$createfn` -> `$realcmd`) creates the disks, then writes the whole config once
  (`write_config($vmid, $conf)`, `$conf` = the parameters: name, tags, ... and no lock), and adds the VM to
  its pool last (`add_vm_to_pool`); on an error it unlinks the config file.
Meanwhile `GET /nodes/{node}/qemu` (QemuServer.pm `vmstatus`: `$conf->{name} || "VM $vmid"`) and the config
show no name, no tags. fakepve already keeps the config at `lock: create` and joins the pool last, but names
the VM at once: this mixin takes the name away until the worker writes it (fakepve's body sets it at the end).
Under the `clone_inflight` switch (in-flight guests as PVE shows them); exact only with `time_scale > 0`
(at 0 the worker finishes inside the request).
"""

__all__ = ['CreateApi']


class CreateApi(object):
    """Mixin of the lab's FakePve."""

    clone_inflight = True

    async def _qm_create(self, v, user):
        upid = await super()._qm_create(v, user)
        vm = self.vm(int(v['vmid']))
        if self.clone_inflight and vm is not None and vm.lock == 'create':
            vm.name = 'VM {0}'.format(vm.vmid)      # what vmstatus shows for a config without a name
        return upid
