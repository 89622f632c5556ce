"""Item cmdlets on the registry and file system providers, and connections with explicit credentials
(see cmdlets.py for binding; providers.py for the stores)."""

from __future__ import annotations

from .cmdlets import _obj, cmdlet
from .providers import access_denied, leaf, not_found, split_registry
from .psvalues import ErrorRecord, PSRuntimeError, enumerate_value, fail, to_bool, to_int, to_str


# ---------------------------------------------------------------- items (registry + files)

def _resolve(host, p):
    path = p.get('literalpath') if p.get('literalpath') is not None else p.get('path')
    if path is None:
        fail("Cannot bind argument to parameter 'Path' because it is null.", 'InvalidData',
             'System.Management.Automation.ParameterBindingValidationException')
    return [to_str(x) for x in enumerate_value(path)]


@cmdlet('Test-Path', positional=['Path'], params=['LiteralPath', 'PathType'])
def test_path(host, p, piped):
    results = []
    kind = to_str(p.get('pathtype') or 'Any').lower()
    for path in _resolve(host, p):
        if split_registry(path):
            results.append(host.registry.exists(path) and kind != 'leaf')
            continue
        is_file, is_dir = host.files.is_file(path), host.files.is_dir(path)
        results.append({'leaf': is_file, 'container': is_dir}.get(kind, is_file or is_dir))
    return results


def _reg_key(host, path, rel, store):
    """A RegistryKey object; its handle stays open until [GC]::Collect (what reg unload trips on)."""
    mount = host.registry.mount_of(path)
    if mount:
        host.desktop.mount_handles[mount] = host.desktop.mount_handles.get(mount, 0) + 1
    values = store.values(rel)

    def get_value(name, default=None):
        hit = next((v['value'] for k, v in values.items() if k.lower() == to_str(name).lower()), None)
        return hit if hit is not None else default
    return _obj('Microsoft.Win32.RegistryKey', {'PSChildName': leaf(path) if rel else path, 'Name': path,
                                                 'PSPath': path, 'ValueCount': len(values)},
                methods={'getvalue': get_value, 'getvaluenames': lambda: list(values)})


def _existing_key(host, p, path):
    """(store, relative path) of a registry key that exists; else a non-terminating not-found error, (None, None)."""
    store, rel = host.registry.store(path)
    if store is None or not store.exists(rel):
        host.error_from(not_found(path), p)
        return None, None
    return store, rel


@cmdlet('Get-ChildItem', positional=['Path'], params=['LiteralPath'], switches=['Recurse', 'Force'])
def get_child_item(host, p, piped):
    out = []
    for path in _resolve(host, p):
        if split_registry(path):
            store, rel = _existing_key(host, p, path)
            if store is None:
                continue
            for name in store.children(rel):
                child = rel + '\\' + name if rel else name
                out.append(_reg_key(host, path.rstrip('\\') + '\\' + name, child, store))
            continue
        if host.files.is_unc(host.files.norm(path)) and not host.files.unc_readable(host.files.norm(path)):
            host.error_from(access_denied(path), p)
            continue
        if not host.files.is_dir(path):
            host.error_from(not_found(path), p)
            continue
        for child, is_dir in host.files.children(path):
            out.append(_file_item(host, child, is_dir))
    return out


def _file_item(host, path, is_dir=False):
    entry = host.files.entry(path) or {}
    return _obj('System.IO.DirectoryInfo' if is_dir else 'System.IO.FileInfo',
                {'FullName': path, 'Name': leaf(path), 'PSChildName': leaf(path),
                 'Length': None if is_dir else entry.get('bytes', 0)}, text=path)


@cmdlet('Get-Item', positional=['Path'], params=['LiteralPath'])
def get_item(host, p, piped):
    out = []
    for path in _resolve(host, p):
        if split_registry(path):
            store, rel = _existing_key(host, p, path)
            if store is not None:
                out.append(_reg_key(host, path, rel, store))
            continue
        if host.files.is_file(path):
            out.append(_file_item(host, host.files.norm(path)))
        elif host.files.is_dir(path):
            out.append(_file_item(host, host.files.norm(path), True))
        else:
            host.error_from(not_found(path), p)
    return out


def _property_object(path, values, names=None):
    props = {}
    for k, v in values.items():
        if names is None or any(k.lower() == to_str(n).lower() for n in names):
            props[k] = v['value']
    props.update({'PSPath': path, 'PSChildName': leaf(path)})
    return _obj('System.Management.Automation.PSCustomObject', props)


@cmdlet('Get-ItemProperty', positional=['Path', 'Name'], params=['LiteralPath'])
def get_item_property(host, p, piped):
    out = []
    names = enumerate_value(p.get('name')) if p.get('name') is not None else None
    for path in _resolve(host, p):
        if not split_registry(path):
            fail('storedesk fake desktop: Get-ItemProperty on files is not modelled', 'NotImplemented')
        if path.endswith('\\*'):
            store, rel = host.registry.store(path[:-2])
            if store is None:
                continue
            for name in store.children(rel):
                child = rel + '\\' + name
                out.append(_property_object(path[:-2] + '\\' + name, store.values(child), names))
            continue
        store, rel = _existing_key(host, p, path)
        if store is None:
            continue
        values = store.values(rel)
        if names is not None and not any(k.lower() == to_str(n).lower() for n in names for k in values):
            host.error(ErrorRecord('Property {0} does not exist at path {1}.'.format(to_str(names[0]), path),
                                   'InvalidArgument', 'System.Management.Automation.PSArgumentException',
                                   'System.Management.Automation.PSArgumentException'), p)
            continue
        out.append(_property_object(path, values, names))
    return out


REG_TYPES = {'string': 'String', 'expandstring': 'ExpandString', 'dword': 'DWord', 'qword': 'QWord',
             'multistring': 'MultiString', 'binary': 'Binary'}


def _reg_value(kind, value):
    kind = REG_TYPES.get(to_str(kind).lower())
    if kind is None:
        fail('Cannot bind parameter because the value is not a valid registry type: String, ExpandString, Binary, '
             'DWord, MultiString, QWord, Unknown.', 'InvalidArgument')
    if kind == 'DWord':
        number = to_int(value, 64)
        if not -2 ** 31 <= number < 2 ** 32:
            fail('Cannot convert value "{0}" to type "System.Int32". Error: "Value was either too large or too small '
                 'for an Int32."'.format(value), 'InvalidArgument')
        return kind, number
    if kind == 'QWord':
        return kind, to_int(value, 64)
    if kind == 'MultiString':
        return kind, [to_str(v) for v in enumerate_value(value)]
    if kind == 'Binary':
        return kind, bytes(value) if isinstance(value, (bytes, bytearray)) else bytes(to_int(v) for v in
                                                                                     enumerate_value(value))
    return kind, to_str(value)


def _writable_store(host, path):
    store, rel = host.registry.store(path)
    if store is None:
        raise not_found(path)
    return store, rel


@cmdlet('Set-ItemProperty', positional=['Path', 'Name', 'Value'], params=['LiteralPath', 'Type'], mutates=True)
def set_item_property(host, p, piped):
    for path in _resolve(host, p):
        if not split_registry(path):
            fail('storedesk fake desktop: Set-ItemProperty on files is not modelled', 'NotImplemented')
        store, rel = _writable_store(host, path)
        if not store.exists(rel):
            host.error_from(not_found(path), p)
            continue
        kind = p.get('type')
        if kind is None:
            existing = next((v for k, v in store.values(rel).items() if k.lower() == to_str(p.get('name')).lower()),
                            None)
            kind = existing['type'] if existing else ('DWord' if isinstance(p.get('value'), int) else 'String')
        kind, value = _reg_value(kind, p.get('value'))
        store.set_value(rel, to_str(p.get('name')), kind, value)
        host.journal('set {0}\\{1}'.format(path, to_str(p.get('name'))))
    return []


@cmdlet('New-ItemProperty', positional=['Path', 'Name'], params=['LiteralPath', 'PropertyType', 'Value'],
        switches=['Force'], mutates=True)
def new_item_property(host, p, piped):
    out = []
    for path in _resolve(host, p):
        store, rel = _writable_store(host, path)
        if not store.exists(rel):
            host.error_from(not_found(path), p)
            continue
        name = to_str(p.get('name'))
        exists = any(k.lower() == name.lower() for k in store.values(rel))
        if exists and not to_bool(p.get('force')):
            host.error(ErrorRecord('The property already exists.', 'ResourceExists',
                                   'System.IO.IOException', 'System.IO.IOException'), p)
            continue
        kind, value = _reg_value(p.get('propertytype') or 'String', p.get('value'))
        store.set_value(rel, name, kind, value)
        host.journal('set {0}\\{1}'.format(path, name))
        out.append(_property_object(path, {name: {'type': kind, 'value': value}}))
    return out


@cmdlet('New-Item', positional=['Path'], params=['ItemType', 'Name', 'Value'], switches=['Force'], mutates=True)
def new_item(host, p, piped):
    out = []
    for path in _resolve(host, p):
        if p.get('name') is not None:
            path = path.rstrip('\\') + '\\' + to_str(p['name'])
        if split_registry(path):
            store, rel = _writable_store(host, path)
            if store.exists(rel) and not to_bool(p.get('force')):
                host.error(ErrorRecord('A key at this path already exists.', 'ResourceExists',
                                       'System.IO.IOException'), p)
                continue
            parent = rel.rpartition('\\')[0]
            if parent and not store.exists(parent) and not to_bool(p.get('force')):
                host.error_from(not_found(path.rpartition('\\')[0]), p)
                continue
            if store.exists(rel):   # -Force on an existing key: Windows deletes its values (New-Item.md)
                store.delete(rel)
            store.create(rel)
            host.journal('key ' + path)
            out.append(_reg_key(host, path, rel, store))
            continue
        kind = to_str(p.get('itemtype') or 'File').lower()
        norm = host.files.norm(host.expand_env(path))
        if kind == 'directory':
            if host.files.is_dir(norm):
                if not to_bool(p.get('force')):
                    host.error(ErrorRecord("An item with the specified name {0} already exists.".format(norm),
                                           'ResourceExists', 'System.IO.IOException'), p)
                    continue
            else:
                host.files.make_dir(norm)
            out.append(_file_item(host, norm, True))
        else:
            if to_bool(p.get('force')):
                host.files.make_dir(norm.rpartition('\\')[0])
            host.files.write_text(norm, to_str(p.get('value')))
            out.append(_file_item(host, norm))
    return out


@cmdlet('Remove-Item', positional=['Path'], params=['LiteralPath'], switches=['Recurse', 'Force'], mutates=True)
def remove_item(host, p, piped):
    for path in _resolve(host, p):
        if split_registry(path):
            store, rel = host.registry.store(path)
            if store is None or not store.exists(rel):
                host.error_from(not_found(path), p)
                continue
            if store.children(rel) and not to_bool(p.get('recurse')):
                fail('storedesk fake desktop: Remove-Item of a registry key with subkeys needs -Recurse (Windows '
                     'prompts)', 'InvalidOperation')
            store.delete(rel)
            host.journal('delete ' + path)
            continue
        norm = host.files.norm(host.expand_env(path))
        if host.files.is_unc(norm):
            host.error_from(access_denied(norm), p)
            continue
        if not host.files.remove(norm, recurse=to_bool(p.get('recurse'))):
            host.error_from(not_found(norm), p)
    return []


@cmdlet('Copy-Item', positional=['Path', 'Destination'], params=['LiteralPath'], switches=['Recurse', 'Force'],
        mutates=True)
def copy_item(host, p, piped):
    dest = host.files.norm(host.expand_env(to_str(p.get('destination'))))
    for path in _resolve(host, p):
        src = host.files.norm(host.expand_env(path))
        if src.endswith('\\*'):
            folder = src[:-2]
            if host.files.is_unc(folder):
                if not host.files.unc_readable(folder):
                    raise access_denied(folder)
            if not host.files.is_dir(folder):
                host.error_from(not_found(folder), p)
                continue
            for child, is_dir in host.files.children(folder):
                _copy_one(host, child, dest + '\\' + leaf(child), p)
            continue
        target = dest + '\\' + leaf(src) if host.files.is_dir(dest) else dest
        _copy_one(host, src, target, p)
    return []


def _copy_one(host, src, dest, p):
    if host.files.is_unc(src):
        name, content = host.files.unc_file(src)
        if name is None:
            host.error_from(not_found(src), p)
            return
        size = len(content.encode('utf-8')) if isinstance(content, str) else 1024
        host.files.write(dest, {'bytes': size, 'source': src, 'content': content})
        return
    entry = host.files.entry(src)
    if entry is None:
        host.error_from(not_found(src), p)
        return
    host.files.write(dest, dict(entry))


@cmdlet('Get-Content', positional=['Path'], params=['LiteralPath', 'TotalCount', 'Tail'], switches=['Raw'])
def get_content(host, p, piped):
    out = []
    for path in _resolve(host, p):
        try:
            text = host.files.read_text(path)
        except PSRuntimeError as err:
            host.error(err.record, p)
            continue
        if to_bool(p.get('raw')):
            out.append(text)
            continue
        lines = text.splitlines()
        if p.get('totalcount') is not None:
            lines = lines[:to_int(p['totalcount'])]
        if p.get('tail') is not None:
            lines = lines[-to_int(p['tail']):] if to_int(p['tail']) else []
        out.extend(lines)
    return out


@cmdlet('Expand-Archive', positional=['Path', 'DestinationPath'], params=['LiteralPath'], switches=['Force'],
        mutates=True)
def expand_archive(host, p, piped):
    for path in _resolve(host, p):
        entry = host.files.entry(host.files.norm(path))
        if entry is None:
            host.error_from(not_found(path), p)
            continue
        dest = host.files.norm(to_str(p.get('destinationpath')))
        host.files.make_dir(dest)
        for name, content in ((entry.get('content') or {}).get('zip') or {}).items():
            host.files.write(dest + '\\' + name, {'bytes': 1024, 'source': path, 'content': content})
    return []


@cmdlet('Invoke-WebRequest', positional=['Uri'], params=['OutFile'], switches=['UseBasicParsing'], mutates=True)
def invoke_web_request(host, p, piped):
    uri = to_str(p.get('uri'))
    body = host.http_get(uri)
    if p.get('outfile') is not None:
        host.files.write(host.files.norm(host.expand_env(to_str(p['outfile']))), body)
        return []
    return [_obj('Microsoft.PowerShell.Commands.BasicHtmlWebResponseObject',
                 {'StatusCode': 200, 'Content': body.get('content')})]


@cmdlet('Start-Process', positional=['FilePath', 'ArgumentList'], switches=['Wait', 'PassThru', 'NoNewWindow'],
        mutates=True)
def start_process(host, p, piped):
    code = host.native_process(to_str(p.get('filepath')), [to_str(a) for a in enumerate_value(p.get('argumentlist'))])
    if to_bool(p.get('passthru')):
        # Without -Wait the process is still running when Start-Process returns (Start-Process.md, -Wait):
        # its ExitCode is not there yet, so PowerShell reads $null.
        done = to_bool(p.get('wait'))
        return [_obj('System.Diagnostics.Process', {'ExitCode': code if done else None, 'Id': 4100,
                                                     'HasExited': done})]
    return []


# ---------------------------------------------------------------- connections with explicit credentials

@cmdlet('New-PSDrive', positional=['Name', 'PSProvider', 'Root'], params=['Credential', 'Scope', 'Persist'],
        mutates=True)
def new_psdrive(host, p, piped):
    """A FileSystem drive; with -Credential on a UNC root, an SMB logon with that account for this session
    (New-PSDrive.md: -Credential is supported for FileSystem drives since PowerShell 3.0)."""
    name, root = to_str(p.get('name')), to_str(p.get('root'))
    if name.lower() in host.drives:
        fail("A drive with the name '{0}' already exists.".format(name), 'ResourceExists',
             'System.Management.Automation.SessionStateException', 'DriveAlreadyExists')
    if to_str(p.get('psprovider')).lower() not in ('filesystem', 'microsoft.powershell.core\\filesystem'):
        fail('storedesk fake desktop: PSDrives of provider {0} are not modelled'.format(p.get('psprovider')),
             'NotImplemented')
    if host.files.is_unc(root):
        cred = p.get('credential')
        if cred is None:
            raise access_denied(root)
        if not host.share_login(root, cred):
            fail('The user name or password is incorrect', 'InvalidOperation', 'System.ComponentModel.Win32Exception')
        host.smb_sessions.append(host.files.share_of(root))
    host.drives[name.lower()] = root
    return [_obj('System.Management.Automation.PSDriveInfo', {'Name': name, 'Root': root})]


@cmdlet('Remove-PSDrive', positional=['Name'], params=['Scope', 'PSProvider'], switches=['Force'], mutates=True)
def remove_psdrive(host, p, piped):
    for name in enumerate_value(p.get('name')):
        root = host.drives.pop(to_str(name).lower(), None)
        if root is None:
            host.error(ErrorRecord("Cannot find drive. A drive with the name '{0}' does not exist.".format(
                to_str(name)), 'ObjectNotFound', 'System.Management.Automation.DriveNotFoundException',
                'DriveNotFound'), p)
            continue
        share = host.files.share_of(root) if host.files.is_unc(root) else None
        if share in host.smb_sessions:
            host.smb_sessions.remove(share)
    return []


@cmdlet('ConvertTo-SecureString', positional=['String'], switches=['AsPlainText', 'Force'])
def convert_to_secure_string(host, p, piped):
    if not to_bool(p.get('asplaintext')) or not to_bool(p.get('force')):
        fail('storedesk fake desktop: ConvertTo-SecureString is modelled with -AsPlainText -Force only',
             'NotImplemented')
    return [_obj('System.Security.SecureString', {'Length': len(to_str(p.get('string')))},
                 text='System.Security.SecureString', methods={'__plain__': lambda: to_str(p.get('string'))})]


@cmdlet('Get-FileHash', positional=['Path'], params=['LiteralPath', 'Algorithm'])
def get_file_hash(host, p, piped):
    import hashlib
    algorithm = to_str(p.get('algorithm') or 'SHA256').upper()
    if algorithm not in ('SHA1', 'SHA256', 'SHA384', 'SHA512', 'MD5'):
        fail("Cannot validate argument on parameter 'Algorithm'.", 'InvalidData')
    out = []
    for path in _resolve(host, p):
        data = host.files.read_bytes(path)
        digest = hashlib.new(algorithm.lower().replace('sha', 'sha'), data).hexdigest().upper()
        out.append(_obj('Microsoft.Powershell.Utility.FileHash', {'Algorithm': algorithm, 'Hash': digest,
                                                                   'Path': host.files.norm(path)}))
    return out
