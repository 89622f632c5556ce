# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows answer files from the image manifest (private, pure): autounattend.xml for Setup, and the
unattend sysprep gives the clones' OOBE.

Read in Microsoft's unattend reference (MicrosoftDocs commercialization-public,
customize/desktop/unattend/*.md: the "Valid Configuration Passes" of each setting) and
manufacture/desktop/windows-setup-automation-overview.md ("Implicit Answer File Search Order": Setup
reads Autounattend.xml at the root of a removable read-only medium, i.e. our answer CD):

- windowsPE: Microsoft-Windows-International-Core-WinPE (languages), Microsoft-Windows-PnpCustomizationsWinPE
  DriverPaths (virtio-scsi and NIC drivers from the virtio-win CD), Microsoft-Windows-Setup (DiskConfiguration,
  ImageInstall, UserData) - all windowsPE only.
- specialize: Microsoft-Windows-Shell-Setup ComputerName/TimeZone, Microsoft-Windows-Deployment RunSynchronous
  (system context: the QEMU guest agent), Microsoft-Windows-SecureStartup-FilterDriver PreventDeviceEncryption
  (offlineServicing, specialize, auditSystem, oobeSystem).
- oobeSystem: Microsoft-Windows-International-Core, Shell-Setup OOBE, UserAccounts/LocalAccounts (an account
  created here skips OOBE's account page), AutoLogon (LogonCount once, so FirstLogonCommands run), and
  FirstLogonCommands (elevated for an administrator): WinRM on, one firewall rule for the controller's
  subnets on every profile (Enable-PSRemoting -SkipNetworkProfileCheck, New-NetFirewallRule -Profile Any;
  MicrosoftDocs PowerShell-Docs Enable-PSRemoting.md, windows-powershell-docs New-NetFirewallRule.md).

virtio-win CD layout <driver>\\<os>\\<arch> and guest-agent\\qemu-ga-x86_64.msi: virtio-win/virtio-win-pkg-scripts
(util/filemap.py, make-virtio-win-rpm-archive.py). The CD's drive letter is not known in advance, so every
letter D: to J: is listed / tried.

Passwords use the hidden form of Windows SIM: base64 of UTF-16LE(password + "Password") with PlainText false
(the LocalAccounts example of the reference decodes so). That hides, it does not encrypt: the ISO is removed
from the storage after a successful build, and the cached copy in %WINDIR%\\Panther before sysprep.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

NS = 'urn:schemas-microsoft-com:unattend'
WCM = 'http://schemas.microsoft.com/WMIConfig/2002/State'
COMPONENT = {'processorArchitecture': 'amd64', 'publicKeyToken': '31bf3856ad364e35', 'language': 'neutral',
             'versionScope': 'nonSxS'}
CD_LETTERS = 'DEFGHIJ'
VIRTIO_DRIVERS = ('vioscsi', 'NetKVM', 'viostor')     # the build VM's disk (virtio-scsi) and NIC
GUEST_AGENT = 'guest-agent\\qemu-ga-x86_64.msi'
SYSPREP_UNATTEND = 'C:\\Windows\\System32\\Sysprep\\storedesk-oobe.xml'
FIREWALL_RULE = 'storedesk-winrm'

ET.register_namespace('', NS)
ET.register_namespace('wcm', WCM)


def hidden(password, suffix='Password'):
    """The Windows SIM form of a password (PlainText false)."""
    return base64.b64encode((password + suffix).encode('utf-16-le')).decode('ascii')


def _el(parent, tag, text=None, **attrs):
    node = ET.SubElement(parent, '{%s}%s' % (NS, tag), dict(
        ('{%s}%s' % (WCM, k[4:]) if k.startswith('wcm_') else k, str(v)) for k, v in attrs.items()))
    if text is not None:
        node.text = str(text)
    return node


def _component(settings, name):
    return _el(settings, 'component', name=name, **COMPONENT)


def _intl(settings, u, winpe):
    comp = _component(settings, 'Microsoft-Windows-International-Core' + ('-WinPE' if winpe else ''))
    if winpe:
        _el(_el(comp, 'SetupUILanguage'), 'UILanguage', u['language'])
    _el(comp, 'InputLocale', u['input_locale'])
    _el(comp, 'SystemLocale', u['language'])
    _el(comp, 'UILanguage', u['language'])
    _el(comp, 'UserLocale', u['language'])


def _winrm_command(subnets):
    """One PowerShell line: WinRM on, our firewall rule for the controller's subnets on every profile."""
    remote = ','.join(subnets)
    return ('powershell.exe -NoProfile -ExecutionPolicy Bypass -Command "Enable-PSRemoting -Force '
            '-SkipNetworkProfileCheck; New-NetFirewallRule -Name {0} -DisplayName \'storedesk WinRM from the '
            'controller\' -Direction Inbound -Protocol TCP -LocalPort 5985,5986 -RemoteAddress {1} -Profile Any '
            '-Action Allow"'.format(FIREWALL_RULE, remote))


def _specialize(root, u, guest_agent):
    settings = _el(root, 'settings', **{'pass': 'specialize'})
    shell = _component(settings, 'Microsoft-Windows-Shell-Setup')
    _el(shell, 'ComputerName', u['computer_name'])
    _el(shell, 'TimeZone', u['time_zone'])
    if guest_agent:
        deploy = _component(settings, 'Microsoft-Windows-Deployment')
        cmd = _el(_el(deploy, 'RunSynchronous'), 'RunSynchronousCommand', wcm_action='add')
        _el(cmd, 'Order', 1)
        _el(cmd, 'Description', 'QEMU guest agent from the virtio-win CD')
        _el(cmd, 'Path', 'cmd.exe /c for %d in ({0}) do if exist %d:\\{1} msiexec.exe /i %d:\\{1} /qn /norestart'
            .format(' '.join(CD_LETTERS), GUEST_AGENT))
    if u['prevent_device_encryption']:
        _el(_component(settings, 'Microsoft-Windows-SecureStartup-FilterDriver'), 'PreventDeviceEncryption', 'true')


def _oobe(root, u, first_logon):
    settings = _el(root, 'settings', **{'pass': 'oobeSystem'})
    _intl(settings, u, winpe=False)
    shell = _component(settings, 'Microsoft-Windows-Shell-Setup')
    oobe = _el(shell, 'OOBE')
    for key, value in (('HideEULAPage', 'true'), ('HideOEMRegistrationScreen', 'true'),
                       ('HideOnlineAccountScreens', 'true'), ('HideWirelessSetupInOOBE', 'true'),
                       ('ProtectYourPC', '3')):
        _el(oobe, key, value)
    account = _el(_el(_el(shell, 'UserAccounts'), 'LocalAccounts'), 'LocalAccount', wcm_action='add')
    password = _el(account, 'Password')
    _el(password, 'Value', hidden(u['admin_password']))
    _el(password, 'PlainText', 'false')
    _el(account, 'Description', 'storedesk automation (WinRM)')
    _el(account, 'DisplayName', u['admin_user'])
    _el(account, 'Group', 'Administrators')
    _el(account, 'Name', u['admin_user'])
    _el(shell, 'TimeZone', u['time_zone'])
    if first_logon:
        logon = _el(shell, 'AutoLogon')
        password = _el(logon, 'Password')
        _el(password, 'Value', hidden(u['admin_password']))
        _el(password, 'PlainText', 'false')
        _el(logon, 'Enabled', 'true')
        _el(logon, 'LogonCount', 1)
        _el(logon, 'Username', u['admin_user'])
        cmd = _el(_el(shell, 'FirstLogonCommands'), 'SynchronousCommand', wcm_action='add')
        _el(cmd, 'CommandLine', _winrm_command(u['winrm_subnets']))
        _el(cmd, 'Description', 'WinRM for the storedesk controller')
        _el(cmd, 'Order', 1)
    if u['prevent_device_encryption']:
        _el(_component(settings, 'Microsoft-Windows-SecureStartup-FilterDriver'), 'PreventDeviceEncryption', 'true')


def _windows_pe(root, u):
    settings = _el(root, 'settings', **{'pass': 'windowsPE'})
    _intl(settings, u, winpe=True)
    paths = _el(_component(settings, 'Microsoft-Windows-PnpCustomizationsWinPE'), 'DriverPaths')
    key = 0
    for letter in CD_LETTERS:
        for driver in VIRTIO_DRIVERS:
            key += 1
            item = _el(paths, 'PathAndCredentials', wcm_action='add', wcm_keyValue=key)
            _el(item, 'Path', '{0}:\\{1}\\w11\\amd64'.format(letter, driver))
    setup = _component(settings, 'Microsoft-Windows-Setup')
    disk = _el(_el(setup, 'DiskConfiguration'), 'Disk', wcm_action='add')
    _el(disk, 'DiskID', 0)
    _el(disk, 'WillWipeDisk', 'true')
    create = _el(disk, 'CreatePartitions')
    modify = _el(disk, 'ModifyPartitions')
    # UEFI/GPT: EFI system partition, MSR, Windows (the reference's recommended UEFI layout, no recovery)
    for order, (kind, size, fmt, label, letter) in enumerate(
            (('EFI', 100, 'FAT32', 'System', None), ('MSR', 16, None, None, None),
             ('Primary', None, 'NTFS', 'Windows', 'C')), start=1):
        part = _el(create, 'CreatePartition', wcm_action='add')
        _el(part, 'Order', order)
        _el(part, 'Type', kind)
        if size:
            _el(part, 'Size', size)
        else:
            _el(part, 'Extend', 'true')
        if fmt:
            mod = _el(modify, 'ModifyPartition', wcm_action='add')
            _el(mod, 'Order', len(modify))
            _el(mod, 'PartitionID', order)
            _el(mod, 'Format', fmt)
            _el(mod, 'Label', label)
            if letter:
                _el(mod, 'Letter', letter)
    image = _el(_el(setup, 'ImageInstall'), 'OSImage')
    meta = _el(_el(image, 'InstallFrom'), 'MetaData', wcm_action='add')
    _el(meta, 'Key', '/IMAGE/NAME')
    _el(meta, 'Value', u['edition'])
    target = _el(image, 'InstallTo')
    _el(target, 'DiskID', 0)
    _el(target, 'PartitionID', 3)
    data = _el(setup, 'UserData')
    _el(data, 'AcceptEula', 'true')
    if u.get('product_key'):
        key_el = _el(data, 'ProductKey')
        _el(key_el, 'Key', u['product_key'])
        _el(key_el, 'WillShowUI', 'OnError')


def _text(root):
    return ET.tostring(root, encoding='utf-8', xml_declaration=True)


def setup_xml(u):
    """autounattend.xml (bytes, UTF-8): Windows Setup from the ISO to a desktop that answers WinRM."""
    root = ET.Element('{%s}unattend' % NS)
    _windows_pe(root, u)
    _specialize(root, u, guest_agent=True)
    _oobe(root, u, first_logon=True)
    return _text(root)


def oobe_xml(u):
    """The unattend sysprep /oobe passes to every clone: specialize + oobeSystem, no auto logon."""
    root = ET.Element('{%s}unattend' % NS)
    _specialize(root, u, guest_agent=False)
    _oobe(root, u, first_logon=False)
    return _text(root)
