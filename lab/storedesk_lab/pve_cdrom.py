"""Which privilege a CD-ROM drive in a VM config write needs: VM.Config.CDROM, on any bus.

qemu-server src/PVE/API2/Qemu.pm (master and stable-bookworm), `update_vm_api`, `$check_drive_perms`: a drive
value that `drive_is_cdrom($drive, 1)` (media=cdrom, cloud-init excluded) needs VM.Config.CDROM on the VM, any
other drive VM.Config.Disk; for a deleted drive its current value decides. fakepve asks VM.Config.CDROM only for
ideN and VM.Config.Disk for a sataN/scsiN CD: kinder to a user with Disk but not CDROM, harder on the reverse.
golden_image ejects its answer ISO from sata0 of a kept build VM, so the lab checks as PVE does.
(A running VM takes a CD change at once - QemuServer.pm `vmconfig_hotplug_pending` -> `vmconfig_update_disk`,
cdrom branch; fakepve already applies a CD swap at once.)
"""

import contextvars
import re

__all__ = ['CdromPermsApi', 'cdrom_keys']

DRIVE = re.compile(r'(?:ide|sata|scsi)\d+')
_CDROM_KEYS = contextvars.ContextVar('storedesk_lab_cdrom_keys', default=frozenset())


def _is_cdrom(value):
    parts = str(value or '').split(',')
    return 'media=cdrom' in parts[1:] and not parts[0].endswith('cloudinit')


def cdrom_keys(config, params):
    """Drive keys of a config write that are CD-ROMs: set ones by their new value, deleted ones by their current."""
    deletes = [k for k in re.split(r'[,;\s]+', str(params.get('delete') or '')) if k]
    keys = set(k for k, v in params.items() if DRIVE.fullmatch(k) and _is_cdrom(v))
    keys.update(k for k in deletes if DRIVE.fullmatch(k) and _is_cdrom(config.get(k)))
    return frozenset(keys)


class CdromPermsApi(object):
    """Mixin of the lab's FakePve (last before FakePve: its check runs in the same asyncio task)."""

    async def _apply_config(self, vm, user, p):
        token = _CDROM_KEYS.set(cdrom_keys(vm.config, p))
        try:
            return await super()._apply_config(vm, user, p)
        finally:
            _CDROM_KEYS.reset(token)

    def _config_priv(self, key):
        if key in _CDROM_KEYS.get():
            return 'VM.Config.CDROM'
        return super()._config_priv(key)
