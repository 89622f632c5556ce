"""The PVE release the lab serves: what `/version` says and the privilege set of that release.

- `/version`: pve-manager PVE/API2.pm `version` answers pvecfg's version_info (version, release, repoid;
  `console` only when datacenter.cfg sets it). Versions are the newest of each series in
  pve-manager's debian/changelog (stable-8: 8.4.21; master: 9.1.6 for the 9.1 series).
- Privileges and built-in roles: pve-access-control src/PVE/AccessControl.pm `$privgroups` and
  `create_roles()`. stable-bookworm (PVE 8) has VM.Monitor and no VM.GuestAgent.* or VM.Replicate; master
  (PVE 9) dropped VM.Monitor (commit "privileges: drop VM.Monitor") and added VM.GuestAgent.Audit,
  .FileRead, .FileWrite, .FileSystemMgmt, .Unrestricted and VM.Replicate.
- Guest-agent permissions: qemu-server src/PVE/API2/Qemu/Agent.pm: PVE 8 checks VM.Monitor for every agent
  command (exec, file-write and set-user-password included); PVE 9 checks the VM.GuestAgent.* named there.
- Authentication failures: since pve-manager 8.4.17 / 9.1.5 (PVE/HTTPServer.pm `auth_handler`, commit
  "http server: unify error message in case of auth failure") a bad token, a bad or expired ticket and a
  disabled user all answer 401 "Authentication failed!"; before, the underlying reason (pve-common
  PVE/Ticket.pm "permission denied - invalid PVE ticket", AccessControl.pm verify_token "invalid token
  value!", check_user_enabled "user '<id>' is disabled"). No ticket at all: "No ticket" (both).
"""

from fakepve.model import PveError
from fakepve.server import ok

__all__ = ['VersionApi', 'VERSIONS', 'PRIVGROUPS', 'create_roles', 'version_info', 'major', 'unified_auth_error']

# release -> (version, repoid) of the newest pve-manager of that series
# (repoid: the 16-hex short id of the "bump version to ..." commit, as pve-manager's Makefile stamps it)
VERSIONS = {'8.4': ('8.4.21', '2606ac850d46da29'), '9.0': ('9.0.10', 'deb1ca707ec72a89'),
            '9.1': ('9.1.6', '71482d1833ded40a')}

_VM_9 = ((), ('VM.Config.Disk', 'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.HWType',
              'VM.Config.Options', 'VM.Allocate', 'VM.Clone', 'VM.GuestAgent.Unrestricted', 'VM.Migrate',
              'VM.Replicate', 'VM.Snapshot', 'VM.Snapshot.Rollback'),
         ('VM.Config.CDROM', 'VM.Config.Cloudinit', 'VM.Console', 'VM.Backup', 'VM.GuestAgent.FileRead',
          'VM.GuestAgent.FileSystemMgmt', 'VM.GuestAgent.FileWrite', 'VM.PowerMgmt'),
         ('VM.Audit', 'VM.GuestAgent.Audit'))
_VM_8 = ((), ('VM.Config.Disk', 'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.HWType',
              'VM.Config.Options', 'VM.Allocate', 'VM.Clone', 'VM.Migrate', 'VM.Monitor', 'VM.Snapshot',
              'VM.Snapshot.Rollback'),
         ('VM.Config.CDROM', 'VM.Config.Cloudinit', 'VM.Console', 'VM.Backup', 'VM.PowerMgmt'),
         ('VM.Audit',))
_COMMON = {
    'Sys': (('Sys.PowerMgmt', 'Sys.Modify', 'Sys.Incoming', 'Sys.AccessNetwork'), ('Sys.Console', 'Sys.Syslog'), (),
            ('Sys.Audit',)),
    'Datastore': ((), ('Datastore.Allocate', 'Datastore.AllocateTemplate'), ('Datastore.AllocateSpace',),
                  ('Datastore.Audit',)),
    'SDN': ((), ('SDN.Allocate', 'SDN.Audit'), ('SDN.Use',), ('SDN.Audit',)),
    'User': (('Realm.Allocate',), ('User.Modify', 'Group.Allocate', 'Realm.AllocateUser'), (), ()),
    'Pool': ((), ('Pool.Allocate',), ('Pool.Audit',), ('Pool.Audit',)),
    'Mapping': ((), ('Mapping.Modify',), ('Mapping.Use',), ('Mapping.Audit',)),
}
# major -> category -> (root, admin, user, audit)
PRIVGROUPS = {8: dict(_COMMON, VM=_VM_8), 9: dict(_COMMON, VM=_VM_9)}


def major(release):
    return int(str(release).split('.')[0])


def create_roles(groups):
    """AccessControl.pm create_roles(): (valid privileges, {special role: privileges})."""
    privs = {'Permissions.Modify'}  # in no group
    roles = {'NoAccess': set(), 'PVEAdmin': set(), 'PVEAuditor': set()}
    for cat, (root, admin, user, audit) in groups.items():
        privs.update(root + admin + user + audit)
        roles.setdefault('PVE{0}Admin'.format(cat), set()).update(admin + user + audit)
        roles['PVEAdmin'].update(admin + user + audit)
        if user:
            roles.setdefault('PVE{0}User'.format(cat), set()).update(user + audit)
        roles['PVEAuditor'].update(audit)
    roles['PVEAdmin'].discard('Mapping.Modify')  # only Administrator and PVEMappingAdmin have it
    roles['PVETemplateUser'] = {'VM.Clone', 'VM.Audit'}
    roles['Administrator'] = set(privs)
    return frozenset(privs), dict((name, frozenset(p)) for name, p in roles.items())


def version_info(release):
    """(version, release, repoid) for '8.4', '9.1', or a full version such as '8.4.16'."""
    parts = str(release).split('.')
    series = '.'.join(parts[:2])
    if series not in VERSIONS:
        raise ValueError("unknown PVE release '{0}'; known: {1}".format(release, ', '.join(sorted(VERSIONS))))
    version, repoid = VERSIONS[series]
    return (str(release) if len(parts) > 2 else version), series, repoid


def unified_auth_error(version):
    """True if this pve-manager answers every auth failure with 'Authentication failed!' (>= 8.4.17 / 9.1.5)."""
    nums = tuple(int(x) for x in str(version).split('.')[:3])
    return nums >= (9, 1, 5) or (8, 4, 17) <= nums < (9, 0, 0)


class VersionApi(object):
    """Mixin of the lab's FakePve: serve one release (`set_release('8.4' | '9.1' | '8.4.16' ...)`)."""

    pve_release = '9.1'

    def set_release(self, release):
        self.version, self.release_version, self.repoid = version_info(release)
        self.pve_release = self.release_version
        self.privileges, self.builtin_roles = create_roles(PRIVGROUPS[major(self.release_version)])
        if hasattr(self, '_recompute'):
            self._recompute()

    @property
    def pve_major(self):
        return major(self.release_version)

    async def _version(self, request):
        return ok({'version': self.version, 'release': self.release_version,
                   'repoid': getattr(self, 'repoid', '0' * 16)})

    def _authenticate(self, request):
        has_token = request.headers.get('Authorization', '').startswith('PVEAPIToken=')
        try:
            return super()._authenticate(request)
        except PveError as e:
            if e.status != 401 or 'csrf' in e.message:     # the CSRF check is outside auth_handler's eval
                raise
            if not has_token and not request.cookies.get('PVEAuthCookie'):
                raise PveError(401, 'No ticket') from None   # HTTPServer.pm: die "No ticket\n" if !$ticket
            if unified_auth_error(self.version):
                raise PveError(401, 'Authentication failed!') from None
            if has_token and e.message == 'authentication failure':
                raise PveError(401, 'invalid token value!') from None   # AccessControl.pm verify_token
            raise

    def check_permissions(self, user, perms, values, declared=None):
        # fakepve's schema is PVE 9's: on PVE 8 every guest-agent command checks VM.Monitor (Agent.pm).
        check = (perms or {}).get('check')
        if self.pve_major == 8 and check and check[0] == 'perm' and \
                any(str(p).startswith('VM.GuestAgent.') for p in check[2]):
            perms = dict(perms, check=['perm', check[1], ['VM.Monitor']])
        return super().check_permissions(user, perms, values, declared)

    def age_tickets(self, secs=None):
        """Let every login ticket grow `secs` older (default: its whole lifetime, `ticket_ttl`, 2 h as
        PVE's AccessControl.pm `$ticket_lifetime`): an expired ticket then fails as PVE's does."""
        secs = self.ticket_ttl if secs is None else secs
        for session in self.tickets.values():
            session['expires'] -= secs
