"""The Windows state of one fake desktop: what the shipped scripts read and change.

Plain data, edited by tests and lab hooks directly; the fake's script contracts (contracts.py)
read and change it the way the real scripts change Windows.
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

    def take(self, name):
        value = getattr(self, name)
        if value == 0:
            return False
        if value > 0:
            setattr(self, name, value - 1)
        return True


@dataclass
class UserProfile:
    sid: str
    user: str
    loaded: bool = False            # hive mounted under HKEY_USERS (user logged on)
    default_printer: str | None = None
    mapped_drives: dict = field(default_factory=dict)   # 'H:' -> '\\\\server\\share'


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
    logon_scripts: list = field(default_factory=list)        # commands run at every user logon
    extra_usb: list = field(default_factory=list)            # VID:PID plugged in outside Proxmox's config
    spice_shared: list = field(default_factory=list)         # VID:PID the thin client redirects over SPICE
    # Files this desktop can see at UNC folders (r'\\srv\share\dir' -> {file name: text, or for a driver INF
    # {'printer_drivers': [names]}}); case-insensitive; read by contracts_devices.py
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
