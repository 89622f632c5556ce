"""The PowerShell host of one script run on one fake desktop: command lookup, error streams, native commands.

Command precedence (about_Command_Precedence, reference/5.1): functions, then cmdlets, then native commands;
an unknown name fails with CommandNotFoundException. Non-terminating errors follow -ErrorAction, else
$ErrorActionPreference (about_Preference_Variables; 'Stop' makes them terminating). A native command's
exit code is $LASTEXITCODE (about_Automatic_Variables); its stderr is the Error stream (about_Output_Streams),
so with 2>&1 its lines join the output as error records, and $ErrorActionPreference = 'Stop' escalates them to a
terminating error (about_Preference_Variables: "When set to Stop, it escalates non-terminating errors").

Native commands: reg.exe load/unload (MicrosoftDocs/windowsserverdocs WindowsServerDocs/administration/
windows-commands/reg-load.md, reg-unload.md: exit 0 success, 1 failure), pnputil.exe /add-driver <inf>
/install (MicrosoftDocs/windows-driver-docs windows-driver-docs-pr/devtest/pnputil-command-syntax.md and
pnputil-return-values.md on main: 0 success, 3010 reboot required, 259 ERROR_NO_MORE_ITEMS "No devices match the
supplied driver" - every printer driver staged ahead of its printer), msiexec.exe and installers,
sysprep.exe through Win32_Process.Create (it powers the VM off minutes later).

Time: steps that take minutes on Windows add Windows-seconds to `elapsed`; the server delays the command's
completion by elapsed x the lab's time_scale (as the PVE lab scales task times).
"""

from __future__ import annotations

import re

from . import cmdlets, dotnet
from .providers import FileSystem, Registry
from .providers import access_denied
from .psvalues import ErrorRecord, Getter, PSObj, PSRuntimeError, enumerate_value, fail, to_str

PNPUTIL_SECS = 45          # staging one driver package
INSTALL_SECS = 120         # one silent installer
SYSPREP_SECS = 240         # sysprep /generalize /oobe /shutdown until the VM is off
INSTALLERS = {}            # lower source path -> exit code, or {'name', 'version', 'publisher', 'exit_code'}
MISSING_URLS = set()       # lower URLs that answer 404

WIN32 = {0: 'The operation completed successfully.', 1: 'Incorrect function.',
         2: 'The system cannot find the file specified.', 5: 'Access is denied.',
         1602: 'User cancelled installation.', 1603: 'Fatal error during installation.',
         1618: 'Another installation is already in progress. Complete that installation before proceeding with '
               'this install.',
         1619: 'This installation package could not be opened. Verify that the package exists and that you can '
               'access it, or contact the application vendor to verify that this is a valid Windows Installer '
               'package.',
         3010: 'The requested operation is successful. Changes will not be effective until the system is '
               'rebooted.'}


class Host(object):
    def __init__(self, desktop, ctx, request=None):
        self.desktop, self.ctx, self.request = desktop, ctx, request
        self.env = dotnet.environment(desktop)
        self.stdout, self.stderr = bytearray(), []
        self.last_exit_code = 0
        self.elapsed = 0.0
        self.pid = 4100 + 4 * len(desktop.scripts_run)   # this powershell.exe's process id
        self.clock_ms = 0.0
        self.drives, self.smb_sessions = {}, []       # New-PSDrive of this session (name -> root); SMB logons
        self.registry, self.files = Registry(desktop, self), FileSystem(desktop, self)
        self.interp = self.scope = None
        self.on_sysprep = None
        self.language_mode = getattr(desktop, 'language_mode', 'FullLanguage')

    # -- streams ------------------------------------------------------------------------------
    def write_output(self, value):
        if value is None:
            return
        for v in enumerate_value(value):
            self.stdout += (to_str(v) + '\r\n').encode('utf-8')

    def write_stdout(self, data):
        self.stdout += data

    def journal(self, what):
        self.desktop.changes += 1
        self.desktop.events.append(what)
        del self.desktop.events[:-1000]

    def error(self, record, params=None):
        """A non-terminating error: -ErrorAction, else $ErrorActionPreference."""
        action = (params or {}).get('erroraction')
        if action is None:
            action = self.interp.value_of_var('erroractionpreference', self.scope) if self.interp else 'Continue'
        action = to_str(action).lower()
        if action == 'stop':
            raise PSRuntimeError(record)
        if action in ('silentlycontinue', 'ignore'):
            return
        self.stderr.append(record.exception.message)

    def error_from(self, exc, params=None):
        self.error(exc.record, params)

    # -- commands -----------------------------------------------------------------------------
    def invoke(self, name, args, piped, scope, interp, redirect):
        self.interp, saved = interp, self.scope
        self.scope = scope
        try:
            spec = cmdlets.CMDLETS.get(name.lower())
            if spec is not None:
                params = cmdlets.bind(self, spec, args, scope, interp)
                return spec.fn(self, params, piped)
            native = name.lower().rsplit('\\', 1)[-1]
            if native in NATIVES:
                return self.native(native, [to_str(v) for kind, p, v, has in args for v in
                                            ([('-' + p)] if kind == 'param' else enumerate_value(v))], redirect)
            fail("The term '{0}' is not recognized as the name of a cmdlet, function, script file, or operable "
                 "program. Check the spelling of the name, or if a path was included, verify that the path is "
                 "correct and try again.".format(name), 'ObjectNotFound',
                 'System.Management.Automation.CommandNotFoundException', 'CommandNotFoundException')
        finally:
            self.scope = saved

    def native(self, name, argv, redirect):
        code, out, err = NATIVES[name](self, argv)
        self.last_exit_code = code
        self.interp.globals.vars['lastexitcode'] = code
        result = list(out)
        if err:
            if '2>&1' in redirect:
                eap = to_str(self.interp.value_of_var('erroractionpreference', self.scope)).lower()
                if eap == 'stop':
                    raise PSRuntimeError(ErrorRecord(err[0], 'NotSpecified',
                                                     'System.Management.Automation.RemoteException',
                                                     'NativeCommandError'))
                result.extend(ErrorRecord(line, 'NotSpecified', 'System.Management.Automation.RemoteException',
                                          'NativeCommandError') for line in err)
            elif '2>$null' not in redirect:
                self.stderr.extend(err)
        return result

    def execution_context(self):
        return PSObj({'SessionState': PSObj({'LanguageMode': self.language_mode})})

    def compile_block(self, text):
        """[ScriptBlock]::Create(text). The runner's first line ($StoredeskInput = '<base64>') is kept apart as an
        assignment the block makes when it runs, so a script is parsed once whatever its input."""
        from .powershell import INPUT_LINE, parse
        from .psvalues import ScriptBlock
        preset = INPUT_LINE.match(text)
        body = text[preset.end():] if preset else text
        sub = self.interp.__class__(self, body.encode('utf-8'))
        sub.globals = self.interp.globals
        block = ScriptBlock(parse(body), sub, text)
        block.preset = {'storedeskinput': preset.group(1)} if preset else {}
        return block

    def gc_collected(self):
        self.desktop.mount_handles.clear()

    def expand_env(self, text):
        return re.sub(r'%([^%]+)%', lambda m: self.env.get(m.group(1).lower(), m.group(0)), text)

    def win32_message(self, code):
        return WIN32.get(code, 'Unknown error (0x{0:x})'.format(code & 0xFFFFFFFF))

    def tcp_client(self):
        from .contracts import tcp_connect
        host = self

        def connect(hostname, port):
            entry = tcp_connect(host.desktop, to_str(hostname), port, 10 ** 9)
            if not entry['ok'] and entry['error'] and 'No connection' not in entry['error']:
                dotnet.method_error('ConnectAsync', 2, entry['error'], 'System.Net.Sockets.SocketException')
            ms = host.desktop.network.get(to_str(hostname))
            def wait(timeout):
                done = ms is not None and ms <= int(timeout)
                host.clock_ms += float(ms) if done else float(int(timeout))
                return done
            return PSObj({}, 'System.Threading.Tasks.Task', methods={'wait': wait})
        client = PSObj({}, 'System.Net.Sockets.TcpClient', methods={'connectasync': connect, 'dispose': lambda: None,
                                                                     'close': lambda: None})
        return client

    def file_stream(self, path, mode, access):
        """System.IO.FileStream on a local file: Length, Position, SetLength, Write, Dispose."""
        norm = self.files.norm(self.expand_env(path))
        if self.files.is_unc(norm):
            raise access_denied(norm)
        entry = self.files.entry(norm)
        if mode.lower() == 'open' and entry is None:
            fail('Exception calling ".ctor" with "3" argument(s): "Could not find file \'{0}\'."'.format(norm),
                 'NotSpecified', 'System.Management.Automation.MethodInvocationException')
        data = bytearray(b'' if mode.lower() == 'create' or entry is None else self.files.read_bytes(norm))
        state = {'pos': 0}
        host = self

        def write(buf, offset, count):
            chunk = bytes(buf)[int(offset):int(offset) + int(count)]
            data[state['pos']:state['pos'] + len(chunk)] = chunk
            state['pos'] += len(chunk)

        def set_length(n):
            del data[int(n):]

        def dispose():
            host.files.write(norm, {'bytes': len(data), 'source': None, 'content': None, 'data': bytes(data)})
        stream = PSObj({'Length': Getter(lambda: len(data)), 'Position': 0}, 'System.IO.FileStream',
                       methods={'write': write, 'setlength': set_length, 'dispose': dispose, 'close': dispose,
                                'flush': lambda: None})
        stream.on_set = lambda name, value: state.__setitem__('pos', int(value)) if name.lower() == 'position' \
            else None
        return stream

    def new_guid(self):
        """[guid]::NewGuid(): random on Windows; here derived from the desktop and a counter, so two runs of a
        script on equal desktops are equal (the mutation check compares outcomes)."""
        import uuid
        self.guids = getattr(self, 'guids', 0) + 1
        return uuid.uuid5(uuid.NAMESPACE_OID, '{0}/{1}/{2}'.format(self.desktop.computer_name,
                                                                   len(self.desktop.scripts_run), self.guids))

    def share_login(self, root, cred):
        users = getattr(self.desktop, 'share_users', None)
        if users is None:
            return True
        user = to_str(cred.get('UserName')) if isinstance(cred, PSObj) else ''
        secret = cred.get('Password') if isinstance(cred, PSObj) else None
        password = secret.methods['__plain__']() if isinstance(secret, PSObj) and '__plain__' in secret.methods \
            else to_str(secret)
        return users.get(user) == password

    # -- network ------------------------------------------------------------------------------
    def http_get(self, uri):
        found = re.match(r'^https?://([^/:]+)', uri, re.I)
        if not found:
            fail('Invalid URI: The format of the URI could not be determined.', 'InvalidArgument',
                 'System.UriFormatException')
        host = found.group(1).lower()
        if host not in self.desktop.network:
            fail("The remote name could not be resolved: '{0}'".format(host), 'InvalidOperation',
                 'System.Net.WebException', 'WebCmdletWebResponseException')
        if uri.lower() in MISSING_URLS:
            fail('The remote server returned an error: (404) Not Found.', 'InvalidOperation',
                 'System.Net.WebException', 'WebCmdletWebResponseException')
        served = getattr(self.desktop, 'http_files', {}) or {}
        for key, content in list(served.items()) + list(self.desktop.unc_files.items()):
            if key.lower() == uri.lower():
                if isinstance(content, dict) and not any(k in content for k in ('printer_drivers', 'data')):
                    return {'bytes': 4096, 'source': uri, 'content': {'zip': content}}
                size = len(content.encode('utf-8')) if isinstance(content, str) else 1024
                return {'bytes': size, 'source': uri, 'content': content}
        return {'bytes': 1024, 'source': uri, 'content': None}

    # -- processes ----------------------------------------------------------------------------
    def native_process(self, path, argv):
        exe = path.lower().rsplit('\\', 1)[-1]
        if exe == 'msiexec.exe':
            package = next((a.strip('"') for i, a in enumerate(argv) if i > 0 and argv[i - 1].lower() == '/i'), None)
            return self.run_installer(package)
        return self.run_installer(path)

    def run_installer(self, path):
        entry = self.files.entry(path or '') if path else None
        if entry is None and not self.files.is_file(path or ''):
            fail('This command cannot be run due to the error: The system cannot find the file specified.',
                 'InvalidOperation', 'System.InvalidOperationException', 'InvalidOperationException')
        from . import contracts_image
        source = ((entry or {}).get('source') or path or '').lower()
        known = INSTALLERS.get(source, contracts_image.INSTALL_EXIT_CODES.get(source, {}))
        known = {'exit_code': known} if isinstance(known, int) else known
        self.elapsed += INSTALL_SECS
        code = int(known.get('exit_code', 0))
        if code in (0, 3010):
            name = known.get('name') or (self.request or {}).get('name') if isinstance(self.request, dict) else None
            if name:
                version = known.get('version') or (self.request or {}).get('version') or '1.0.0'
                self.desktop.installed_software = [s for s in self.desktop.installed_software if s.get('name') != name]
                self.desktop.installed_software.append({'name': name, 'version': version,
                                                        'publisher': known.get('publisher') or 'storedesk lab'})
                self.journal('installed ' + name)
        return code

    def create_process(self, line):
        """Win32_Process.Create: sysprep.exe starts and powers the VM off later (see powershell.Execution)."""
        exe = line.strip().strip('"').split('"')[0].split(' ')[0].lower()
        if exe.endswith('sysprep.exe'):
            self.desktop.processes.append('sysprep')
            self.desktop.sysprep_state = 'IMAGE_STATE_UNDEPLOYABLE'
            self.journal('sysprep ' + line)
            self.on_sysprep = line
            _panther(self.desktop, 'setupact.log', ['Info SYSPRP ========================================================',
                                                     'Info SYSPRP ===== Beginning of a new sysprep run =====',
                                                     'Info SYSPRP Command line: ' + line])
            return {'ReturnValue': 0, 'ProcessId': 4242}
        return {'ReturnValue': 9, 'ProcessId': None}     # 9: path not found (Win32_Process.Create return values)


PANTHER = 'C:\\Windows\\System32\\Sysprep\\Panther'


def _panther(desktop, name, lines):
    """Append lines to sysprep's own log (setupact.log / setuperr.log under Sysprep\\Panther)."""
    path = PANTHER + '\\' + name
    entry = desktop.files.get(path) or {'bytes': 0, 'source': None, 'content': ''}
    content = (entry.get('content') or '') + ''.join('2026-11-29 10:00:00, ' + x + '\n' for x in lines)
    desktop.files[path] = {'bytes': len(content), 'source': None, 'content': content}


def sysprep_failure(desktop):
    """Why sysprep /generalize fails on this desktop, as its setuperr.log says, or None. A Store app installed
    for a user but not provisioned for all users (MicrosoftDocs/SupportArticles-docs support/windows-client/
    setup-upgrade-and-drivers/sysprep-fails-remove-or-update-store-apps.md, "SetupErr.log")."""
    for app in desktop.appx_packages:
        if app.get('provisioned', True) or app.get('IsFramework') or app.get('NonRemovable'):
            continue
        full = app.get('PackageFullName', app['Name'] + '_1.0.0.0_x64__8wekyb3d8bbwe')
        return ['Error SYSPRP Package {0} was installed for a user, but not provisioned for all users. This package '
                'will not function properly in the sysprep image.'.format(full),
                'Error SYSPRP Failed to remove apps for the current user: 0x80073cf2.',
                'Error [0x0f00a8] SYSPRP WinMain:Hit failure while processing sysprep generalize internal providers; '
                'hr = 0x80073cf2']
    return None


# ---------------------------------------------------------------- native commands

def _reg(host, argv):
    if not argv:
        return 1, [], ['ERROR: Invalid syntax.']
    verb = argv[0].lower()
    d = host.desktop
    if verb == 'load' and len(argv) == 3:
        key, path = argv[1], host.files.norm(host.expand_env(argv[2]))
        if not key.upper().startswith(('HKU\\', 'HKEY_USERS\\')):
            return 1, [], ['ERROR: Invalid key name.']
        name = key.split('\\', 1)[1]
        owner = next((p for p in list(d.profiles) + [d.default_user]
                      if (p.path + '\\NTUSER.DAT').lower() == path.lower()), None)
        if owner is None or not owner.hive_file:
            return 1, [], ['ERROR: The system cannot find the file specified.']
        if owner.loaded or any(m is owner for m in d.mounts.values()):
            return 1, [], ['ERROR: The process cannot access the file because it is being used by another process.']
        if d.mount(name) is not None or any(p.loaded and p.sid.lower() == name.lower() for p in d.profiles):
            return 1, [], ['ERROR: Access is denied.']
        d.mounts[name] = owner
        d.hive_loads += 1
        host.journal('reg load ' + name)
        return 0, ['The operation completed successfully.'], []
    if verb == 'unload' and len(argv) == 2:
        key = argv[1]
        name = key.split('\\', 1)[1] if '\\' in key else ''
        if d.mount(name) is None:
            return 1, [], ['ERROR: The parameter is incorrect.']
        if d.mount_handles.get(name.lower()) or d.faults.take('hive_busy'):
            return 1, [], ['ERROR: Access is denied.']
        del d.mounts[next(k for k in d.mounts if k.lower() == name.lower())]
        host.journal('reg unload ' + name)
        return 0, ['The operation completed successfully.'], []
    fail('storedesk fake desktop: reg.exe {0} is not modelled'.format(' '.join(argv)), 'NotImplemented')


def _pnputil(host, argv):
    args = [a.lower() for a in argv]
    if '/add-driver' not in args:
        fail('storedesk fake desktop: pnputil.exe {0} is not modelled'.format(' '.join(argv)), 'NotImplemented')
    inf = argv[args.index('/add-driver') + 1]
    lines = ['Microsoft PnP Utility', '', 'Adding driver package:  {0}'.format(inf)]
    entry = host.files.entry(host.files.norm(inf))
    if entry is None:
        lines += ['Failed to add driver package: The system cannot find the file specified.', '',
                  'Total driver packages:  1', 'Added driver packages:  0']
        return 2, lines, []
    content = entry.get('content') if isinstance(entry.get('content'), dict) else {}
    original = inf.replace('/', '\\').rsplit('\\', 1)[-1]
    d = host.desktop
    published = next((k for k, v in d.driver_store.items() if v.get('original', '').lower() == original.lower()), None)
    host.elapsed += PNPUTIL_SECS
    if published is None:
        numbers = [int(m.group(1)) for m in (re.match(r'^oem(\d+)\.inf$', k) for k in d.driver_store) if m]
        published = 'oem{0}.inf'.format(max(numbers + [9]) + 1)
        d.driver_store[published] = {'original': original, 'provider': content.get('provider', 'Vendor'),
                                     'class': content.get('class', 'Printer' if content.get('printer_drivers')
                                                          else 'Unknown'),
                                     'version': content.get('version', '1.0.0.0'),
                                     'printer_drivers': list(content.get('printer_drivers') or [])}
        host.journal('driver store ' + published)
        lines += ['Driver package added successfully.', 'Published Name:         {0}'.format(published)]
    else:
        lines += ['Driver package added successfully. (Already exists in the system)',
                  'Published Name:         {0}'.format(published)]
    lines += ['', 'Total driver packages:  1', 'Added driver packages:  1']
    if '/install' not in args:
        return 0, lines, []
    if content.get('reboot'):
        return 3010, lines + ['System reboot is needed to complete install operations!'], []
    if not content.get('hardware_ids'):       # nothing present matches (printer drivers ahead of their printer)
        return 259, lines, []
    return 0, lines + ['Driver package installed on matching devices.'], []


NATIVES = {'reg.exe': _reg, 'reg': _reg, 'pnputil.exe': _pnputil, 'pnputil': _pnputil}
