# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The golden image's readiness check and sysprep as PowerShell (private): image-ready/1, image-sysprep/1.

Same contract as every shipped script (see _ps_scripts): input only through $StoredeskInput (JSON),
one JSON document out, `Set-StoredeskStep` names the sub-step an error happened in. The lab models
each one in lab/storedesk_lab/windows/contracts_image.py. The manifest's step scripts are in _ps_image.
"""

from __future__ import annotations

from ._ps_scripts import _script

# Facts sysprep depends on (shared by image-ready/1 and image-sysprep/1).
# - reboot pending: Component Based Servicing\RebootPending, WindowsUpdate\Auto Update\RebootRequired, and
#   PendingFileRenameOperations of the Session Manager;
# - Store apps installed for a user but not provisioned for all users make sysprep /generalize fail
#   (MicrosoftDocs/SupportArticles-docs, support/windows-client/setup-upgrade-and-drivers/
#   sysprep-fails-remove-or-update-store-apps.md): Get-AppxPackage -AllUsers against Get-AppxProvisionedPackage -Online;
# - device encryption (BitLocker) on the system drive: Get-BitLockerVolume VolumeStatus other than FullyDecrypted.
_SYSPREP_FACTS = r'''
function Get-StoredeskPendingReboot {
    $reasons = @()
    if (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending') {
        $reasons += 'component servicing'
    }
    if (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired') {
        $reasons += 'Windows Update'
    }
    $sessionKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager'
    $session = Get-ItemProperty -LiteralPath $sessionKey -Name 'PendingFileRenameOperations' -ErrorAction SilentlyContinue
    if ($null -ne $session -and @($session.PendingFileRenameOperations).Count -gt 0) {
        $reasons += 'pending file renames'
    }
    return $reasons
}

function Get-StoredeskUserOnlyApps {
    # Store apps installed for some user but not provisioned for all users (sysprep /generalize fails on them).
    $provisioned = @(Get-AppxProvisionedPackage -Online | ForEach-Object { $_.DisplayName })
    $found = @()
    foreach ($package in Get-AppxPackage -AllUsers) {
        if ($package.IsFramework -or $package.NonRemovable -or $package.SignatureKind -eq 'System') {
            continue
        }
        if ($provisioned -notcontains $package.Name) {
            $found += [string]$package.PackageFullName
        }
    }
    return $found
}

function Get-StoredeskEncryption {
    $volume = Get-BitLockerVolume -MountPoint $env:SystemDrive -ErrorAction SilentlyContinue
    if ($null -eq $volume) {
        return $null
    }
    return [string]$volume.VolumeStatus
}

function Get-StoredeskSysprepLog {
    # The last lines of sysprep's own logs (Panther under the Sysprep folder).
    $panther = Join-Path $env:SystemRoot 'System32\Sysprep\Panther'
    $tail = @{}
    foreach ($name in @('setuperr.log', 'setupact.log')) {
        $path = Join-Path $panther $name
        $tail[$name] = $null
        if (Test-Path -LiteralPath $path) {
            $tail[$name] = (@(Get-Content -LiteralPath $path -Tail 40) -join "`n")
        }
    }
    return $tail
}
'''

IMAGE_READY = _script('image-ready/1', _SYSPREP_FACTS + r'''
# Is the build VM ready for its manifest, and how is sysprep doing? Reads facts, changes nothing.
# Input: {"sysprep": bool (also the sysprep facts and its log tail)}.
# Result: computer_name, os, image_state, reboot_pending, reboot_reasons
#         [, sysprep: {running, user_only_apps, encryption, log}].

function Invoke-StoredeskMain {
    param($Request)
    Set-StoredeskStep 'os'
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    $state = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State' -ErrorAction SilentlyContinue
    $imageState = $null
    if ($null -ne $state) {
        $imageState = [string]$state.ImageState
    }
    $reasons = @(Get-StoredeskPendingReboot)
    $facts = @{
        computer_name = $env:COMPUTERNAME
        os = @{ caption = $os.Caption; version = $os.Version; build = [string]$os.BuildNumber }
        image_state = $imageState
        reboot_pending = ($reasons.Count -gt 0)
        reboot_reasons = $reasons
    }
    if ($Request.sysprep) {
        Set-StoredeskStep 'sysprep'
        $facts.sysprep = @{
            running = ($null -ne (Get-Process -Name 'sysprep' -ErrorAction SilentlyContinue))
            log = Get-StoredeskSysprepLog
        }
    }
    return @{ changed = $false; result = $facts }
}
''')

IMAGE_SYSPREP = _script('image-sysprep/1', _SYSPREP_FACTS + r'''
# Checks what makes sysprep fail or hang, then starts sysprep /generalize /oobe /shutdown /quiet and returns at
# once: the VM powers itself off (the controller watches it with a deadline and reads the log tail on failure).
# Started through WMI (Win32_Process.Create), not as a child of this WinRM shell, whose job object would end it
# when the shell closes. The cached answer files of Setup (%WINDIR%\Panther, they hold the local admin's
# password) are removed first (windows-setup-automation-overview.md, "Sensitive Data in Answer Files").
# Input: {"mode_vm": bool, "unattend": path|null, "unattend_xml": text|null (written to unattend_path)}.
# Result: process_id, command_line, removed_answer_files.

function Invoke-StoredeskMain {
    param($Request)
    Set-StoredeskStep 'check'
    $sysprep = Join-Path $env:SystemRoot 'System32\Sysprep\sysprep.exe'
    if (-not (Test-Path -LiteralPath $sysprep)) {
        throw ("Cannot find path '" + $sysprep + "' because it does not exist.")
    }
    if ($null -ne (Get-Process -Name 'sysprep' -ErrorAction SilentlyContinue)) {
        throw 'sysprep.exe is already running on this VM'
    }
    Set-StoredeskStep 'reboot-pending'
    $reasons = @(Get-StoredeskPendingReboot)
    if ($reasons.Count -gt 0) {
        throw ('a reboot is pending (' + ($reasons -join ', ') + '): sysprep would fail; restart the build VM first')
    }
    Set-StoredeskStep 'store-apps'
    $apps = @(Get-StoredeskUserOnlyApps)
    if ($apps.Count -gt 0) {
        throw ('Store apps installed for a user but not provisioned for all users make sysprep fail: ' + ($apps -join ', ') +
            '; remove them with Remove-AppxPackage -AllUsers (or provision them) in the manifest')
    }
    Set-StoredeskStep 'encryption'
    $encryption = Get-StoredeskEncryption
    if ($null -ne $encryption -and $encryption -ne 'FullyDecrypted') {
        throw ('the system drive is encrypted by BitLocker (' + $encryption + '): sysprep /generalize fails; ' +
            'decrypt it (Disable-BitLocker) and prevent device encryption in the answer file')
    }
    $line = '"' + $sysprep + '" /generalize /oobe /shutdown /quiet'
    if ($Request.mode_vm) {
        $line += ' /mode:vm'
    }
    $unattend = $Request.unattend
    if ($Request.unattend_xml) {
        Set-StoredeskStep 'unattend'
        $unattend = [string]$Request.unattend_path
        [IO.File]::WriteAllText($unattend, [string]$Request.unattend_xml, (New-Object Text.UTF8Encoding $false))
    }
    if ($unattend) {
        if (-not (Test-Path -LiteralPath ([string]$unattend))) {
            throw ("Cannot find path '" + $unattend + "' because it does not exist.")
        }
        $line += ' "/unattend:' + $unattend + '"'
    }
    Set-StoredeskStep 'answer-files'
    $removed = @()
    foreach ($name in @('unattend.xml', 'autounattend.xml')) {
        $cached = Join-Path $env:SystemRoot ('Panther\' + $name)
        if (Test-Path -LiteralPath $cached) {
            Remove-Item -LiteralPath $cached -Force
            $removed += $cached
        }
    }
    Set-StoredeskStep 'start'
    $started = Invoke-CimMethod -ClassName Win32_Process -MethodName Create -Arguments @{ CommandLine = $line }
    if ($started.ReturnValue -ne 0) {
        throw ('Win32_Process.Create of sysprep failed with return value ' + $started.ReturnValue)
    }
    return @{ changed = $true; result = @{ process_id = [int]$started.ProcessId; command_line = $line; removed_answer_files = $removed } }
}
''')
