"""Which VM config options a user may set: qemu-server's `$check_vm_modify_config_perm`.

qemu-server src/PVE/API2/Qemu.pm (master and stable-bookworm alike), used by `create_vm` and
`update_vm_api` (PUT and POST /nodes/{node}/qemu/{vmid}/config, for the deleted keys, then the set ones),
before any worker is forked:
- `root@pam` itself may set anything (`return 1 if $authuser eq 'root@pam'`); its API tokens are users
  of their own (`root@pam!name`) and go through the checks like everyone else.
- drives, `cdrom`, `unusedN`, `serialN`, `usbN`, `hostpciN`, `virtiofsN` and `tags` are checked elsewhere
  (value-dependent: USB is pve_usb_mapping.py's check_usb_config, one rule for both).
- the CPU, memory, hardware-type, general, power, disk, network and cloud-init option lists need their
  VM.Config.* privilege (fakepve checks those); `startup` also Sys.Modify on /.
- anything else (spice_enhancements, args, hookscript, affinity, lock, vmgenid, ivshmem, ...) dies with
  "only root can set '<opt>' config" (HTTP 500, a plain die in the handler).
`skiplock` is root-only too: 400 with `skiplock: Only root may use this option.` (config, start, stop,
shutdown, reboot, suspend, resume, destroy).

Hookscripts: before that check `update_vm_api` validates a `hookscript` value (pve-guest-common
src/PVE/GuestHelpers.pm `check_hookscript`): "'<volid>' is not in the snippets directory", "script '<volid>'
does not exist" - a 400 on `hookscript`, for every user (root@pam too).

Bridges: qemu-server src/PVE/QemuServer.pm `check_bridge_access` (create, clone - on the source's config -
and netN updates), through pve-guest-common src/PVE/GuestHelpers.pm `check_vnet_access`: a NIC with a VLAN
`tag` needs SDN.Use on /sdn/zones/localnetwork/<bridge>/<tag> (an ACL on the bridge propagates there), one
without on /sdn/zones/localnetwork/<bridge>; root@pam is exempt, its tokens are not.
"""

import re

from fakepve.model import PveError
from fakepve.server import USER, params

__all__ = ['ConfigPermsApi', 'bridge_paths', 'hookscript_refusal', 'root_only_option', 'root_only_refusal']

CPU = {'cores', 'cpu', 'runningcpu', 'cpulimit', 'cpuunits', 'numa', 'smp', 'sockets', 'vcpus'}
MEMORY = {'memory', 'balloon', 'shares', 'allow-ksm'}
HWTYPE = {'acpi', 'hotplug', 'kvm', 'machine', 'runningmachine', 'scsihw', 'smbios1', 'tablet', 'vga', 'watchdog',
          'audio0', 'rng0'}
GENERAL = {'agent', 'autostart', 'bios', 'description', 'keyboard', 'localtime', 'migrate_downtime',
           'migrate_speed', 'name', 'onboot', 'ostype', 'protection', 'reboot', 'startdate', 'startup', 'tdf',
           'template'}
POWER = {'freeze'}
DISK = {'boot', 'bootdisk', 'vmstatestorage'}
CLOUDINIT = {'cicustom', 'cipassword', 'citype', 'ciuser', 'ciupgrade', 'nameserver', 'searchdomain', 'sshkeys'}
CHECKED_ELSEWHERE = re.compile(r'(?:ide[0-3]|sata[0-5]|scsi(?:[0-9]|[12][0-9]|30)|virtio(?:[0-9]|1[0-5])|efidisk0'
                               r'|tpmstate0|(?:unused|serial|usb|hostpci|virtiofs)\d+|cdrom|tags)')
# Parameters of the config call that are not options (extract_param'ed before the check).
NOT_OPTIONS = {'node', 'vmid', 'digest', 'delete', 'revert', 'force', 'skiplock', 'background_delay',
               'skip_cloud_init', 'import-working-storage', 'pool', 'storage', 'archive', 'start', 'unique',
               'live-restore', 'bwlimit', 'ha-managed'}


def root_only_option(opt):
    """True if only root@pam may set or delete this option."""
    if CHECKED_ELSEWHERE.fullmatch(opt) or opt in NOT_OPTIONS:
        return False
    if opt in CPU | MEMORY | HWTYPE | GENERAL | POWER | DISK | CLOUDINIT or opt == 'vmstate':
        return False
    return not re.fullmatch(r'(?:numa|net|ipconfig)\d+|running-nets-host-mtu', opt)


def bridge_paths(values):
    """The /sdn paths check_vnet_access checks for the netN values among `values`."""
    out = []
    for key in sorted(values):
        if not re.fullmatch(r'net\d+', key):
            continue
        props = dict(p.split('=', 1) for p in str(values[key]).split(',') if '=' in p)
        bridge = props.get('bridge')
        if not bridge:
            continue
        base = '/sdn/zones/localnetwork/' + bridge
        tags = [props['tag']] if props.get('tag') else []
        tags += [t for t in re.split(r';', props.get('trunks') or '') if t]
        out.extend(base + '/' + t for t in tags) if tags else out.append(base)
    return out


def hookscript_refusal(pve, values):
    """check_hookscript's 400 for a hookscript value that is not an existing snippet, or None."""
    volid = values.get('hookscript')
    if not volid:
        return None
    sid, _, name = str(volid).partition(':')
    if sid not in pve.storages:
        why = "storage '{0}' does not exist".format(sid)
    elif not name.startswith('snippets/'):
        why = "'{0}' is not in the snippets directory".format(volid)
    elif name not in pve.storages[sid].get('volumes', {}):
        why = "script '{0}' does not exist".format(volid)
    else:
        return None
    return PveError(400, 'Parameter verification failed.', {'hookscript': why})


def root_only_refusal(user, values):
    """The PveError PVE answers for these parameters (deleted keys first), or None."""
    if user == 'root@pam':
        return None
    if str(values.get('skiplock', '0')) in ('1', 'true'):
        return PveError(400, 'Parameter verification failed.', {'skiplock': 'Only root may use this option.'})
    deletes = [k for k in re.split(r'[,;\s]+', str(values.get('delete') or '')) if k]
    for opt in deletes + [k for k in values if k not in ('delete',)]:
        if root_only_option(opt):
            return PveError(500, "only root can set '{0}' config".format(opt))
    return None


class ConfigPermsApi(object):
    """Mixin of the lab's FakePve: `root_only_options` (True: refuse as qemu-server does)."""

    root_only_options = True

    async def _root_only_check(self, request):
        if self.root_only_options:
            values = await params(request)
            why = hookscript_refusal(self, values) or root_only_refusal(request[USER], values)
            if why:
                raise why
            self._bridge_check(request[USER], values)

    def _bridge_check(self, user, values):
        if user == 'root@pam':
            return
        for path in bridge_paths(values):
            self.require(user, path, 'SDN.Use')

    async def _qm_clone(self, v, user):
        if self.root_only_options and user != 'root@pam':
            src = self.vm(int(v['vmid']))
            if src is not None and src.node == v['node']:
                self._bridge_check(user, src.config)
        return await super()._qm_clone(v, user)

    async def _config_put(self, request):
        await self._root_only_check(request)
        return await super()._config_put(request)

    async def _config_post(self, request):
        await self._root_only_check(request)
        return await super()._config_post(request)

    async def _qm_create(self, v, user):
        if self.root_only_options:
            why = root_only_refusal(user, v)
            if why:
                raise why
            self._bridge_check(user, v)
        return await super()._qm_create(v, user)

    async def _status_action(self, request):
        if self.root_only_options and request[USER] != 'root@pam':
            p = await params(request)
            if str(p.get('skiplock', '0')) in ('1', 'true'):
                raise PveError(400, 'Parameter verification failed.', {'skiplock': 'Only root may use this option.'})
        return await super()._status_action(request)
