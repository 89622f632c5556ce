# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PowerShell shared by the store-device scripts (private): the user hives of a desktop, and the item pattern.

Each script carries the whole desired state of one desktop in its JSON input and works item by item:
every item (driver, port, printer, profile) ends as ok / changed / failed / skipped with Windows' own
message, so a desktop is never left half-configured without saying which half. With "check": true the
script computes the same plan and changes nothing.

Per-user settings reach store staff, not the WinRM account: they are written into every user profile's
hive (HKU\\<SID>, mounting unloaded NTUSER.DAT files with reg load) and into the Default User hive, which
Windows copies into every profile created later.
"""

from __future__ import annotations

# Shared by win-printer/1 and win-user-drive/1: the user hives of this desktop, mounted one at a time.
_HIVES = r'''
function Get-StoredeskUserHives {
    # Local and domain user profiles, then the Default User hive (what new profiles start from).
    $list = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList'
    $hives = @()
    foreach ($key in Get-ChildItem -LiteralPath $list) {
        $sid = $key.PSChildName
        if ($sid -notmatch '^S-1-5-21-') {
            continue
        }
        $path = [Environment]::ExpandEnvironmentVariables([string]$key.GetValue('ProfileImagePath'))
        $hives += @{ sid = $sid; user = (Split-Path -Leaf $path); file = (Join-Path $path 'NTUSER.DAT') }
    }
    $default = [Environment]::ExpandEnvironmentVariables([string](Get-ItemProperty -LiteralPath $list).Default)
    $hives += @{ sid = 'DEFAULT'; user = 'Default'; file = (Join-Path $default 'NTUSER.DAT') }
    return $hives
}

function Invoke-StoredeskInHive {
    # Runs $Action with the registry root of the hive (loaded: HKU\<SID>; else reg load / unload).
    param($Hive, [scriptblock]$Action)
    $loaded = 'Registry::HKEY_USERS\' + $Hive.sid
    if ($Hive.sid -ne 'DEFAULT' -and (Test-Path -LiteralPath $loaded)) {
        return (& $Action $loaded 'loaded')
    }
    if (-not (Test-Path -LiteralPath $Hive.file)) {
        throw ('The profile hive ' + $Hive.file + ' does not exist.')
    }
    $mount = 'StoredeskDevices'
    $output = & reg.exe load ('HKU\' + $mount) $Hive.file 2>&1
    if ($LASTEXITCODE -ne 0) {
        throw ('reg load ' + $Hive.file + ': ' + ($output -join ' '))
    }
    try {
        return (& $Action ('Registry::HKEY_USERS\' + $mount) 'hive')
    }
    finally {
        [GC]::Collect()
        [GC]::WaitForPendingFinalizers()
        $null = & reg.exe unload ('HKU\' + $mount) 2>&1
    }
}

function New-StoredeskItem {
    param([string]$Kind, [string]$Name)
    return @{ kind = $Kind; name = $Name; status = 'ok'; actions = @(); error = $null }
}

function Set-StoredeskFailed {
    param($Item, $ErrorRecord)
    $Item.status = 'failed'
    $Item.error = [string]$ErrorRecord.Exception.Message
}
'''
