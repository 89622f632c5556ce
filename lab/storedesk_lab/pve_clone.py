"""Clones as PVE shows them while they run, and VMID collisions as PVE reports them.

qemu-server src/PVE/API2/Qemu.pm `clone_vm` (master and stable-bookworm):
- `$load_and_check` runs once before the worker is forked: "unable to create VM <newid>: config file
  already exists" (HTTP 500) when `-f $conffile` - the config file on THIS node (config_file() without a
  node). A VMID taken on another node passes this check.
- in the worker (`$clonefn`) the new config is first written as "lock: clone" only
  (`file_set_contents($conffile, "# qmclone temporary file\nlock: clone\n")`); name, description, tags and
  the rest of the copied options appear with the first `write_config` after the first disk is cloned;
  the lock goes at the end, and the pool membership is added last (`add_vm_to_pool`).
- a VMID held by a VM on another node makes that first write fail: pmxcfs refuses it (pve-cluster
  src/pmxcfs/memdb.c, memdb_create/memdb_rename: `vmlist_different_vm_exists` -> EEXIST), and pve-common
  PVE/File.pm file_set_contents dies "close (rename) atomic file '<file>' failed: File exists" - a task
  error (the write is outside the worker's clean-up eval, so no "clone failed: " prefix).
`clone_inflight` False keeps fakepve's behaviour (the whole config at once).
"""

from fakepve.model import TaskError

__all__ = ['CloneApi']


class CloneApi(object):
    """Mixin of the lab's FakePve."""

    clone_inflight = True

    async def _qm_clone(self, v, user):
        node, newid = v['node'], int(v['newid'])
        other = self.vm(newid)
        if self.clone_inflight and other is not None and other.node != node:
            await self._qm_clone_checks(v, user)
            conffile = '/etc/pve/nodes/{0}/qemu-server/{1}.conf'.format(node, newid)

            async def body():
                raise TaskError("close (rename) atomic file '{0}' failed: File exists".format(conffile))
            return await self.task(node, 'qmclone', int(v['vmid']), user, body, log=[
                'creating a clone of VM {0} with ID {1}'.format(v['vmid'], newid)])
        upid = await super()._qm_clone(v, user)
        new = self.vm(newid)
        if self.clone_inflight and new is not None and new.lock == 'clone' and self.time_scale:
            # the worker has not run yet: what others see is the temporary file
            new.clone_final = new.config
            new.config = {'lock': 'clone'}
            new.name = 'VM {0}'.format(newid)
        return upid

    async def _qm_clone_checks(self, v, user):
        """The early checks fakepve makes before the collision (pool, VM.Allocate, source, lock)."""
        self._qm_check_pool(v.get('pool'))
        self._qm_perm(user, int(v['newid']), v.get('pool'), 'VM.Allocate')
        self.need_quorum()
        self._check_lock(self.find(v['node'], v['vmid']))

    async def task(self, node, ttype, tid, user, body, vm=None, lock=True, log=()):
        if ttype == 'qmclone' and vm is not None:
            inner = body

            async def body():
                final = vm.__dict__.pop('clone_final', None)
                if final is not None:          # the first write_config: the whole config, still locked
                    final.update(vm.config)
                    vm.config = final
                    vm.name = final.get('name') or vm.name
                return await inner()
        return await super().task(node, ttype, tid, user, body, vm=vm, lock=lock, log=log)
