"""The registry and file system of one fake desktop, as PowerShell's providers see them.

Registry (about_Registry_Provider, reference/5.1/Microsoft.PowerShell.Core/About/): HKLM: keys live in
desktop.registry ('HKLM:\\Path' -> {value name: {type, value}}), a few HKLM keys are views of the model
(ProfileList, CurrentVersion, Setup\\State, Uninstall, RebootPending); HKEY_USERS holds the hives of
loaded profiles (by SID) and the hives mounted with reg load (desktop.mounts). Key names match
case-insensitively and keep the case they were created with.

Files (about_FileSystem_Provider): local paths in desktop.files / desktop.dirs plus the system files
every Windows 11 has; UNC paths are the second hop. A WinRM session authenticated with NTLM holds no
credentials for a file server, so reading \\\\server\\share inside it fails with access denied
(MicrosoftDocs/PowerShell-Docs reference/docs-conceptual/security/remoting/PS-remoting-second-hop.md: "Access to
the resource on ServerC is denied, because the credentials you used to create the PowerShell Remoting session
aren't passed from ServerB to ServerC"),
unless the script connected to that share with explicit credentials (New-PSDrive -Credential: host.smb_sessions,
which end with the script's session).
"""

from __future__ import annotations

import re

from .psvalues import ErrorRecord, PSRuntimeError, fail

PROFILE_LIST = 'SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList'
CURRENT_VERSION = 'SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'
SETUP_STATE = 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup\\State'
UNINSTALL = 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall'
REBOOT_PENDING = 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending'
SYSTEM_FILES = {'c:\\windows\\system32\\sysprep\\sysprep.exe', 'c:\\windows\\system32\\pnputil.exe',
                'c:\\windows\\system32\\reg.exe', 'c:\\windows\\system32\\msiexec.exe'}
SYSTEM_DIRS = {'c:', 'c:\\windows', 'c:\\windows\\temp', 'c:\\windows\\system32', 'c:\\users', 'c:\\programdata',
               'c:\\users\\storedesk', 'c:\\users\\storedesk\\appdata', 'c:\\users\\storedesk\\appdata\\local',
               'c:\\users\\storedesk\\appdata\\local\\temp', 'c:\\windows\\system32\\sysprep', 'c:\\users\\default',
               'c:\\windows\\inf'}


def access_denied(path):
    return PSRuntimeError(ErrorRecord("Access to the path '{0}' is denied.".format(path), 'PermissionDenied',
                                      'System.UnauthorizedAccessException', 'UnauthorizedAccessException'))


def not_found(path, kind='path'):
    return PSRuntimeError(ErrorRecord("Cannot find {0} '{1}' because it does not exist.".format(kind, path),
                                      'ObjectNotFound', 'System.Management.Automation.ItemNotFoundException',
                                      'PathNotFound'))


class RegStore(object):
    """One hive: rel path ('' root) -> values; dict keyed as given, looked up case-insensitively."""

    def __init__(self, keys, name):
        self.keys, self.name = keys, name

    def _find(self, rel):
        low = rel.lower()
        for key in self.keys:
            if key.lower() == low:
                return key
        return None

    def exists(self, rel):
        if rel == '':
            return True
        if self._find(rel) is not None:
            return True
        low = rel.lower() + '\\'
        return any(k.lower().startswith(low) for k in self.keys)

    def values(self, rel):
        key = self._find(rel)
        return self.keys[key] if key is not None else {}

    def children(self, rel):
        prefix = (rel + '\\').lower() if rel else ''
        names = {}
        for key in self.keys:
            if key.lower().startswith(prefix) and key[len(prefix):]:
                name = key[len(prefix):].split('\\')[0]
                names.setdefault(name.lower(), name)
        return list(names.values())

    def create(self, rel):
        if self._find(rel) is None:
            self.keys[rel] = {}

    def delete(self, rel):
        low = rel.lower()
        for key in [k for k in self.keys if k.lower() == low or k.lower().startswith(low + '\\')]:
            del self.keys[key]

    def set_value(self, rel, name, kind, value):
        key = self._find(rel)
        if key is None:
            self.keys[rel] = {}
            key = rel
        values = self.keys[key]
        for existing in list(values):
            if existing.lower() == name.lower():
                del values[existing]
        values[name] = {'type': kind, 'value': value}


class HklmStore(RegStore):
    """HKLM: desktop.registry plus the keys Windows derives from the desktop model (read-only views)."""

    def __init__(self, desktop):
        keys = {}
        for path, values in desktop.registry.items():
            rel = path.split(':\\', 1)[1] if path.upper().startswith('HKLM:\\') else path
            keys[rel] = values
        self.desktop, self.backing = desktop, desktop.registry
        super().__init__(keys, 'HKEY_LOCAL_MACHINE')
        self.virtual = self._views(desktop)

    @staticmethod
    def _views(desktop):
        views = {PROFILE_LIST: {'Default': {'type': 'ExpandString', 'value': '%SystemDrive%\\Users\\Default'},
                                'ProfilesDirectory': {'type': 'ExpandString', 'value': '%SystemDrive%\\Users'}},
                 CURRENT_VERSION: {'UBR': {'type': 'DWord', 'value': desktop.os_ubr},
                                   'CurrentBuild': {'type': 'String', 'value': desktop.os_build},
                                   'ProductName': {'type': 'String', 'value': desktop.os_caption}},
                 SETUP_STATE: {'ImageState': {'type': 'String', 'value': desktop.sysprep_state}}}
        for p in desktop.profiles:
            views[PROFILE_LIST + '\\' + p.sid] = {
                'ProfileImagePath': {'type': 'ExpandString', 'value': p.path},
                'State': {'type': 'DWord', 'value': p.state}}
        for i, s in enumerate(desktop.installed_software):
            views[UNINSTALL + '\\{{{0:08X}-0000-0000-0000-000000000000}}'.format(i + 1)] = {
                'DisplayName': {'type': 'String', 'value': s.get('name')},
                'DisplayVersion': {'type': 'String', 'value': s.get('version')},
                'Publisher': {'type': 'String', 'value': s.get('publisher')}}
        if getattr(desktop, 'reboot_pending', False):
            views[REBOOT_PENDING] = {}
        return views

    def exists(self, rel):
        if any(k.lower() == rel.lower() or k.lower().startswith(rel.lower() + '\\') for k in self.virtual):
            return True
        return super().exists(rel)

    def values(self, rel):
        for k, v in self.virtual.items():
            if k.lower() == rel.lower():
                return v
        return super().values(rel)

    def children(self, rel):
        names = dict((n.lower(), n) for n in super().children(rel))
        prefix = (rel + '\\').lower()
        for key in self.virtual:
            if key.lower().startswith(prefix):
                name = key[len(prefix):].split('\\')[0]
                names.setdefault(name.lower(), name)
        return list(names.values())

    def _guard(self, rel):
        for k in self.virtual:
            if k.lower() == rel.lower() or rel.lower().startswith(k.lower() + '\\'):
                fail("Requested registry access is not allowed.", 'PermissionDenied',
                     'System.Security.SecurityException')

    def create(self, rel):
        self._guard(rel)
        if self._find(rel) is None:
            self.keys[rel] = {}
            self.backing['HKLM:\\' + rel] = self.keys[rel]

    def delete(self, rel):
        self._guard(rel)
        low = rel.lower()
        for key in [k for k in self.keys if k.lower() == low or k.lower().startswith(low + '\\')]:
            del self.keys[key]
            self.backing.pop('HKLM:\\' + key, None)

    def set_value(self, rel, name, kind, value):
        self._guard(rel)
        self.create(rel)
        super().set_value(rel, name, kind, value)


REG_PREFIXES = [('registry::hkey_local_machine\\', 'HKLM'), ('registry::hklm\\', 'HKLM'), ('hklm:\\', 'HKLM'),
                ('registry::hkey_users\\', 'HKU'), ('registry::hku\\', 'HKU'), ('microsoft.powershell.core\\'
                                                                                 'registry::hkey_users\\', 'HKU')]


def split_registry(path):
    """('HKLM'|'HKU', rel path) of a registry provider path, or None for another provider."""
    low = path.lower()
    for prefix, hive in REG_PREFIXES:
        if low.startswith(prefix):
            return hive, path[len(prefix):].strip('\\')
        if low == prefix.rstrip('\\'):
            return hive, ''
    return None


class Registry(object):
    def __init__(self, desktop, host):
        self.desktop, self.host = desktop, host

    def store(self, path):
        """(store, rel) for a registry path; (None, rel) when the HKU hive is not there."""
        hive, rel = split_registry(path)
        if hive == 'HKLM':
            return HklmStore(self.desktop), rel
        first, _, rest = rel.partition('\\')
        if not first:
            return RegStore(dict((n, {}) for n in self.desktop.hku_names()), 'HKEY_USERS'), ''
        if first.lower() in ('.default', 's-1-5-18', 's-1-5-19', 's-1-5-20') or first.lower().endswith('_classes'):
            return RegStore({}, 'HKEY_USERS\\' + first), rest
        hive_of = self.desktop.hku_hive(first)
        if hive_of is None:
            return None, rest
        return RegStore(hive_of, 'HKEY_USERS\\' + first), rest

    def exists(self, path):
        store, rel = self.store(path)
        return store is not None and store.exists(rel)

    def mount_of(self, path):
        hive, rel = split_registry(path)
        first = rel.split('\\')[0]
        return first.lower() if hive == 'HKU' and self.desktop.mount(first) is not None else None


class FileSystem(object):
    def __init__(self, desktop, host):
        self.desktop, self.host = desktop, host

    def norm(self, path):
        path = path.replace('/', '\\')
        drive = re.match(r'^([A-Za-z0-9_]{2,}):\\?(.*)$', path)
        if drive and drive.group(1).lower() in self.host.drives:
            path = self.host.drives[drive.group(1).lower()].rstrip('\\') + '\\' + drive.group(2)
        if path.lower().startswith('microsoft.powershell.core\\filesystem::'):
            path = path.split('::', 1)[1]
        if path.lower().startswith('filesystem::'):
            path = path.split('::', 1)[1]
        while '\\\\' in path[2:]:
            path = path[:2] + path[2:].replace('\\\\', '\\')
        return path.rstrip('\\') if len(path) > 3 else path

    @staticmethod
    def is_unc(path):
        return path.startswith('\\\\')

    def share_of(self, path):
        parts = path.lstrip('\\').split('\\')
        return ('\\\\' + '\\'.join(parts[:2])).lower() if len(parts) >= 2 else path.lower()

    def unc_readable(self, path):
        return self.share_of(path) in set(s.lower() for s in self.host.smb_sessions)

    def unc_listing(self, path):
        """{name: content} at a UNC folder (desktop.unc_files) or None; raises access denied on the second hop."""
        if not self.unc_readable(path):
            raise access_denied(path)
        want = path.rstrip('\\').lower()
        for folder, files in self.desktop.unc_files.items():
            if folder.rstrip('\\').lower() == want:
                return files
        return self._file_server(want, folder=True)

    def _file_server(self, path, folder):
        """The lab's file servers (contracts_image): any path on a server the desktop resolves exists, except
        MISSING_FILES; a driver package folder holds DRIVER_PACKAGES[folder], else the INF the request names."""
        from . import contracts_image as servers
        server = path.lstrip('\\').split('\\')[0]
        if server not in self.desktop.network or path in servers.MISSING_FILES:
            return None
        if not folder:
            return {}
        held = servers.DRIVER_PACKAGES.get(path)
        if held is None and '.' in leaf(path):
            return None                     # a file name (x.zip, x.msi) is not a folder
        if held is None:
            request = self.host.request if isinstance(self.host.request, dict) else {}
            held = [request['inf']] if request.get('inf') else []
        return dict((name, {}) for name in held) if held or '.' not in leaf(path) else None

    def unc_file(self, path):
        if not self.unc_readable(path):
            raise access_denied(path)
        folder, _, name = path.rpartition('\\')
        explicit = next((files for key, files in self.desktop.unc_files.items()
                         if key.rstrip('\\').lower() == folder.rstrip('\\').lower()), None)
        files = explicit if explicit is not None else self.unc_listing(folder)
        for key, value in (files or {}).items():
            if key.lower() == name.lower():
                return key, value
        if explicit is None and '.' in name and self._file_server(path.lower(), folder=False) is not None:
            return name, {}
        return None, None

    def _profile_hive_files(self):
        found = {}
        for p in list(self.desktop.profiles) + [self.desktop.default_user]:
            if p.hive_file:
                found[(p.path + '\\NTUSER.DAT').lower()] = p
        return found

    def is_file(self, path):
        path = self.norm(self.host.expand_env(path))
        if self.is_unc(path):
            if not self.unc_readable(path):
                return False
            return self.unc_file(path)[0] is not None
        low = path.lower()
        return (low in self._lower_files() or low in SYSTEM_FILES or low in self._profile_hive_files())

    def _lower_files(self):
        return dict((k.lower(), k) for k in self.desktop.files)

    def is_dir(self, path):
        path = self.norm(self.host.expand_env(path))
        if self.is_unc(path):
            if not self.unc_readable(path):
                return False
            return self.unc_listing(path) is not None
        low = path.lower()
        if low in SYSTEM_DIRS or low in set(d.lower() for d in self.desktop.dirs):
            return True
        if any(p.path.lower() == low for p in self.desktop.profiles):
            return True
        return any(f.startswith(low + '\\') for f in self._lower_files())

    def entry(self, path):
        path = self.norm(path)
        key = self._lower_files().get(path.lower())
        return self.desktop.files.get(key) if key else None

    def children(self, path):
        path = self.norm(path)
        if self.is_unc(path):
            files = self.unc_listing(path)
            if files is None:
                raise not_found(path, 'path')
            return [(path + '\\' + name, False) for name in files]
        low = path.lower() + '\\'
        names = {}
        for f in self.desktop.files:
            if f.lower().startswith(low):
                rest = f[len(low):]
                names.setdefault(rest.split('\\')[0].lower(), (path + '\\' + rest.split('\\')[0], '\\' in rest))
        for d in self.desktop.dirs:
            if d.lower().startswith(low) and d[len(low):]:
                rest = d[len(low):]
                names.setdefault(rest.split('\\')[0].lower(), (path + '\\' + rest.split('\\')[0], True))
        return list(names.values())

    def make_dir(self, path):
        path = self.norm(path)
        if self.is_unc(path):
            raise access_denied(path)
        parts = path.split('\\')
        for i in range(2, len(parts) + 1):
            sub = '\\'.join(parts[:i])
            if sub.lower() not in set(d.lower() for d in self.desktop.dirs) and sub.lower() not in SYSTEM_DIRS:
                self.desktop.dirs.append(sub)
                self.host.journal('mkdir ' + sub)

    def write(self, path, entry):
        path = self.norm(path)
        if self.is_unc(path):
            raise access_denied(path)
        parent = path.rpartition('\\')[0]
        if not self.is_dir(parent):
            raise PSRuntimeError(ErrorRecord("Could not find a part of the path '{0}'.".format(path), 'ObjectNotFound',
                                             'System.IO.DirectoryNotFoundException'))
        key = self._lower_files().get(path.lower(), path)
        self.desktop.files[key] = entry
        self.host.journal('write ' + path)

    def write_text(self, path, text, encoding=None, append=False):
        path = self.norm(self.host.expand_env(path))
        old = self.entry(path) if append else None
        content = ((old or {}).get('content') or '') + text if append else text
        self.write(path, {'bytes': len(content.encode('utf-8')), 'source': None, 'content': content})

    def write_bytes(self, path, data):
        path = self.norm(self.host.expand_env(path))
        self.write(path, {'bytes': len(data), 'source': None, 'content': None, 'data': bytes(data)})

    def read_text(self, path):
        path = self.norm(self.host.expand_env(path))
        if self.is_unc(path):
            name, content = self.unc_file(path)
            if name is None:
                raise not_found(path)
            return content if isinstance(content, str) else ''
        entry = self.entry(path)
        if entry is None:
            raise not_found(path)
        if entry.get('content') is not None and isinstance(entry['content'], str):
            return entry['content']
        return (entry.get('data') or b'').decode('utf-8', 'replace')

    def read_bytes(self, path):
        entry = self.entry(self.norm(self.host.expand_env(path)))
        if entry is None:
            raise not_found(path)
        if entry.get('data') is not None:
            return entry['data']
        return str(entry.get('content') or '').encode('utf-8')

    def remove(self, path, recurse=False):
        path = self.norm(path)
        low = path.lower()
        removed = False
        for f in list(self.desktop.files):
            if f.lower() == low or recurse and f.lower().startswith(low + '\\'):
                del self.desktop.files[f]
                removed = True
        for d in list(self.desktop.dirs):
            if d.lower() == low or recurse and d.lower().startswith(low + '\\'):
                self.desktop.dirs.remove(d)
                removed = True
        if removed:
            self.host.journal('remove ' + path)
        return removed


def leaf(path):
    return re.split(r'[\\/]', path.rstrip('\\/'))[-1]
