"""The Windows state of one fake desktop: what the shipped scripts read and change.

Plain data, edited by tests and lab hooks directly; the shipped scripts read and change it through the
interpreter's cmdlets and providers (psinterp.py, cmdlets.py, providers.py, pshost.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Names Windows shows for a few devices stores plug in; anything else is a generic USB device.
USB_NAMES = {
    '0A5F:0001': 'ZDesigner ZD420 (Zebra label printer)',
    '04B8:0202': 'EPSON TM-T88 Receipt',
    '05E0:1200': 'Symbol Bar Code Scanner',
    '0C2E:0B61': 'Honeywell Xenon 1900 Scanner',
    '0B00:0080': 'Ingenico Lane/3000 (payment terminal)',
}
VID_PID = re.compile(r'^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$')


@dataclass
class Faults:
    """Injected trouble. Counts go down by one per use; -1 means every time."""
    reset_mid_command: int = 0      # abort the TCP connection at the Receive of a command
    hang: bool = False              # commands never finish (Receive times out, as Windows does)
    garbage_output: str | None = None  # the command prints this instead of the script's JSON
    http_500: int = 0               # answer WS-Man requests with an internal error fault
    sysprep_hangs: int = 0          # sysprep starts but never powers the VM off (golden image builds)
    hive_busy: int = 0              # reg unload fails (a handle to the hive is open elsewhere, e.g. antivirus)

    def take(self, name):
        value = getattr(self, name)
        if value == 0:
            return False
        if value > 0:
            setattr(self, name, value - 1)
        return True


DEVICE_KEY = 'Software\\Microsoft\\Windows NT\\CurrentVersion\\Windows'


class UserProfile(object):
    """A user profile: its SID, folder, registry hive (NTUSER.DAT) and state.

    hive: rel key path -> {value name: {type, value}}, the content of NTUSER.DAT. loaded: the user is
    logged on (the hive is HKU\\<SID> and its file is locked). hive_file: False for a stale profile whose
    NTUSER.DAT is gone. Entra ID users have SIDs S-1-12-1-... . default_printer and mapped_drives are views
    of the hive (Device value; Network\\<letter> keys), as Windows keeps them.
    """

    def __init__(self, sid, user, loaded=False, default_printer=None, mapped_drives=None, hive_file=True,
                 path=None, state=0, hive=None):
        self.sid, self.user, self.loaded, self.hive_file, self.state = sid, user, loaded, hive_file, state
        self.path = path or 'C:\\Users\\{0}'.format(user)
        self.hive = hive if hive is not None else {}
        if default_printer is not None:
            self.default_printer = default_printer
        for letter, unc in (mapped_drives or {}).items():
            self.hive['Network\\' + letter.rstrip(':').upper()] = {
                'RemotePath': {'type': 'String', 'value': unc}, 'ConnectionType': {'type': 'DWord', 'value': 1}}

    def _values(self, rel):
        for key, values in self.hive.items():
            if key.lower() == rel.lower():
                return values
        return None

    @property
    def default_printer(self):
        values = self._values(DEVICE_KEY) or {}
        device = next((v['value'] for k, v in values.items() if k.lower() == 'device'), None)
        return str(device).split(',')[0] if device else None

    @default_printer.setter
    def default_printer(self, name):
        values = self._values(DEVICE_KEY)
        if values is None:
            values = self.hive[DEVICE_KEY] = {}
        values['Device'] = {'type': 'String', 'value': '{0},winspool,Ne00:'.format(name)}

    @property
    def mapped_drives(self):
        found = {}
        for key, values in self.hive.items():
            parts = key.split('\\')
            if len(parts) == 2 and parts[0].lower() == 'network':
                remote = next((v['value'] for k, v in values.items() if k.lower() == 'remotepath'), None)
                if remote is not None:
                    found[parts[1].upper() + ':'] = remote
        return found

    def __repr__(self):
        return 'UserProfile({0!r}, {1!r}, loaded={2})'.format(self.sid, self.user, self.loaded)


@dataclass
class WindowsDesktop:
    vmid: int
    computer_name: str
    os_caption: str = 'Microsoft Windows 11 Enterprise'
    os_version: str = '10.0.22631'
    os_build: str = '22631'
    os_ubr: int = 4460
    sysprep_state: str = 'IMAGE_STATE_COMPLETE'
    installed_software: list = field(default_factory=list)   # {name, version, publisher}
    driver_store: dict = field(default_factory=dict)         # 'oem12.inf' -> {original, provider, class, version}
    registry: dict = field(default_factory=dict)             # 'HKLM:\\path' -> {value name: {type, value}}
    files: dict = field(default_factory=dict)                # 'C:\\path\\file' -> {bytes, source, content}
    printer_drivers: dict = field(default_factory=lambda: {
        'Microsoft Print To PDF': {'inf': 'C:\\Windows\\INF\\ntprint.inf'}})
    printer_ports: dict = field(default_factory=lambda: {'PORTPROMPT:': {'host': ''}})  # name -> {host}
    printers: dict = field(default_factory=lambda: {
        'Microsoft Print to PDF': {'driver': 'Microsoft Print To PDF', 'port': 'PORTPROMPT:', 'shared': False}})
    profiles: list = field(default_factory=list)             # UserProfile
    default_user: UserProfile = field(default_factory=lambda: UserProfile('DEFAULT', 'Default'))
    mounts: dict = field(default_factory=dict)               # reg load mounts: name -> UserProfile
    mount_handles: dict = field(default_factory=dict)        # mount -> open RegistryKey handles (until [GC])
    share_users: dict | None = None                          # accounts the file servers accept (None: any)
    dirs: list = field(default_factory=list)                 # local folders created by scripts
    reboot_pending: bool = False
    # Store apps: {'Name', 'PackageFullName', 'provisioned' (for all users), 'IsFramework', 'NonRemovable',
    # 'SignatureKind'}; a user-only app makes sysprep /generalize fail
    appx_packages: list = field(default_factory=list)
    bitlocker: str | None = None                             # VolumeStatus of C: (None: BitLocker not there)
    language_mode: str = 'FullLanguage'                      # $ExecutionContext.SessionState.LanguageMode
    processes: list = field(default_factory=list)            # running processes started by scripts (names)
    test_pages: list = field(default_factory=list)           # printers a test page was sent to
    events: list = field(default_factory=list)               # the last 1,000 state changes, in order (journal)
    changes: int = 0                                         # state changes so far
    hive_loads: int = 0                                      # reg load calls that succeeded
    logon_scripts: list = field(default_factory=list)        # commands run at every user logon
    extra_usb: list = field(default_factory=list)            # VID:PID plugged in outside Proxmox's config
    spice_shared: list = field(default_factory=list)         # VID:PID the thin client redirects over SPICE
    # Files this desktop can see at UNC folders (r'\\srv\share\dir' -> {file name: text, or for a driver INF
    # {'printer_drivers': [names]}, or for a zip {'zip': {name: content}}); case-insensitive; read by providers.py
    unc_files: dict = field(default_factory=dict)
    disks: dict = field(default_factory=lambda: {'C:': {'free': 48 * 2 ** 30, 'size': 128 * 2 ** 30}})
    network: dict = field(default_factory=dict)              # host -> TCP connect ms, None = no answer
    # WinRM service configuration (winrm get winrm/config/service)
    allow_basic: bool = False
    allow_unencrypted: bool = False
    receive_chunk: int = 4096                                # stdout bytes per Receive response
    latency: float | None = None                             # per-request seconds; None: the fleet's
    faults: Faults = field(default_factory=Faults)
    stats: dict = field(default_factory=dict)                # counters kept by the server
    scripts_run: list = field(default_factory=list)          # (script name, request) of every run

    def count(self, key, n=1):
        self.stats[key] = self.stats.get(key, 0) + n

    def mount(self, name):
        """The profile mounted (reg load) at HKU\\<name>, or None; names match case-insensitively."""
        return next((p for k, p in self.mounts.items() if k.lower() == name.lower()), None)

    def hku_names(self):
        """The keys under HKEY_USERS: built-in accounts, logged-on users (and their _Classes), mounts."""
        names = ['.DEFAULT', 'S-1-5-18', 'S-1-5-19', 'S-1-5-20']
        for p in self.profiles:
            if p.loaded:
                names += [p.sid, p.sid + '_Classes']
        return names + list(self.mounts)

    def hku_hive(self, name):
        """The hive dict at HKEY_USERS\\<name>: a logged-on profile's SID or a reg load mount."""
        low = name.lower()
        if self.mount(name) is not None:
            return self.mount(name).hive
        for p in self.profiles:
            if p.loaded and p.sid.lower() == low:
                return p.hive
        return None


def usb_devices(desktop, vm, mapping_lookup=None):
    """Present USB devices (VID:PID, upper case, in port order) from the VM's usbN config.

    host=VVVV:PPPP is that device; mapping=<id> goes through mapping_lookup(id, node);
    spice ports carry the devices the thin client shares, one per port; host=BUS-PORT has no
    device in the lab. Devices plugged in outside Proxmox (extra_usb) come last.
    """
    found, spice_ports = [], 0
    config = getattr(vm, 'config', {}) or {}
    for n in range(14):
        value = config.get('usb{0}'.format(n))
        if not value:
            continue
        opts = dict(part.split('=', 1) if '=' in part else (part, '') for part in str(value).split(','))
        host, mapping = opts.get('host'), opts.get('mapping')
        if host == 'spice' or 'spice' in opts:
            spice_ports += 1
        elif host and VID_PID.match(host):
            found.append(host.upper())
        elif mapping and mapping_lookup is not None:
            resolved = mapping_lookup(mapping, getattr(vm, 'node', None))
            if resolved and VID_PID.match(resolved):
                found.append(resolved.upper())
    found.extend(d.upper() for d in desktop.spice_shared[:spice_ports])
    found.extend(d.upper() for d in desktop.extra_usb)
    return found


def pnp_entry(vid_pid, index):
    vid, pid = vid_pid.split(':')
    return {
        'vid_pid': vid_pid,
        'instance_id': 'USB\\VID_{0}&PID_{1}\\5&2C7F1A3&0&{2}'.format(vid, pid, index + 1),
        'name': USB_NAMES.get(vid_pid, 'USB Input Device'),
        'status': 'OK',
    }
