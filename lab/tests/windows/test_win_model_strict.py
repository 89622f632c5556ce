"""The fake Windows desktops are as strict as Windows where the collection depends on it: the second hop, pnputil's
exit codes, locked hives and profile states, name matching, time; and the outcome follows the script's statements.
"""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import win_scenarios as ws  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils import _ps_printer  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils._ps_scripts import _script  # noqa: E402
from ansible_collections.storedesk.vdi.plugins.module_utils._winrm_runner import with_input  # noqa: E402
from storedesk_lab.windows import UserProfile, WindowsDesktop, pshost  # noqa: E402
from storedesk_lab.windows.powershell import run_script  # noqa: E402

CRED = ("$s = ConvertTo-SecureString -String '{0}' -AsPlainText -Force\n"
        "$c = New-Object System.Management.Automation.PSCredential ('{1}', $s)\n")


def ps(desktop, text):
    """Run PowerShell on the model: (exit code, stdout lines, stderr text)."""
    execution = run_script(desktop, text, ws.ctx())
    err = execution.stderr.decode('utf-8').replace('_x000D__x000A_', '\n')
    return execution.rc, execution.stdout.decode('utf-8').splitlines(), err


# ------------------------------------------------------------------ second hop

def test_a_unc_read_inside_the_session_is_access_denied():
    d = ws.desktop()
    rc, out, err = ps(d, "Test-Path -LiteralPath '{0}\\oemsetup.inf'\n"
                         "Get-Content -LiteralPath '{0}\\oemsetup.inf'\n"
                         "Copy-Item -Path '{0}\\*' -Destination 'C:\\Windows\\Temp'\n".format(ws.PKG))
    assert out == ['False']
    assert err.count("Access to the path '\\\\hq-files\\drivers\\epson") == 2      # Get-Content, Copy-Item
    assert 'C:\\Windows\\Temp\\oemsetup.inf' not in d.files


def test_a_share_connected_with_explicit_credentials_is_readable_for_that_session_only():
    d = ws.desktop()
    script = CRED.format(ws.SHARE_PASSWORD, ws.SHARE_USER) + (
        "$null = New-PSDrive -Name Pkg -PSProvider FileSystem -Root '\\\\hq-files\\drivers' -Credential $c\n"
        "Test-Path -LiteralPath 'Pkg:\\epson\\oemsetup.inf'\n"
        "Test-Path -LiteralPath '{0}\\oemsetup.inf'\n".format(ws.PKG))
    assert ps(d, script)[1] == ['True', 'True']
    assert ps(d, "Test-Path -LiteralPath '{0}\\oemsetup.inf'".format(ws.PKG))[1] == ['False']   # a new session
    wrong = CRED.format('wrong', ws.SHARE_USER) + (
        "New-PSDrive -Name Pkg -PSProvider FileSystem -Root '\\\\hq-files\\drivers' -Credential $c")
    assert 'The user name or password is incorrect' in ps(d, wrong)[2]


def test_the_printer_script_without_credentials_fails_on_the_package_as_windows_does():
    d = ws.desktop()
    payload = ws.printer_payload(printers=[ws.printer()], drivers=ws.DRIVERS[:1])
    payload['credential'] = None
    doc = json.loads(run_script(d, with_input(_ps_printer.WIN_PRINTER, payload), ws.ctx()).stdout)
    driver = [i for i in doc['result']['items'] if i['kind'] == 'driver'][0]
    assert driver['status'] == 'failed' and 'no credentials for \\\\hq-files\\drivers\\epson' in driver['error']
    assert not d.driver_store and 'Receipt' not in d.printers


# ------------------------------------------------------------------ pnputil

@pytest.mark.parametrize('content,code', [
    ({'printer_drivers': ['EPSON TM-T88VI Receipt']}, 259),      # no present device: a printer driver staged ahead
    ({'hardware_ids': ['USB\\VID_04B8&PID_0202']}, 0),
    ({'hardware_ids': ['PCI\\VEN_1AF4'], 'reboot': True}, 3010),
])
def test_pnputil_exit_codes(content, code):
    d = WindowsDesktop(vmid=1, computer_name='D1')
    d.files['C:\\Windows\\Temp\\p\\x.inf'] = {'bytes': 1, 'source': None, 'content': content}
    rc, out, _ = ps(d, "$o = & pnputil.exe /add-driver 'C:\\Windows\\Temp\\p\\x.inf' /install\n$LASTEXITCODE\n"
                       "$o = & pnputil.exe /add-driver 'C:\\Windows\\Temp\\p\\x.inf' /install\n$LASTEXITCODE")
    assert out[0] == str(code)
    assert [v['original'] for v in d.driver_store.values()] == ['x.inf']     # staged once, whatever runs again


def test_pnputil_on_a_missing_inf_exits_2_with_its_message():
    rc, out, _ = ps(WindowsDesktop(vmid=1, computer_name='D1'),
                    "$o = & pnputil.exe /add-driver 'C:\\nope.inf' /install\n$LASTEXITCODE\n$o[3]")
    assert out == ['2', 'Failed to add driver package: The system cannot find the file specified.']


def test_add_printer_driver_needs_the_driver_in_the_store_first():
    rc, _, err = ps(WindowsDesktop(vmid=1, computer_name='D1'), "Add-PrinterDriver -Name 'EPSON TM-T88VI Receipt'")
    assert 'The specified driver does not exist in the driver store.' in err


# ------------------------------------------------------------------ hives and profiles

def profiles_desktop():
    d = WindowsDesktop(vmid=1, computer_name='D1')
    d.profiles = [UserProfile('S-1-5-21-1-1-1-1001', 'anna', loaded=True), UserProfile('S-1-5-21-1-1-1-1002', 'ben'),
                  UserProfile('S-1-5-21-1-1-1-1003', 'gone', hive_file=False)]
    return d


@pytest.mark.parametrize('command,message', [
    ("reg.exe load 'HKU\\X' 'C:\\Users\\anna\\NTUSER.DAT'", 'being used by another process'),   # logged on
    ("reg.exe load 'HKU\\X' 'C:\\Users\\gone\\NTUSER.DAT'", 'cannot find the file specified'),  # stale profile
    ("reg.exe unload 'HKU\\Nothing'", 'The parameter is incorrect.'),
])
def test_reg_refuses_what_windows_refuses(command, message):
    d = profiles_desktop()
    rc, out, err = ps(d, '$o = & {0} 2>&1\n$LASTEXITCODE\n[string]$o'.format(command))
    assert out[0] == '1' and message in out[1]
    assert not d.mounts


def test_a_hive_mounted_twice_and_an_unload_with_an_open_handle_fail():
    d = profiles_desktop()
    script = ("$null = & reg.exe load 'HKU\\M1' 'C:\\Users\\ben\\NTUSER.DAT'\n$LASTEXITCODE\n"
              "$null = & reg.exe load 'HKU\\M2' 'C:\\Users\\ben\\NTUSER.DAT' 2>&1\n$LASTEXITCODE\n"
              "$null = New-Item -Path 'Registry::HKEY_USERS\\M1\\Software\\Storedesk' -Force\n"
              "$null = & reg.exe unload 'HKU\\M1' 2>&1\n$LASTEXITCODE\n"
              "[GC]::Collect()\n$null = & reg.exe unload 'HKU\\M1'\n$LASTEXITCODE\n")
    assert ps(d, script)[1] == ['0', '1', '1', '0']
    assert not d.mounts and 'Software\\Storedesk' in d.profiles[1].hive


def test_stale_and_entra_profiles_are_skipped_and_a_stale_mount_is_cleared():
    d = ws.with_stale_mount()
    payload = ws.printer_payload(printers=[ws.printer()], drivers=ws.DRIVERS[:1])
    doc = json.loads(run_script(d, with_input(_ps_printer.WIN_PRINTER, payload), ws.ctx()).stdout)
    defaults = dict((i['name'], i) for i in doc['result']['items'] if i['kind'] == 'default')
    assert defaults['gone (S-1-5-21-1-2-3-1003)']['status'] == 'skipped'
    assert defaults['entra.user (S-1-12-1-11-22-33-44)']['status'] == 'skipped'
    assert [p.default_printer for p in d.profiles] == ['Receipt', 'Receipt', None, None]
    assert d.default_user.default_printer == 'Receipt' and d.mounts == {}


# ------------------------------------------------------------------ names

def test_printer_and_driver_names_match_case_insensitively_as_the_spooler_does():
    d = WindowsDesktop(vmid=1, computer_name='D1')
    d.driver_store['oem10.inf'] = {'original': 'oemsetup.inf', 'printer_drivers': ['EPSON TM-T88VI Receipt']}
    script = ("Add-PrinterDriver -Name 'epson tm-t88vi receipt'\n"
              "Add-PrinterPort -Name 'IP_1' -PrinterHostAddress '10.0.0.1'\n"
              "Add-Printer -Name 'Receipt' -DriverName 'EPSON TM-T88VI RECEIPT' -PortName 'ip_1'\n"
              "(Get-Printer -Name 'RECEIPT').Name\n"
              "Add-Printer -Name 'receipt' -DriverName 'EPSON TM-T88VI Receipt' -PortName 'IP_1'\n")
    rc, out, err = ps(d, script)
    assert out == ['Receipt'] and 'The specified printer already exists.' in err
    assert list(d.printer_drivers) == ['Microsoft Print To PDF', 'EPSON TM-T88VI Receipt']
    assert d.printers['Receipt'] == {'driver': 'EPSON TM-T88VI Receipt', 'port': 'IP_1', 'shared': False,
                                     'share_name': None, 'comment': '', 'location': ''}


def test_a_printer_needs_an_installed_driver_and_an_existing_port():
    """Add-Printer -DriverName/-PortName name what must exist (PrintManagement/Add-Printer.md); Win32:
    ERROR_UNKNOWN_PRINTER_DRIVER 1797, ERROR_UNKNOWN_PORT 1796 (win32 system-error-codes--1700-3999-.md)."""
    d = WindowsDesktop(vmid=1, computer_name='D1')
    d.driver_store['oem10.inf'] = {'original': 'oemsetup.inf', 'printer_drivers': ['EPSON TM-T88VI Receipt']}
    no_driver = ps(d, "Add-PrinterPort -Name 'IP_1' -PrinterHostAddress '10.0.0.1'\n"
                      "Add-Printer -Name 'A' -DriverName 'EPSON TM-T88VI Receipt' -PortName 'IP_1'")
    no_port = ps(d, "Add-PrinterDriver -Name 'EPSON TM-T88VI Receipt'\n"
                    "Add-Printer -Name 'B' -DriverName 'EPSON TM-T88VI Receipt' -PortName 'IP_2'")
    assert 'The specified driver does not exist.' in no_driver[2] and 'The specified port does not exist.' in no_port[2]
    assert list(d.printers) == ['Microsoft Print to PDF'] and 'IP_1' in d.printer_ports
    assert 'EPSON TM-T88VI Receipt' in d.printer_drivers


def test_printing_errors_carry_the_win32_code_of_their_cause():
    """ERROR_PRINTER_ALREADY_EXISTS 1802 (0x70A), ERROR_UNKNOWN_PORT 1796 (0x704): MicrosoftDocs/win32
    desktop-src/Debug/system-error-codes--1700-3999-.md."""
    d = WindowsDesktop(vmid=1, computer_name='D1')
    script = ("try { Get-PrinterPort -Name 'nope' -ErrorAction Stop } catch { $_.FullyQualifiedErrorId }\n"
              "try { Add-Printer -Name 'Microsoft Print to PDF' -DriverName 'Microsoft Print To PDF' -PortName "
              "'PORTPROMPT:' -ErrorAction Stop } catch { $_.FullyQualifiedErrorId }\n")
    assert ps(d, script)[1] == ['HRESULT 0x80070704', 'HRESULT 0x8007070a']


# ------------------------------------------------------------------ time

def test_driver_staging_and_sysprep_take_windows_minutes_scaled_by_the_lab():
    d = ws.image_desktop()
    d.files['C:\\Windows\\Temp\\p\\x.inf'] = {'bytes': 1, 'source': None, 'content': {}}
    execution = run_script(d, "$null = & pnputil.exe /add-driver 'C:\\Windows\\Temp\\p\\x.inf' /install", ws.ctx())
    assert execution.seconds == pshost.PNPUTIL_SECS


def test_a_command_that_took_windows_minutes_answers_later_over_winrm():
    import base64

    import winrm
    from storedesk_lab.windows.testing import FleetThread, StubPve
    pve = StubPve(time_scale=0.01)
    pve.add(301, 'store-009-desk-01')
    fleet = FleetThread(pve, users={'timer-test': 'Timer-Test-1!'})   # an account of its own (NTLM file is shared)
    try:
        fleet.attach(301, '127.0.93.15')
        fleet.desktop(301).files['C:\\p\\x.inf'] = {'bytes': 1, 'source': None, 'content': {}}
        session = winrm.Session('http://127.0.93.15:5985/wsman', auth=('timer-test', 'Timer-Test-1!'),
                                transport='ntlm')
        script = "$null = & pnputil.exe /add-driver 'C:\\p\\x.inf' /install\n$LASTEXITCODE"
        started = time.monotonic()
        response = session.run_cmd('powershell', ['-NoProfile', '-EncodedCommand',
                                                  base64.b64encode(script.encode('utf-16-le')).decode()])
        took = time.monotonic() - started
    finally:
        fleet.close()
    assert response.std_out.strip() == b'259'
    assert took >= pshost.PNPUTIL_SECS * 0.01


# ------------------------------------------------------------------ the script decides

def test_a_script_cut_down_to_its_header_no_longer_passes_for_the_real_one():
    """Issue 13: the header picked a stand-in; now the statements run."""
    payload = ws.printer_payload(printers=[ws.printer()], drivers=ws.DRIVERS[:1])
    real, cut = ws.desktop(), ws.desktop()
    stub = _script('win-printer/1', 'function Invoke-StoredeskMain {\n    param($Request)\n'
                                    '    return @{ changed = $true; result = @{ items = @() } }\n}\n')
    run_script(real, with_input(_ps_printer.WIN_PRINTER, payload), ws.ctx())
    run_script(cut, with_input(stub, payload), ws.ctx())
    assert 'IP_10.21.1.50' in real.printer_ports and 'Receipt' in real.printers
    assert 'IP_10.21.1.50' not in cut.printer_ports and 'Receipt' not in cut.printers


def test_constrained_language_mode_gets_the_scripts_readable_error():
    d = ws.desktop(language_mode='ConstrainedLanguage')
    doc = json.loads(run_script(d, with_input(_ps_printer.WIN_PRINTER, {}), ws.ctx()).stdout)
    assert doc['ok'] is False and doc['error']['step'] == 'language-mode'


def test_start_process_without_wait_has_no_exit_code_yet():
    """Start-Process -PassThru returns at once unless -Wait (Start-Process.md): the exit code is not known."""
    d = ws.image_desktop()
    d.files['C:\\Windows\\Temp\\setup.exe'] = {'bytes': 1, 'source': None, 'content': None}
    script = ("$p = Start-Process -FilePath 'C:\\Windows\\Temp\\setup.exe' -PassThru\n$null -eq $p.ExitCode\n"
              "$p = Start-Process -FilePath 'C:\\Windows\\Temp\\setup.exe' -PassThru -Wait\n$p.ExitCode\n")
    assert ps(d, script)[1] == ['True', '0']


def test_get_pnp_device_by_class_is_refused_not_ignored():
    rc, out, err = ps(ws.desktop(), "Get-PnpDevice -PresentOnly -Class 'Printer'")
    assert rc == 1 and 'Get-PnpDevice -Class is not modelled' in err


def test_sysprep_fails_on_a_user_only_store_app_with_its_log_and_the_vm_stays_up():
    d = ws.user_only_app()
    context = ws.ctx()
    context.vm.status = 'running'
    script = ("$r = Invoke-CimMethod -ClassName Win32_Process -MethodName Create -Arguments @{ CommandLine = "
              "'C:\\Windows\\System32\\Sysprep\\sysprep.exe /generalize /oobe /shutdown /quiet' }\n$r.ReturnValue")
    execution = run_script(d, script, context)
    assert execution.stdout.strip() == b'0'
    log = d.files['C:\\Windows\\System32\\Sysprep\\Panther\\setuperr.log']['content']
    assert 'Package Contoso.Notes_1.0.0.0_x64__8wekyb3d8bbwe was installed for a user, but not provisioned' in log
    assert context.vm.status == 'running' and 'sysprep' not in d.processes
    ok = ws.image_desktop()
    run_script(ok, script, context)
    assert context.vm.status == 'stopped' and ok.sysprep_state == 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE'
