"""Scenarios per shipped script for the fake Windows desktops: desktops set up as stores have them, and the
requests the modules send (built with the modules' own payload builders where they exist).

A scenario: {'desktop': () -> (WindowsDesktop, Context), 'steps': [{'input': request} | {'input', 'stdin'}]}.
Used by the mutation check (test_script_mutations.py) and the model's own tests.
"""

from __future__ import annotations

import base64
import hashlib

from ansible_collections.storedesk.vdi.plugins.module_utils import _ps_image as img
from ansible_collections.storedesk.vdi.plugins.module_utils import _ps_sysprep as sysprep
from ansible_collections.storedesk.vdi.plugins.module_utils import _ps_scripts as ps
from ansible_collections.storedesk.vdi.plugins.module_utils import _ps_sources as src
from ansible_collections.storedesk.vdi.plugins.module_utils import _win_devices as wd
from ansible_collections.storedesk.vdi.plugins.module_utils._ps_printer import WIN_PRINTER
from ansible_collections.storedesk.vdi.plugins.module_utils._ps_user_drive import WIN_USER_DRIVE
from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_runner import with_input
from storedesk_lab.windows import UserProfile, WindowsDesktop
from storedesk_lab.windows.contracts import Context
from storedesk_lab.windows.testing import StubVm

SHARE_USER, SHARE_PASSWORD = 'HQ\\svc-storedesk', 'Sh4re-Secret!'
CRED = {'user': SHARE_USER, 'password': SHARE_PASSWORD}
SHARE = {'share_user': SHARE_USER, 'share_password': SHARE_PASSWORD}
PKG = '\\\\hq-files\\drivers\\epson'
ZEBRA_URL = 'http://hq-files/drivers/zebra.zip'
EPSON = 'EPSON TM-T88VI Receipt'
ZEBRA = 'ZDesigner ZD421-203dpi ZPL'
LIBRARY = '\\\\hq-files\\materials'
PKG_ZIP = '\\\\hq-files\\drivers\\epson.zip'
PUSHED = 'C:\\Windows\\Temp\\storedesk-push\\epson'


def desktop(name='D1', profiles=True, **extra):
    d = WindowsDesktop(vmid=1, computer_name=name, network={'hq-files': 3.0, 'pos.example': 9.0})
    d.share_users = {SHARE_USER: SHARE_PASSWORD}
    if profiles:
        d.profiles = [UserProfile('S-1-5-21-1-2-3-1001', 'anna', loaded=True),
                      UserProfile('S-1-5-21-1-2-3-1002', 'ben'),
                      UserProfile('S-1-5-21-1-2-3-1003', 'gone', hive_file=False),
                      UserProfile('S-1-12-1-11-22-33-44', 'entra.user')]
    d.unc_files[PKG] = {'oemsetup.inf': {'printer_drivers': [EPSON, 'EPSON TM-T20']}, 'epson.cat': 'cat'}
    d.unc_files[ZEBRA_URL] = {'ZDesigner.inf': {'printer_drivers': [ZEBRA]}}
    d.unc_files[LIBRARY] = {'promo-version.txt': '2026.11-w48\n'}
    d.unc_files['\\\\hq-files\\drivers'] = {'epson.zip': {'zip': {'oemsetup.inf': {'printer_drivers': [EPSON]}}}}
    for key, value in extra.items():
        setattr(d, key, value)
    return d


def ctx(config=None):
    return Context(vm=StubVm(100, 'store-001-desk-01', config=config or {}))


def _fixed(make, config=None):
    return lambda: (make(), ctx(config))


def printer(**kw):
    base = {'name': 'Receipt', 'driver': EPSON, 'host': '10.21.1.50', 'port': None, 'protocol': 'raw', 'queue': None,
            'shared': False, 'share_name': None, 'comment': None, 'location': None, 'default': True,
            'state': 'present'}
    base.update(kw)
    return base


def printer_payload(**params):
    return wd.printer_payload(dict(params, **SHARE))


def with_stale_mount():
    d = desktop()
    d.mounts['StoredeskDevices'] = d.profiles[1]           # left loaded by a run of an older version
    d.mounts['Storedesk_999_0123abcd'] = d.default_user     # left by a run that timed out (process 999 is gone)
    d.faults.hive_busy = 1                                  # the first unload meets an open handle
    return d


def with_foreign_mount():
    d = desktop()
    d.mounts['OtherTool'] = d.profiles[1]                  # another tool holds ben's hive: reg load fails
    d.mounts['OtherDefault'] = d.default_user
    return d


def with_pushed_package():
    d = desktop()
    d.files[PUSHED + '\\oemsetup.inf'] = {'bytes': 10, 'source': None, 'content': {'printer_drivers': [EPSON]}}
    d.files['C:\\Windows\\Temp\\storedesk-push\\pos-client.exe'] = {'bytes': 10, 'source': None, 'content': None}
    return d


def with_old_printers():
    d = desktop()
    d.printers['Old'] = {'driver': 'Microsoft Print To PDF', 'port': 'PORTPROMPT:', 'shared': False}
    d.printers['Stray'] = {'driver': 'Microsoft Print To PDF', 'port': 'PORTPROMPT:', 'shared': False}
    d.printer_drivers['Generic / Text Only'] = {'inf': 'C:\\Windows\\INF\\ntprint.inf'}
    d.printer_ports['IP_10.21.1.99'] = {'host': '10.21.1.99'}
    d.printers['Receipt'] = {'driver': 'Generic / Text Only', 'port': 'IP_10.21.1.99', 'shared': False,
                             'comment': '', 'location': ''}
    return d


PRINTERS = [printer(shared=True, share_name='RCPT', comment='front desk', location='till 1'),
            printer(name='Labels', driver=ZEBRA, host='10.21.1.51', port=9101, default=False),
            printer(name='Lpr', driver=EPSON, protocol='lpr', queue='q1', default=False)]
DRIVERS = [{'name': EPSON, 'inf': 'oemsetup.inf', 'package': PKG},
           {'name': ZEBRA, 'inf': 'ZDesigner.inf', 'package': ZEBRA_URL}]
FULL = printer_payload(printers=PRINTERS + [printer(name='Old', state='absent')], drivers=DRIVERS, test_page=True)


def _printer_scenarios():
    missing_inf = printer_payload(printers=[printer()], drivers=[dict(DRIVERS[0], inf='missing.inf')])
    pushed = printer_payload(printers=[printer()], drivers=DRIVERS[:1])   # as the module sends it after a push:
    pushed.update(credential=None, drivers=[dict(DRIVERS[0], package=PUSHED)])    # the desktop's copy
    exclusive = printer_payload(printers=[printer(comment='new', location='till 2')], drivers=DRIVERS[:1],
                                exclusive=True)
    return [
        {'desktop': _fixed(desktop), 'steps': [{'input': dict(FULL, check=True)}, {'input': FULL}, {'input': FULL}]},
        {'desktop': _fixed(with_old_printers), 'steps': [{'input': exclusive}, {'input': exclusive}]},
        {'desktop': _fixed(desktop), 'steps': [{'input': missing_inf}]},
        {'desktop': _fixed(with_stale_mount), 'steps': [{'input': FULL}]},
        {'desktop': _fixed(with_pushed_package), 'steps': [{'input': pushed}]},
        {'desktop': _fixed(with_foreign_mount), 'steps': [{'input': pushed}]},
        {'desktop': _fixed(desktop), 'steps': [{'input': printer_payload(
            printers=[printer()], drivers=[dict(DRIVERS[0], package=PKG_ZIP)])}]},
    ]


def _drive_scenarios():
    def payload(**kw):
        return wd.drive_payload(dict({'letter': 'M:', 'unc': LIBRARY, 'marker': 'promo-version.txt'}, **dict(SHARE, **kw)))
    return [
        {'desktop': _fixed(desktop), 'steps': [{'input': dict(payload(), check=True)}, {'input': payload()},
                                                 {'input': payload()}, {'input': payload(marker='nope.txt')},
                                                 {'input': payload(state='absent')}]},
        {'desktop': _fixed(with_stale_mount), 'steps': [{'input': payload()}]},
        {'desktop': _fixed(with_foreign_mount), 'steps': [{'input': payload()}]},
    ]


def probe_desktop():
    d = desktop()
    d.profiles[0].default_printer = 'Receipt'
    d.profiles[0].hive['Network\\S'] = {'RemotePath': {'type': 'String', 'value': '\\\\fs001\\store'}}
    d.printers['Receipt'] = {'driver': EPSON, 'port': 'IP_10.21.1.50', 'shared': False}
    d.extra_usb = ['05E0:1200']
    return d


def _probe_scenarios():
    backends = [{'name': 'pos', 'host': 'pos.example', 'port': 443},
                {'name': 'slow', 'host': 'pos.example', 'port': 443, 'timeout_ms': 5},
                {'name': 'dns', 'host': 'nowhere.example', 'port': 443}]
    return [{'desktop': _fixed(probe_desktop, {'usb0': 'host=0A5F:0001'}), 'steps': [{'input': {'backends': backends}}]}]


def _push_scenarios():
    data = b'PK\x03\x04 a driver package'
    digest = hashlib.sha256(data).hexdigest()
    path = 'C:\\Windows\\Temp\\storedesk-push\\epson.zip'

    def chunk(offset, size, last, sha=digest):
        return {'path': path, 'offset': offset, 'data': base64.b64encode(data[offset:offset + size]).decode(),
                'last': last, 'sha256': sha}
    retried = data[:10] + b'XXXXX'        # a retry from offset 10 with other bytes: the old tail must go
    again = {'path': path, 'offset': 10, 'data': base64.b64encode(b'XXXXX').decode(), 'last': True,
             'sha256': hashlib.sha256(retried).hexdigest()}
    return [{'desktop': _fixed(desktop), 'steps': [{'input': chunk(0, 10, False)}, {'input': chunk(10, 100, True)}]},
            {'desktop': _fixed(desktop), 'steps': [{'input': chunk(0, 100, True, sha='00' * 32)}]},
            {'desktop': _fixed(desktop), 'steps': [{'input': chunk(0, 100, False)}, {'input': again}]}]


def _loader_scenarios():
    inner = with_input(src.FILE_PUSH, {'path': 'C:\\Windows\\Temp\\x.txt', 'offset': 0, 'last': False, 'sha256': '',
                                       'data': base64.b64encode(b'hello').decode()})
    return [{'desktop': _fixed(desktop), 'steps': [{'stdin': inner}]}]


def image_desktop():
    d = desktop()
    d.files['C:\\Windows\\Panther\\unattend.xml'] = {'bytes': 10, 'source': None, 'content': '<secret/>'}
    d.files['C:\\Windows\\System32\\Sysprep\\Panther\\setupact.log'] = {
        'bytes': 20, 'source': None, 'content': 'line 1\nline 2\nSYSPRP done\n'}
    return d


def pending_reboot():
    d = image_desktop()
    d.reboot_pending = True
    return d


def user_only_app():
    d = image_desktop()
    d.appx_packages = [{'Name': 'Contoso.Notes', 'provisioned': False},
                       {'Name': 'Microsoft.Photos', 'provisioned': True}]
    return d


def encrypted():
    d = image_desktop()
    d.bitlocker = 'EncryptionInProgress'
    return d


def installed():
    d = image_desktop()
    d.installed_software.append({'name': '7-Zip 24.08 (x64 edition)', 'version': '24.08.00.0', 'publisher': 'x'})
    return d


def _image_scenarios():
    software = {'name': 'POS Client', 'version': '1.4.0', 'source': '\\\\hq-files\\software\\pos-client.exe', 'kind': 'exe',
                'args': ['/S', '/quiet'], 'success_codes': [0, 3010], 'credential': CRED}
    msi = {'name': '7-Zip 24.08 (x64 edition)', 'version': '24.08.00.0', 'source': 'http://hq-files/7z.msi',
           'kind': 'msi', 'args': ['/qn'], 'success_codes': [0, 3010], 'credential': None}
    settings = [{'path': 'HKLM:\\SOFTWARE\\Storedesk', 'name': 'ImageVersion', 'type': 'String', 'value': '1.4.0'},
                {'path': 'HKLM:\\SOFTWARE\\Storedesk', 'name': 'Wave', 'type': 'DWord', 'value': 3},
                {'path': 'HKLM:\\SOFTWARE\\Storedesk', 'name': 'Big', 'type': 'QWord', 'value': 2 ** 40},
                {'path': 'HKLM:\\SOFTWARE\\Storedesk', 'name': 'Stores', 'type': 'MultiString', 'value': ['a', 'b']},
                {'path': 'HKLM:\\SOFTWARE\\Storedesk', 'name': 'Blob', 'type': 'Binary', 'value': '0aff'},
                {'path': 'HKDU:\\Software\\Storedesk', 'name': 'Theme', 'type': 'String', 'value': 'store'}]
    files = [{'dest': 'C:\\ProgramData\\Storedesk\\store.txt', 'content': 'store 001\n'},
             {'dest': 'C:\\ProgramData\\Storedesk\\wall.jpg', 'source': 'http://hq-files/wall.jpg'},
             {'dest': 'C:\\ProgramData\\Storedesk\\price.csv', 'source': PKG + '\\epson.cat'}]
    sysprep = {'mode_vm': True, 'unattend': None, 'unattend_xml': '<unattend/>',
               'unattend_path': 'C:\\Windows\\System32\\Sysprep\\unattend.xml'}
    return {
        'IMAGE_READY': [{'desktop': _fixed(pending_reboot), 'steps': [{'input': {'sysprep': True}}]},
                        {'desktop': _fixed(image_desktop), 'steps': [{'input': {'sysprep': False}}]}],
        'IMAGE_SOFTWARE': [{'desktop': _fixed(image_desktop), 'steps': [{'input': software}, {'input': software}]},
                           {'desktop': _fixed(with_pushed_package), 'steps': [{'input': dict(
                               software, args=[], credential=None,
                               source='C:\\Windows\\Temp\\storedesk-push\\pos-client.exe')}]},
                           {'desktop': _fixed(installed), 'steps': [{'input': msi}, {'input': dict(msi, version='25')}]}],
        'IMAGE_DRIVER': [{'desktop': _fixed(image_desktop), 'steps': [
            {'input': {'name': 'Epson', 'source': PKG, 'inf': 'oemsetup.inf', 'credential': CRED}},
            {'input': {'name': 'Zebra', 'source': ZEBRA_URL, 'inf': 'ZDesigner.inf', 'credential': None}},
            {'input': {'name': 'Bad', 'source': PKG, 'inf': 'missing.inf', 'credential': CRED}}]},
                         {'desktop': _fixed(with_pushed_package), 'steps': [
            {'input': {'name': 'Epson', 'source': PKG_ZIP, 'inf': 'oemsetup.inf', 'credential': CRED}},
            {'input': {'name': 'Pushed', 'source': PUSHED, 'inf': 'oemsetup.inf', 'credential': None}}]}],
        'IMAGE_REGISTRY': [{'desktop': _fixed(with_stale_mount), 'steps': [{'input': {'settings': settings}},
                                                                           {'input': {'settings': settings}}]},
                           {'desktop': _fixed(with_foreign_mount), 'steps': [{'input': {'settings': settings}}]}],
        'IMAGE_FILES': [{'desktop': _fixed(image_desktop), 'steps': [{'input': {'files': files, 'credential': CRED}}]},
                        {'desktop': _fixed(with_pushed_package), 'steps': [{'input': {'credential': None, 'files': [
                            {'dest': 'C:\\ProgramData\\Storedesk\\inf.txt', 'source': PUSHED + '\\oemsetup.inf'},
                            {'dest': 'C:\\ProgramData\\Storedesk\\x.txt', 'source': PUSHED + '\\nope.txt'}]}}]}],
        'IMAGE_LIBRARY': [{'desktop': _fixed(with_stale_mount), 'steps': [
            {'input': {'drive': 'M:', 'unc': LIBRARY, 'label': 'Materials'}},
            {'input': {'drive': 'M:', 'unc': LIBRARY, 'label': None}}]},
                          {'desktop': _fixed(with_foreign_mount), 'steps': [
            {'input': {'drive': 'M:', 'unc': LIBRARY, 'label': None}}]}],
        'IMAGE_SYSPREP': [{'desktop': _fixed(image_desktop), 'steps': [{'input': sysprep}]},
                          {'desktop': _fixed(pending_reboot), 'steps': [{'input': sysprep}]},
                          {'desktop': _fixed(user_only_app), 'steps': [{'input': sysprep}]},
                          {'desktop': _fixed(encrypted), 'steps': [{'input': sysprep}]}],
    }


def scripts():
    """{constant name: (script text, scenarios)} of every shipped script."""
    found = {'STDIN_LOADER': (ps.STDIN_LOADER, _loader_scenarios()), 'PROBE': (ps.PROBE, _probe_scenarios()),
             'FILE_PUSH': (src.FILE_PUSH, _push_scenarios()), 'WIN_PRINTER': (WIN_PRINTER, _printer_scenarios()),
             'WIN_USER_DRIVE': (WIN_USER_DRIVE, _drive_scenarios())}
    for name, scenarios in _image_scenarios().items():
        found[name] = (getattr(img, name, None) or getattr(sysprep, name), scenarios)
    for name, (text, scenarios) in found.items():
        first = scenarios[0]['steps'][0]
        if 'input' in first:     # every script says so when PowerShell runs in ConstrainedLanguage mode
            scenarios.append({'desktop': _fixed(lambda: desktop(language_mode='ConstrainedLanguage')),
                              'steps': [dict(first)]})
    return found
