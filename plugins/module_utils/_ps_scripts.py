# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PowerShell shipped with the collection, as Python string constants (private).

Non-Python files do not travel with Ansible modules, so every script lives here. Contract of a
script: the runner prepends ``$StoredeskInput = '<base64 of UTF-8 JSON>'``; the script decodes it,
does its work and writes ONE JSON document to stdout:
``{"ok": true, "changed": bool, "result": {...}}`` or
``{"ok": false, "changed": false, "error": {"message", "category", "step"}}``.
Each public constant starts with ``# storedesk-script: <name>/<version>`` (results and the lab's records
name the script by it; the lab's Windows model runs the script's own statements). Adding a script = one
constant here (built with ``_script``) and its scenarios in lab/tests/windows/win_scenarios.py (the mutation
check fails for a script without them). Keep scripts ASCII, and write a multi-clause ``switch`` over
several lines (the test parser rejects it on one line). The wrapper refuses ConstrainedLanguage mode with
a readable error, and ``Invoke-StoredeskNative`` is the one way to run a native command (exit codes checked).
"""

from __future__ import annotations

# Reads a script from stdin and runs it: how scripts longer than the command line get in.
STDIN_LOADER = r'''# storedesk-script: stdin-loader/1
$ErrorActionPreference = 'Stop'
$StoredeskScript = $input | Out-String
& ([ScriptBlock]::Create($StoredeskScript))
exit $LASTEXITCODE
'''

# Every script: decode the input, call Invoke-StoredeskMain, print one JSON document.
_WRAPPER = r'''
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$StoredeskState = @{ step = 'input' }

function Write-StoredeskResult {
    param($Document)
    $json = ConvertTo-Json -InputObject $Document -Depth 10 -Compress
    $bytes = [Text.Encoding]::UTF8.GetBytes($json)
    $stdout = [Console]::OpenStandardOutput()
    $stdout.Write($bytes, 0, $bytes.Length)
    $stdout.Flush()
}

function Set-StoredeskStep {
    param([string]$Name)
    $StoredeskState.step = $Name
}

function Invoke-StoredeskNative {
    # Every native command goes through here: its output captured, $LASTEXITCODE compared with the codes
    # the command documents as success, a readable error otherwise (never pass a secret as an argument).
    param([string]$FilePath, [string[]]$ArgumentList, [int[]]$Allowed = @(0))
    $ErrorActionPreference = 'Continue'
    $output = ((& $FilePath @ArgumentList 2>&1 | ForEach-Object { [string]$_ }) -join "`n").Trim()
    $code = $LASTEXITCODE
    if ($Allowed -notcontains $code) {
        throw ((Split-Path -Leaf $FilePath) + ' ' + ($ArgumentList -join ' ') + ' exited with code ' + $code +
            ' (allowed: ' + ($Allowed -join ', ') + '): ' + $output)
    }
    return @{ exit_code = $code; output = $output }
}

# ConstrainedLanguage (App Control / AppLocker) forbids the .NET calls below: say so with what it allows
# (about_Language_Modes, MicrosoftDocs/PowerShell-Docs reference/5.1/Microsoft.PowerShell.Core/About).
if ($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage') {
    $StoredeskMode = [string]$ExecutionContext.SessionState.LanguageMode
    $StoredeskError = @{
        message = 'PowerShell runs in ' + $StoredeskMode + ' mode on this desktop (App Control for Business or AppLocker policy); ' +
            'storedesk scripts need FullLanguage: allow them for the WinRM account or sign them'
        category = 'SecurityError'
        step = 'language-mode'
    }
    Write-Output (ConvertTo-Json -InputObject @{ ok = $false; changed = $false; error = $StoredeskError } -Compress)
    exit 1
}

try {
    $StoredeskJson = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($StoredeskInput))
    $StoredeskRequest = ConvertFrom-Json -InputObject $StoredeskJson
    $StoredeskOutcome = Invoke-StoredeskMain -Request $StoredeskRequest
    Write-StoredeskResult @{ ok = $true; changed = [bool]$StoredeskOutcome.changed; result = $StoredeskOutcome.result }
    exit 0
}
catch {
    $StoredeskError = @{
        message = $_.Exception.Message
        category = [string]$_.CategoryInfo.Category
        step = $StoredeskState.step
    }
    Write-StoredeskResult @{ ok = $false; changed = $false; error = $StoredeskError }
    exit 1
}
'''


def _script(name, body):
    """A shipped script: header line, the script's own functions, then the common wrapper."""
    return '# storedesk-script: {0}\n'.format(name) + body.strip('\n') + '\n' + _WRAPPER


PROBE = _script('probe/1', r'''
# Reads facts of this desktop and changes nothing.
# Input: {"backends": [{"name": str, "host": str, "port": int, "timeout_ms": int}]}
# Result: computer_name, os, sysprep_state, disks, printers, printer_drivers, printer_ports,
#         default_printers (per user profile; read only for logged-on users: a probe mounts no hive),
#         mapped_drives,
#         usb_devices (present PnP devices by VID:PID), backends (TCP connect time in ms).

function Get-StoredeskHiveFacts {
    # Default printer and persistent mapped drives of one user hive mounted under HKEY_USERS.
    param([string]$HiveKey)
    $root = 'Registry::HKEY_USERS\' + $HiveKey
    $printer = $null
    $windows = Get-ItemProperty -LiteralPath ($root + '\Software\Microsoft\Windows NT\CurrentVersion\Windows') -ErrorAction SilentlyContinue
    if ($null -ne $windows -and $windows.Device) {
        $printer = ([string]$windows.Device -split ',')[0]
    }
    $drives = @()
    $network = $root + '\Network'
    if (Test-Path -LiteralPath $network) {
        foreach ($key in Get-ChildItem -LiteralPath $network) {
            $drives += @{ letter = ($key.PSChildName.ToUpper() + ':'); path = [string]$key.GetValue('RemotePath') }
        }
    }
    return @{ printer = $printer; drives = $drives }
}

function Get-StoredeskProfiles {
    # Local, domain and Entra ID user profiles (the Default User hive is a file, never loaded: not read).
    $list = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList'
    $profiles = @()
    foreach ($key in Get-ChildItem -LiteralPath $list) {
        $sid = $key.PSChildName
        if ($sid -notmatch '^S-1-(5-21|12-1)-\d+(-\d+)*$') {
            continue
        }
        $path = [Environment]::ExpandEnvironmentVariables([string]$key.GetValue('ProfileImagePath'))
        $profiles += @{ sid = $sid; user = (Split-Path -Leaf $path) }
    }
    return $profiles
}

function Measure-StoredeskBackend {
    # TCP connect time from this desktop to one backend.
    param($Backend)
    $entry = @{ name = [string]$Backend.name; host = [string]$Backend.host; port = $Backend.port; ok = $false; latency_ms = $null; error = $null }
    $timeout = 2000
    if ($Backend.timeout_ms) {
        $timeout = [int]$Backend.timeout_ms
    }
    $client = New-Object System.Net.Sockets.TcpClient
    try {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $task = $client.ConnectAsync([string]$Backend.host, [int]$Backend.port)
        if ($task.Wait($timeout)) {
            $entry.latency_ms = [Math]::Round($watch.Elapsed.TotalMilliseconds, 1)
            $entry.ok = $true
        }
        else {
            $entry.error = 'No connection within ' + $timeout + ' ms.'
        }
    }
    catch {
        $inner = $_.Exception
        while ($null -ne $inner.InnerException) {
            $inner = $inner.InnerException
        }
        $entry.error = $inner.Message
    }
    finally {
        $client.Dispose()
    }
    return $entry
}

function Invoke-StoredeskMain {
    param($Request)

    Set-StoredeskStep 'os'
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    $current = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
    $state = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State' -ErrorAction SilentlyContinue
    $sysprep = $null
    if ($null -ne $state) {
        $sysprep = [string]$state.ImageState
    }

    Set-StoredeskStep 'disks'
    $disks = @(Get-CimInstance -ClassName Win32_LogicalDisk -Filter 'DriveType=3' | ForEach-Object {
        @{ drive = $_.DeviceID; free_bytes = [int64]$_.FreeSpace; size_bytes = [int64]$_.Size }
    })

    Set-StoredeskStep 'printers'
    $printers = @(Get-Printer | ForEach-Object {
        @{ name = $_.Name; driver = $_.DriverName; port = $_.PortName; shared = [bool]$_.Shared }
    })
    $drivers = @(Get-PrinterDriver | ForEach-Object {
        @{ name = $_.Name; inf = [string]$_.InfPath }
    })
    $ports = @(Get-PrinterPort | ForEach-Object {
        @{ name = $_.Name; host = [string]$_.PrinterHostAddress }
    })

    Set-StoredeskStep 'profiles'
    $defaults = @()
    $mapped = @()
    foreach ($userProfile in Get-StoredeskProfiles) {
        # A probe mounts no hive (a mount can outlive a stopped script and lock the user out of the profile):
        # profiles whose user is not logged on are listed as not read.
        if (-not (Test-Path -LiteralPath ('Registry::HKEY_USERS\' + $userProfile.sid))) {
            $defaults += @{ sid = $userProfile.sid; user = $userProfile.user; printer = $null; source = 'not loaded' }
            continue
        }
        $facts = Get-StoredeskHiveFacts -HiveKey $userProfile.sid
        $defaults += @{ sid = $userProfile.sid; user = $userProfile.user; printer = $facts.printer; source = 'loaded' }
        foreach ($drive in $facts.drives) {
            $mapped += @{ sid = $userProfile.sid; user = $userProfile.user; letter = $drive.letter; path = $drive.path }
        }
    }

    Set-StoredeskStep 'usb'
    $usb = @()
    foreach ($device in Get-PnpDevice -PresentOnly -ErrorAction SilentlyContinue) {
        if ($device.InstanceId -match '^USB\\VID_([0-9A-F]{4})&PID_([0-9A-F]{4})\\') {
            $usb += @{
                vid_pid = ($Matches[1] + ':' + $Matches[2])
                instance_id = $device.InstanceId
                name = [string]$device.FriendlyName
                status = [string]$device.Status
            }
        }
    }

    Set-StoredeskStep 'backends'
    $backends = @()
    foreach ($backend in $Request.backends) {
        $backends += Measure-StoredeskBackend -Backend $backend
    }

    return @{
        changed = $false
        result = @{
            computer_name = $env:COMPUTERNAME
            os = @{ caption = $os.Caption; version = $os.Version; build = [string]$os.BuildNumber; ubr = [int]$current.UBR }
            sysprep_state = $sysprep
            disks = $disks
            printers = $printers
            printer_drivers = $drivers
            printer_ports = $ports
            default_printers = $defaults
            mapped_drives = $mapped
            usb_devices = $usb
            backends = $backends
        }
    }
}
''')
